// GeneralizedRCNNTransform against torchvision 0.14 (scripts/fixtures/make_ssdlite_fixtures.py,
// ssdlite_transform.json): the min/max-size path Faster R-CNN takes (scale from float32 tensors, floor of the
// scaled sides, bilinear resize, zero padding to a multiple of 32) on three images of other shapes, target boxes
// resized with them and detections resized back. SSD's fixed 320x320 path is checked in ssdlite.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import { GeneralizedRCNNTransform, resizeBoxes, type ImageSize } from '../../src/models/detectors/transform.ts';
import { expectClose, expectCloseNormwise } from '../helpers/compare.ts';
import { signed } from '../helpers/deterministic-weights.ts';
import { useGpu } from '../helpers/gpu.ts';

useGpu();

interface Fixture {
  min_size: number;
  max_size: number;
  size_divisible: number;
  mean: number[];
  std: number[];
  images: { shape: number[]; seed: number }[];
  boxes: number[][][];
  batch: { shape: number[]; step: number; data: number[] };
  image_sizes: [number, number][];
  resized_boxes: number[][];
  postprocessed: number[][];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/detection/ssdlite_transform.json', import.meta.url), 'utf8')) as Fixture;

const transform = () => new GeneralizedRCNNTransform({ minSize: fx.min_size, maxSize: fx.max_size, imageMean: fx.mean, imageStd: fx.std, sizeDivisible: fx.size_divisible });

describe("GeneralizedRCNNTransform matches torchvision's", () => {
  it('normalises, resizes by min / max size and pads the batch to a multiple of 32', async () => {
    const t = transform().eval();
    await dg.scope(async () => {
      const images = fx.images.map(({ shape, seed }) => dg.tensor(Float32Array.from(signed(seed, shape.reduce((a, b) => a * b, 1)), (v) => (v + 1) / 2), shape));
      const batch = t.forward(images);
      expect(batch.imageSizes).toEqual(fx.image_sizes);
      expect(batch.tensors.shape).toEqual(fx.batch.shape);
      const all = await batch.tensors.toArray();
      // Interpolated float32 values against float64 torchvision: 1e-4 of the largest.
      expectCloseNormwise(fx.batch.data.map((_, i) => all[i * fx.batch.step]!), fx.batch.data, 1e-4, 'batched images');
      // The padding is zero.
      const [, C, H, W] = batch.tensors.shape as [number, number, number, number];
      const [h, w] = fx.image_sizes[0]!;
      for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = w; x < W; x++) expect(all[(c * H + y) * W + x]).toBe(0);
      expect(h).toBeLessThanOrEqual(H);
    });
  });

  it('computes the resized sizes as torch does (number / tensor is reciprocal * number in float32)', () => {
    const t = transform();
    fx.images.forEach(({ shape }, i) => expect(t.resizedSize([shape[1]!, shape[2]!])).toEqual(fx.image_sizes[i]));
    // 800 / 1333 (Faster R-CNN's), values from torchvision: 27 x 42 loses a pixel to the float32 reciprocal.
    const frcnn = new GeneralizedRCNNTransform({ minSize: 800, maxSize: 1333, imageMean: [0, 0, 0], imageStd: [1, 1, 1] });
    expect(frcnn.resizedSize([480, 640])).toEqual([800, 1066]);
    expect(frcnn.resizedSize([27, 42])).toEqual([799, 1244]);
    expect(frcnn.resizedSize([101, 333])).toEqual([404, 1333]);
    const fixed = new GeneralizedRCNNTransform({ minSize: 320, maxSize: 320, imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5], sizeDivisible: 1, fixedSize: [320, 240] });
    expect(fixed.resizedSize([17, 999])).toEqual([240, 320]);
  });

  it('resizes target boxes with their image and detections back (float32 ratios)', () => {
    fx.boxes.forEach((b, i) => {
      const orig = [fx.images[i]!.shape[1]!, fx.images[i]!.shape[2]!] as const;
      const resized = resizeBoxes(Float32Array.from(b.flat()), orig, fx.image_sizes[i]!);
      expectClose(resized, fx.resized_boxes[i]!, 1e-6, `resized boxes of image ${i}`);
      expectClose(resizeBoxes(resized, fx.image_sizes[i]!, orig), fx.postprocessed[i]!, 1e-6, `postprocessed boxes of image ${i}`);
    });
  });

  it('rejects bad options and images by name', () => {
    const base = { minSize: 10, maxSize: 20, imageMean: [0, 0, 0], imageStd: [1, 1, 1] };
    expect(() => new GeneralizedRCNNTransform({ ...base, minSize: [] })).toThrow(/minSize must be positive numbers/);
    expect(() => new GeneralizedRCNNTransform({ ...base, imageStd: [1, 1] })).toThrow(/imageMean and imageStd must have one value per channel each \(got 3 and 2\)/);
    expect(() => new GeneralizedRCNNTransform({ ...base, sizeDivisible: 0 })).toThrow(/sizeDivisible must be a positive integer/);
    expect(() => new GeneralizedRCNNTransform({ ...base, fixedSize: [320, 0] as unknown as [number, number] })).toThrow(/fixedSize must be \(width, height\) positive integers/);
    const t = new GeneralizedRCNNTransform(base);
    const bad = dg.zeros([3, 0, 4]);
    try {
      expect(() => t.forward([bad])).toThrow(/image 0 is empty \(\[3, 0, 4\]\)/);
    } finally {
      bad.dispose();
    }
  });

  it('picks a training min size from the tuple with its chooser', () => {
    const picks: number[] = [];
    const t = new GeneralizedRCNNTransform({ minSize: [10, 20, 30], maxSize: 100, imageMean: [0], imageStd: [1], choose: (n) => (picks.push(n), 1) });
    dg.tidy(() => {
      const x = dg.ones([1, 5, 10]);
      expect(t.resize(x).shape).toEqual([1, 20, 40]);
      t.eval();
      expect(t.resize(x).shape).toEqual([1, 30, 60]);
    });
    expect(picks).toEqual([3]);
    const sizes: ImageSize = t.resizedSize([5, 10], 10);
    expect(sizes).toEqual([10, 20]);
  });
});
