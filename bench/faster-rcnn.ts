// fasterrcnn_mobilenet_v3_large_fpn as DeepLabCut builds it with weights (torchvision's trained structure:
// FrozenBatchNorm2d backbone, 3 trainable stages, box_score_thresh 0.01, 2 classes; random values here) end to end:
// eval detect() on one 640x480 frame (resized to 800x1066 as torchvision's default transform does, backbone, FPN, RPN
// with 1000 proposals per level before and after NMS, RoI align + box head over the proposals, postprocess: what a
// top-down video analysis runs per frame), and one training step (detect() with targets -> torchvision's four losses
// -> backward -> AdamW, DeepLabCut's detector optimizer; DeepLabCut's detector batch size is 1), beside torchvision
// 0.14 on PyTorch 1.13 CPU (bench/pytorch/faster_rcnn_bench.py, 2 threads) in the same run, the phases alternating
// (torch eval, ours eval, torch train, ours train) so machine load hits both. Cold: the first call's time and the
// pipeline compile time within it. FLOPs of the convolutions and linear layers are counted from the layers run
// (one eval forward); training counts 3x its forward (input and weight gradients).
// --variant picks another of DeepLabCut's variants (fasterrcnn_resnet50_fpn, fasterrcnn_resnet50_fpn_v2, ...; with weights:
// FrozenBatchNorm2d except v2), both sides.
// Run: npx tsx bench/faster-rcnn.ts [--variant fasterrcnn_mobilenet_v3_large_fpn] [--runs 3] [--warmup 1] [--train-batch 1]
//      [--train-runs 2] [--no-train] [--no-torch]   (writes bench/results/faster-rcnn.json, or faster-rcnn-<variant>.json)
import { join } from 'node:path';
import { Conv2d } from '../src/nn/conv-layers.ts';
import { Linear } from '../src/nn/layers.ts';
import { add, engine, init, rand, scope, tensor } from '../src/index.ts';
import { FASTER_RCNN_VARIANTS, FasterRCNN, type FasterRcnnVariant } from '../src/models/detectors/faster-rcnn.ts';
import { AdamW } from '../src/optim/index.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { gflops, printTable, timeAsync, writeResults, type AsyncTiming, type Row } from './lib/harness.ts';
import { arg, flag, runTorch } from './lib/pose-step.ts';

const RUNS = Number(arg('--runs', '3'));
const WARMUP = Number(arg('--warmup', '1'));
const TRAIN_BATCH = Number(arg('--train-batch', '1'));
const TRAIN_RUNS = Number(arg('--train-runs', '2'));
const [FRAME_W, FRAME_H] = [640, 480];
const VARIANT = arg('--variant', 'fasterrcnn_mobilenet_v3_large_fpn') as FasterRcnnVariant;
if (!FASTER_RCNN_VARIANTS.includes(VARIANT)) throw new Error(`--variant must be one of ${FASTER_RCNN_VARIANTS.join(', ')}, got ${VARIANT}`);
const DEFAULT = VARIANT === 'fasterrcnn_mobilenet_v3_large_fpn';

await init({ device: 'auto' });
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

/** FLOPs (2 x multiply-adds) of every conv and linear layer one call of `work` runs. */
async function layerFlop(work: () => Promise<void>): Promise<{ conv: number; linear: number }> {
  const c = { conv: 0, linear: 0 };
  const conv = Conv2d.prototype.forward;
  const linear = Linear.prototype.forward;
  Conv2d.prototype.forward = function (this: Conv2d, x: Tensor): Tensor {
    const y = conv.call(this, x);
    const [kh, kw] = typeof this.kernelSize === 'number' ? [this.kernelSize, this.kernelSize] : this.kernelSize;
    c.conv += 2 * y.size * (this.inChannels / (this.opts.groups ?? 1)) * kh * kw;
    return y;
  };
  Linear.prototype.forward = function (this: Linear, x: Tensor): Tensor {
    const y = linear.call(this, x);
    c.linear += 2 * y.size * this.inFeatures;
    return y;
  };
  try {
    await work();
  } finally {
    Conv2d.prototype.forward = conv;
    Linear.prototype.forward = linear;
  }
  return c;
}

interface TorchPhase {
  torch: string;
  threads: number;
  median_ms: number;
  min_ms: number;
  first_ms: number;
  detections?: number;
  losses?: number[];
}
const script = join(import.meta.dirname, 'pytorch/faster_rcnn_bench.py');
const torchPhase = (phase: string, runs: number) => (flag('--no-torch') ? null : runTorch<TorchPhase>(script, ['--variant', VARIANT, '--phase', phase, '--runs', String(runs), '--warmup', String(WARMUP), '--batch', String(TRAIN_BATCH)]));

const model = new FasterRCNN({ variant: VARIANT, pretrainedBackbone: true, boxScoreThresh: 0.01, seed: 0 });
const rows: Row[] = [];
const results: Record<string, unknown> = { device };
const row = (run: string, st: AsyncTiming, images: number, flop: number, t: TorchPhase | null): Row => ({
  run,
  ms: +st.medianMs.toFixed(0),
  'min ms': +st.minMs.toFixed(0),
  'img/s': +((1000 * images) / st.medianMs).toPrecision(3),
  'GFLOP/s': +gflops(flop, st.medianMs).toFixed(2),
  'torch ms': t ? +t.median_ms.toFixed(0) : '-',
  'torch img/s': t ? +((1000 * images) / t.median_ms).toPrecision(3) : '-',
  'ours / torch': t ? +(t.median_ms / st.medianMs).toFixed(3) : '-',
  'first ms': Math.round(st.firstMs),
  'compile ms': Math.round(st.firstCompileMs),
  'torch first ms': t ? Math.round(t.first_ms) : '-',
});
let flopPerFrame = 0;
try {
  // ---- eval: one 640x480 frame ----
  const te = torchPhase('eval', RUNS);
  model.eval();
  const frame = rand([3, FRAME_H, FRAME_W], { seed: 1 });
  let count = 0;
  const detect = async () => {
    count = (await model.detect([frame])).detections[0]!.scores.length;
  };
  const ev = await timeAsync(detect, RUNS, WARMUP);
  const f = await layerFlop(detect);
  flopPerFrame = f.conv + f.linear;
  const [rh, rw] = model.transform.resizedSize([FRAME_H, FRAME_W]);
  rows.push(row(`eval detect 1x${FRAME_W}x${FRAME_H} (${rh}x${rw})`, ev, 1, flopPerFrame, te));
  results.eval = { ...ev, detections: count, flop: f, torch: te };
  frame.dispose();

  // ---- training step ----
  if (!flag('--no-train')) {
    const tt = torchPhase('train', TRAIN_RUNS);
    model.train();
    const B = TRAIN_BATCH;
    const images = Array.from({ length: B }, (_, i) => rand([3, FRAME_H, FRAME_W], { seed: 100 + i }));
    const targets = images.map((_, i) => ({
      boxes: tensor([
        [100 + 20 * i, 80, 260 + 20 * i, 240],
        [330, 200 + 10 * i, 480, 400 + 10 * i],
      ]),
      labels: new Int32Array([1, 1]),
    }));
    const optimizer = new AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-4 });
    const losses: number[] = [];
    let peakBytes = 0;
    const tr = await timeAsync(async () => {
      model.zeroGrad();
      const total = await scope(async () => {
        const { losses: l } = await model.detect(images, targets);
        const t = add(add(l.loss_classifier!, l.loss_box_reg!), add(l.loss_objectness!, l.loss_rpn_box_reg!));
        t.backward();
        optimizer.step();
        peakBytes = Math.max(peakBytes, engine().stats().liveBytes);
        return t;
      });
      losses.push(await total.item());
      total.dispose();
    }, TRAIN_RUNS, WARMUP);
    // Training forwards 512 sampled proposals per image through the box head where eval runs its 1000 proposals:
    // the FLOP figure is the eval forward's, tripled, an estimate.
    const [rh, rw] = model.transform.resizedSize([FRAME_H, FRAME_W]);
    rows.push(row(`train step ${B}x${FRAME_W}x${FRAME_H} (${rh}x${rw})`, tr, B, 3 * flopPerFrame * B, tt));
    results.train = { batch: B, ...tr, losses, peakLiveBytes: peakBytes, torch: tt };
    optimizer.dispose();
    for (const t of [...images, ...targets.map((t) => t.boxes)]) t.dispose();
  }
} finally {
  model.dispose();
}
const e = results.eval as { flop: { conv: number; linear: number }; detections: number };
console.log(`\nper 640x480 frame: ${(e.flop.conv / 1e9).toFixed(2)} GFLOP in convolutions, ${(e.flop.linear / 1e9).toFixed(2)} in the box head's linear layers; ${e.detections} detections`);
printTable(rows, `${VARIANT} (2 classes, trained structure), median of ${RUNS} (eval) / ${TRAIN_RUNS} (train): ${device} vs torchvision CPU (2 threads)`);
console.log(`wrote ${writeResults(DEFAULT ? 'faster-rcnn' : `faster-rcnn-${VARIANT}`, { device, variant: VARIANT, runs: RUNS, warmup: WARMUP, trainRuns: TRAIN_RUNS, results, rows })}`);
process.exit(0);
