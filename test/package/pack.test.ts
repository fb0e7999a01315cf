// The package as users get it: `npm pack` of a copy of this working tree (so the repo's own dist/ is never
// touched while other tests run), the tarball's file list, and the tarball installed in a temporary folder
// with no network, imported by plain `node` (no loader), type-checked by a TypeScript consumer through the
// `types` export condition, and its CLI run from node_modules.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 90_000 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}

/** The working tree's files, as git sees them; outside a git checkout, everything but what .gitignore names here. */
function workingTreeFiles(): string[] {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' });
  if (git.status === 0) return git.stdout.split('\0');
  const skip = new Set(['.git', 'node_modules', 'dist', 'docs/api', 'scratch']);
  const walk = (dir: string): string[] =>
    readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (skip.has(rel)) return [];
      return e.isDirectory() ? walk(rel) : [rel];
    });
  return walk('');
}

let tmp: string;
let copy: string;
let tarball: string;
let files: string[];
let app: string;
let pkgDir: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dlc-gpu-pack-'));
  // The files a clone has (tracked, plus new ones not yet committed and not ignored), with the repo's
  // node_modules linked in: the tarball is what `npm pack` in a fresh clone after `npm ci` would make.
  copy = join(tmp, 'repo');
  const listed = workingTreeFiles();
  for (const f of listed) {
    if (!f || !existsSync(join(REPO, f))) continue;
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    cpSync(join(REPO, f), join(copy, f));
  }
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'), 'dir');
  mkdirSync(join(tmp, 'out'));
  // `npm pack` runs `prepare`, which builds dist/ (scripts/build.mjs).
  ok(run('npm', ['pack', '--pack-destination', join(tmp, 'out'), '--no-audit', '--no-fund'], copy, { npm_config_offline: 'true' }), 'npm pack');
  const tgz = readdirSync(join(tmp, 'out')).filter((f) => f.endsWith('.tgz'));
  expect(tgz).toHaveLength(1);
  tarball = join(tmp, 'out', tgz[0]!);
  files = ok(run('tar', ['tzf', tarball], tmp), 'tar tzf')
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));

  // Installed without network: the tarball extracted as node_modules/dlc-gpu, and each runtime dependency
  // linked from the repo's node_modules (their own dependencies resolve from there, through the link).
  app = join(tmp, 'app');
  pkgDir = join(app, 'node_modules/dlc-gpu');
  mkdirSync(pkgDir, { recursive: true });
  ok(run('tar', ['xzf', tarball, '-C', pkgDir, '--strip-components=1'], tmp), 'tar xzf');
  const deps = Object.keys((JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  for (const d of deps) {
    mkdirSync(dirname(join(app, 'node_modules', d)), { recursive: true });
    symlinkSync(join(REPO, 'node_modules', d), join(app, 'node_modules', d), 'dir');
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships dist/ with declarations, the CLI and configs/, and no tests, benches, fixtures or TypeScript sources', () => {
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    expect(files).toContain('bin/dlc-gpu.js');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/data/decode-worker.mjs'); // the built worker entry (scripts/build.mjs)
    expect(files).toContain('configs/base/base.yaml'); // read at run time (src/config/fragments.ts)
    const unwanted = files.filter(
      (f) =>
        /^(test|bench|scripts|src|kernels|examples|docs|node_modules)\//.test(f) ||
        /(^|\/)fixtures\//.test(f) ||
        (/\.(ts|tsx|mts|cts)$/.test(f) && !/\.d\.ts$/.test(f)) ||
        /\.(test|spec)\.[cm]?js$/.test(f) ||
        /^(tsconfig.*|vitest\.config\..*|typedoc\.json|package-lock\.json)$/.test(f),
    );
    expect(unwanted).toEqual([]);
    // Every file is under one of the `files` entries (npm adds package.json, README and LICENSE itself).
    const stray = files.filter((f) => !/^(dist|bin|configs)\//.test(f) && !/^(package\.json|README\.md|LICENSE(\..*)?)$/.test(f));
    expect(stray).toEqual([]);
  });

  it('points exports at dist with types and import conditions, and every .js has its .d.ts', () => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    expect(pkg.exports['.']).toEqual({
      browser: { types: './dist/core.d.ts', default: './dist/core.js' },
      types: './dist/index.d.ts',
      import: './dist/index.js',
    });
    expect(pkg.exports['./core']).toEqual({ types: './dist/core.d.ts', import: './dist/core.js' });
    expect(pkg.exports['./bench']).toEqual({ types: './dist/bench/index.d.ts', import: './dist/bench/index.js' });
    const js = files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(50);
    expect(js.filter((f) => !files.includes(f.replace(/\.js$/, '.d.ts')))).toEqual([]);
  });
});

describe('the installed tarball', () => {
  it('is imported by plain node: init, an op, a custom op with defineOp, and gradcheck', () => {
    const script = `
      import('dlc-gpu').then(async (dg) => {
        await dg.init();
        const sum = await dg.add(dg.tensor([1, 2, 3]), dg.tensor([10, 20, 30])).toArray();
        const cube = dg.defineOp({
          name: 'cube',
          forward: ([x]) => dg.mul(dg.mul(x, x), x),
          backward: (g, ctx) => [dg.mul(g, dg.mulScalar(dg.square(ctx.inputs[0]), 3))],
        });
        const y = await cube([dg.tensor([2, -1])]).toArray();
        const check = await dg.gradcheck(([x]) => cube([x]), [{ data: [0.5, -1, 2], shape: [3] }]);
        const bench = await import('dlc-gpu/bench');
        const timing = await bench.timeGpu('add', () => dg.tidy(() => dg.add(dg.tensor([1]), 1)), { warmup: 1, runs: 2 });
        console.log(JSON.stringify({ entry: import.meta.resolve('dlc-gpu'), sum: Array.from(sum), cube: Array.from(y), gradcheck: check.ok, benchMs: timing.medianMs }));
        process.exit(0);
      }).catch((err) => { console.error(err); process.exit(1); });
    `;
    const out = ok(run(process.execPath, ['--input-type=module', '-e', script], app), 'node -e import("dlc-gpu")');
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { entry: string; sum: number[]; cube: number[]; gradcheck: boolean; benchMs: number };
    expect(fileURLToPath(r.entry)).toBe(join(pkgDir, 'dist/index.js'));
    expect(r.sum).toEqual([11, 22, 33]);
    expect(r.cube).toEqual([8, -1]);
    expect(r.gradcheck).toBe(true);
    expect(r.benchMs).toBeGreaterThanOrEqual(0); // dlc-gpu/bench, on the same engine instance as dlc-gpu
  });

  it("resolves the browser condition to the engine core: no init (Dawn), initWith for navigator.gpu", () => {
    const script = `
      const dg = await import('dlc-gpu');
      console.log(JSON.stringify({ entry: import.meta.resolve('dlc-gpu'), init: typeof dg.init, initWith: typeof dg.initWith, io: typeof dg.io, defineOp: typeof dg.defineOp }));
    `;
    const out = ok(run(process.execPath, ['--conditions=browser', '--input-type=module', '-e', script], app), 'node --conditions=browser');
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { entry: string; init: string; initWith: string; io: string; defineOp: string };
    expect(fileURLToPath(r.entry)).toBe(join(pkgDir, 'dist/core.js'));
    expect(r).toMatchObject({ init: 'undefined', initWith: 'function', io: 'undefined', defineOp: 'function' });
  });

  it('loads the runtime files the build copies or references: the decode worker and configs/', () => {
    // Not part of the exported API: reached by file URL, the way the CLI in dist/ reaches them.
    const script = `
      const dist = new URL('./node_modules/dlc-gpu/dist/', 'file://' + process.cwd() + '/');
      const { writePng } = await import(new URL('io/image.js', dist));
      const { DecodePool } = await import(new URL('data/decode-pool.js', dist));
      const { readFragment } = await import(new URL('config/fragments.js', dist));
      writePng('img.png', { width: 2, height: 1, data: new Uint8Array([255, 0, 0, 0, 0, 255]) });
      const pool = new DecodePool(1);
      const img = await pool.decode('img.png');
      await pool.close();
      console.log(JSON.stringify({ width: img.width, data: Array.from(img.data), base: Object.keys(readFragment('base/base.yaml')).length > 0 }));
    `;
    // A file, not -e: the worker thread inherits the process's flags, and --input-type is only for -e.
    writeFileSync(join(app, 'runtime-files.mjs'), script);
    const out = ok(run(process.execPath, ['runtime-files.mjs'], app), 'decode worker and configs from dist');
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ width: 2, data: [255, 0, 0, 0, 0, 255], base: true });
  });

  it('type-checks a TypeScript consumer through the exports types condition (node16 and bundler resolution)', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `import * as dg from 'dlc-gpu';
import { defineOp, gradcheck, type GradcheckResult, type Tensor } from 'dlc-gpu';
import { timeGpu, type Timing } from 'dlc-gpu/bench';
export const engine: Promise<dg.Engine> = dg.init({ portable: true });
export const square = defineOp({ name: 'square', forward: ([x]) => dg.mul(x!, x!) });
export const result: Promise<GradcheckResult> = gradcheck(([x]) => square([x!]), [{ data: [1, 2], shape: [2] }]);
export const t: Tensor = dg.tidy(() => dg.add(dg.tensor([1, 2]), 1));
export const y: Tensor = dg.conv2d(t, t);
export const timing: Promise<Timing> = timeGpu('add', () => dg.add(t, t));
// @ts-expect-error: a string is no tensor (this line fails to compile if the types resolved to any)
dg.add('x', t);
`,
    );
    // No skipLibCheck: the declarations themselves must check (DOM is for @webgpu/types' own references);
    // then the usual Node setup without DOM, where skipLibCheck is what WebGPU's types need.
    const setups: Record<string, Record<string, unknown>> = {
      node16: { module: 'node16', moduleResolution: 'node16', lib: ['ES2022', 'DOM'] },
      bundler: { module: 'preserve', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'] },
      'node16 without DOM': { module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], skipLibCheck: true },
    };
    for (const [name, options] of Object.entries(setups)) {
      const config = { compilerOptions: { strict: true, noEmit: true, target: 'ES2022', types: [], ...options }, files: ['consumer.ts'] };
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(config));
      ok(run(process.execPath, [TSC, '-p', 'tsconfig.json'], app), `tsc (${name})`);
    }
  });

  it('runs the CLI from node_modules on the built JavaScript', () => {
    const bin = join(pkgDir, 'bin/dlc-gpu.js');
    expect(existsSync(join(pkgDir, 'src'))).toBe(false);
    const help = ok(run(process.execPath, [bin, '--help'], app), 'dlc-gpu --help');
    expect(help).toMatch(/^Usage: dlc-gpu <command>/);
    expect(help).toContain('analyze-videos');
    const info = ok(run(process.execPath, [bin, 'info'], app), 'dlc-gpu info');
    expect(info).toMatch(/^adapter: /m);
  });
});

describe('bin/dlc-gpu.js in a clone', () => {
  it('runs src/ through tsx even when a dist/ is there, so a stale build never shadows edited sources', () => {
    // The copy's dist/ was built by `npm pack`; make its CLI say so if it were ever used.
    writeFileSync(join(copy, 'dist/cli/main.js'), "export async function main() { console.log('STALE DIST'); return 3; }\n");
    const r = run(process.execPath, [join(copy, 'bin/dlc-gpu.js'), '--help'], copy);
    expect(r.stdout).not.toContain('STALE DIST');
    expect(ok(r, 'dlc-gpu --help in the copy')).toMatch(/^Usage: dlc-gpu <command>/);
  });
});
