// The matmul version ladder of bench/NOTES.md, re-measured: each version's kernel (bench/matmul-ladder/*.wgsl, then
// matmulRaw with kernels/matmul.wgsl as v9) on square products, versions interleaved round by round so that load
// from other processes hits them alike.
// Run: npx tsx bench/matmul-ladder.ts [--cases 256,512,1024,2048,1024tb] [--rounds 5] [--versions v1,v2,...]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as dg from '../src/index.ts';
import { defineKernel, engine, kernel, Uniforms, type KernelSpec } from '../src/index.ts';
import { fmaPeak } from './lib/fma-peak.ts';
import { gflops, printTable, timeGpu, writeResults } from './lib/harness.ts';

const { values: opts } = parseArgs({
  options: {
    cases: { type: 'string', default: '256,512,1024,2048,1024tb' },
    rounds: { type: 'string', default: '5' },
    versions: { type: 'string', default: 'v1,v2,v3,v4,v5,v6,v7,v8,v9' },
  },
});

const e = await dg.init();
const file = (name: string) => defineKernel(`ladder_${name}`, readFileSync(new URL(`./matmul-ladder/${name}.wgsl`, import.meta.url), 'utf8'));
interface Version { name: string; change: string; run(a: dg.Tensor, b: dg.Tensor, n: number, tb: boolean): dg.Tensor }
const raw = (spec: KernelSpec, tileM: number, tileN: number, constants: (tb: boolean) => Record<string, number>) => (a: dg.Tensor, b: dg.Tensor, n: number, tb: boolean) => {
  const out = dg.Tensor.empty([n, n]);
  const u = new Uniforms().u32(n).u32(n).u32(n).u32(1).u32(0).u32(0).u32(0).u32(0);
  engine().dispatch(spec, [Math.ceil(n / tileN), Math.ceil(n / tileM), 1], [a.buffer, b.buffer, out.buffer], u, constants(tb));
  return out;
};
const flags = (tb: boolean) => ({ TA: 0, TB: tb ? 1 : 0 });
const v56 = file('v5-v6');
const v6n = raw(kernel(v56.file, 'main_n4'), 8, 32, () => ({ TA: 0 }));
const v6k = raw(kernel(v56.file, 'main_k4'), 8, 24, () => ({ TA: 0 }));
// v7 and v8 (one file, AM off / on) as src/ops/matmul.ts dispatched them: 16-row tiles, A as vec4s along k (AV;
// square, not transposed).
const v78 = file('v7-v8');
const sixteenRows = (am: boolean) => {
  const n4 = raw(kernel(v78.file, 'main_n4'), 16, 32, () => ({ TA: 0, AV: 1, AM: +am }));
  const k4 = raw(kernel(v78.file, 'main_k4'), 16, 24, () => ({ TA: 0, AV: 1, AM: +am }));
  return (a: dg.Tensor, b: dg.Tensor, n: number, tb: boolean) => (tb ? k4 : n4)(a, b, n, tb);
};
const all: Version[] = [
  { name: 'v1', change: 'engine-core kernel: 64x64 tile, 4x4 per invocation, workgroup memory', run: raw(file('v1'), 64, 64, flags) },
  { name: 'v2', change: 'no workgroup memory, 1 row x 16 cols per invocation (B "uniform")', run: raw(file('v2'), 64, 16, flags) },
  { name: 'v3', change: 'lanes own interleaved columns, 8x24 per 8 lanes, 24 acc/lane', run: raw(file('v3'), 8, 192, flags) },
  { name: 'v4', change: 'A rows: 1 gather + subgroupBroadcast; workgroup = 8 lanes', run: raw(file('v4'), 8, 24, flags) },
  { name: 'v5', change: '4 k of each operand loaded back to back', run: raw(v56, 8, 24, flags) },
  { name: 'v6', change: 'B as vec4: main_n4 (8x32, along N) / main_k4 (along K, for B^T)', run: (a, b, n, tb) => (tb ? v6k : v6n)(a, b, n, tb) },
  { name: 'v7', change: '16-row tiles (2 A gathers/k, 48-64 acc/lane, spilled)', run: sixteenRows(false) },
  { name: 'v8', change: "each accumulator's 4 k-step FMAs back to back (one spill round trip per 4 FMAs)", run: sixteenRows(true) },
  { name: 'v9', change: '32-row tiles where M fills them (4 A gathers/k, half the B loads per FMA): kernels/matmul.wgsl', run: (a, b, n, tb) => dg.matmulRaw(a, b, n, n, n, 1, 0, 0, false, tb) },
];
const versions = opts.versions.split(',').map((v) => all.find((x) => x.name === v) ?? (() => { throw new Error(`unknown version ${v}`); })());
const cases = opts.cases.split(',').map((c) => ({ label: c, n: parseInt(c, 10), tb: c.endsWith('tb') }));
const rounds = Number(opts.rounds);
const peak = await fmaPeak();
console.log(`FMA peak ${peak.gflops.toFixed(1)} GFLOP/s`);

const table: Record<string, Record<string, number>> = {};
for (const { label, n, tb } of cases) {
  const a = dg.randn([n, n], { seed: 1 });
  const b = dg.randn([n, n], { seed: 2 });
  await e.sync();
  const samples = new Map<string, number[]>(versions.map((v) => [v.name, []]));
  for (const v of versions) await timeGpu(`${v.name} ${label} warm-up`, () => v.run(a, b, n, tb), { warmup: 0, runs: 1 });
  const r = n >= 2048 ? Math.min(rounds, 3) : rounds;
  for (let i = 0; i < r; i++) {
    for (const v of versions) samples.get(v.name)!.push((await timeGpu(`${v.name} ${label}`, () => v.run(a, b, n, tb), { warmup: 0, runs: 1 })).medianMs);
  }
  for (const v of versions) {
    const s = samples.get(v.name)!.sort((x, y) => x - y);
    (table[v.name] ??= {})[label] = gflops(2 * n ** 3, s[s.length >> 1]!);
  }
  console.log(`  ${label}: ${versions.map((v) => `${v.name} ${table[v.name]![label]!.toFixed(1)}`).join(', ')}`);
  a.dispose();
  b.dispose();
}
printTable(
  versions.map((v) => ({ version: v.name, ...table[v.name], change: v.change })),
  `matmul ladder, GFLOP/s (median of ${rounds} interleaved rounds; "tb" = A x B^T), FMA peak ${peak.gflops.toFixed(1)}`,
  ['version', ...cases.map((c) => c.label), 'change'],
);
console.log(`results: ${writeResults('matmul-ladder', { peak, rounds, table, versions: versions.map((v) => ({ name: v.name, change: v.change })) })}`);
process.exit(0);
