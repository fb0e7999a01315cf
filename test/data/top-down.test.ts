// top_down_crop: one item per annotated individual, cropped around its box as DeepLabCut's top_down_crop
// computes the window (context, margin, padding), composed into the sample's single affine map.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { TransformsSchema } from '../../src/config/index.ts';
import { AugmentationPipeline, PoseDataset, PoseLoader, sampleSeed, toOriginal, TRAINING } from '../../src/data/index.ts';
import { topDownCropBox } from '../../src/data/plan.ts';
import { encodePng, type RgbImage } from '../../src/io/image.ts';
import type { LabeledData } from '../../src/project/index.ts';
import { useGpu } from '../helpers/gpu.ts';
import { dotImage, findDot } from './synthetic.ts';

useGpu();

const N = NaN;
// Two images: the first with two animals (and an individual with nothing labelled), the second with one.
const W = 200;
const H = 150;
const FRAMES: [number, number][][][] = [
  [
    [[30, 40], [60, 35], [45, 80], [N, N]],
    [[N, N], [N, N], [N, N], [N, N]],
    [[140, 60], [170, 70], [150, 120], [185, 128]],
  ],
  [[[8, 10], [30, 12], [20, 40], [12, 30]]],
];

function makeDataset(mode: 'top-down' | 'bottom-up', bboxMargin = 10): { ds: PoseDataset; images: RgbImage[] } {
  const root = mkdtempSync(join(tmpdir(), 'dlc-gpu-td-'));
  mkdirSync(join(root, 'labeled-data', 'v'), { recursive: true });
  const images: RgbImage[] = [];
  const labels: LabeledData = {
    individuals: ['a', 'b', 'c'],
    bodyparts: ['p0', 'p1', 'p2', 'p3'],
    uniqueBodyparts: ['u'],
    frames: FRAMES.map((individuals, f) => {
      // Dots for every individual (colour by bodypart).
      const img = dotImage(W, H, []);
      for (const ind of individuals) {
        const pts = ind.filter(([x]) => !Number.isNaN(x));
        const one = dotImage(W, H, ind.map(([x, y]) => (Number.isNaN(x) ? [-100, -100] : [x, y]) as [number, number]));
        for (let i = 0; i < img.data.length; i++) img.data[i] = Math.max(img.data[i]!, one.data[i]!);
        void pts;
      }
      images.push(img);
      writeFileSync(join(root, 'labeled-data', 'v', `img${f}.png`), encodePng(img));
      return { path: ['labeled-data', 'v', `img${f}.png`], keypoints: individuals, unique: [[5, 5]] };
    }),
  };
  return { ds: new PoseDataset({ root, labels, indices: [0, 1], bboxMargin, mode }), images };
}

describe('top-down crop window (DeepLabCut top_down_crop)', () => {
  it('with context: expands to the output aspect ratio, pads where the window leaves the image', () => {
    // cx 25, cy 50; 30x60 -> 60x60; x from round(-5) (5 px pad) to 55; y 20..80.
    expect(topDownCropBox([10, 20, 30, 60], 100, 100, 256, 256)).toEqual({ x1: 0, y1: 20, x2: 55, y2: 80, padLeft: 5, padTop: 0, cropW: 60, cropH: 60 });
    // Margin 5 on each side, 2:1 output: 40x30 box + 10 -> 50x40 -> 80x40.
    expect(topDownCropBox([50, 50, 40, 30], 300, 200, 128, 64, 5)).toEqual({ x1: 30, y1: 45, x2: 110, y2: 85, padLeft: 0, padTop: 0, cropW: 80, cropH: 40 });
    // Python's round: half to even (cx - w/2 = 2.5 -> 2, cx + w/2 = 5.5 -> 6).
    expect(topDownCropBox([2.5, 0, 3, 3], 10, 10, 8, 8)).toMatchObject({ x1: 2, x2: 6 });
  });
  it('without context: keeps the box and pads the short side by half the difference each side', () => {
    expect(topDownCropBox([10, 20, 30, 60], 100, 100, 256, 256, 0, false)).toEqual({ x1: 10, y1: 20, x2: 40, y2: 80, padLeft: 15, padTop: 0, cropW: 60, cropH: 60 });
    expect(topDownCropBox([10, 20, 61, 20], 100, 100, 64, 64, 0, false)).toEqual({ x1: 10, y1: 20, x2: 71, y2: 40, padLeft: 0, padTop: 20, cropW: 61, cropH: 60 });
  });
});

describe('top-down dataset and crop', () => {
  it("mode 'top-down' makes one item per annotated individual", () => {
    const { ds } = makeDataset('top-down');
    const bu = makeDataset('bottom-up').ds;
    expect(bu.length).toBe(2);
    expect(ds.length).toBe(3);
    const items = [0, 1, 2].map((i) => ds.sample(i));
    expect(items.map((s) => [s.imageId, s.annotation, s.individualIds[0]])).toEqual([[0, 0, 0], [0, 1, 2], [1, 0, 0]]);
    for (const s of items) {
      expect(s.individuals).toBe(1);
      expect(s.keypoints.length).toBe(12);
      expect([...s.unique]).toEqual([0, 0, -1]);
    }
    expect([...items[1]!.keypoints]).toEqual([...bu.sample(0).keypoints.slice(12, 24)]);
    expect([...items[1]!.boxes]).toEqual([...bu.sample(0).boxes.slice(4, 8)]);
    expect(ds.imagePath(2).endsWith(join('labeled-data', 'v', 'img1.png'))).toBe(true);
    expect(ds.imageSize(2)).toEqual({ width: W, height: H });
    expect(() => ds.sample(3)).toThrow(/does not exist/);
    // Items of one image get different augmentation seeds.
    expect(sampleSeed(1, 0, 0, 0)).not.toBe(sampleSeed(1, 0, 0, 1));
    expect(sampleSeed(1, 0, 0)).not.toBe(sampleSeed(1, 0, 0, 0));
  });

  async function cropBatch(config: Record<string, unknown>, seeds = [1, 2, 3]) {
    const { ds, images } = makeDataset('top-down');
    const pipe = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, ...config }));
    const samples = [0, 1, 2].flatMap((i) => seeds.map(() => ds.sample(i)));
    const imgs = [0, 1, 2].flatMap((i) => seeds.map(() => images[ds.sample(i).imageId]!));
    const allSeeds = [0, 1, 2].flatMap(() => seeds);
    const batch = pipe.run(samples, imgs, allSeeds);
    const data = await batch.images.toArray();
    batch.dispose();
    let checked = 0;
    for (let b = 0; b < samples.length; b++)
      for (let k = 0; k < 4; k++) {
        const o = (b * 4 + k) * 3;
        const [x, y, vis] = [batch.keypoints[o]!, batch.keypoints[o + 1]!, batch.keypoints[o + 2]!];
        if (vis === 0 || x < 5 || y < 5 || x > batch.width - 6 || y > batch.height - 6) continue;
        // Dots cut by the frame's border (the crop window) cannot be located exactly.
        const [c0, c1, c2, c3] = pipe.plan(samples[b]!, allSeeds[b]!).clip ?? [-1e9, -1e9, 1e9, 1e9];
        if (x < c0 + 12 || y < c1 + 12 || x > c2 - 12 || y > c3 - 12) continue;
        const found = findDot(data, b, batch.width, batch.height, k, x, y);
        expect(found, `item ${b} keypoint ${k} at (${x.toFixed(1)}, ${y.toFixed(1)})`).not.toBeNull();
        expect(Math.hypot(found![0] - x, found![1] - y), `item ${b} keypoint ${k}`).toBeLessThan(1);
        checked++;
      }
    return { batch, data, samples, checked, pipe };
  }

  it('crops each annotation to the output size with the dots under the keypoints', async () => {
    const { batch, samples, checked } = await cropBatch({ top_down_crop: { width: 96, height: 96 } });
    expect([batch.height, batch.width, batch.individuals]).toEqual([96, 96, 1]);
    expect(checked).toBeGreaterThanOrEqual(24);
    // Batch pixels map back to the original image.
    samples.forEach((s, b) => {
      for (let k = 0; k < 4; k++) {
        if (s.keypoints[k * 3 + 2] === 0) continue;
        const [x, y] = toOriginal(batch.items[b]!, batch.keypoints[(b * 4 + k) * 3]!, batch.keypoints[(b * 4 + k) * 3 + 1]!);
        expect(x).toBeCloseTo(s.keypoints[k * 3]!, 3);
        expect(y).toBeCloseTo(s.keypoints[k * 3 + 1]!, 3);
      }
      expect(batch.items[b]!.annotation).toBe(s.annotation);
    });
  });

  it('composes with affine and hflip, without context, with a margin and a non-square output', async () => {
    const a = await cropBatch({ top_down_crop: { width: 64, height: 96, margin: 8, crop_with_context: false }, affine: { p: 1, rotation: 20, scaling: [0.9, 1.1], translation: 4 }, hflip: 0.5 }, [1, 2, 3, 4]);
    expect([a.batch.height, a.batch.width]).toEqual([96, 64]);
    expect(a.checked).toBeGreaterThan(30);
    const b = await cropBatch({ top_down_crop: { width: 80, height: 80, crop_with_context: true }, affine: { p: 1 } }, [5, 6]);
    expect(b.checked).toBeGreaterThan(8);
  });

  it('pads with black outside the crop window (image border, and the no-context padding)', async () => {
    const { ds } = makeDataset('top-down', 0);
    const s = ds.sample(2); // box x 8..30, y 10..40 in the second image
    const gray: RgbImage = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(100) };
    for (const ctx of [true, false]) {
      const pipe = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, top_down_crop: { width: 64, height: 64, margin: 10, crop_with_context: ctx } }));
      const plan = pipe.plan(s, 1);
      expect(plan.clip).not.toBeNull();
      const batch = pipe.run([s], [gray], [1]);
      const d = await batch.images.toArray();
      batch.dispose();
      // Box 22x30 + 20 -> 42x50. With context 50x50: x from round(19 - 25) = -6 (6 px pad at 50 -> 64 scale).
      // Without: 42x50 inside the image, 4 px of padding left and right.
      const [x0, , x1] = plan.clip!;
      expect(x0).toBeGreaterThan(3);
      if (!ctx) expect(x1).toBeLessThan(60);
      for (let y = 0; y < 64; y++)
        for (let x = 0; x < 64; x++) {
          const val = d[y * 64 + x]!;
          if (x < x0 - 0.01 || x >= x1) expect(val, `${x},${y}`).toBe(0);
          else if (x > x0 + 1 && x < x1 - 2 && y > plan.clip![1] + 1 && y < plan.clip![3] - 2) expect(val, `${x},${y}`).toBe(100);
        }
    }
  });

  it("pads with 0 after normalisation in a training pipeline (DeepLabCut's dataset crops the normalised image), black at inference", async () => {
    const { ds } = makeDataset('top-down', 0);
    const s = ds.sample(2);
    const gray: RgbImage = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(100) };
    const t = v.parse(TransformsSchema, { normalize_images: true, top_down_crop: { width: 64, height: 64, margin: 10 } });
    const norm = (value: number, c: number) => (value / 255 - [0.485, 0.456, 0.406][c]!) / [0.229, 0.224, 0.225][c]!;
    for (const [options, pad] of [[TRAINING, () => 0], [{}, (c: number) => norm(0, c)]] as const) {
      const pipe = new AugmentationPipeline(t, options);
      const [x0, y0, x1, y1] = pipe.plan(s, 1).clip!;
      const batch = pipe.run([s], [gray], [1]);
      const d = await batch.images.toArray();
      batch.dispose();
      let padded = 0;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 64; y++)
          for (let x = 0; x < 64; x++) {
            const val = d[(c * 64 + y) * 64 + x]!;
            if (x < x0 || y < y0 || x >= x1 || y >= y1) {
              expect(Math.abs(val - pad(c)), `${options === TRAINING ? 'train' : 'inference'} pad ${c},${x},${y}`).toBeLessThan(1e-5);
              padded++;
            } else if (x > x0 + 1 && x < x1 - 2 && y > y0 + 1 && y < y1 - 2) expect(Math.abs(val - norm(100, c))).toBeLessThan(1e-5);
          }
      expect(padded).toBeGreaterThan(100);
    }
  });

  it('a box augmented out of the image gives a blank crop without visible keypoints', async () => {
    const { ds, images } = makeDataset('top-down');
    const s = ds.sample(2);
    const pipe = new AugmentationPipeline(v.parse(TransformsSchema, { normalize_images: false, top_down_crop: { width: 32, height: 32 }, affine: { p: 1, translation: 400 } }));
    const seed = [1, 2, 3, 4, 5, 6, 7, 8].find((sd) => pipe.plan(s, sd).clip?.[2] === 0)!;
    expect(seed).toBeDefined();
    const batch = pipe.run([s], [images[1]!], [seed]);
    const d = await batch.images.toArray();
    batch.dispose();
    expect(d.every((x) => x === 0)).toBe(true);
    expect([0, 1, 2, 3].every((k) => batch.keypoints[k * 3 + 2] === 0)).toBe(true);
  });

  it('rejects top_down_crop on multi-individual (bottom-up) items, and loads top-down batches', async () => {
    const bu = makeDataset('bottom-up').ds;
    const pipe = new AugmentationPipeline(v.parse(TransformsSchema, { top_down_crop: { width: 32, height: 32 } }));
    expect(() => pipe.plan(bu.sample(0), 1)).toThrow(/mode 'top-down'/);
    const { ds } = makeDataset('top-down');
    const loader = new PoseLoader(ds, pipe, { batchSize: 2, seed: 3, shuffle: false });
    const sizes: number[] = [];
    for await (const batch of loader.epoch(0)) {
      expect([batch.height, batch.width]).toEqual([32, 32]);
      sizes.push(batch.batchSize);
      batch.dispose();
    }
    await loader.close();
    expect(sizes).toEqual([2, 1]);
  });
});
