// Top-down video analysis (dlc-gpu analyze-videos on a top-down shuffle) on ../shared/datasets/openfield-
// Pranav-2018-10-30/videos/m3v1mp4.mp4 (640x480): DeepLabCut's default top-down pair, SSDLite (320x320) and
// top_down_resnet_50 on 256x256 crops (random weights; speed does not depend on them, and random SSDLite
// boxes pass its 0.001 score threshold, so every frame gets --individuals crops). Stages: ffmpeg decode
// alone; the detector alone and detector + pose ("inference alone") on frames already in memory; end to end
// (one streamed pass, decode overlapped), with the fraction of wall time the GPU queue was idle; beside
// PyTorch on the CPU running DeepLabCut's two passes (cv2 decode, torchvision's SSDLite over the video, then
// the video again for the crops) on the same frames (bench/pytorch/video_top_down_bench.py).
// Run: npx tsx bench/video-top-down.ts [--frames 8] [--individuals 2] [--batch 4] [--detector-batch 4]
//      [--video PATH] [--no-torch]   (writes bench/results/video-top-down.json)
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadPoseConfig } from '../src/config/index.ts';
import { AugmentationPipeline } from '../src/data/index.ts';
import { engine, init } from '../src/index.ts';
import type { RgbImage } from '../src/io/image.ts';
import type { Detector } from '../src/models/detectors/detector.ts';
import { DETECTORS } from '../src/models/registries.ts';
import { PoseModel } from '../src/models/pose-model.ts';
import { detectBatch } from '../src/runner/top-down.ts';
import { probeVideo } from '../src/video/ffmpeg.ts';
import { FrameReader } from '../src/video/frame-reader.ts';
import { QueueTimeline } from '../src/video/readback.ts';
import { streamTopDown } from '../src/video/top-down-stream.ts';
import { printTable, writeResults, type Row } from './lib/harness.ts';
import { arg, defaultPoseConfig, flag, runTorch } from './lib/pose-step.ts';

const FRAMES = Number(arg('--frames', '8'));
const INDIVIDUALS = Number(arg('--individuals', '2'));
const BATCH = Number(arg('--batch', '4'));
const DET_BATCH = Number(arg('--detector-batch', '4'));
const VIDEO = resolve(arg('--video', join(import.meta.dirname, '../../shared/datasets/openfield-Pranav-2018-10-30/videos/m3v1mp4.mp4')));
if (!existsSync(VIDEO)) throw new Error(`${VIDEO}: not found (pass --video)`);

await init({ device: 'auto' });
const a = engine().adapter.info;
const device = `${a.vendor} ${a.architecture} ${a.description}`.trim();
const info = probeVideo(VIDEO);
// The pytorch_config.yaml create_training_dataset writes for top_down_resnet_50 (with its SSDLite block), validated.
const tmp = mkdtempSync(join(tmpdir(), 'dlc-gpu-bench-td-'));
const cfgPath = join(tmp, 'pytorch_config.yaml');
writeFileSync(cfgPath, stringify(defaultPoseConfig('top_down_resnet_50')));
const cfg = loadPoseConfig(cfgPath);
rmSync(tmp, { recursive: true, force: true });
const K = cfg.metadata.bodyparts.length;
const model = new PoseModel(cfg.model as ConstructorParameters<typeof PoseModel>[0], { seed: 0 });
model.eval();
const detector = DETECTORS.build(cfg.detector!.model as never, { where: 'detector.model', seed: 0 }, 'detector.model') as Detector;
detector.eval();
const posePipeline = new AugmentationPipeline(cfg.data.inference);
const detectorPipeline = new AugmentationPipeline(cfg.detector!.data.inference ?? { normalize_images: true });
const crop = cfg.data.inference.top_down_crop!;

async function decodeAll(): Promise<{ frames: RgbImage[]; s: number }> {
  const t0 = performance.now();
  const reader = new FrameReader(info, { maxFrames: FRAMES, prefetch: 2 * DET_BATCH });
  const frames: RgbImage[] = [];
  for (;;) {
    const got = await reader.read(DET_BATCH);
    if (!got.length) break;
    frames.push(...got);
  }
  reader.close();
  return { frames, s: (performance.now() - t0) / 1000 };
}

async function detectOnly(frames: RgbImage[]): Promise<{ n: number; s: number }> {
  const t0 = performance.now();
  for (let i = 0; i < frames.length; i += DET_BATCH) {
    await detectBatch(detector, detectorPipeline, frames.slice(i, i + DET_BATCH).map((image, j) => ({ path: `frame ${i + j}`, image })), INDIVIDUALS);
  }
  await engine().sync();
  return { n: frames.length, s: (performance.now() - t0) / 1000 };
}

async function run(next: (n: number) => Promise<RgbImage[]>): Promise<{ n: number; crops: number; s: number; idle: number }> {
  const timeline = new QueueTimeline();
  const t0 = performance.now();
  let crops = 0;
  const n = await streamTopDown(next, (ready) => (crops += ready.reduce((c, p) => c + p.boxScores.filter((s) => s !== -1).length, 0)), {
    detector, detectorPipeline, detectorBatchSize: DET_BATCH, model, posePipeline, batchSize: BATCH, maxIndividuals: INDIVIDUALS, bodyparts: K, label: VIDEO, timeline,
  });
  return { n, crops, s: (performance.now() - t0) / 1000, idle: timeline.idleFraction() };
}

const decoded = await decodeAll();
console.log(`${VIDEO}: ${info.width}x${info.height}, ${decoded.frames.length} frames decoded in ${decoded.s.toFixed(2)} s`);
// Warm-up: one detector batch and one pose batch compile the pipelines (LLVM on lavapipe) and fill the pool.
let t0 = performance.now();
const warm = [decoded.frames.slice(0, DET_BATCH)];
await run(async () => warm.shift() ?? []);
console.log(`warm-up (pipeline compiles): ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const detOnly = await detectOnly(decoded.frames);
let at = 0;
const inMemory = await run(async (n) => {
  const out = decoded.frames.slice(at, at + n);
  at += out.length;
  return out;
});
const reader = new FrameReader(info, { maxFrames: FRAMES, prefetch: 2 * DET_BATCH });
const e2e = await run((n) => reader.read(n));
reader.close();

interface Torch {
  torch: string;
  decode_fps: number;
  detector_fps: number;
  inference_fps: number;
  end_to_end_fps: number;
}
t0 = performance.now();
const torch = flag('--no-torch')
  ? null
  : runTorch<Torch>(join(import.meta.dirname, 'pytorch/video_top_down_bench.py'), [
      '--video', VIDEO, '--frames', String(FRAMES), '--individuals', String(INDIVIDUALS), '--batch', String(BATCH), '--detector-batch', String(DET_BATCH), '--crop', String(crop.width),
    ]);

const fps = (n: number, s: number) => +(n / s).toPrecision(3);
const tfps = (v: number | undefined) => (v === undefined ? '-' : +v.toPrecision(3));
const ratio = (ours: number, theirs: number | undefined) => (theirs ? `${(ours / theirs).toFixed(2)}x` : '-');
const rows: Row[] = [
  { stage: 'decode alone', frames: decoded.frames.length, 'frames/s': fps(decoded.frames.length, decoded.s), 'GPU idle': '-', 'torch frames/s': tfps(torch?.decode_fps), ratio: ratio(decoded.frames.length / decoded.s, torch?.decode_fps) },
  { stage: 'detector alone', frames: detOnly.n, 'frames/s': fps(detOnly.n, detOnly.s), 'GPU idle': '-', 'torch frames/s': tfps(torch?.detector_fps), ratio: ratio(detOnly.n / detOnly.s, torch?.detector_fps) },
  { stage: 'detector + pose (inference alone)', frames: inMemory.n, 'frames/s': fps(inMemory.n, inMemory.s), 'GPU idle': `${(100 * inMemory.idle).toFixed(1)}%`, 'torch frames/s': tfps(torch?.inference_fps), ratio: ratio(inMemory.n / inMemory.s, torch?.inference_fps) },
  { stage: 'end to end', frames: e2e.n, 'frames/s': fps(e2e.n, e2e.s), 'GPU idle': `${(100 * e2e.idle).toFixed(1)}%`, 'torch frames/s': tfps(torch?.end_to_end_fps), ratio: ratio(e2e.n / e2e.s, torch?.end_to_end_fps) },
];
printTable(rows, `Top-down video analysis, SSDLite + top_down_resnet_50 (${crop.width}x${crop.height} crops), ${INDIVIDUALS} individuals, pose batch ${BATCH}, detector batch ${DET_BATCH}, ${info.width}x${info.height} (${device})`);
const slowdown = inMemory.s > 0 ? e2e.s / inMemory.s - 1 : NaN;
console.log(`crops per frame: ${(e2e.crops / Math.max(1, e2e.n)).toFixed(2)}; end to end vs inference alone: ${(100 * slowdown).toFixed(1)}% slower; GPU idle end to end ${(100 * e2e.idle).toFixed(1)}% (the detector's call counted busy as a whole)`);
writeResults('video-top-down', {
  device,
  video: VIDEO,
  size: [info.width, info.height],
  frames: FRAMES,
  individuals: INDIVIDUALS,
  batch: BATCH,
  detectorBatch: DET_BATCH,
  crop: [crop.width, crop.height],
  decode: { frames: decoded.frames.length, seconds: decoded.s },
  detector: { frames: detOnly.n, seconds: detOnly.s },
  inference: { frames: inMemory.n, crops: inMemory.crops, seconds: inMemory.s, gpuIdle: inMemory.idle },
  endToEnd: { frames: e2e.n, crops: e2e.crops, seconds: e2e.s, gpuIdle: e2e.idle },
  endToEndVsInference: slowdown,
  torch,
});
model.dispose();
detector.dispose();
