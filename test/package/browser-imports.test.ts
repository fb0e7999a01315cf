// What a bundler meets when it follows the package's imports: Node built-ins (node:fs, or a bare 'fs') and
// Node-only packages (Dawn's native `webgpu`) reachable from src/index.ts, and none from the engine core that
// a browser build runs on navigator.gpu (README: src/gpu except dawn.ts, src/tensor, src/ops). Each source is
// transpiled alone first, as tsc emits it, so type-only imports (erased from the JavaScript) do not count.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
/** Packages that only run in Node: Dawn's native binding, h5wasm's Node build. */
const NODE_ONLY_PACKAGES = new Set(['webgpu', 'h5wasm/node']);
const BUILTINS = new Set(builtinModules);

function isNodeOnly(spec: string): boolean {
  return spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0]!) || NODE_ONLY_PACKAGES.has(spec);
}

/** The module specifiers of a source file's emitted JavaScript: static imports and re-exports, and literal import(). */
function importsOf(file: string): { spec: string; dynamic: boolean }[] {
  const js = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const found: { spec: string; dynamic: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ spec: node.moduleSpecifier.text, dynamic: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push({ spec: node.arguments[0].text, dynamic: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(`${file}.js`, js, ts.ScriptTarget.ES2022, true));
  return found;
}

/** Every Node-only import reachable from the entries, as 'file -> specifier' (' (dynamic)' for import()). */
function nodeOnlyImports(entries: string[]): string[] {
  const seen = new Set<string>();
  const stack = [...entries];
  const out = new Set<string>();
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const { spec, dynamic } of importsOf(file)) {
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec));
      else if (isNodeOnly(spec)) out.add(`${relative(SRC, file)} -> ${spec}${dynamic ? ' (dynamic)' : ''}`);
    }
  }
  return [...out].sort();
}

describe('Node-only imports a bundler meets', () => {
  it('the engine core (src/gpu but dawn.ts, src/tensor, src/ops) reaches none', () => {
    const core = ['gpu', 'tensor', 'ops'].flatMap((dir) =>
      readdirSync(join(SRC, dir))
        .filter((f) => f.endsWith('.ts') && f !== 'dawn.ts')
        .map((f) => join(SRC, dir, f)),
    );
    expect(core.length).toBeGreaterThan(20);
    expect(nodeOnlyImports(core)).toEqual([]);
  });

  it("the browser entry (src/core.ts: the 'browser' condition and dlc-gpu/core) reaches none", () => {
    expect(nodeOnlyImports([join(SRC, 'core.ts')])).toEqual([]);
  });

  it("the package entry (src/index.ts) reaches only these: Dawn for init(), io's path-based readers, the detectors' weight-file loading", () => {
    // A new entry here puts Node code in every Node bundle of 'dlc-gpu': keep it out of the engine core, or
    // extend this list knowingly. Browser bundles resolve 'dlc-gpu' to src/core.ts (above) instead.
    expect(nodeOnlyImports([join(SRC, 'index.ts')])).toEqual([
      'gpu/dawn.ts -> node:fs',
      'gpu/dawn.ts -> node:os',
      'gpu/dawn.ts -> node:path',
      'gpu/dawn.ts -> webgpu',
      'io/index.ts -> node:fs',
      'io/index.ts -> node:path',
      'models/detectors/index.ts -> node:fs',
    ]);
  });
});
