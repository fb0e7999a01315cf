// Each transform keeps keypoints on the image content: dots drawn at the keypoints end up under the
// transformed keypoints (within 1 px), for every geometric step and their composition.
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { TransformsSchema } from '../../src/config/index.ts';
import { AugmentationPipeline, type PoseSample } from '../../src/data/index.ts';
import { useGpu } from '../helpers/gpu.ts';
import { dotImage, findDot } from './synthetic.ts';

useGpu();

function sample(width: number, height: number, points: [number, number][]): PoseSample {
  const keypoints = new Float32Array(points.flatMap(([x, y]) => [x, y, 2]));
  return {
    imageId: 0, path: 'synthetic', relPath: 'synthetic', width, height, individuals: 1, bodyparts: points.length,
    keypoints, unique: new Float32Array(0), boxes: new Float32Array([0, 0, width, height]), individualIds: Int32Array.from([0]), annotations: 1,
  };
}

const W = 160;
const H = 120;
const POINTS: [number, number][] = [[40.3, 30.7], [110.5, 45.2], [75, 90.6], [130.2, 100.1]];

async function check(config: Record<string, unknown>, seeds = [1, 2, 3, 4, 5, 6], size: [number, number] = [W, H], points = POINTS) {
  const t = v.parse(TransformsSchema, { normalize_images: false, ...config });
  const pipe = new AugmentationPipeline(t);
  const img = dotImage(size[0], size[1], points);
  const s = sample(size[0], size[1], points);
  const batch = pipe.run(seeds.map(() => s), seeds.map(() => img), seeds);
  const data = await batch.images.toArray();
  batch.dispose();
  let checked = 0;
  for (let b = 0; b < seeds.length; b++) {
    for (let k = 0; k < points.length; k++) {
      const o = (b * points.length + k) * 3;
      const [x, y, vis] = [batch.keypoints[o]!, batch.keypoints[o + 1]!, batch.keypoints[o + 2]!];
      // Only dots whose whole blob stays inside can be located exactly.
      if (vis === 0 || x < 5 || y < 5 || x > batch.width - 6 || y > batch.height - 6) continue;
      const found = findDot(data, b, batch.width, batch.height, k, x, y);
      expect(found, `seed ${seeds[b]} keypoint ${k} at (${x.toFixed(1)}, ${y.toFixed(1)})`).not.toBeNull();
      expect(Math.hypot(found![0] - x, found![1] - y), `seed ${seeds[b]} keypoint ${k}`).toBeLessThan(1);
      checked++;
    }
  }
  return { batch, data, checked };
}

describe('geometric transforms keep keypoints on their content', () => {
  it('identity', async () => {
    const { checked, batch } = await check({});
    expect(checked).toBe(24);
    expect([batch.height, batch.width]).toEqual([H, W]);
  });
  it('affine (rotation, scaling, translation)', async () => {
    const { checked } = await check({ affine: { p: 1, rotation: 30, scaling: [0.7, 1.25], translation: 10 } });
    expect(checked).toBeGreaterThan(12);
  });
  it('affine with albumentations default ranges (shear included)', async () => {
    expect((await check({ affine: { p: 1 } })).checked).toBeGreaterThan(12);
  });
  it('hflip without symmetries', async () => {
    const { batch, checked } = await check({ hflip: 1 });
    expect(checked).toBe(24);
    expect(batch.items.every((i) => i.flipped)).toBe(true);
    expect(batch.keypoints[0]).toBeCloseTo(W - 1 - POINTS[0]![0], 4);
  });
  for (const method of ['uniform', 'keypoints', 'density', 'hybrid']) {
    it(`crop_sampling ${method}`, async () => {
      const { batch, checked } = await check({ crop_sampling: { width: 64, height: 64, max_shift: 0.4, method } }, [1, 2, 3, 4, 5, 6, 7, 8]);
      expect([batch.height, batch.width]).toEqual([64, 64]);
      expect(checked).toBeGreaterThan(0);
      // Keypoints outside the crop are invisible.
      for (let i = 0; i < batch.keypoints.length; i += 3) {
        const [x, y, vis] = [batch.keypoints[i]!, batch.keypoints[i + 1]!, batch.keypoints[i + 2]!];
        if (x < 0 || y < 0 || x >= 64 || y >= 64) expect(vis).toBe(0);
      }
    });
  }
  it('crop sampling on an image smaller than the crop pads it', async () => {
    const { batch, checked } = await check({ crop_sampling: { width: 200, height: 200, max_shift: 0.1, method: 'hybrid' } });
    expect([batch.height, batch.width]).toEqual([200, 200]);
    expect(checked).toBe(24);
  });
  it('resize with keep_ratio (pad) and without', async () => {
    const a = await check({ resize: { width: 100, height: 100, keep_ratio: true } });
    expect([a.batch.height, a.batch.width]).toEqual([100, 100]);
    expect(a.checked).toBe(24);
    const b = await check({ resize: { width: 240, height: 150, keep_ratio: false } });
    expect([b.batch.height, b.batch.width]).toEqual([150, 240]);
    expect(b.checked).toBe(24);
  });
  it('longest_max_size', async () => {
    const { batch, checked } = await check({ longest_max_size: 240 });
    expect([batch.height, batch.width]).toEqual([180, 240]);
    expect(checked).toBe(24);
  });
  it('auto_padding (reflect_101 and constant) to divisors', async () => {
    const r = await check({ auto_padding: { pad_width_divisor: 32, pad_height_divisor: 32 } });
    expect([r.batch.height, r.batch.width]).toEqual([128, 160]);
    expect(r.checked).toBe(24);
    const c = await check({ auto_padding: { pad_width_divisor: 64, pad_height_divisor: 64, position: 'center', border_mode: 'constant' } });
    expect([c.batch.height, c.batch.width]).toEqual([128, 192]);
    expect(c.checked).toBe(24);
    // Centre: 16 px left, 4 px top of constant 0.
    expect(c.data[0]).toBe(0);
    expect(c.batch.items[0]!.matrix[2]).toBeCloseTo(16);
  });
  it('the default resnet_50 train pipeline composed', async () => {
    const { checked } = await check(
      { affine: { p: 1, rotation: 30, scaling: [0.5, 1.25], translation: 0 }, crop_sampling: { width: 96, height: 96, max_shift: 0.1, method: 'hybrid' }, hflip: 0.5 },
      [11, 12, 13, 14, 15, 16, 17, 18],
    );
    expect(checked).toBeGreaterThan(8);
  });
  it('maps batch pixels back to the original image', async () => {
    const { batch } = await check({ affine: { p: 1, rotation: 20, scaling: [0.8, 1.2], translation: 5 }, crop_sampling: { width: 96, height: 96, max_shift: 0.1, method: 'keypoints' } });
    const { toOriginal } = await import('../../src/data/index.ts');
    const [x, y] = toOriginal(batch.items[0]!, batch.keypoints[0]!, batch.keypoints[1]!);
    expect(x).toBeCloseTo(POINTS[0]![0], 3);
    expect(y).toBeCloseTo(POINTS[0]![1], 3);
  });
});

describe('labels and pixels', () => {
  it('hflip swaps symmetric keypoints', async () => {
    const t = v.parse(TransformsSchema, { normalize_images: false, hflip: { p: 1, symmetries: [[0, 1]] } });
    const pipe = new AugmentationPipeline(t);
    const s = sample(W, H, POINTS);
    const batch = pipe.run([s], [dotImage(W, H, POINTS)], [3]);
    const data = await batch.images.toArray();
    batch.dispose();
    // Slot 0 now holds the flipped bodypart 1, and sits on bodypart 1's dot.
    const [x0, y0] = [batch.keypoints[0]!, batch.keypoints[1]!];
    expect(x0).toBeCloseTo(W - 1 - POINTS[1]![0], 4);
    expect(y0).toBeCloseTo(POINTS[1]![1], 4);
    const dot = findDot(data, 0, W, H, 1, x0, y0)!;
    expect(Math.hypot(dot[0] - x0, dot[1] - y0)).toBeLessThan(1);
    expect(batch.keypoints[3]).toBeCloseTo(W - 1 - POINTS[0]![0], 4);
  });

  it('normalises with ImageNet statistics into the expected range, or scales to [0, 1]', async () => {
    const s = sample(W, H, POINTS);
    const img = dotImage(W, H, POINTS);
    const norm = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: true, gaussian_noise: 12.75 }));
    const b1 = norm.run([s, s], [img, img], [1, 2]);
    expect(b1.images.shape).toEqual([2, 3, H, W]);
    const d1 = await b1.images.toArray();
    b1.dispose();
    const lo = Math.min(...[0.485, 0.456, 0.406].map((m, c) => -m / [0.229, 0.224, 0.225][c]!));
    const hi = Math.max(...[0.485, 0.456, 0.406].map((m, c) => (1 - m) / [0.229, 0.224, 0.225][c]!));
    let mn = Infinity;
    let mx = -Infinity;
    for (const x of d1) { mn = Math.min(mn, x); mx = Math.max(mx, x); }
    expect(mn).toBeGreaterThanOrEqual(lo - 1e-5);
    expect(mx).toBeLessThanOrEqual(hi + 1e-5);
    expect(d1[0]).toBeCloseTo(-0.485 / 0.229, 2); // a dark pixel, noise or not (noise is clipped at 0 rarely above)
    const unit = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, scale_to_unit_range: true }));
    const white = { width: W, height: H, data: new Uint8Array(W * H * 3).map((_, i) => (i < W * 3 ? 255 : 0)) };
    const b2 = unit.run([s], [white], [1]);
    const d2 = await b2.images.toArray();
    b2.dispose();
    expect(Math.max(...d2)).toBeCloseTo(1, 5);
    expect(Math.min(...d2)).toBe(0);
  });

  it('motion blur keeps brightness and covering blacks out holes and hides keypoints inside them', async () => {
    const s = sample(W, H, POINTS);
    const flat = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(200) };
    const blur = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, motion_blur: true }));
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
    const plans = seeds.map((sd) => blur.plan(s, sd));
    expect(plans.some((p) => p.blur !== null)).toBe(true);
    const b = blur.run(seeds.map(() => s), seeds.map(() => flat), seeds);
    const d = await b.images.toArray();
    b.dispose();
    expect(d.every((x) => x === 200)).toBe(true);
    const cover = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, covering: true }));
    const seed = seeds.find((sd) => cover.plan(s, sd).holes.length > 0)!;
    const plan = cover.plan(s, seed);
    expect(plan.holes.length).toBe(10);
    const bc = cover.run([s], [flat], [seed]);
    const dc = await bc.images.toArray();
    bc.dispose();
    const [x1, y1, x2, y2] = plan.holes[0]!;
    if (x2 > x1 && y2 > y1) expect(dc[y1 * W + x1]).toBe(0);
    const zeros = dc.filter((x) => x === 0).length;
    expect(zeros).toBeGreaterThan(0);
    // A keypoint placed inside a hole becomes invisible.
    const inHole = sample(W, H, [[x1 + 0.2, y1 + 0.2]]);
    if (x2 > x1 && y2 > y1) expect(cover.plan(inHole, seed).keypoints[2]).toBe(0);
  });

  it('grayscale blends towards gray', async () => {
    const s = sample(W, H, POINTS);
    const red = { width: W, height: H, data: new Uint8Array(W * H * 3).map((_, i) => (i % 3 === 0 ? 255 : 0)) };
    const pipe = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, grayscale: true }));
    const seed = [1, 2, 3, 4, 5, 6, 7, 8].find((sd) => pipe.plan(s, sd).grayAlpha > 0)!;
    const a = pipe.plan(s, seed).grayAlpha;
    const b = pipe.run([s], [red], [seed]);
    const d = await b.images.toArray();
    b.dispose();
    const gray = Math.floor((255 * 4899 + 8192) / 16384);
    expect(d[0]).toBe(Math.floor(255 * (1 - a) + gray * a));
    expect(d[W * H]).toBe(Math.floor(gray * a));
  });

  it('the same seed gives bit-identical batches; another seed does not', async () => {
    const t = v.parse(TransformsSchema, {
      affine: { p: 0.5, rotation: 30, scaling: [0.5, 1.25], translation: 0 },
      crop_sampling: { width: 96, height: 96, max_shift: 0.1, method: 'hybrid' },
      gaussian_noise: 12.75, motion_blur: true, normalize_images: true,
    });
    const pipe = new AugmentationPipeline(t);
    const s = sample(W, H, POINTS);
    const img = dotImage(W, H, POINTS);
    const run = async (seeds: number[]) => {
      const b = pipe.run(seeds.map(() => s), seeds.map(() => img), seeds);
      const d = await b.images.toArray();
      b.dispose();
      return { d, k: b.keypoints };
    };
    const a = await run([5, 6, 7, 8]);
    const b = await run([5, 6, 7, 8]);
    const c = await run([9, 10, 11, 12]);
    expect(Buffer.from(a.d.buffer).equals(Buffer.from(b.d.buffer))).toBe(true);
    expect([...a.k]).toEqual([...b.k]);
    expect(Buffer.from(a.d.buffer).equals(Buffer.from(c.d.buffer))).toBe(false);
  });

  it('rejects transforms it does not implement and batches of different sizes', () => {
    expect(() => new AugmentationPipeline(v.parse(TransformsSchema, { elastic_transform: true }))).toThrow(/not supported yet.*elastic_transform/);
    const pipe = new AugmentationPipeline(v.parse(TransformsSchema, {}));
    const a = sample(W, H, POINTS);
    const b = sample(W + 2, H, POINTS);
    expect(() => pipe.run([a, b], [dotImage(W, H, []), dotImage(W + 2, H, [])], [1, 2])).toThrow(/different sizes/);
  });
});
