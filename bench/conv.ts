// conv2d / convTranspose2d at ResNet-50 and DeepLabCut-head shapes: median ms, GFLOP/s and fraction of the FMA
// peak, forward alone and forward+backward (gradients of input, weight and bias), with TensorFlow.js 4.22's WebGPU
// backend on the same adapter for the forward pass (and its max difference from ours).
// FLOP = 2 * N * Cout * Hout * Wout * Cin/groups * kh * kw of the convolution; for convTranspose2d that is the
// convolution it transposes (output = the deconv's input), i.e. only the taps that exist; forward+backward counts
// 3x (forward, input gradient, weight gradient).
// Run: npx tsx bench/conv.ts [--runs 5] [--cases 3x3,1x1s2,stem,deconv] [--no-tfjs] [--no-peak] [--no-backward]
import { parseArgs } from 'node:util';
import * as dg from '../src/index.ts';
import { fmaPeak } from './lib/fma-peak.ts';
import { gflops, printTable, timeGpu, writeResults } from './lib/harness.ts';
import { loadTfjsWebgpu, tfjsSync } from './lib/tfjs.ts';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    cases: { type: 'string', default: '3x3,1x1s2,stem,deconv' },
    'no-tfjs': { type: 'boolean', default: false },
    'no-peak': { type: 'boolean', default: false },
    'no-backward': { type: 'boolean', default: false },
  },
});
const runs = Number(opts.runs);

interface Case {
  id: string;
  label: string;
  transpose: boolean;
  x: number[];
  w: number[];
  stride: number;
  padding: number;
  outputPadding?: number;
  /** TensorFlow.js WebGPU on this machine before (GFLOP/s, forward), for reference. */
  tfjsRef?: number;
}
const all: Case[] = [
  { id: '3x3', label: 'conv2d [8,64,56,56] x [64,64,3,3] p1', transpose: false, x: [8, 64, 56, 56], w: [64, 64, 3, 3], stride: 1, padding: 1, tfjsRef: 4.1 },
  { id: '1x1s2', label: 'conv2d [8,256,28,28] x [512,256,1,1] s2', transpose: false, x: [8, 256, 28, 28], w: [512, 256, 1, 1], stride: 2, padding: 0, tfjsRef: 3.1 },
  { id: 'stem', label: 'conv2d [8,3,256,256] x [64,3,7,7] s2 p3', transpose: false, x: [8, 3, 256, 256], w: [64, 3, 7, 7], stride: 2, padding: 3 },
  { id: 'deconv', label: 'convT [8,2048,8,8] x [2048,17,3,3] s2 p1 op1', transpose: true, x: [8, 2048, 8, 8], w: [2048, 17, 3, 3], stride: 2, padding: 1, outputPadding: 1, tfjsRef: 0.74 },
];
const wanted = new Set(opts.cases.split(','));
const cases = all.filter((c) => wanted.has(c.id));

const e = await dg.init();
console.log(`adapter: ${e.adapter.info.description || e.adapter.info.vendor}; LP_NUM_THREADS=${process.env.LP_NUM_THREADS ?? '(default)'}`);
const peak = opts['no-peak'] ? null : await fmaPeak();
const peakGflops = peak?.gflops ?? 50;
console.log(`FMA peak: ${peak ? `${peak.gflops.toFixed(1)} GFLOP/s (measured, ${peak.variant})` : '50 GFLOP/s (reference value)'}`);
const tf = opts['no-tfjs'] ? null : await loadTfjsWebgpu();

function flopOf(c: Case): number {
  const [N, , H, W] = c.x as [number, number, number, number];
  const [, , kh, kw] = c.w as [number, number, number, number];
  if (c.transpose) {
    // Taps of the convolution this transposes: every input pixel meets every (Cout, kh, kw).
    const [Cin, cout] = c.w as [number, number];
    return 2 * N * Cin * H * W * cout * kh * kw;
  }
  const [Cout, cin] = c.w as [number, number];
  const Ho = Math.floor((H + 2 * c.padding - kh) / c.stride) + 1;
  const Wo = Math.floor((W + 2 * c.padding - kw) / c.stride) + 1;
  return 2 * N * Cout * Ho * Wo * cin * kh * kw;
}

interface Row {
  case: string;
  pass: string;
  medianMs: number;
  minMs: number;
  gflops: number;
  ofPeak: number;
  tfjsMs: number | null;
  tfjsGflops: number | null;
  vsTfjs: number | null;
  vsTfjsRef: number | null;
  maxDiff: number | null;
}
const rows: Row[] = [];
for (const c of cases) {
  const flop = flopOf(c);
  const x = dg.randn(c.x, { seed: 1 });
  const w = dg.randn(c.w, { seed: 2, std: 0.05 });
  const cout = c.transpose ? c.w[1]! : c.w[0]!;
  const b = dg.randn([cout], { seed: 3 });
  const run = () =>
    c.transpose
      ? dg.convTranspose2d(x, w, b, { stride: c.stride, padding: c.padding, outputPadding: c.outputPadding })
      : dg.conv2d(x, w, b, { stride: c.stride, padding: c.padding });
  await e.sync();
  const fwd = await timeGpu(`${c.id} forward`, () => dg.noGrad(run), { runs });
  let theirs: { ms: number; diff: number } | null = null;
  if (tf) {
    const y = dg.noGrad(run);
    const ours = await y.toArray();
    const [N, , Ho, Wo] = y.shape as [number, number, number, number];
    y.dispose();
    const nhwc = async (t: dg.Tensor, perm: number[]) => tf.transpose(tf.tensor(await t.toArray(), t.shape as number[]), perm);
    const tx = await nhwc(x, [0, 2, 3, 1]);
    // tfjs filters: conv2d [kh, kw, Cin, Cout] from our [Cout, Cin, kh, kw]; conv2dTranspose [kh, kw, Cout, Cin]
    // from our [Cin, Cout, kh, kw]: the same permutation.
    const tw = await nhwc(w, [2, 3, 1, 0]);
    const tb = tf.tensor(await b.toArray(), [cout]);
    const pad = c.padding === 0 ? 'valid' : [[0, 0], [c.padding, c.padding], [c.padding, c.padding], [0, 0]];
    const trun = () =>
      tf.tidy(() =>
        c.transpose
          ? // A numeric pad with an explicit output shape: the conv from [Ho, Wo] padded by p gives [H, W] (p1 op1).
            tf.add(tf.conv2dTranspose(tx as never, tw as never, [N, Ho, Wo, cout], c.stride, c.padding as never), tb)
          : tf.add(tf.conv2d(tx as never, tw as never, c.stride, pad as never), tb),
      );
    const t = await timeGpu(`${c.id} tfjs`, trun, { runs: Math.min(runs, 3), warmup: 1, sync: () => tfjsSync(tf) });
    const ty = trun();
    const tn = tf.transpose(ty, [0, 3, 1, 2]);
    const want = (await tn.data()) as Float32Array;
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i]! - ours[i]!));
    for (const t of [tx, tw, tb, ty, tn]) t.dispose();
    theirs = { ms: t.medianMs, diff };
  }
  const tg = theirs ? gflops(flop, theirs.ms) : null;
  const og = gflops(flop, fwd.medianMs);
  rows.push({ case: c.label, pass: 'forward', medianMs: fwd.medianMs, minMs: fwd.minMs, gflops: og, ofPeak: og / peakGflops, tfjsMs: theirs?.ms ?? null, tfjsGflops: tg, vsTfjs: tg ? og / tg : null, vsTfjsRef: c.tfjsRef ? og / c.tfjsRef : null, maxDiff: theirs?.diff ?? null });
  console.log(`  ${c.id} forward: ${fwd.medianMs.toFixed(1)} ms, ${og.toFixed(2)} GFLOP/s${tg ? `; tfjs ${theirs!.ms.toFixed(1)} ms, ${tg.toFixed(2)} GFLOP/s, max |diff| ${theirs!.diff.toExponential(2)}` : ''}`);
  if (!opts['no-backward']) {
    const dy = dg.noGrad(run);
    const g = dg.randn(dy.shape, { seed: 4 });
    dy.dispose();
    x.requiresGrad = w.requiresGrad = b.requiresGrad = true;
    await e.sync();
    const both = await timeGpu(`${c.id} forward+backward`, () => {
      dg.tidy(() => run().backward(g));
      for (const t of [x, w, b]) {
        t.grad?.dispose();
        t.grad = null;
      }
    }, { runs });
    x.requiresGrad = w.requiresGrad = b.requiresGrad = false;
    g.dispose();
    const bg = gflops(3 * flop, both.medianMs);
    rows.push({ case: c.label, pass: 'forward+backward', medianMs: both.medianMs, minMs: both.minMs, gflops: bg, ofPeak: bg / peakGflops, tfjsMs: null, tfjsGflops: null, vsTfjs: null, vsTfjsRef: null, maxDiff: null });
    console.log(`  ${c.id} forward+backward: ${both.medianMs.toFixed(1)} ms, ${bg.toFixed(2)} GFLOP/s`);
  }
  for (const t of [x, w, b]) t.dispose();
}
printTable(
  rows.map((r) => ({ case: r.case, pass: r.pass, 'median ms': r.medianMs, 'min ms': r.minMs, 'GFLOP/s': r.gflops, 'of peak': r.ofPeak, 'tfjs ms': r.tfjsMs, 'tfjs GFLOP/s': r.tfjsGflops, 'x tfjs': r.vsTfjs, 'x tfjs ref': r.vsTfjsRef, '|ours-tfjs|': r.maxDiff })),
  `convolutions with bias, median of ${runs} runs (tfjs: ${Math.min(runs, 3)}); peak ${peakGflops.toFixed(1)} GFLOP/s; 'x tfjs ref' against the earlier tfjs numbers (4.1, 3.1, 0.74 GFLOP/s)`,
);
console.log(`results: ${writeResults('conv', { peak, runs, cases: cases.map((c) => ({ ...c, flop: flopOf(c) })), rows })}`);
process.exit(0);
