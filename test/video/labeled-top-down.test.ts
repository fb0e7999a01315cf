// create-labeled-video on a top-down multi-animal analysis (ThreeBoxDetector: boxes scored 0.9, 0.8, 0.3;
// four individuals, the fourth -1 padding): DeepLabCut's _bp / _id names, the boxes above bboxes_pcutoff 0.6
// in red (and not with --no-bboxes, nor the 0.3 box), keypoints in each individual's colour with
// --color-by individual, the padded individual never drawn. Frames are decoded from the (lossy MPEG-4)
// output, so colours are compared with a tolerance and boxes against the same video drawn without them.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFrameH5 } from '../../src/io/hdf5-dataframe.ts';
import { colormapColors } from '../../src/video/colormap.ts';
import { useGpu } from '../helpers/gpu.ts';
import { THREE_BOXES } from './plugins/three-box-detector.ts';
import { cli } from './helpers.ts';
import { ANIMALS, cleanupTopDown, clipOf, SIZE, topDownProject, type TopDownProject } from './top-down-helpers.ts';

useGpu();
afterAll(cleanupTopDown);

const SCORER = 'DLC_Resnet18_demomiceOct30shuffle1_detector_001_snapshot_001';
const { width: W, height: H } = SIZE;

function firstFrame(video: string): Buffer {
  const raw = spawnSync('ffmpeg', ['-v', 'error', '-i', video, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']).stdout as Buffer;
  expect(raw.length).toBe(W * H * 3);
  return raw;
}

describe('dlc-gpu create-labeled-video, top-down', () => {
  let p: TopDownProject;
  let clip: string;
  let base: string;
  beforeAll(async () => {
    p = await topDownProject(6);
    clip = clipOf(join(p.dir, 'project/videos'), 'mice', p.pngs);
    const r = cli('analyze-videos', p.config, clip, '--batch-size', '4');
    if (r.code !== 0) throw new Error(r.stderr + r.stdout);
    base = join(p.dir, 'project/videos', `mice${SCORER}`);
  }, 180_000);

  it('names the video as DeepLabCut (_bp by default), keeps an existing one, and draws the boxes above bboxes_pcutoff in red', () => {
    const r = cli('create-labeled-video', p.config, clip, '--pcutoff', '0.5', '--dotsize', '2', '--draw-skeleton');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = `${base}_bp_p50_labeled.mp4`;
    expect(r.stdout).toContain(`6 frames: ${out}`);
    const a = firstFrame(out);
    const again = cli('create-labeled-video', p.config, clip, '--pcutoff', '0.5');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`Labeled video ${out} already exists`);
    const none = cli('create-labeled-video', p.config, clip, '--pcutoff', '0.5', '--dotsize', '2', '--draw-skeleton', '--overwrite', '--no-bboxes');
    expect(none.code, none.stderr).toBe(0);
    const b = firstFrame(out);
    // Redness (R - (G + B) / 2) along each box's top edge (row round(y1) - 1), drawn minus not drawn: the
    // 0.9 and 0.8 boxes are drawn, the 0.3 one is not (below DeepLabCut's default bboxes_pcutoff 0.6).
    const redness = (img: Buffer, x: number, y: number) => {
      const o = (y * W + x) * 3;
      return img[o]! - (img[o + 1]! + img[o + 2]!) / 2;
    };
    const gain = THREE_BOXES.map(({ box: [x1, y1, x2] }) => {
      const y = Math.round(y1! * H) - 1;
      let sum = 0;
      let n = 0;
      for (let x = Math.ceil(x1! * W) + 2; x < Math.floor(x2! * W) - 2; x++, n++) sum += redness(a, x, y) - redness(b, x, y);
      return sum / n;
    });
    expect(gain[0]).toBeGreaterThan(60);
    expect(gain[1]).toBeGreaterThan(60);
    expect(Math.abs(gain[2]!)).toBeLessThan(15);
  }, 120_000);

  it('colours each individual with --color-by individual (_id), and never draws the -1 padded one', async () => {
    const r = cli('create-labeled-video', p.config, clip, '--pcutoff', '0', '--dotsize', '3', '--color-by', 'individual', '--keypoints-only');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = `${base}_id_p0_labeled.mp4`;
    expect(r.stdout).toContain(`6 frames: ${out}`);
    const raw = firstFrame(out);
    const colormap = (parse(readFileSync(p.config, 'utf8')) as { colormap?: string }).colormap ?? 'rainbow';
    const colors = colormapColors(colormap, ANIMALS);
    const frame = await readFrameH5(`${base}.h5`, 'df_with_missing');
    const K = p.cfg.metadata.bodyparts.length;
    const points = Array.from({ length: ANIMALS * K }, (_, j) => ({ ind: Math.floor(j / K), x: frame.values[3 * j]!, y: frame.values[3 * j + 1]! }));
    let checked = 0;
    const drawn = new Set<number>();
    points.forEach((pt, j) => {
      if (pt.ind === ANIMALS - 1) return; // the padding: (-1, -1)
      // Later disks paint over earlier ones: only keypoints clear of every other one are checked.
      const clear = points.every((q, i) => i === j || q.ind === ANIMALS - 1 || Math.hypot(q.x - pt.x, q.y - pt.y) > 10);
      if (!clear || pt.x < 5 || pt.y < 5 || pt.x > W - 6 || pt.y > H - 6) return;
      const o = (Math.floor(pt.y) * W + Math.floor(pt.x)) * 3;
      const l = frame.values[3 * j + 2]!;
      // pcutoff is strict: a likelihood of 0 (the random model gives some) is not drawn.
      const want = l > 0 ? colors[pt.ind]! : [0, 0, 0];
      for (let c = 0; c < 3; c++) expect(Math.abs(raw[o + c]! - want[c]!), `individual ${pt.ind + 1} at ${pt.x},${pt.y} (likelihood ${l})`).toBeLessThan(48);
      if (l > 0) drawn.add(pt.ind);
      checked++;
    });
    expect(checked, 'no keypoint lies clear of the others').toBeGreaterThan(2);
    expect(drawn.size, 'keypoints of at least two individuals are checked').toBeGreaterThan(1);
    // The padded fourth individual (likelihood -1, at -1, -1) would paint the corner in its colour.
    for (let c = 0; c < 3; c++) expect(raw[c]!).toBeLessThan(40);
  }, 120_000);
});
