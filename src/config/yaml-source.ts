// A YAML file parsed with positions kept, so any key path can be traced back to a line and column.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { ConfigError, type ConfigIssue, type KeyPath } from './errors.ts';

export interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
}

/** Parses YAML 1.2 (so `5e-4` is a number); malformed YAML throws a ConfigError listing every syntax error. */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, version: '1.2', prettyErrors: false, keepSourceTokens: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file, path: [], line: pos.line, column: pos.col, message: `malformed YAML: ${firstLine(e.message)}` };
      }),
    );
  }
  return { file, doc, lines };
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

interface Located {
  /** The node at the deepest part of the path that exists. */
  node: Node | null;
  /** The key node of the last pair walked through, if any. */
  key: Node | null;
  /** How many path segments were found. */
  depth: number;
}

function locate(source: YamlSource, path: KeyPath): Located {
  let node = source.doc.contents as Node | null;
  let key: Node | null = null;
  let depth = 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = (node.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      key = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg] as Node;
      key = null;
    } else break;
    depth++;
  }
  return { node, key, depth };
}

/**
 * Line and column for a path. `atKey` points at the key itself (unknown keys); otherwise at the value,
 * or at the nearest existing parent when the path is missing from the file.
 */
export function positionOf(source: YamlSource, path: KeyPath, atKey = false): { line: number; column: number } | undefined {
  const { node, key, depth } = locate(source, path);
  const full = depth === path.length;
  const target = (atKey || !full || !node) && key ? key : node ?? key;
  const offset = target?.range?.[0];
  if (offset === undefined) return undefined;
  const pos = source.lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

export function issueAt(source: YamlSource, path: KeyPath, message: string, atKey = false): ConfigIssue {
  return { file: source.file, path, message, ...positionOf(source, path, atKey) };
}
