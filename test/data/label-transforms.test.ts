// Keypoints and boxes move as DeepLabCut moves them, which is not always how the image's pixels move:
// - resizes (KeepAspectRatioResize, LongestMaxSize, top_down_crop, resize_and_random_crop) scale label coordinates
//   (x * s, or (x - offset) / scale) while cv2 / torchvision resize pixel centres ((x + 0.5) * s - 0.5), and
//   DeepLabCut maps predictions back with x * scale + offset;
// - albumentations flips keypoints about the last pixel centre (W - 1 - x) but boxes about the edge (W - x);
// - rotated boxes are the bounding box of their four transformed corners ("largest_box").
// Every expected value here is computed from DeepLabCut's / albumentations 1.4.3's formulas, not from our maps.
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { TransformsSchema } from '../../src/config/index.ts';
import { AugmentationPipeline, toOriginal, type PoseSample } from '../../src/data/index.ts';
import { useGpu } from '../helpers/gpu.ts';

useGpu();

function sample(width: number, height: number, points: [number, number][], box: [number, number, number, number]): PoseSample {
  return {
    imageId: 0, path: 'synthetic', relPath: 'synthetic', width, height, individuals: 1, bodyparts: points.length,
    keypoints: new Float32Array(points.flatMap(([x, y]) => [x, y, 2])), unique: new Float32Array(0),
    boxes: Float32Array.from(box), individualIds: Int32Array.from([0]), annotations: 1,
  };
}

const pipeline = (config: Record<string, unknown>) => new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, ...config }));
const blank = (w: number, h: number) => ({ width: w, height: h, data: new Uint8Array(w * h * 3) });
const xy = (kp: Float32Array, k: number) => [kp[k * 3]!, kp[k * 3 + 1]!];

function expectClose(actual: readonly number[], expected: readonly number[], what: string, tol = 1e-4) {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!), `${what}[${i}]: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[i]!))));
}

describe('resizes scale label coordinates (x * s), as DeepLabCut does', () => {
  const points: [number, number][] = [[10, 20], [99.5, 0], [0, 79]];
  it('resize with keep_ratio: keypoints and boxes times min(h/H, w/W), unrounded', () => {
    // 100x80 -> 64x64 target: s = min(64/80, 64/100) = 0.64; the image is int(100 * 0.64) x int(80 * 0.64) = 64 x 51.
    const plan = pipeline({ resize: { width: 64, height: 64, keep_ratio: true } }).plan(sample(100, 80, points, [5, 10, 50, 40]), 1);
    expectClose([...plan.keypoints].filter((_, i) => i % 3 < 2), points.flat().map((c) => c * 0.64), 'keypoints');
    expectClose([...plan.boxes], [5, 10, 50, 40].map((c) => c * 0.64), 'box');
    // The image's map is cv2's (pixel centres): (x + 0.5) * 64 / 100 - 0.5.
    expectClose([plan.matrix[0], plan.matrix[2]], [0.64, 0.5 * 0.64 - 0.5], 'image map');
  });
  it('resize without keep_ratio: x * W\'/W, y * H\'/H', () => {
    const plan = pipeline({ resize: { width: 50, height: 60, keep_ratio: false } }).plan(sample(100, 80, points, [5, 10, 50, 40]), 1);
    expectClose([...plan.keypoints].filter((_, i) => i % 3 < 2), points.flatMap(([x, y]) => [x * 0.5, y * 0.75]), 'keypoints');
  });
  it('longest_max_size: x * max_size / max(W, H)', () => {
    const plan = pipeline({ longest_max_size: 40 }).plan(sample(100, 80, points, [5, 10, 50, 40]), 1);
    expectClose([...plan.keypoints].filter((_, i) => i % 3 < 2), points.flat().map((c) => c * 0.4), 'keypoints');
  });

  it('top_down_crop: (x - offset) / scale into the crop, x * scale + offset back', async () => {
    // Box 30x20 at (50, 40) in 160x120, output 64x64 with context: cx 65, cy 50, the window widened to 30x30:
    // x1 = round(50) = 50, y1 = round(35) = 35, no padding; offset (50, 35), scale 30 / 64 on both axes.
    const s = sample(160, 120, [[60, 45], [72.25, 61]], [50, 40, 30, 20]);
    const pipe = pipeline({ top_down_crop: { width: 64, height: 64 } });
    const batch = pipe.run([s], [blank(160, 120)], [0]);
    try {
      const scale = 30 / 64;
      const expected = [[60, 45], [72.25, 61]].map(([x, y]) => [(x! - 50) / scale, (y! - 35) / scale]);
      expectClose([...xy(batch.keypoints, 0), ...xy(batch.keypoints, 1)], expected.flat(), 'crop keypoints');
      // cv2 would put the content of pixel 60 at (60 - 50 + 0.5) / scale - 0.5 = 21.9: the label sits at 21.33.
      expect(Math.abs(batch.keypoints[0]! - 21.9)).toBeGreaterThan(0.5);
      // DeepLabCut's postprocessor: x_crop * scale + offset.
      expectClose(toOriginal(batch.items[0]!, 10, 20), [10 * scale + 50, 20 * scale + 35], 'back to the frame');
    } finally {
      batch.dispose();
    }
  });

  it('ResizeFromDataSizeCollate: x / (W / w) - offset (resize_and_random_crop)', async () => {
    const pipe = pipeline({ collate: { type: 'ResizeFromDataSizeCollate', min_scale: 0.5, max_scale: 1.5, min_short_side: 32, max_shift: 8 } });
    const points2: [number, number][] = [[40.5, 30.25], [120, 90]];
    const samples = [1, 2, 3].map(() => sample(160, 120, points2, [30, 20, 100, 80]));
    const batch = pipe.run(samples, samples.map(() => blank(160, 120)), [11, 12, 13]);
    try {
      batch.items.forEach((item, b) => {
        // The image map is translate(-offset) . cv2 resize: m[0] = w / W, m[2] = 0.5 * m[0] - 0.5 - offset_x.
        const [sx, sy] = [item.matrix[0], item.matrix[4]];
        const [ox, oy] = [0.5 * sx - 0.5 - item.matrix[2], 0.5 * sy - 0.5 - item.matrix[5]];
        expect(Number.isInteger(Math.round(ox * 1e6) / 1e6), `offset ${ox} is np.random.randint's`).toBe(true);
        const kp = batch.keypoints.subarray(b * 6, b * 6 + 6);
        points2.forEach(([x, y], k) => {
          const [ex, ey] = [x * sx - ox, y * sy - oy];
          // resize_and_random_crop writes -1 for keypoints that leave the crop.
          if (ex < 0 || ey < 0 || ex >= batch.width || ey >= batch.height) expectClose(xy(kp, k), [-1, -1], `item ${b} keypoint ${k} removed`);
          else expectClose(xy(kp, k), [ex, ey], `item ${b} keypoint ${k}`);
        });
        // Boxes: (box / scale) - offset, then _compute_crop_bounds clips the corners to the batch image.
        const c = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
        const [x0, y0] = [c(30 * sx - ox, batch.width), c(20 * sy - oy, batch.height)];
        const [x1, y1] = [c(130 * sx - ox, batch.width), c(100 * sy - oy, batch.height)];
        expectClose([...batch.boxes.subarray(b * 4, b * 4 + 4)], [x0, y0, x1 - x0, y1 - y0], `item ${b} box`);
      });
    } finally {
      batch.dispose();
    }
  });
});

describe('boxes under hflip and affine (albumentations 1.4.3)', () => {
  it('hflip: keypoints x -> W - 1 - x, boxes x_min -> W - x_max', () => {
    const plan = pipeline({ hflip: 1 }).plan(sample(160, 120, [[10, 20]], [10, 20, 30, 40]), 1);
    expect(plan.flipped).toBe(true);
    expectClose(xy(plan.keypoints, 0), [149, 20], 'keypoint');
    expectClose([...plan.boxes], [120, 20, 30, 40], 'box');
  });

  it("affine: a box becomes the bounding box of its four transformed corners ('largest_box'), flipped or not", () => {
    const box: [number, number, number, number] = [40, 30, 50, 36];
    const [x0, y0, x1, y1] = [box[0], box[1], box[0] + box[2], box[1] + box[3]];
    const corners: [number, number][] = [[x0, y0], [x1, y0], [x0, y1], [x1, y1]];
    // Keypoints 1 px left of the corners: after a flip (W - 1 - x) they land where the flipped corners (W - x) do.
    const shifted: [number, number][] = corners.map(([x, y]) => [x - 1, y]);
    const pipe = pipeline({ hflip: 0.5, affine: { p: 1, rotation: 40, scaling: [0.8, 1.2], translation: 10 } });
    const flips = new Set<boolean>();
    for (let seed = 1; seed <= 12; seed++) {
      const plan = pipe.plan(sample(160, 120, [...corners, ...shifted], box), seed);
      flips.add(plan.flipped);
      const pts = [0, 1, 2, 3].map((k) => xy(plan.keypoints, plan.flipped ? k + 4 : k));
      const xs = pts.map((p) => p[0]!);
      const ys = pts.map((p) => p[1]!);
      const [bx0, by0, bx1, by1] = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
      // Then clipped to the image, as albumentations' filter_bboxes clips.
      const c = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
      const e = [c(bx0, 160), c(by0, 120), c(bx1, 160), c(by1, 120)];
      expectClose([...plan.boxes], [e[0]!, e[1]!, e[2]! - e[0]!, e[3]! - e[1]!], `seed ${seed} (flipped ${plan.flipped})`);
    }
    expect(flips.size).toBe(2);
  });
});
