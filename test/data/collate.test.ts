// data.train.collate: ResizeFromDataSizeCollate / ResizeFromListCollate give every item of a batch one size,
// by an aspect-preserving resize and a random crop composed into each item's matrix.
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { TransformsSchema } from '../../src/config/index.ts';
import { AugmentationPipeline, Rng, toOriginal, TRAINING, type PoseSample } from '../../src/data/index.ts';
import { collateResize, collateTarget, pyRound } from '../../src/data/plan.ts';
import type { RgbImage } from '../../src/io/image.ts';
import { useGpu } from '../helpers/gpu.ts';
import { dotImage, findDot } from './synthetic.ts';

useGpu();

function sample(width: number, height: number, points: [number, number][], imageId = 0): PoseSample {
  return {
    imageId, path: 'synthetic', relPath: 'synthetic', width, height, individuals: 1, bodyparts: points.length,
    keypoints: new Float32Array(points.flatMap(([x, y]) => [x, y, 2])), unique: new Float32Array(0),
    boxes: new Float32Array([0, 0, width, height]), individualIds: Int32Array.from([0]), annotations: 1,
  };
}

const SIZES: [number, number][] = [[160, 120], [100, 140], [210, 90], [120, 120]];
const pointsFor = (w: number, h: number): [number, number][] => [[0.25 * w + 0.3, 0.3 * h + 0.7], [0.7 * w, 0.35 * h], [0.5 * w + 0.4, 0.75 * h], [0.85 * w, 0.85 * h]];

const parse = (collate: Record<string, unknown>) => v.parse(TransformsSchema, { normalize_images: false, collate }).collate!;

describe('collate target sizes', () => {
  it('ResizeFromDataSizeCollate: scaled short side, clamped ratio, multiple_of, to_square', () => {
    expect(pyRound(2.5)).toBe(2);
    expect(pyRound(3.5)).toBe(4);
    const c = parse({ type: 'ResizeFromDataSizeCollate', min_scale: 1, max_scale: 1, min_short_side: 64, max_short_side: 400 });
    expect(collateTarget(c, 160, 120, new Rng(1))).toEqual({ height: 120, width: 160, square: false });
    // Ratio 4 clamped to max_ratio 2: 100 x 200.
    expect(collateTarget(c, 100, 400, new Rng(1))).toEqual({ height: 200, width: 100, square: false });
    // Short side clamped to min_short_side.
    expect(collateTarget(c, 60, 30, new Rng(1))).toEqual({ height: 64, width: 128, square: false });
    const m = parse({ type: 'ResizeFromDataSizeCollate', min_scale: 0.4, max_scale: 1.6, multiple_of: 32 });
    const sq = parse({ type: 'ResizeFromDataSizeCollate', min_scale: 0.4, max_scale: 1.6, multiple_of: 32, to_square: true });
    for (let s = 0; s < 50; s++) {
      const t = collateTarget(m, 333, 250, new Rng(s));
      expect(t.width % 32).toBe(0);
      expect(t.height % 32).toBe(0);
      expect(t.width).toBeGreaterThanOrEqual(t.height);
      const q = collateTarget(sq, 333, 250, new Rng(s));
      expect(q.square).toBe(true);
      expect(q.width).toBe(q.height);
      expect(q.width % 32).toBe(0);
      expect(q.width).toBeGreaterThanOrEqual(128);
    }
  });

  it('ResizeFromListCollate: an int is a square, a pair is (height, width)', () => {
    const c = parse({ type: 'ResizeFromListCollate', scales: [64, [48, 96]] });
    const seen = new Set<string>();
    for (let s = 0; s < 40; s++) seen.add(JSON.stringify(collateTarget(c, 10, 10, new Rng(s))));
    expect([...seen].sort()).toEqual([JSON.stringify({ height: 48, width: 96, square: false }), JSON.stringify({ height: 64, width: 64, square: true })].sort());
  });

  it('the resize covers the target and keeps the aspect ratio; max_size caps the long side', () => {
    expect(collateResize(120, 160, { height: 64, width: 64, square: true }, null)).toEqual([64, 85]);
    expect(collateResize(120, 480, { height: 64, width: 64, square: true }, 200)).toEqual([50, 200]);
    expect(collateResize(120, 160, { height: 96, width: 96, square: false }, null)).toEqual([96, 128]);
    expect(collateResize(160, 120, { height: 64, width: 128, square: false }, null)).toEqual([170, 128]);
    expect(collateResize(160, 120, { height: 64, width: 128, square: false }, 150)).toEqual([150, 112]);
  });
});

describe('collated batches', () => {
  async function run(collate: Record<string, unknown>, seeds: number[], extra: Record<string, unknown> = {}) {
    const pipe = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, collate, ...extra }));
    const samples = seeds.map((_, i) => sample(SIZES[i % 4]![0], SIZES[i % 4]![1], pointsFor(...SIZES[i % 4]!), i));
    const images = samples.map((s): RgbImage => dotImage(s.width, s.height, pointsFor(s.width, s.height)));
    const batch = pipe.run(samples, images, seeds);
    const data = await batch.images.toArray();
    batch.dispose();
    return { pipe, batch, data, samples };
  }

  function checkDots(r: Awaited<ReturnType<typeof run>>): number {
    const { batch, data, samples } = r;
    let checked = 0;
    for (let b = 0; b < samples.length; b++)
      for (let k = 0; k < 4; k++) {
        const o = (b * 4 + k) * 3;
        const [x, y, vis] = [batch.keypoints[o]!, batch.keypoints[o + 1]!, batch.keypoints[o + 2]!];
        if (vis <= 0) {
          // Left out by the crop: all three values -1 (or already invisible).
          if (vis === -1) expect([x, y]).toEqual([-1, -1]);
          continue;
        }
        expect(x >= 0 && y >= 0 && x < batch.width && y < batch.height).toBe(true);
        const [ox, oy] = toOriginal(batch.items[b]!, x, y);
        expect(ox).toBeCloseTo(samples[b]!.keypoints[k * 3]!, 3);
        expect(oy).toBeCloseTo(samples[b]!.keypoints[k * 3 + 1]!, 3);
        if (x < 6 || y < 6 || x > batch.width - 7 || y > batch.height - 7) continue;
        const found = findDot(data, b, batch.width, batch.height, k, x, y, 8);
        expect(found, `item ${b} keypoint ${k}`).not.toBeNull();
        expect(Math.hypot(found![0] - x, found![1] - y), `item ${b} keypoint ${k}`).toBeLessThan(1);
        checked++;
      }
    return checked;
  }

  it('ResizeFromDataSizeCollate: one size per batch, multiple_of, dots under keypoints, mapped back', async () => {
    const collate = { type: 'ResizeFromDataSizeCollate', min_scale: 0.6, max_scale: 1.4, min_short_side: 64, multiple_of: 32, max_shift: 10 };
    let checked = 0;
    const sizes = new Set<string>();
    for (const seeds of [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]) {
      const r = await run(collate, seeds);
      expect(r.batch.images.shape).toEqual([4, 3, r.batch.height, r.batch.width]);
      expect(r.batch.width % 32).toBe(0);
      expect(r.batch.height % 32).toBe(0);
      sizes.add(`${r.batch.height}x${r.batch.width}`);
      checked += checkDots(r);
    }
    expect(sizes.size).toBeGreaterThan(1);
    expect(checked).toBeGreaterThan(20);
  });

  it('to_square and max_size: square batches, long side of each resize at most max_size', async () => {
    const collate = { type: 'ResizeFromDataSizeCollate', min_scale: 0.8, max_scale: 1.2, to_square: true, max_size: 150, max_shift: 0 };
    const r = await run(collate, [3, 4, 5, 6]);
    expect(r.batch.width).toBe(r.batch.height);
    r.samples.forEach((s, b) => {
      const m = r.batch.items[b]!.matrix;
      expect(Math.round(m[0] * s.width)).toBeLessThanOrEqual(150);
      expect(Math.round(m[4] * s.height)).toBeLessThanOrEqual(150);
      expect(m[0]).toBeCloseTo(m[4], 1);
    });
    expect(checkDots(r)).toBeGreaterThan(8);
  });

  it('ResizeFromListCollate picks listed sizes; composes with affine and auto_padding', async () => {
    const r = await run({ type: 'ResizeFromListCollate', scales: [[96, 128], 112] }, [1, 2, 3, 4], { affine: { p: 1, rotation: 15, scaling: [0.9, 1.1], translation: 0 } });
    expect(['96x128', '112x112']).toContain(`${r.batch.height}x${r.batch.width}`);
    expect(checkDots(r)).toBeGreaterThan(4);
    const p = await run({ type: 'ResizeFromListCollate', scales: [100] }, [1, 2], { auto_padding: { pad_width_divisor: 32, pad_height_divisor: 32 } });
    expect([p.batch.height, p.batch.width]).toEqual([128, 128]);
  });

  it('pads with black where the crop leaves the resized image', async () => {
    const pipe = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, collate: { type: 'ResizeFromListCollate', scales: [[64, 64]], max_shift: 20 } }));
    const s = sample(100, 200, []);
    const gray: RgbImage = { width: 100, height: 200, data: new Uint8Array(100 * 200 * 3).fill(100) };
    let sawPadding = false;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const plan = pipe.plan(s, seed);
      const batch = pipe.run([s], [gray], [seed]);
      const d = await batch.images.toArray();
      batch.dispose();
      const [x0, y0, x1, y1] = plan.clip!;
      for (let y = 0; y < 64; y++)
        for (let x = 0; x < 64; x++) {
          if (x < x0 || y < y0 || x >= x1 || y >= y1) {
            expect(d[y * 64 + x]).toBe(0);
            sawPadding = true;
          } else if (x > x0 + 1 && y > y0 + 1 && x < x1 - 2 && y < y1 - 2) expect(d[y * 64 + x]).toBe(100);
        }
    }
    expect(sawPadding).toBe(true);
  });

  it("a training pipeline's collate padding is 0 after normalisation (DeepLabCut collates the normalised tensors)", async () => {
    const t = v.parse(TransformsSchema, { collate: { type: 'ResizeFromListCollate', scales: [[64, 64]], max_shift: 20 } });
    const pipe = new AugmentationPipeline(t, TRAINING);
    const s = sample(100, 200, []);
    const gray: RgbImage = { width: 100, height: 200, data: new Uint8Array(100 * 200 * 3).fill(100) };
    let padded = 0;
    for (const seed of [1, 2, 3]) {
      const [x0, y0, x1, y1] = pipe.plan(s, seed).clip!;
      const batch = pipe.run([s], [gray], [seed]);
      const d = await batch.images.toArray();
      batch.dispose();
      for (let y = 0; y < 64; y++)
        for (let x = 0; x < 64; x++)
          if (x < x0 || y < y0 || x >= x1 || y >= y1) {
            for (let c = 0; c < 3; c++) expect(d[(c * 64 + y) * 64 + x]).toBe(0);
            padded++;
          } else if (x > x0 + 1 && y > y0 + 1 && x < x1 - 2 && y < y1 - 2) expect(Math.abs(d[y * 64 + x]! - (100 / 255 - 0.485) / 0.229)).toBeLessThan(1e-5);
    }
    expect(padded).toBeGreaterThan(0);
  });

  it('the same seeds give the same batch; other seeds another', async () => {
    const collate = { type: 'ResizeFromDataSizeCollate', min_scale: 0.5, max_scale: 1.5, multiple_of: 16 };
    const a = await run(collate, [21, 22, 23, 24]);
    const b = await run(collate, [21, 22, 23, 24]);
    const c = await run(collate, [31, 32, 33, 34]);
    expect([a.batch.height, a.batch.width]).toEqual([b.batch.height, b.batch.width]);
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    expect([...a.batch.keypoints]).toEqual([...b.batch.keypoints]);
    expect(a.batch.items.map((i) => i.matrix)).toEqual(b.batch.items.map((i) => i.matrix));
    expect(a.batch.items.map((i) => i.matrix)).not.toEqual(c.batch.items.map((i) => i.matrix));
  });
});
