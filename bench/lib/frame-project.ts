// A DeepLabCut project shaped like issue 17's: 55 labeled frames from two "videos" of 832x747 and 640x470 pixels,
// made from openfield's 640x480 frames (bilinear-resized to 832x747, or cropped to 640x470, keypoints moved
// with them), its training dataset made by `dlc-gpu create-dataset`, and a snapshot of the resnet_50 pose model
// from random initialisation (inference speed does not depend on the weights' values).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadPoseConfig } from '../../src/config/index.ts';
import { readImage, writePng, type RgbImage } from '../../src/io/image.ts';
import { PoseModel } from '../../src/models/pose-model.ts';
import { writeSnapshot } from '../../src/runner/checkpoint.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const OPENFIELD = resolve(REPO_ROOT, '../shared/datasets/openfield-Pranav-2018-10-30');
const FRAMES = join(OPENFIELD, 'labeled-data', 'm4s1');

/** Bilinear resize of an RGB image (pixel centres aligned, as cv2.resize's INTER_LINEAR). */
export function resizeRgb(img: RgbImage, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const sx = img.width / width;
  const sy = img.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const ay = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const ax = fx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => img.data[(yy * img.width + xx) * 3 + c]!;
        const v = (1 - ay) * ((1 - ax) * p(y0, x0) + ax * p(y0, x1)) + ay * ((1 - ax) * p(y1, x0) + ax * p(y1, x1));
        out[(y * width + x) * 3 + c] = Math.round(v);
      }
    }
  }
  return { width, height, data: out };
}

/** Rows [top, top + height) of an image. */
export function cropRows(img: RgbImage, top: number, height: number): RgbImage {
  return { width: img.width, height, data: img.data.slice(top * img.width * 3, (top + height) * img.width * 3) };
}

/** openfield's frames as [name, image] (sorted), at most `n`. */
export function openfieldFrames(n: number): [string, RgbImage][] {
  const names = readdirSync(FRAMES).filter((f) => f.endsWith('.png')).sort().slice(0, n);
  return names.map((f) => [f, readImage(join(FRAMES, f))]);
}

/** One video's frames: a name, a size and how an openfield frame and its keypoints map to it. */
interface VideoSpec {
  name: string;
  width: number;
  height: number;
  frames: number;
}

export const ISSUE_VIDEOS: readonly VideoSpec[] = [
  { name: 'big', width: 832, height: 747, frames: 28 },
  { name: 'small', width: 640, height: 470, frames: 27 },
];

/**
 * Writes the project into a new temp folder and returns its config.yaml path and the snapshot written. The
 * 640x470 frames drop openfield's top 5 and bottom 5 rows; keypoints outside a frame become unlabeled.
 */
export function makeFrameProject(videos: readonly VideoSpec[] = ISSUE_VIDEOS): { config: string; dir: string; frames: number } {
  const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-full-frame-'));
  const csv = readFileSync(join(FRAMES, 'CollectedData_Pranav.csv'), 'utf8').trim().split('\n');
  const header = csv.slice(0, 3);
  const rows = new Map(csv.slice(3).map((l) => [l.split(',')[0]!.split('/').pop()!, l.split(',').slice(1)]));
  const source = openfieldFrames(videos.reduce((a, v) => a + v.frames, 0));
  let next = 0;
  for (const v of videos) {
    const folder = join(dir, 'labeled-data', v.name);
    mkdirSync(folder, { recursive: true });
    const lines = [...header];
    for (let i = 0; i < v.frames; i++) {
      const [name, img] = source[next++]!;
      const top = Math.max(0, Math.floor((img.height - v.height) / 2));
      const resized = v.width === img.width && v.height <= img.height ? cropRows(img, top, v.height) : resizeRgb(img, v.width, v.height);
      writePng(join(folder, name), resized);
      const sx = v.width / img.width;
      const sy = v.width === img.width && v.height <= img.height ? 1 : v.height / img.height;
      const dy = v.width === img.width && v.height <= img.height ? -top : 0;
      const coords = (rows.get(name) ?? []).map((c, j) => {
        if (c === '') return '';
        const value = j % 2 === 0 ? Number(c) * sx : Number(c) * sy + dy;
        return value >= 0 && value < (j % 2 === 0 ? v.width : v.height) ? value.toFixed(3) : '';
      });
      // A coordinate pair is labeled only when both survive.
      for (let j = 0; j < coords.length; j += 2) if (coords[j] === '' || coords[j + 1] === '') coords[j] = coords[j + 1] = '';
      lines.push([`labeled-data/${v.name}/${name}`, ...coords].join(','));
    }
    writeFileSync(join(folder, 'CollectedData_Pranav.csv'), `${lines.join('\n')}\n`);
  }
  const sets = videos.map((v) => `  ${join(dir, 'videos', `${v.name}.mp4`)}:\n    crop: 0, ${v.width}, 0, ${v.height}`).join('\n');
  const text = readFileSync(join(OPENFIELD, 'config.yaml'), 'utf8')
    .replace(/^project_path:.*$/m, `project_path: ${dir}`)
    .replace(/^video_sets:\n(?:[ \t]+.*\n)+/m, `video_sets:\n${sets}\n`);
  const config = join(dir, 'config.yaml');
  writeFileSync(config, text);
  const made = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/dlc-gpu.js'), 'create-dataset', config], { encoding: 'utf8', cwd: REPO_ROOT });
  if (made.status !== 0) throw new Error(`create-dataset failed: ${made.stderr}`);
  return { config, dir, frames: next };
}

/** Writes snapshot-001.pt of a randomly initialised model into the shuffle's train folder; returns its path. */
export async function writeRandomSnapshot(poseConfigPath: string): Promise<string> {
  const cfg = loadPoseConfig(poseConfigPath);
  const model = new PoseModel(cfg.model as ConstructorParameters<typeof PoseModel>[0], { seed: 0 });
  const path = join(poseConfigPath, '..', 'snapshot-001.pt');
  writeSnapshot(path, { metadata: { epoch: 1, metrics: {}, losses: {} }, model: await model.stateDict() });
  model.dispose();
  return path;
}

