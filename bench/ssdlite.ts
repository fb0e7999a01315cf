// SSDLite320-MobileNetV3-Large (DeepLabCut's default detector, num_classes 2) end to end: eval detect() on one
// 640x480 frame (transform to 320x320, backbone, extras, heads, softmax, top-k, decode, clip, NMS, rescale: what
// a top-down video analysis runs per frame), and one training step (detect() with targets -> SSD's losses ->
// backward -> AdamW, DeepLabCut's detector optimizer) at 320x320, beside torchvision 0.14 on PyTorch 1.13 CPU
// (bench/pytorch/ssdlite_bench.py, 2 threads) in the same run. FLOPs and bytes of the convolutions are counted from
// the layers the model runs (recorded in one forward); training counts 3x the forward (input and weight gradients).
// Run: npx tsx bench/ssdlite.ts [--train-batch 16] [--runs 5] [--warmup 2] [--train-runs 3] [--no-train] [--no-torch]
//      (writes bench/results/ssdlite.json)
import { join } from 'node:path';
import { Conv2d } from '../src/nn/conv-layers.ts';
import { add, engine, init, noGrad, rand, scope, tensor, tidy } from '../src/index.ts';
import { SSDLite } from '../src/models/detectors/ssdlite.ts';
import { AdamW } from '../src/optim/index.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { gflops, printTable, timeAsync, writeResults, type Row } from './lib/harness.ts';
import { arg, flag, runTorch } from './lib/pose-step.ts';

const RUNS = Number(arg('--runs', '5'));
const WARMUP = Number(arg('--warmup', '2'));
const TRAIN_BATCH = Number(arg('--train-batch', '16'));
const TRAIN_RUNS = Number(arg('--train-runs', '3'));
const [FRAME_W, FRAME_H] = [640, 480];

await init({ device: 'auto' });
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

/** Per 320x320 image: 2 x multiply-adds of every conv, and the bytes they read and write (input, output, weights). */
function convCost(model: SSDLite): { flop: number; bytes: number; depthwiseFlop: number } {
  const c = { flop: 0, bytes: 0, depthwiseFlop: 0 };
  const original = Conv2d.prototype.forward;
  Conv2d.prototype.forward = function (this: Conv2d, x: Tensor): Tensor {
    const y = original.call(this, x);
    const [kh, kw] = typeof this.kernelSize === 'number' ? [this.kernelSize, this.kernelSize] : this.kernelSize;
    const g = this.opts.groups ?? 1;
    const f = 2 * y.size * (this.inChannels / g) * kh * kw;
    c.flop += f;
    if (g > 1) c.depthwiseFlop += f;
    c.bytes += 4 * (x.size + y.size + this.outChannels * (this.inChannels / g) * kh * kw);
    return y;
  };
  try {
    model.eval();
    tidy(() => noGrad(() => void model.forward([rand([3, 320, 320], { seed: 9 })])));
  } finally {
    Conv2d.prototype.forward = original;
  }
  return c;
}

interface Torch {
  torch: string;
  torchvision: string;
  threads: number;
  eval: { median_ms: number; min_ms: number; first_ms: number; detections: number };
  train: { batch: number; median_ms: number; min_ms: number; first_ms: number; losses: number[] } | null;
}
const torch = flag('--no-torch')
  ? null
  : runTorch<Torch>(join(import.meta.dirname, 'pytorch/ssdlite_bench.py'), ['--runs', String(RUNS), '--warmup', String(WARMUP), '--train-batch', String(flag('--no-train') ? 0 : TRAIN_BATCH), '--train-runs', String(TRAIN_RUNS)]);

const model = new SSDLite({ seed: 0 });
const cost = convCost(model);
const rows: Row[] = [];
const results: Record<string, unknown> = { device, cost };
try {
  // ---- eval: one 640x480 frame ----
  model.eval();
  const frame = rand([3, FRAME_H, FRAME_W], { seed: 1 });
  let count = 0;
  const compile0 = engine().compileMs;
  const ev = await timeAsync(async () => {
    count = (await model.detect([frame])).detections[0]!.scores.length;
  }, RUNS, WARMUP);
  const te = torch?.eval;
  rows.push({
    run: `eval detect 1x${FRAME_W}x${FRAME_H}`,
    ms: +ev.medianMs.toFixed(1),
    'min ms': +ev.minMs.toFixed(1),
    'img/s': +(1000 / ev.medianMs).toPrecision(3),
    'conv GFLOP/s': +gflops(cost.flop, ev.medianMs).toFixed(2),
    'torch ms': te ? +te.median_ms.toFixed(1) : '-',
    'torch min ms': te ? +te.min_ms.toFixed(1) : '-',
    'ours / torch': te ? +(te.median_ms / ev.medianMs).toFixed(3) : '-',
    'first ms': Math.round(ev.firstMs),
    'torch first ms': te ? Math.round(te.first_ms) : '-',
  });
  results.eval = { ...ev, detections: count, compileMs: engine().compileMs - compile0, torch: te ?? null };
  frame.dispose();

  // ---- training step ----
  if (!flag('--no-train')) {
    model.train();
    const B = TRAIN_BATCH;
    const images = Array.from({ length: B }, (_, i) => rand([3, 320, 320], { seed: 100 + i }));
    // 1-3 boxes per image, inside the image (deterministic).
    const targets = images.map((_, i) => {
      const n = 1 + (i % 3);
      const boxes = Array.from({ length: n }, (_, k) => {
        const x = 20 + ((37 * i + 53 * k) % 180);
        const y = 15 + ((61 * i + 29 * k) % 170);
        return [x, y, x + 40 + ((i + k) % 5) * 20, y + 50 + ((2 * i + k) % 4) * 20];
      });
      return { boxes: tensor(boxes), labels: new Int32Array(n).fill(1) };
    });
    const optimizer = new AdamW(model.parameters(), { lr: 1e-4 });
    const losses: number[] = [];
    let peakBytes = 0;
    const tr = await timeAsync(async () => {
      model.zeroGrad();
      const total = await scope(async () => {
        const { losses: l } = await model.detect(images, targets);
        const t = add(l.bbox_regression!, l.classification!);
        t.backward();
        optimizer.step();
        peakBytes = Math.max(peakBytes, engine().stats().liveBytes);
        return t;
      });
      losses.push(await total.item());
      total.dispose();
    }, TRAIN_RUNS, 1);
    const tt = torch?.train;
    const trainFlop = 3 * cost.flop * B;
    rows.push({
      run: `train step ${B}x320x320`,
      ms: +tr.medianMs.toFixed(0),
      'min ms': +tr.minMs.toFixed(0),
      'img/s': +((1000 * B) / tr.medianMs).toPrecision(3),
      'conv GFLOP/s': +gflops(trainFlop, tr.medianMs).toFixed(2),
      'torch ms': tt ? +tt.median_ms.toFixed(0) : '-',
      'torch min ms': tt ? +tt.min_ms.toFixed(0) : '-',
      'ours / torch': tt ? +(tt.median_ms / tr.medianMs).toFixed(3) : '-',
      'first ms': Math.round(tr.firstMs),
      'torch first ms': tt ? Math.round(tt.first_ms) : '-',
    });
    results.train = { batch: B, ...tr, losses, peakLiveBytes: peakBytes, torch: tt ?? null };
    optimizer.dispose();
    for (const t of [...images, ...targets.map((t) => t.boxes)]) t.dispose();
  }
} finally {
  model.dispose();
}
console.log(
  `\nper 320x320 image: ${(cost.flop / 1e9).toFixed(3)} GFLOP in convolutions (${(cost.depthwiseFlop / 1e9).toFixed(3)} depthwise), ` +
    `${(cost.bytes / 2 ** 20).toFixed(1)} MiB read + written by them${results.train ? `; training peak ${((results.train as { peakLiveBytes: number }).peakLiveBytes / 2 ** 30).toFixed(2)} GiB live on the GPU` : ''}`,
);
printTable(rows, `SSDLite320-MobileNetV3-Large (2 classes), median of ${RUNS} (eval) / ${TRAIN_RUNS} (train): ${device} vs torchvision CPU${torch ? ` (${torch.threads} threads)` : ''}`);
console.log(`wrote ${writeResults('ssdlite', { device, runs: RUNS, warmup: WARMUP, trainRuns: TRAIN_RUNS, results, rows })}`);
process.exit(0);
