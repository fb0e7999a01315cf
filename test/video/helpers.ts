// Shared by the video tests: a copy of the openfield project with a shuffle whose snapshot is a
// randomly initialised tiny model (ResNet-18, written in a second: the tests compare analyze-videos with
// predict on the same weights, so no training is needed), and short lossless clips made with ffmpeg.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { loadPoseConfig } from '../../src/config/index.ts';
import { PoseModel } from '../../src/models/pose-model.ts';
import { writeSnapshot } from '../../src/runner/checkpoint.ts';
import { OPENFIELD, runCli } from '../project/openfield.ts';
import { copyProject, POSE_CONFIG, SHUFFLE_DIR } from '../runner-e2e/helpers.ts';

export { cleanup, cliAsync } from '../runner-e2e/helpers.ts';
export const cli = runCli;

/** A project copy with create-dataset done, the tiny model in pytorch_config.yaml and snapshot-001.pt. Needs the GPU initialised. */
export async function projectWithSnapshot(): Promise<{ dir: string; config: string; train: string; snapshot: string }> {
  const dir = copyProject();
  const config = join(dir, 'config.yaml');
  const made = runCli('create-dataset', config);
  if (made.code !== 0) throw new Error(made.stderr);
  const poseConfig = join(dir, POSE_CONFIG);
  const doc = parseDocument(readFileSync(poseConfig, 'utf8'));
  doc.setIn(['model', 'backbone', 'model_name'], 'resnet18');
  doc.setIn(['model', 'backbone_output_channels'], 512);
  doc.setIn(['model', 'heads', 'bodypart', 'heatmap_config', 'channels'], [512, 4]);
  doc.setIn(['model', 'heads', 'bodypart', 'locref_config', 'channels'], [512, 8]);
  writeFileSync(poseConfig, doc.toString());
  const cfg = loadPoseConfig(poseConfig);
  const model = new PoseModel(cfg.model as ConstructorParameters<typeof PoseModel>[0], { seed: 7 });
  const train = join(dir, SHUFFLE_DIR, 'train');
  const snapshot = join(train, 'snapshot-001.pt');
  try {
    writeSnapshot(snapshot, { metadata: { epoch: 1, metrics: {}, losses: {} }, model: await model.stateDict() });
  } finally {
    model.dispose();
  }
  return { dir, config, train, snapshot };
}

export function ffmpeg(...args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
}

/**
 * `count` openfield frames scaled to width x height as PNGs in `dir`/frames/, and the same frames as a
 * lossless clip (PNG-in-AVI: decoded pixels equal the PNGs). Returns the clip and the PNG paths.
 */
export function openfieldClip(dir: string, name: string, count: number, width = 160, height = 120): { clip: string; pngs: string[] } {
  const frames = join(dir, `${name}-frames`);
  mkdirSync(frames, { recursive: true });
  const src = join(OPENFIELD, 'labeled-data/m4s1/img%04d.png');
  ffmpeg('-start_number', '0', '-i', src, '-frames:v', String(count), '-vf', `scale=${width}:${height}`, '-pix_fmt', 'rgb24', join(frames, 'f%03d.png'));
  const clip = join(dir, `${name}.avi`);
  ffmpeg('-framerate', '30', '-i', join(frames, 'f%03d.png'), '-c:v', 'png', '-pix_fmt', 'rgb24', clip);
  return { clip, pngs: Array.from({ length: count }, (_, i) => join(frames, `f${String(i + 1).padStart(3, '0')}.png`)) };
}
