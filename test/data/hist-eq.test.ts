// hist_eq: albumentations Equalize(mode="cv", by_channels=True, p=0.5) on the GPU equals a plain-TS
// cv2.equalizeHist per channel, on the warped image, and leaves keypoints where they are.
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { TransformsSchema } from '../../src/config/index.ts';
import { AugmentationPipeline, type PoseSample } from '../../src/data/index.ts';
import type { RgbImage } from '../../src/io/image.ts';
import { useGpu } from '../helpers/gpu.ts';
import { dotImage, findDot } from './synthetic.ts';

useGpu();

/** cv2.equalizeHist as OpenCV computes it: float scale 255/(N - hist[v0]), cvRound (half to even), saturated. */
export function equalizeHistRef(src: Uint8Array): Uint8Array {
  const hist = new Array<number>(256).fill(0);
  for (const x of src) hist[x]!++;
  let v0 = 0;
  while (hist[v0] === 0) v0++;
  const total = src.length;
  if (hist[v0] === total) return src.slice();
  const scale = Math.fround(255 / Math.fround(total - hist[v0]!));
  const lut = new Uint8Array(256);
  let sum = 0;
  for (let v = v0 + 1; v < 256; v++) {
    sum += hist[v]!;
    const x = Math.fround(Math.fround(sum) * scale);
    const f = Math.floor(x);
    const r = x - f > 0.5 || (x - f === 0.5 && f % 2 === 1) ? f + 1 : f;
    lut[v] = Math.min(255, Math.max(0, r));
  }
  return src.map((x) => lut[x]!);
}

function channel(img: RgbImage, c: number): Uint8Array {
  const out = new Uint8Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i * 3 + c]!;
  return out;
}

function sample(width: number, height: number, points: [number, number][]): PoseSample {
  return {
    imageId: 0, path: 'synthetic', relPath: 'synthetic', width, height, individuals: 1, bodyparts: points.length,
    keypoints: new Float32Array(points.flatMap(([x, y]) => [x, y, 2])), unique: new Float32Array(0),
    boxes: new Float32Array([0, 0, width, height]), individualIds: Int32Array.from([0]), annotations: 1,
  };
}

/** A textured image: smooth gradients, a few flat regions and hashed noise, each channel different. */
function texture(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = 12345;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const o = (y * width + x) * 3;
      data[o] = x < 20 ? 40 : Math.min(255, Math.floor((x * 255) / width) + ((s >>> 16) % 9));
      data[o + 1] = Math.floor(128 + 100 * Math.sin(x / 7) * Math.cos(y / 5));
      data[o + 2] = y > height - 10 ? 255 : (s >>> 8) % 64 + 30; // a narrow range plus a saturated band
    }
  return { width, height, data };
}

function planes(img: RgbImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = img.data[i * 3 + c]!;
  return out;
}

async function runBatch(config: Record<string, unknown>, samples: PoseSample[], images: RgbImage[], seeds: number[]) {
  const pipe = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, ...config }));
  const batch = pipe.run(samples, images, seeds);
  const data = await batch.images.toArray();
  batch.dispose();
  return { pipe, batch, data };
}

describe('hist_eq (cv2.equalizeHist per channel)', () => {
  it('the TS reference follows OpenCV: identity for one value, 0 for the lowest value, 255 for the highest', () => {
    expect([...equalizeHistRef(Uint8Array.from([7, 7, 7]))]).toEqual([7, 7, 7]);
    expect([...equalizeHistRef(Uint8Array.from([10, 20, 20, 30]))]).toEqual([0, 170, 170, 255]);
    // Ties round half to even: N - hist[v0] = 510, one pixel above v0 -> 0.5 -> 0.
    const tie = new Uint8Array(520).fill(200);
    tie.fill(5, 0, 10);
    tie[10] = 100;
    expect(equalizeHistRef(tie)[10]).toBe(0);
  });

  it('equals the reference exactly on a textured image, only where p=0.5 drew it', async () => {
    const W = 97;
    const H = 61;
    const img = texture(W, H);
    const s = sample(W, H, []);
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
    const { pipe, data } = await runBatch({ hist_eq: true }, seeds.map(() => s), seeds.map(() => img), seeds);
    const plans = seeds.map((sd) => pipe.plan(s, sd));
    expect(plans.some((p) => p.equalize)).toBe(true);
    expect(plans.some((p) => !p.equalize)).toBe(true);
    const n = W * H;
    const ref = [0, 1, 2].map((c) => equalizeHistRef(channel(img, c)));
    seeds.forEach((_, b) => {
      for (let c = 0; c < 3; c++) {
        const got = data.subarray((b * 3 + c) * n, (b * 3 + c + 1) * n);
        const want = plans[b]!.equalize ? ref[c]! : channel(img, c);
        let diff = 0;
        for (let i = 0; i < n; i++) if (got[i] !== want[i]) diff++;
        expect(diff, `item ${b} channel ${c}`).toBe(0);
      }
    });
  });

  it('handles a constant channel (identity), a two-value channel and rounding ties', async () => {
    const W = 26;
    const H = 20; // 520 pixels
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) {
      data[i * 3] = 77; // constant
      data[i * 3 + 1] = i % 3 === 0 ? 50 : 180;
      data[i * 3 + 2] = i < 10 ? 5 : i === 10 ? 100 : 200; // the tie case
    }
    const img = { width: W, height: H, data };
    const s = sample(W, H, []);
    const seed = [1, 2, 3, 4, 5, 6, 7, 8].find((sd) => new AugmentationPipeline(v.parse(TransformsSchema, { hist_eq: true })).plan(s, sd).equalize)!;
    const { data: out } = await runBatch({ hist_eq: true }, [s], [img], [seed]);
    const n = W * H;
    for (let c = 0; c < 3; c++) expect([...out.subarray(c * n, (c + 1) * n)], `channel ${c}`).toEqual([...equalizeHistRef(channel(img, c))]);
    expect(out[0]).toBe(77);
    expect(out[2 * n + 10]).toBe(0);
  });

  it('equalises the warped image (after the affine step)', async () => {
    const W = 120;
    const H = 90;
    const img = texture(W, H);
    const s = sample(W, H, []);
    const affine = { p: 1, rotation: 25, scaling: [0.8, 1.2], translation: 6 };
    const seeds = [11, 12, 13, 14, 15, 16];
    const eq = await runBatch({ affine, hist_eq: true }, seeds.map(() => s), seeds.map(() => img), seeds);
    const plain = await runBatch({ affine }, seeds.map(() => s), seeds.map(() => img), seeds);
    const n = W * H;
    let checked = 0;
    seeds.forEach((sd, b) => {
      const p = eq.pipe.plan(s, sd);
      expect(p.matrix).toEqual(plain.pipe.plan(s, sd).matrix);
      for (let c = 0; c < 3; c++) {
        const warped = Uint8Array.from(plain.data.subarray((b * 3 + c) * n, (b * 3 + c + 1) * n));
        const want = p.equalize ? equalizeHistRef(warped) : warped;
        expect([...eq.data.subarray((b * 3 + c) * n, (b * 3 + c + 1) * n)]).toEqual([...want]);
      }
      if (p.equalize) checked++;
    });
    expect(checked).toBeGreaterThan(0);
  });

  it('keeps keypoints (labels unchanged, dots still under them)', async () => {
    const W = 160;
    const H = 120;
    const points: [number, number][] = [[40.3, 30.7], [110.5, 45.2], [75, 90.6], [130.2, 100.1]];
    const img = dotImage(W, H, points);
    const s = sample(W, H, points);
    const seeds = [1, 2, 3, 4, 5, 6];
    const { pipe, batch, data } = await runBatch({ hist_eq: true }, seeds.map(() => s), seeds.map(() => img), seeds);
    expect(seeds.some((sd) => pipe.plan(s, sd).equalize)).toBe(true);
    const before = planes(img);
    for (let b = 0; b < seeds.length; b++) {
      for (let k = 0; k < points.length; k++) {
        const o = (b * points.length + k) * 3;
        expect([batch.keypoints[o], batch.keypoints[o + 1], batch.keypoints[o + 2]]).toEqual([Math.fround(points[k]![0]), Math.fround(points[k]![1]), 2]);
        const found = findDot(data, b, W, H, k, points[k]![0], points[k]![1]);
        expect(found).not.toBeNull();
        expect(Math.hypot(found![0] - points[k]![0], found![1] - points[k]![1])).toBeLessThan(1);
        const orig = findDot(before, 0, W, H, k, points[k]![0], points[k]![1])!;
        expect(Math.hypot(found![0] - orig[0], found![1] - orig[1])).toBeLessThan(0.5);
      }
    }
  });
});
