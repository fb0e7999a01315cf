// Square matmul GFLOP/s (2*N^3 FLOP): dlc-gpu's kernel against TensorFlow.js 4.22's WebGPU backend on the
// same Dawn adapter in this process, with the fraction of the measured FMA peak.
// Run: npx tsx bench/matmul.ts [--sizes 256,512,1024,2048] [--runs 5] [--no-tfjs] [--no-peak]
import { parseArgs } from 'node:util';
import * as dg from '../src/index.ts';
import { fmaPeak } from './lib/fma-peak.ts';
import { gflops, printTable, timeGpu, writeResults } from './lib/harness.ts';
import { loadTfjsWebgpu, tfjsSync } from './lib/tfjs.ts';

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '256,512,1024,2048' },
    runs: { type: 'string', default: '5' },
    'no-tfjs': { type: 'boolean', default: false },
    'no-peak': { type: 'boolean', default: false },
    check: { type: 'boolean', default: true },
  },
});
const sizes = opts.sizes.split(',').map(Number);
const runs = Number(opts.runs);

const e = await dg.init();
console.log(`adapter: ${e.adapter.info.description || e.adapter.info.vendor}; subgroups: ${e.device.features.has('subgroups')}; LP_NUM_THREADS=${process.env.LP_NUM_THREADS ?? '(default)'}`);

// Cold cost of our pipelines: the first dispatch (pipeline creation + lavapipe's LLVM compile, which it does at
// first use) minus a warm one, for the three transpose combinations training uses (forward, dA, dB).
// Mesa keeps compiled shaders in an on-disk cache: run with MESA_SHADER_CACHE_DISABLE=true to see the real cost.
const compile = await (async () => {
  const a = dg.randn([64, 64], { seed: 1 });
  await e.sync();
  const rows: { pipeline: string; firstMs: number; warmMs: number }[] = [];
  for (const [ta, tb] of [[false, false], [false, true], [true, false]] as const) {
    const run = () => dg.matmulRaw(a, a, 64, 64, 64, 1, 0, 0, ta, tb).dispose();
    const t0 = performance.now();
    run();
    await e.sync();
    const t1 = performance.now();
    run();
    await e.sync();
    rows.push({ pipeline: `TA=${+ta} TB=${+tb}`, firstMs: t1 - t0, warmMs: performance.now() - t1 });
  }
  a.dispose();
  return { rows, totalMs: rows.reduce((s, r) => s + r.firstMs - r.warmMs, 0), shaderCache: process.env.MESA_SHADER_CACHE_DISABLE ? 'disabled' : 'enabled' };
})();
console.log(`matmul pipelines, cold build (first dispatch - warm, Mesa shader cache ${compile.shaderCache}): ${compile.rows.map((r) => `${r.pipeline} ${(r.firstMs - r.warmMs).toFixed(0)} ms`).join(', ')}; total ${compile.totalMs.toFixed(0)} ms`);

const peak = opts['no-peak'] ? null : await fmaPeak();
if (peak) console.log(`FMA peak: ${peak.gflops.toFixed(1)} GFLOP/s (${peak.variant})`);
const tf = opts['no-tfjs'] ? null : await loadTfjsWebgpu();

interface Row { n: number; oursMs: number; oursGflops: number; tfjsMs: number | null; tfjsGflops: number | null; ratio: number | null; fractionOfPeak: number | null; maxAbsDiff: number | null; refErr: number | null }
const rows: Row[] = [];
for (const n of sizes) {
  const flop = 2 * n ** 3;
  const a = dg.randn([n, n], { seed: 1 });
  const b = dg.randn([n, n], { seed: 2 });
  await e.sync();
  const slow = n >= 2048;
  // Small products take a few ms, where scheduling noise from other processes is largest: take more runs.
  const small = n <= 512;
  const ours = await timeGpu(`ours ${n}`, () => dg.matmul(a, b), { warmup: slow ? 1 : 3, runs: small ? runs * 3 : runs });
  let theirs = null;
  let maxAbsDiff: number | null = null;
  let refErr: number | null = null;
  if (tf) {
    // The same inputs in both engines, so the results can be compared too.
    const [ad, bd] = [await a.toArray(), await b.toArray()];
    const ta = tf.tensor2d(ad, [n, n]);
    const tb = tf.tensor2d(bd, [n, n]);
    theirs = await timeGpu(`tfjs ${n}`, () => tf.matMul(ta, tb), { warmup: small ? 3 : 1, runs: slow ? Math.min(runs, 3) : small ? runs * 3 : runs, sync: () => tfjsSync(tf) });
    if (opts.check) {
      const tc = tf.matMul(ta, tb);
      const want = (await tc.data()) as Float32Array;
      const c = dg.matmul(a, b);
      const got = await c.toArray();
      maxAbsDiff = 0;
      for (let i = 0; i < want.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(want[i]! - got[i]!));
      // Both engines can round identically; check 64 entries against a float64 reference too.
      for (let s = 0; s < 64; s++) {
        const i = (s * 7919 * 104729) % (n * n);
        const [r, c] = [Math.floor(i / n), i % n];
        let ref = 0;
        for (let p = 0; p < n; p++) ref += ad[r * n + p]! * bd[p * n + c]!;
        refErr = Math.max(refErr ?? 0, Math.abs(ref - got[i]!));
      }
      tc.dispose();
      c.dispose();
    }
    ta.dispose();
    tb.dispose();
  }
  a.dispose();
  b.dispose();
  const og = gflops(flop, ours.medianMs);
  const tg = theirs ? gflops(flop, theirs.medianMs) : null;
  rows.push({ n, oursMs: ours.medianMs, oursGflops: og, tfjsMs: theirs?.medianMs ?? null, tfjsGflops: tg, ratio: tg ? og / tg : null, fractionOfPeak: peak ? og / peak.gflops : null, maxAbsDiff, refErr });
  console.log(`  ${n}: ours ${og.toFixed(2)} GFLOP/s (${ours.medianMs.toFixed(1)} ms, spread ${ours.minMs.toFixed(1)}-${ours.maxMs.toFixed(1)})${tg ? `, tfjs ${tg.toFixed(2)} (${theirs!.medianMs.toFixed(1)} ms)` : ''}`);
}
printTable(
  rows.map((r) => ({ N: r.n, 'ours ms': r.oursMs, 'ours GFLOP/s': r.oursGflops, 'tfjs ms': r.tfjsMs, 'tfjs GFLOP/s': r.tfjsGflops, 'ours/tfjs': r.ratio, 'of peak': r.fractionOfPeak, '|ours-tfjs|': r.maxAbsDiff, '|ours-f64|': r.refErr })),
  `matmul NxN @ NxN, median of ${runs} runs (${runs * 3} for N <= 512; tfjs at 2048: ${Math.min(runs, 3)})`,
);
console.log(`results: ${writeResults('matmul', { peak, compile, rows })}`);
process.exit(0);
