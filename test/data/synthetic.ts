// Synthetic images and projects for the data tests.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng, type RgbImage } from '../../src/io/image.ts';

/** Colour of the dot marking keypoint k (distinct channels so dots can be told apart). */
export const DOT_COLORS: [number, number, number][] = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 0],
];

/** A dark image with a Gaussian dot (sigma 1.5 px) of DOT_COLORS[k] centred on each keypoint. */
export function dotImage(width: number, height: number, points: [number, number][]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  points.forEach(([px, py], k) => {
    const c = DOT_COLORS[k % DOT_COLORS.length]!;
    for (let y = Math.floor(py) - 6; y <= Math.ceil(py) + 6; y++)
      for (let x = Math.floor(px) - 6; x <= Math.ceil(px) + 6; x++) {
        if (x < 0 || y < 0 || x >= width || y >= height) continue;
        const w = Math.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * 1.5 ** 2));
        for (let ch = 0; ch < 3; ch++) {
          const o = (y * width + x) * 3 + ch;
          data[o] = Math.max(data[o]!, Math.round(c[ch]! * w));
        }
      }
  });
  return { width, height, data };
}

/**
 * Where dot k is in an RGB-planar float image (values 0..255): the intensity-weighted centroid of its
 * colour signature within `radius` of (x, y), or null when there is no such dot there.
 */
export function findDot(planes: Float32Array, b: number, width: number, height: number, k: number, x: number, y: number, radius = 6): [number, number] | null {
  const c = DOT_COLORS[k]!;
  const plane = width * height;
  let sw = 0;
  let sx = 0;
  let sy = 0;
  for (let yy = Math.floor(y) - radius; yy <= Math.ceil(y) + radius; yy++)
    for (let xx = Math.floor(x) - radius; xx <= Math.ceil(x) + radius; xx++) {
      if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
      const v = [0, 1, 2].map((ch) => planes[(b * 3 + ch) * plane + yy * width + xx]!);
      // Signature: the dot's channels are lit, the others are not.
      let w = Infinity;
      for (let ch = 0; ch < 3; ch++) {
        if (c[ch]! > 0) w = Math.min(w, v[ch]!);
        else if (v[ch]! > 40) w = 0;
      }
      if (w < 30) continue;
      sw += w;
      sx += w * xx;
      sy += w * yy;
    }
  return sw > 0 ? [sx / sw, sy / sw] : null;
}

export interface SyntheticFrame {
  name: string;
  image?: RgbImage;
  /** Raw bytes instead of an image (corrupt files); omit both for a missing image. */
  bytes?: Uint8Array;
  /** [bodypart] -> [x, y], NaN for unlabeled. */
  keypoints: [number, number][];
}

export const BODYPARTS = ['snout', 'leftear', 'rightear', 'tailbase'];

/** Writes a single-animal DeepLabCut project to a temporary folder; returns config.yaml's path. */
export function syntheticProject(frames: SyntheticFrame[], options: { bodyparts?: string[]; trainingFraction?: number } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'dlc-gpu-data-'));
  const bodyparts = options.bodyparts ?? BODYPARTS;
  const video = 'vid1';
  mkdirSync(join(root, 'labeled-data', video), { recursive: true });
  writeFileSync(
    join(root, 'config.yaml'),
    [
      'Task: synth',
      'scorer: Tester',
      'date: Jan1',
      'multianimalproject: false',
      'identity:',
      `project_path: ${root}`,
      'video_sets:',
      `  ${root}/videos/${video}.mp4:`,
      '    crop: 0, 64, 0, 48',
      'bodyparts:',
      ...bodyparts.map((b) => `- ${b}`),
      `TrainingFraction:\n- ${options.trainingFraction ?? 0.5}`,
      'iteration: 0',
      'default_net_type: resnet_50',
      '',
    ].join('\n'),
  );
  const header = [
    ['scorer', ...bodyparts.flatMap(() => ['Tester', 'Tester'])],
    ['bodyparts', ...bodyparts.flatMap((b) => [b, b])],
    ['coords', ...bodyparts.flatMap(() => ['x', 'y'])],
  ];
  const rows = frames.map((f) => [
    `labeled-data/${video}/${f.name}`,
    ...f.keypoints.flatMap(([x, y]) => [Number.isNaN(x) ? '' : String(x), Number.isNaN(y) ? '' : String(y)]),
  ]);
  writeFileSync(join(root, 'labeled-data', video, 'CollectedData_Tester.csv'), [...header, ...rows].map((r) => r.join(',')).join('\n') + '\n');
  for (const f of frames) {
    const path = join(root, 'labeled-data', video, f.name);
    if (f.image) writeFileSync(path, encodePng(f.image));
    else if (f.bytes) writeFileSync(path, f.bytes);
  }
  return join(root, 'config.yaml');
}
