// Video analysis (dlc-gpu analyze-videos' loop) on ../shared/datasets/openfield-Pranav-2018-10-30/videos/
// m3v1mp4.mp4 (640x480) with the default resnet_50 pose model (random weights; speed does not depend on
// them): ffmpeg decode alone, inference alone (the same frames already in memory: GPU preprocessing,
// model, heatmap/locref decoding, keypoint readback), and end to end (decode overlapped with inference),
// with the fraction of wall time the GPU queue had nothing to do; beside PyTorch on the CPU running
// DeepLabCut's loop (cv2 decode, the same batch size) on the same frames (bench/pytorch/video_bench.py).
// Aims (issue 15): end to end within 10% of inference alone, GPU queue idle under 5%.
// Run: npx tsx bench/video.ts [--frames 64] [--batch 4] [--video PATH] [--no-torch]   (writes bench/results/video.json)
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AugmentationPipeline } from '../src/data/index.ts';
import { engine, init } from '../src/index.ts';
import type { RgbImage } from '../src/io/image.ts';
import { PoseModel } from '../src/models/pose-model.ts';
import { probeVideo } from '../src/video/ffmpeg.ts';
import { FrameReader } from '../src/video/frame-reader.ts';
import { streamPoses } from '../src/video/pose-stream.ts';
import { QueueTimeline } from '../src/video/readback.ts';
import { printTable, writeResults, type Row } from './lib/harness.ts';
import { arg, defaultPoseConfig, flag, runTorch } from './lib/pose-step.ts';

const FRAMES = Number(arg('--frames', '64'));
// Batch 4: at 640x480 a batch of 8 needs a 150 MiB activation, over lavapipe's 128 MiB storage-binding limit.
const BATCH = Number(arg('--batch', '4'));
const VIDEO = resolve(arg('--video', join(import.meta.dirname, '../../shared/datasets/openfield-Pranav-2018-10-30/videos/m3v1mp4.mp4')));
if (!existsSync(VIDEO)) throw new Error(`${VIDEO}: not found (pass --video)`);

await init({ device: 'auto' });
const a = engine().adapter.info;
const device = `${a.vendor} ${a.architecture} ${a.description}`.trim();
const info = probeVideo(VIDEO);
const cfg = defaultPoseConfig('resnet_50');
const model = new PoseModel(cfg.model, { seed: 0 });
model.eval();
const pipeline = new AugmentationPipeline({ normalize_images: true } as ConstructorParameters<typeof AugmentationPipeline>[0]);
const K = 4;

async function decodeAll(): Promise<{ frames: RgbImage[]; s: number }> {
  const t0 = performance.now();
  const reader = new FrameReader(info, { maxFrames: FRAMES, prefetch: 2 * BATCH });
  const frames: RgbImage[] = [];
  for (;;) {
    const got = await reader.read(BATCH);
    if (!got.length) break;
    frames.push(...got);
  }
  reader.close();
  return { frames, s: (performance.now() - t0) / 1000 };
}

async function infer(next: (n: number) => Promise<RgbImage[]>): Promise<{ n: number; s: number; idle: number }> {
  const timeline = new QueueTimeline();
  const t0 = performance.now();
  const n = await streamPoses(next, () => undefined, { model, pipeline, bodyparts: K, batchSize: BATCH, label: VIDEO, timeline });
  return { n, s: (performance.now() - t0) / 1000, idle: timeline.idleFraction() };
}

const decoded = await decodeAll();
console.log(`${VIDEO}: ${info.width}x${info.height}, ${decoded.frames.length} frames decoded in ${decoded.s.toFixed(2)} s`);
// Warm-up: one batch compiles the pipelines (LLVM on lavapipe) and fills the buffer pool.
const t0 = performance.now();
const warmup = [decoded.frames.slice(0, BATCH)];
await infer(async () => warmup.shift() ?? []);
console.log(`warm-up batch (pipeline compiles): ${((performance.now() - t0) / 1000).toFixed(1)} s`);

let at = 0;
const inMemory = await infer(async (n) => {
  const out = decoded.frames.slice(at, at + n);
  at += out.length;
  return out;
});
const reader = new FrameReader(info, { maxFrames: FRAMES, prefetch: 2 * BATCH });
const e2e = await infer((n) => reader.read(n));
reader.close();

interface Torch {
  torch: string;
  decode_fps: number;
  inference_fps: number;
  end_to_end_fps: number;
}
const torch = flag('--no-torch') ? null : runTorch<Torch>(join(import.meta.dirname, 'pytorch/video_bench.py'), ['--video', VIDEO, '--frames', String(FRAMES), '--batch', String(BATCH)]);

const fps = (n: number, s: number) => +(n / s).toPrecision(3);
const rows: Row[] = [
  { stage: 'decode alone', frames: decoded.frames.length, 'frames/s': fps(decoded.frames.length, decoded.s), 'GPU idle': '-', 'torch frames/s': torch ? +torch.decode_fps.toPrecision(3) : '-' },
  { stage: 'inference alone', frames: inMemory.n, 'frames/s': fps(inMemory.n, inMemory.s), 'GPU idle': `${(100 * inMemory.idle).toFixed(1)}%`, 'torch frames/s': torch ? +torch.inference_fps.toPrecision(3) : '-' },
  { stage: 'end to end', frames: e2e.n, 'frames/s': fps(e2e.n, e2e.s), 'GPU idle': `${(100 * e2e.idle).toFixed(1)}%`, 'torch frames/s': torch ? +torch.end_to_end_fps.toPrecision(3) : '-' },
];
printTable(rows, `Video analysis, resnet_50, batch ${BATCH}, ${info.width}x${info.height} (${device})`);
const slowdown = inMemory.s > 0 ? e2e.s / inMemory.s - 1 : NaN;
console.log(`end to end vs inference alone: ${(100 * slowdown).toFixed(1)}% slower (aim: under 10%); GPU idle end to end ${(100 * e2e.idle).toFixed(1)}% (aim: under 5%)`);
if (torch) console.log(`end to end vs PyTorch ${torch.torch} CPU (DeepLabCut's loop): ${(e2e.n / e2e.s / torch.end_to_end_fps).toFixed(2)}x`);
writeResults('video', {
  device,
  video: VIDEO,
  size: [info.width, info.height],
  frames: FRAMES,
  batch: BATCH,
  decode: { frames: decoded.frames.length, seconds: decoded.s },
  inference: { frames: inMemory.n, seconds: inMemory.s, gpuIdle: inMemory.idle },
  endToEnd: { frames: e2e.n, seconds: e2e.s, gpuIdle: e2e.idle },
  endToEndVsInference: slowdown,
  torch,
});
model.dispose();
