// MobileNetV3-Large's `features` (the detection backbone: what SSDLite and fasterrcnn_mobilenet_v3_large_fpn
// run) forward in eval mode without gradients at SSDLite's 320x320 input, batch 1 and 8, beside torchvision
// 0.14 on PyTorch 1.13 CPU (bench/pytorch/mobilenet_bench.py, 2 threads) in the same run. FLOPs and bytes are
// counted from the layers; --profile times one more forward per batch per dispatch, grouped by kernel.
// Run: npx tsx bench/mobilenet-v3.ts [--batches 1,8] [--size 320] [--runs 5] [--torch-runs 21] [--warmup 2] [--reduced-tail] [--profile] [--no-torch]
//      (writes bench/results/mobilenet-v3.json)
import { join } from 'node:path';
import { Conv2d } from '../src/nn/conv-layers.ts';
import type { Layer } from '../src/nn/module.ts';
import { Sequential } from '../src/nn/layers.ts';
import { summarize } from '../src/gpu/profiler.ts';
import { engine, init, noGrad, randn, tidy } from '../src/index.ts';
import { InvertedResidual, MobileNetV3 } from '../src/models/detectors/mobilenet-v3.ts';
import { SqueezeExcitation } from '../src/models/detectors/squeeze-excitation.ts';
import { gflops, printTable, timeGpu, writeResults, type Row } from './lib/harness.ts';
import { arg, flag, runTorch } from './lib/pose-step.ts';

const BATCHES = arg('--batches', '1,8').split(',').map(Number);
const SIZE = Number(arg('--size', '320'));
const RUNS = Number(arg('--runs', '5'));
const WARMUP = Number(arg('--warmup', '2'));
const REDUCED = flag('--reduced-tail');
// PyTorch's forwards are short and its OpenMP threads suffer most from other jobs' load: more of them.
const TORCH_RUNS = Number(arg('--torch-runs', '21'));

await init({ device: 'auto' });
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

/** Per image: multiply-adds x 2 and the bytes our kernels move (each conv, norm, activation, SE and residual pass reads and writes its tensors once). */
interface Cost {
  flop: number;
  bytes: number;
  convFlop: { dense: number; depthwise: number };
}

function cost(features: Sequential, size: number): Cost {
  const c: Cost = { flop: 0, bytes: 0, convFlop: { dense: 0, depthwise: 0 } };
  let [C, H, W] = [3, size, size];
  const conv = (m: Conv2d) => {
    const k = typeof m.kernelSize === 'number' ? m.kernelSize : m.kernelSize[0];
    const s = typeof m.opts.stride === 'number' ? m.opts.stride : 1;
    const d = typeof m.opts.dilation === 'number' ? m.opts.dilation : 1;
    const g = m.opts.groups ?? 1;
    const p = ((k - 1) >> 1) * d;
    const Ho = Math.floor((H + 2 * p - d * (k - 1) - 1) / s) + 1;
    const Wo = Math.floor((W + 2 * p - d * (k - 1) - 1) / s) + 1;
    const f = 2 * m.outChannels * (m.inChannels / g) * k * k * Ho * Wo;
    c.flop += f;
    if (g > 1) c.convFlop.depthwise += f;
    else c.convFlop.dense += f;
    c.bytes += 4 * (C * H * W + m.outChannels * Ho * Wo + m.outChannels * (m.inChannels / g) * k * k);
    [C, H, W] = [m.outChannels, Ho, Wo];
  };
  // conv, norm (one read + write), activation (one read + write)
  const cna = (s: Sequential) => {
    conv(s.layers[0] as Conv2d);
    c.bytes += 4 * C * H * W * 2 * (s.layers.length - 1);
  };
  for (const layer of features.layers) {
    if (layer instanceof InvertedResidual) {
      const [C0, H0, W0] = [C, H, W];
      for (const l of layer.block.layers as Layer[]) {
        if (l instanceof SqueezeExcitation) {
          c.flop += 2 * 2 * l.inputChannels * l.squeezeChannels + C * H * W * 2; // fc1, fc2, pool + scale
          c.bytes += 4 * C * H * W * 3; // pool reads x; the scale reads x and writes the result
        } else cna(l as Sequential);
      }
      if (layer.useResConnect) {
        c.flop += C0 * H0 * W0;
        c.bytes += 4 * 3 * C * H * W;
      }
    } else cna(layer as Sequential);
  }
  return c;
}

interface Torch {
  torch: string;
  torchvision: string;
  threads: number;
  results: Record<string, { median_ms: number; min_ms: number; first_ms: number }>;
}
const torch = flag('--no-torch')
  ? null
  : runTorch<Torch>(join(import.meta.dirname, 'pytorch/mobilenet_bench.py'), ['--batches', BATCHES.join(','), '--size', String(SIZE), '--runs', String(TORCH_RUNS), '--warmup', String(WARMUP), ...(REDUCED ? ['--reduced-tail'] : [])]);

const model = new MobileNetV3({ classifier: false, reducedTail: REDUCED }).eval();
const perImage = cost(model.features, SIZE);
const rows: Row[] = [];
const results: Record<string, unknown>[] = [];
try {
  for (const batch of BATCHES) {
    const x = randn([batch, 3, SIZE, SIZE], { seed: 1 });
    const compile0 = engine().compileMs;
    const t0 = performance.now();
    const first = noGrad(() => tidy(() => model.forward(x)));
    await first.toArray();
    const firstMs = performance.now() - t0;
    first.dispose();
    const t = await timeGpu(`mobilenet_v3 batch ${batch}`, () => noGrad(() => tidy(() => model.forward(x))), { runs: RUNS, warmup: WARMUP });
    const tt = torch?.results[String(batch)];
    const flop = perImage.flop * batch;
    rows.push({
      input: `${batch}x3x${SIZE}x${SIZE}`,
      'ms': +t.medianMs.toFixed(1),
      'min ms': +t.minMs.toFixed(1),
      'img/s': +((1000 * batch) / t.medianMs).toPrecision(3),
      'GFLOP/s': +gflops(flop, t.medianMs).toFixed(2),
      'GB/s': +((perImage.bytes * batch) / t.medianMs / 1e6).toFixed(2),
      'torch ms': tt ? +tt.median_ms.toFixed(1) : '-',
      'torch min ms': tt ? +tt.min_ms.toFixed(1) : '-',
      'torch img/s': tt ? +((1000 * batch) / tt.median_ms).toPrecision(3) : '-',
      'torch GFLOP/s': tt ? +gflops(flop, tt.median_ms).toFixed(2) : '-',
      'ours / torch': tt ? +(tt.median_ms / t.medianMs).toFixed(3) : '-',
      'ours / torch (min)': tt ? +(tt.min_ms / t.minMs).toFixed(3) : '-',
      'first ms': Math.round(firstMs),
      'torch first ms': tt ? Math.round(tt.first_ms) : '-',
    });
    const entry: Record<string, unknown> = { batch, timing: t, firstMs, compileMs: engine().compileMs - compile0, torch: tt ?? null };
    if (flag('--profile')) {
      engine().startProfile();
      const y = noGrad(() => tidy(() => model.forward(x)));
      await y.toArray();
      y.dispose();
      const profile = await engine().stopProfile();
      const total = profile.reduce((a, p) => a + p.ms, 0);
      const kernels = summarize(profile, (p) => p.kernel).slice(0, 15);
      printTable(kernels.map((k) => ({ kernel: k.key, ms: +k.ms.toFixed(1), dispatches: k.count, share: +(k.share * 100).toFixed(1) })), `profile batch ${batch}: ${profile.length} dispatches, ${total.toFixed(0)} ms of GPU time`);
      entry.profile = { totalMs: total, dispatches: profile.length, kernels };
    }
    results.push(entry);
    x.dispose();
  }
} finally {
  model.dispose();
}
console.log(
  `\nper image at ${SIZE}x${SIZE}: ${(perImage.flop / 1e9).toFixed(3)} GFLOP (dense convs ${(perImage.convFlop.dense / 1e9).toFixed(3)}, depthwise ${(perImage.convFlop.depthwise / 1e9).toFixed(3)}), ` +
    `${(perImage.bytes / 2 ** 20).toFixed(1)} MiB moved by our passes`,
);
printTable(rows, `MobileNetV3-Large${REDUCED ? ' (reduced tail)' : ''} features, eval, no grad, median of ${RUNS} after ${WARMUP} warm-up: ${device} vs torchvision CPU${torch ? ` (${torch.threads} threads, median of ${TORCH_RUNS})` : ''}`);
console.log(`wrote ${writeResults('mobilenet-v3', { device, size: SIZE, reducedTail: REDUCED, runs: RUNS, torchRuns: TORCH_RUNS, warmup: WARMUP, perImage, results, rows })}`);
process.exit(0);
