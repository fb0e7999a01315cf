// Editing keys of a YAML file by dot-path (`runner.optimizer.params.lr=1e-3`) while keeping its comments and order.
import { isMap, isScalar, isSeq, parse, type Document, type Node } from 'yaml';

export type PathSegment = string | number;

/** `a.b[0].c` or `a.b.0.c` -> ['a', 'b', 0, 'c']; a bare number segment is an index only where the file has a list. */
export function parseDotPath(text: string): PathSegment[] {
  if (!text || /(^\.|\.\.|\.$)/.test(text)) throw new Error(`invalid key path '${text}'`);
  const segments: PathSegment[] = [];
  for (const part of text.split('.')) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!match) throw new Error(`invalid key path segment '${part}' in '${text}'`);
    if (match[1]) segments.push(match[1]);
    for (const idx of match[2]!.matchAll(/\[(\d+)\]/g)) segments.push(Number(idx[1]));
  }
  return segments;
}

/** Parses the right-hand side of `key=value` as YAML 1.2, so `1e-3` is a number and `[1, 2]` a list. */
export function parseValue(text: string): unknown {
  return parse(text, { version: '1.2' }) ?? null;
}

function isNullScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null;
}

/** Sets one key in place. Missing or null parents become mappings; a scalar's trailing comment is kept. */
export function setIn(doc: Document, rawPath: PathSegment[], value: unknown): void {
  const path: PathSegment[] = [];
  let node = doc.contents as Node | null;
  for (let i = 0; i < rawPath.length; i++) {
    let seg = rawPath[i]!;
    if (isSeq(node) && typeof seg === 'string' && /^\d+$/.test(seg)) seg = Number(seg);
    path.push(seg);
    const isLast = i === rawPath.length - 1;
    const child = doc.getIn(path, true) as Node | undefined;
    if (isLast) break;
    if (child === undefined || isNullScalar(child)) {
      doc.setIn(path, doc.createNode({}));
    } else if (!isMap(child) && !isSeq(child)) {
      throw new Error(`cannot set ${rawPath.join('.')}: ${path.join('.')} holds a value, not a mapping`);
    }
    node = doc.getIn(path, true) as Node;
  }
  const existing = doc.getIn(path, true);
  const isPlain = value === null || typeof value !== 'object';
  if (isScalar(existing) && isPlain) {
    existing.value = value;
    delete existing.format;
    existing.type = undefined;
    return;
  }
  const created = doc.createNode(value);
  if ((isSeq(created) || isMap(created)) && JSON.stringify(value).length <= 60) created.flow = true;
  doc.setIn(path, created);
}

/** Whether block lists in `text` sit at their parent key's indentation (ruamel's and DeepLabCut's style). */
export function usesFlushSequences(text: string): boolean {
  const match = /^( *)[^\s#-][^\n]*:[ \t]*\n( *)- /m.exec(text);
  return match ? match[1] === match[2] : false;
}
