// Convolution rows of issue 3: median time, GFLOP/s and fraction of the FMA peak, forward and forward+backward,
// against TensorFlow.js 4.22's WebGPU backend (forward, NHWC) on the same Dawn adapter in this process.
// FLOP = 2 * N * Cout * Ho * Wo * Cin/groups * kh * kw (a deconv counts the conv it transposes).
// Run: npx tsx bench/conv.ts [--runs 5] [--no-tfjs] [--no-peak]
import { parseArgs } from 'node:util';
import * as dg from '../src/index.ts';
import { fmaPeak } from './lib/fma-peak.ts';
import { gflops, printTable, timeGpu, writeResults, type Row } from './lib/harness.ts';
import { loadTfjsWebgpu, tfjsSync } from './lib/tfjs.ts';

const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'no-tfjs': { type: 'boolean', default: false }, 'no-peak': { type: 'boolean', default: false } } });
const runs = Number(opts.runs);
await dg.init();
const peak = opts['no-peak'] ? null : (await fmaPeak()).gflops;

interface Workload {
  name: string;
  x: number[];
  w: number[];
  flop: number;
  ours: (x: dg.Tensor, w: dg.Tensor) => dg.Tensor;
  /** tfjs NHWC input, HWIO (conv) or HWOI (deconv) filter. */
  theirs: (tf: Awaited<ReturnType<typeof loadTfjsWebgpu>>, x: unknown, w: unknown) => unknown;
  tfX: number[];
  tfW: number[];
}

const workloads: Workload[] = [
  {
    name: 'conv3x3 [8,64,56,56] x [64,64,3,3] pad 1', x: [8, 64, 56, 56], w: [64, 64, 3, 3], flop: 2 * 8 * 64 * 56 * 56 * 64 * 9,
    ours: (x, w) => dg.conv2d(x, w, null, { padding: 1 }), tfX: [8, 56, 56, 64], tfW: [3, 3, 64, 64],
    theirs: (tf, x, w) => tf.conv2d(x as never, w as never, 1, 'same'),
  },
  {
    name: 'conv1x1 s2 [8,256,28,28] -> 512', x: [8, 256, 28, 28], w: [512, 256, 1, 1], flop: 2 * 8 * 512 * 14 * 14 * 256,
    ours: (x, w) => dg.conv2d(x, w, null, { stride: 2 }), tfX: [8, 28, 28, 256], tfW: [1, 1, 256, 512],
    theirs: (tf, x, w) => tf.conv2d(x as never, w as never, 2, 'valid'),
  },
  {
    name: 'conv7x7 s2 p3 [8,3,256,256] -> 64', x: [8, 3, 256, 256], w: [64, 3, 7, 7], flop: 2 * 8 * 64 * 128 * 128 * 3 * 49,
    ours: (x, w) => dg.conv2d(x, w, null, { stride: 2, padding: 3 }), tfX: [8, 256, 256, 3], tfW: [7, 7, 3, 64],
    theirs: (tf, x, w) => tf.conv2d(x as never, w as never, 2, [[0, 0], [3, 3], [3, 3], [0, 0]] as never),
  },
  {
    name: 'deconv [8,2048,8,8] -> 17, k3 s2 p1 op1', x: [8, 2048, 8, 8], w: [2048, 17, 3, 3], flop: 2 * 8 * 2048 * 8 * 8 * 17 * 9,
    ours: (x, w) => dg.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }), tfX: [8, 8, 8, 2048], tfW: [3, 3, 17, 2048],
    theirs: (tf, x, w) => tf.conv2dTranspose(x as never, w as never, [8, 16, 16, 17], 2, 'same'),
  },
];

const rows: Row[] = [];
const tf = opts['no-tfjs'] ? null : await loadTfjsWebgpu();
for (const wl of workloads) {
  const x = dg.randn(wl.x, { seed: 1 });
  const w = dg.mulScalar(dg.randn(wl.w, { seed: 2 }), 0.05);
  const fwd = await timeGpu(`${wl.name} fwd`, () => dg.noGrad(() => wl.ours(x, w)), { runs });
  x.requiresGrad = true;
  w.requiresGrad = true;
  const both = await timeGpu(`${wl.name} fwd+bwd`, () => {
    dg.tidy(() => dg.sum(wl.ours(x, w)).backward());
    x.grad?.dispose();
    w.grad?.dispose();
    x.grad = null;
    w.grad = null;
  }, { runs });
  let theirs: number | null = null;
  if (tf) {
    const tx = tf.randomNormal(wl.tfX);
    const tw = tf.mul(tf.randomNormal(wl.tfW), 0.05);
    const t = await timeGpu(`${wl.name} tfjs`, () => tf.tidy(() => { wl.theirs(tf, tx, tw); }), { runs: Math.min(runs, 3), warmup: 1, sync: () => tfjsSync(tf) });
    theirs = t.medianMs;
    tf.dispose([tx, tw]);
  }
  const g = gflops(wl.flop, fwd.medianMs);
  rows.push({
    workload: wl.name,
    fwdMs: +fwd.medianMs.toFixed(1),
    fwdGflops: +g.toFixed(2),
    fwdOfPeak: peak ? +(g / peak).toFixed(3) : null,
    fwdBwdMs: +both.medianMs.toFixed(1),
    fwdBwdGflops: +gflops(3 * wl.flop, both.medianMs).toFixed(2),
    tfjsFwdMs: theirs === null ? null : +theirs.toFixed(1),
    tfjsGflops: theirs === null ? null : +gflops(wl.flop, theirs).toFixed(2),
    oursOverTfjs: theirs === null ? null : +(theirs / fwd.medianMs).toFixed(2),
  });
  x.dispose();
  w.dispose();
}
printTable(rows, `convolutions (lavapipe FMA peak ${peak?.toFixed(1) ?? '?'} GFLOP/s), median of ${runs}; fwd+bwd counts 3x the forward FLOP`);
console.log(`results: ${writeResults('conv', { peak, runs, rows })}`);
process.exit(0);
