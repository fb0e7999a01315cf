// Shared by the top-down video tests: the multi-animal demo project (four mice) with a top-down shuffle
// whose snapshots are written in a second, not trained: a randomly initialised ResNet-18 pose model on 64x64
// crops and the ThreeBoxDetector plugin (test/video/plugins/three-box-detector.ts, three fixed boxes per
// frame, scores 0.9 / 0.8 / 0.3), so every frame has one row of -1 padding. The tests compare analyze-videos
// with top-down prediction on the same weights, so no training is needed. Also a lossless clip of the
// project's rendered frames (PNG-in-AVI: decoded pixels equal the PNGs).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dg from '../../src/index.ts';
import { loadPoseConfig, type PoseConfig } from '../../src/config/index.ts';
import { DEMO_MULTI_VIDEO, writeDemoProject } from '../../src/demo/project.ts';
import { PoseModel } from '../../src/models/pose-model.ts';
import { writeSnapshot } from '../../src/runner/checkpoint.ts';
import { REPO_ROOT, runCli } from '../project/openfield.ts';
import registerThreeBox from './plugins/three-box-detector.ts';
import { ffmpeg } from './helpers.ts';

export const PLUGIN = join(REPO_ROOT, 'test/video/plugins/three-box-detector.ts');
export const ANIMALS = 4;
export const SIZE = { width: 160, height: 128 };

const temps: string[] = [];
export function cleanupTopDown(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
  if (dg.registries.DETECTORS.has('ThreeBoxDetector')) dg.registries.DETECTORS.unregister('ThreeBoxDetector');
}

export interface TopDownProject {
  dir: string;
  config: string;
  poseConfig: string;
  train: string;
  snapshot: string;
  detectorSnapshot: string;
  cfg: PoseConfig;
  /** The demo's rendered frames, in order. */
  pngs: string[];
}

/** Writes the project and its snapshots (the GPU must be initialised). `frames`: rendered frames. */
export async function topDownProject(frames = 8): Promise<TopDownProject> {
  if (!dg.registries.DETECTORS.has('ThreeBoxDetector')) registerThreeBox(dg);
  const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-tdvideo-'));
  temps.push(dir);
  const config = writeDemoProject(join(dir, 'project'), { frames, ...SIZE, seed: 4, trainFraction: 0.75, animals: ANIMALS }, new Date(2024, 9, 30));
  const made = runCli('create-dataset', config, '--net-type', 'top_down_resnet_18');
  if (made.code !== 0) throw new Error(made.stderr);
  const root = join(dir, 'project/dlc-models-pytorch/iteration-0');
  const train = join(root, readdirSync(root)[0]!, 'train');
  const poseConfig = join(train, 'pytorch_config.yaml');
  const set = runCli('config', 'set', poseConfig, `plugins=[${PLUGIN}]`, 'detector.model={type: ThreeBoxDetector}',
    'data.inference.top_down_crop.width=64', 'data.inference.top_down_crop.height=64', 'data.train.top_down_crop.width=64', 'data.train.top_down_crop.height=64');
  if (set.code !== 0) throw new Error(set.stderr);
  const cfg = loadPoseConfig(poseConfig);
  const model = new PoseModel(cfg.model as ConstructorParameters<typeof PoseModel>[0], { seed: 11 });
  const snapshot = join(train, 'snapshot-001.pt');
  const detectorSnapshot = join(train, 'snapshot-detector-001.pt');
  const detector = dg.registries.DETECTORS.build(cfg.detector!.model as never, { where: 'detector.model', seed: 0 }, 'detector.model');
  try {
    writeSnapshot(snapshot, { metadata: { epoch: 1, metrics: {}, losses: {} }, model: await model.stateDict() });
    writeSnapshot(detectorSnapshot, { metadata: { epoch: 1, metrics: {}, losses: {} }, model: await detector.stateDict() });
  } finally {
    model.dispose();
    detector.dispose();
  }
  const labeled = join(dir, 'project/labeled-data', DEMO_MULTI_VIDEO);
  const pngs = readdirSync(labeled).filter((f) => f.endsWith('.png')).sort().map((f) => join(labeled, f));
  return { dir, config, poseConfig, train, snapshot, detectorSnapshot, cfg, pngs };
}

/** The PNGs as a lossless clip `name`.avi in `dir` (frames in the given order). */
export function clipOf(dir: string, name: string, pngs: readonly string[]): string {
  const frames = join(dir, `${name}-frames`);
  mkdirSync(frames, { recursive: true });
  pngs.forEach((p, i) => copyFileSync(p, join(frames, `f${String(i).padStart(4, '0')}.png`)));
  const clip = join(dir, `${name}.avi`);
  ffmpeg('-framerate', '30', '-start_number', '0', '-i', join(frames, 'f%04d.png'), '-c:v', 'png', '-pix_fmt', 'rgb24', clip);
  return clip;
}
