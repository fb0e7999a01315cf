// Full-frame inference of the resnet_50 pose model (DeepLabCut's default: ResNet-50-GN, OS16, heatmap + locref
// heads), as `dlc-gpu evaluate` and `predict` run it: batch 1, one frame at a time through the inference
// transforms, the predictor and the keypoint readback (runner/inference.ts predictImage). Per frame size: the
// first frame ("cold": new buffer sizes; the first size also builds the pipelines) and the median of the next
// ones ("warm"), the cost per pixel against the batch-8 256x256 forward (the training benchmarks' shape), and
// PyTorch 1.13 CPU's same forward (bench/pytorch/full_frame.py, 2 threads) run right after each, in the same
// run. Then the end-to-end measure of issue 17: `dlc-gpu evaluate` on a generated 55-frame project with
// 832x747 and 640x470 frames (bench/lib/frame-project.ts), wall time, per-frame seconds and peak RSS.
// Frames: openfield's 640x480 (m4s1), cropped to 640x470 or resized to 832x747.
// Run: npx tsx bench/full-frame.ts [--sizes 480x640,470x640,747x832] [--frames 3] [--conv auto|direct|gemm] [--no-torch] [--no-evaluate]
//      (--conv picks setConvAlgorithm for the in-process rows: 'direct' is the path before Winograd; evaluate runs 'auto';
//      --compare direct also runs every warm frame with that algorithm, alternating, for a same-run ratio)
//      (writes bench/results/full-frame.json)
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AugmentationPipeline } from '../src/data/index.ts';
import { engine, init, randn, setConvAlgorithm, type ConvAlgorithm } from '../src/index.ts';
import { PoseModel } from '../src/models/pose-model.ts';
import { predictImage, recordPredictions } from '../src/runner/inference.ts';
import { printTable, writeResults, type Row } from './lib/harness.ts';
import { cropRows, makeFrameProject, openfieldFrames, REPO_ROOT, resizeRgb, writeRandomSnapshot } from './lib/frame-project.ts';
import { arg, defaultPoseConfig, flag, runTorch } from './lib/pose-step.ts';

const SIZES = arg('--sizes', '480x640,470x640,747x832').split(',').map((s) => s.split('x').map(Number) as [number, number]);
const FRAMES = Number(arg('--frames', '3'));
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

await init({ device: 'auto' });
const CONV = arg('--conv', 'auto') as ConvAlgorithm;
const COMPARE = arg('--compare', '') as ConvAlgorithm | '';
setConvAlgorithm(CONV);
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();
const cfg = defaultPoseConfig('resnet_50');
const model = new PoseModel(cfg.model, { seed: 0 });
model.eval();
// The default data.inference block: normalisation only, so frames keep their size.
const pipeline = new AugmentationPipeline({ normalize_images: true } as ConstructorParameters<typeof AugmentationPipeline>[0]);
const source = openfieldFrames(FRAMES + 1);

interface TorchFrame {
  height: number;
  width: number;
  batch: number;
  cold_s: number;
  warm_s: number;
  us_per_pixel: number;
}
const torch = (sizes: string, batch: number) =>
  flag('--no-torch') ? null : (runTorch<{ results: TorchFrame[] }>(join(import.meta.dirname, 'pytorch/full_frame.py'), ['--sizes', sizes, '--batch', String(batch), '--frames', String(FRAMES)])?.results[0] ?? null);

// The batch-8 256x256 forward (random input, predictor and readback included), warm median of FRAMES runs.
async function reference(): Promise<{ coldS: number; warmS: number; usPerPixel: number }> {
  const x = randn([8, 3, 256, 256], { seed: 1 });
  const once = async () => {
    const t0 = performance.now();
    const p = recordPredictions(model, x);
    await p.toArray();
    p.dispose();
    return (performance.now() - t0) / 1000;
  };
  const coldS = await once();
  const warm: number[] = [];
  for (let i = 0; i < FRAMES; i++) warm.push(await once());
  x.dispose();
  const warmS = median(warm);
  return { coldS, warmS, usPerPixel: (warmS * 1e6) / (8 * 256 * 256) };
}

/** openfield frame i at h x w: itself, rows cropped from its middle, or resized. */
function frameAt(i: number, h: number, w: number) {
  const img = source[i % source.length]![1];
  if (w === img.width && h <= img.height) return cropRows(img, Math.floor((img.height - h) / 2), h);
  return resizeRgb(img, w, h);
}

const rows: Row[] = [];
const results: Record<string, unknown>[] = [];
const compile0 = engine().compileMs;
const ref = await reference();
const refTorch = torch('256x256', 8);
rows.push({
  input: '8x3x256x256 (reference)',
  'cold s': +ref.coldS.toFixed(2),
  'warm s/frame': +(ref.warmS / 8).toFixed(3),
  'us/pixel': +ref.usPerPixel.toFixed(2),
  'x reference/pixel': 1,
  'torch warm s/frame': refTorch ? +(refTorch.warm_s / 8).toFixed(3) : '-',
  'torch us/pixel': refTorch ? +refTorch.us_per_pixel.toFixed(2) : '-',
  'x torch': refTorch ? +(refTorch.warm_s / ref.warmS).toFixed(3) : '-',
  'RSS MiB': Math.round(process.memoryUsage().rss / 2 ** 20),
});
results.push({ input: [8, 3, 256, 256], ours: ref, torch: refTorch });
for (const [h, w] of SIZES) {
  const frames = Array.from({ length: FRAMES + 1 }, (_, i) => frameAt(i, h, w));
  const times: number[] = [];
  const other: number[] = [];
  for (const [i, img] of frames.entries()) {
    const t0 = performance.now();
    await predictImage(model, pipeline, `frame${i}.png`, img, 4, 0);
    times.push((performance.now() - t0) / 1000);
    if (COMPARE && i > 0) {
      setConvAlgorithm(COMPARE);
      const t1 = performance.now();
      await predictImage(model, pipeline, `frame${i}.png`, img, 4, 0);
      other.push((performance.now() - t1) / 1000);
      setConvAlgorithm(CONV);
    }
  }
  const compareS = other.length ? median(other) : null;
  const coldS = times[0]!;
  const warmS = median(times.slice(1));
  const usPerPixel = (warmS * 1e6) / (h * w);
  const rss = process.memoryUsage().rss / 2 ** 20;
  const t = torch(`${h}x${w}`, 1);
  rows.push({
    input: `1x3x${h}x${w}`,
    'cold s': +coldS.toFixed(2),
    'warm s/frame': +warmS.toFixed(3),
    'us/pixel': +usPerPixel.toFixed(2),
    'x reference/pixel': +(usPerPixel / ref.usPerPixel).toFixed(3),
    'torch warm s/frame': t ? +t.warm_s.toFixed(3) : '-',
    'torch us/pixel': t ? +t.us_per_pixel.toFixed(2) : '-',
    'x torch': t ? +(t.warm_s / warmS).toFixed(3) : '-',
    ...(compareS ? { [`${COMPARE} s/frame`]: +compareS.toFixed(3), [`x ${COMPARE}`]: +(compareS / warmS).toFixed(3) } : {}),
    'RSS MiB': Math.round(rss),
  });
  results.push({ input: [1, 3, h, w], ours: { coldS, warmS, usPerPixel, framesS: times, rssMiB: rss, ...(compareS ? { compare: COMPARE, compareS, compareFramesS: other } : {}) }, torch: t });
}
const compileS = (engine().compileMs - compile0) / 1000;
printTable(rows, `resnet_50 pose model, full-frame inference (predict path, batch 1, conv ${CONV}, LP_NUM_THREADS ${process.env.LP_NUM_THREADS}): ${device} vs PyTorch CPU (2 threads); pipelines built in ${compileS.toFixed(1)} s`);
model.dispose();

// End to end: dlc-gpu evaluate on the generated project, in its own process (as a user runs it).
let evaluate: Record<string, unknown> | null = null;
if (!flag('--no-evaluate')) {
  const project = makeFrameProject();
  try {
    const models = join(project.dir, 'dlc-models-pytorch', 'iteration-0');
    const train = join(models, readdirSync(models)[0]!, 'train');
    await writeRandomSnapshot(join(train, 'pytorch_config.yaml'));
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb=%M', process.execPath, join(REPO_ROOT, 'bin/dlc-gpu.js'), 'evaluate', project.config], { encoding: 'utf8', cwd: REPO_ROOT });
    const wallS = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`evaluate failed: ${r.stderr}`);
    const rssKb = Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
    evaluate = { frames: project.frames, sizes: ['832x747 (28)', '640x470 (27)'], wallS, perFrameS: wallS / project.frames, peakRssMiB: rssKb / 1024 };
    printTable([{ frames: project.frames, 'wall s': +wallS.toFixed(1), 's/frame': +(wallS / project.frames).toFixed(2), 'peak RSS MiB': Math.round(rssKb / 1024) }], 'dlc-gpu evaluate, 55 frames (28 at 832x747, 27 at 640x470), resnet_50');
  } finally {
    rmSync(project.dir, { recursive: true, force: true });
  }
}
console.log(`wrote ${writeResults('full-frame', { device, conv: CONV, lpNumThreads: process.env.LP_NUM_THREADS, frames: FRAMES, compileS, results, rows, evaluate })}`);
