// Top-down inference end to end (issue 14's benchmark): 1280x480 frames with two animals (two openfield frames side
// by side), DeepLabCut's default top-down pipeline for `top_down_resnet_50`: SSDLite320-MobileNetV3-Large on each
// whole frame (batch 1, as DeepLabCut's detector_batch_size 1), its first max_individuals = 2 boxes, a 256x256
// top_down_crop of each box, the pose model on the crops (`--pose-batch` at a time, crops of successive frames in
// one list), keypoints mapped back to the frame. Timed per stage (detector, crops, pose) and end to end
// (predictTopDown, what evaluate / predict / analyze-videos run), beside PyTorch 1.13 CPU running DeepLabCut's
// equivalent pipeline on the same frames (bench/pytorch/top_down_bench.py: torchvision's SSDLite, the crops, the
// resnet50_gn pose model and the heatmap decoding) in the same run.
// Weights are seeded, not trained: the work per frame does not depend on them (2 boxes per frame either way).
// Run: npx tsx bench/top-down.ts [--frames 8] [--pose-batch 8] [--runs 3] [--warmup 1] [--no-torch]
//      (writes bench/results/top-down.json)
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePoseConfig, parsePoseConfig, stringifyPoseConfig } from '../src/config/index.ts';
import { AugmentationPipeline } from '../src/data/index.ts';
import { engine, init } from '../src/index.ts';
import { readImage, type RgbImage } from '../src/io/image.ts';
import type { Detector } from '../src/models/detectors/detector.ts';
import { PoseModel } from '../src/models/pose-model.ts';
import { DETECTORS } from '../src/models/registries.ts';
import { batchPoses, predictBatch } from '../src/runner/inference.ts';
import { cropSample, detectBoxes, predictTopDown, type FrameBoxes, type TopDownOptions } from '../src/runner/top-down.ts';
import { printTable, writeResults, type Row } from './lib/harness.ts';
import { arg, flag, runTorch } from './lib/pose-step.ts';

const N = Number(arg('--frames', '8'));
const POSE_BATCH = Number(arg('--pose-batch', '8'));
const RUNS = Number(arg('--runs', '3'));
const WARMUP = Number(arg('--warmup', '1'));
const MAX_INDIVIDUALS = 2;
const BODYPARTS = ['snout', 'leftear', 'rightear', 'tailbase'];
const OPENFIELD = join(import.meta.dirname, '../../shared/datasets/openfield-Pranav-2018-10-30/labeled-data/m4s1');

/** Two 640x480 openfield frames side by side: one 1280x480 frame with two mice. */
function sideBySide(a: RgbImage, b: RgbImage): RgbImage {
  const width = a.width + b.width;
  const data = new Uint8Array(width * a.height * 3);
  for (let y = 0; y < a.height; y++) {
    data.set(a.data.subarray(y * a.width * 3, (y + 1) * a.width * 3), y * width * 3);
    data.set(b.data.subarray(y * b.width * 3, (y + 1) * b.width * 3), (y * width + a.width) * 3);
  }
  return { width, height: a.height, data };
}

const frames = Array.from({ length: N }, (_, i) => {
  const name = (k: number) => join(OPENFIELD, `img${String(k).padStart(4, '0')}.png`);
  return { path: `frame${i}`, image: sideBySide(readImage(name(2 * i)), readImage(name(2 * i + 1))) };
});
const [W, H] = [frames[0]!.image.width, frames[0]!.image.height];
const rawPath = join(tmpdir(), `dlc-gpu-top-down-${process.pid}.bin`);
writeFileSync(rawPath, Buffer.concat(frames.map((f) => f.image.data)));

interface TorchStages {
  detector: number;
  crops: number;
  pose: number;
  total: number;
}
interface Torch {
  torch: string;
  threads: number;
  crops_per_pass: number;
  first_ms: TorchStages;
  median_ms: TorchStages;
  min_ms: TorchStages;
}
// PyTorch runs before and after our passes (the machine is shared: load then hits both sides alike); its figures
// are the smaller of the two runs' medians per stage (PyTorch's OpenMP threads suffer most from a loaded machine,
// so this is the conservative ratio for us).
const runPeer = () =>
  flag('--no-torch')
    ? null
    : runTorch<Torch>(join(import.meta.dirname, 'pytorch/top_down_bench.py'), [
        '--frames', rawPath, '--n', String(N), '--width', String(W), '--height', String(H),
        '--max-individuals', String(MAX_INDIVIDUALS), '--pose-batch', String(POSE_BATCH), '--runs', String(RUNS), '--warmup', String(WARMUP),
      ]);
const torchBefore = runPeer();

await init({ device: 'auto' });
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

// The pytorch_config.yaml create_training_dataset writes for a two-mouse top_down_resnet_50 shuffle, validated as a
// user's file is (defaults filled in).
const cfg = parsePoseConfig(stringifyPoseConfig(makePoseConfig({
  netType: 'top_down_resnet_50',
  multiAnimal: true,
  metadata: { project_path: '/tmp', pose_config_path: '/tmp/pytorch_config.yaml', bodyparts: BODYPARTS, unique_bodyparts: [], individuals: ['mouse1', 'mouse2'], with_identity: null },
} as Parameters<typeof makePoseConfig>[0])), 'top_down_resnet_50/pytorch_config.yaml').config;
const model = new PoseModel(cfg.model, { seed: 0 });
const detector = DETECTORS.build(cfg.detector!.model, { where: 'detector.model', seed: 0 }, 'detector.model') as Detector;
const options: TopDownOptions = {
  maxIndividuals: MAX_INDIVIDUALS,
  batchSize: POSE_BATCH,
  bodyparts: BODYPARTS.length,
  uniqueBodyparts: 0,
  detectorPipeline: new AugmentationPipeline(cfg.detector!.data.inference ?? { normalize_images: true }),
  posePipeline: new AugmentationPipeline(cfg.data.inference),
};

const ms = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const r = await work();
  return [r, performance.now() - t0];
};

/** The three stages of predictTopDown, timed apart: the same calls it makes, in the same order. */
async function stages(): Promise<{ detector: number; crops: number; pose: number; total: number; boxes: number }> {
  const [boxes, detectorMs] = await ms(() => detectBoxes(detector, options.detectorPipeline, frames, MAX_INDIVIDUALS));
  const crops = frames.flatMap((frame, f) => (boxes[f] as FrameBoxes).boxes.map((box) => ({ frame, box })));
  let cropMs = 0;
  let poseMs = 0;
  model.eval();
  for (let start = 0; start < crops.length; start += POSE_BATCH) {
    const group = crops.slice(start, start + POSE_BATCH);
    const t0 = performance.now();
    const batch = options.posePipeline.run(
      group.map((c) => cropSample(c.frame, c.box, BODYPARTS.length, 0)),
      group.map((c) => c.frame.image),
      group.map(() => 0),
    );
    const t1 = performance.now();
    try {
      const { pred, K } = await predictBatch(model, batch, false);
      batchPoses(batch, pred, K);
    } finally {
      batch.dispose();
    }
    cropMs += t1 - t0;
    poseMs += performance.now() - t1;
  }
  return { detector: detectorMs, crops: cropMs, pose: poseMs, total: detectorMs + cropMs + poseMs, boxes: crops.length };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const compile0 = engine().compileMs;
const first = await stages();
const firstCompileMs = engine().compileMs - compile0;
for (let i = 1; i < WARMUP; i++) await stages();
const timed = [];
for (let i = 0; i < RUNS; i++) timed.push(await stages());
const endToEnd: number[] = [];
let predicted = 0;
for (let i = 0; i < RUNS; i++) {
  const [p, t] = await ms(() => predictTopDown(detector, model, frames, options));
  predicted = p.flatMap((f) => f.boxScores.filter((s) => s !== -1)).length;
  endToEnd.push(t);
}

const torchAfter = runPeer();
const peers = [torchBefore, torchAfter].filter((t): t is Torch => t !== null);
const best = (key: 'median_ms' | 'min_ms' | 'first_ms'): TorchStages =>
  Object.fromEntries((['detector', 'crops', 'pose', 'total'] as const).map((s) => [s, Math.min(...peers.map((p) => p[key][s]))])) as unknown as TorchStages;
const torch: Torch | null = peers.length ? { ...peers[0]!, median_ms: best('median_ms'), min_ms: best('min_ms'), first_ms: best('first_ms') } : null;

const rows: Row[] = [];
const stageNames = ['detector', 'crops', 'pose', 'total'] as const;
const ours: Record<string, number> = {};
for (const s of stageNames) {
  const mid = median(timed.map((r) => r[s]));
  ours[s] = mid;
  const t = torch?.median_ms[s];
  rows.push({
    stage: s === 'total' ? 'sum of stages' : s,
    'ms / frame': +(mid / N).toFixed(1),
    'frames/s': +((1000 * N) / mid).toPrecision(3),
    'share': s === 'total' ? '100%' : `${Math.round((100 * mid) / median(timed.map((r) => r.total)))}%`,
    'torch ms / frame': t !== undefined ? +(t / N).toFixed(1) : '-',
    'torch frames/s': t !== undefined ? +((1000 * N) / t).toPrecision(3) : '-',
    'ours / torch': t !== undefined ? +(t / mid).toFixed(3) : '-',
    'first pass ms / frame': +(first[s] / N).toFixed(0),
  });
}
const e2e = median(endToEnd);
rows.push({
  stage: 'end to end (predictTopDown)',
  'ms / frame': +(e2e / N).toFixed(1),
  'frames/s': +((1000 * N) / e2e).toPrecision(3),
  share: '-',
  'torch ms / frame': torch ? +(torch.median_ms.total / N).toFixed(1) : '-',
  'torch frames/s': torch ? +((1000 * N) / torch.median_ms.total).toPrecision(3) : '-',
  'ours / torch': torch ? +(torch.median_ms.total / e2e).toFixed(3) : '-',
  'first pass ms / frame': '-',
});
printTable(rows, `Top-down inference, ${N} frames of ${W}x${H} with 2 animals, ${MAX_INDIVIDUALS} boxes per frame, pose batch ${POSE_BATCH}, median of ${RUNS}: ${device} vs PyTorch CPU${torch ? ` (${torch.threads} threads)` : ''}`);
console.log(`crops per pass: ${first.boxes} (torch ${torch?.crops_per_pass ?? '-'}); predictTopDown found ${predicted}; pipeline compiles in the first pass: ${(firstCompileMs / 1000).toFixed(1)} s`);
console.log(
  `wrote ${writeResults('top-down', {
    device, frames: N, width: W, height: H, maxIndividuals: MAX_INDIVIDUALS, poseBatch: POSE_BATCH, runs: RUNS, warmup: WARMUP,
    ours: { medianMs: ours, firstMs: first, endToEndMs: endToEnd, firstCompileMs, samples: timed },
    torch, torchRuns: peers,
  })}`,
);
model.dispose();
detector.dispose();
process.exit(0);
