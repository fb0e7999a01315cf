// AnchorGenerator and DefaultBoxGenerator against torchvision 0.14's (scripts/fixtures/make_mobilenet_fixtures.py):
// base anchors, fasterrcnn_mobilenet_v3_large_fpn's 15-per-location maps, resnet50-FPN's 5 levels with strides
// that do not divide the padded size, SSDLite320's six maps, SSD300's scales and steps, clip off; to 1e-5.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import {
  AnchorGenerator,
  DefaultBoxGenerator,
  fasterrcnnMobileNetV3AnchorGenerator,
  fasterrcnnResnet50FpnAnchorGenerator,
  ssdlite320DefaultBoxGenerator,
} from '../../src/models/detectors/anchors.ts';
import { expectClose } from '../helpers/compare.ts';
import { useGpu } from '../helpers/gpu.ts';

useGpu();

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/detection/${name}`, import.meta.url), 'utf8')) as T;

interface Stored {
  shape: number[];
  step: number;
  data: number[];
}
interface AnchorCase {
  name: string;
  sizes: number[][];
  aspect_ratios: number[][];
  image: [number, number];
  num_images: number;
  grids: [number, number][];
  per_location: number[];
  cell_anchors: number[][];
  anchors: Stored;
}
interface BoxCase {
  name: string;
  args: { aspect_ratios: number[][]; min_ratio?: number; max_ratio?: number; scales?: number[]; steps?: number[]; clip?: boolean };
  image: [number, number];
  grids: [number, number][];
  per_location: number[];
  scales: number[];
  boxes: Stored;
}

const TOL = 1e-5;
const strided = (all: ArrayLike<number>, s: Stored) => s.data.map((_, i) => all[i * s.step]!);

describe('AnchorGenerator matches torchvision', () => {
  for (const c of fixture<{ cases: AnchorCase[] }>('anchors.json').cases) {
    it(c.name, async () => {
      const gen = new AnchorGenerator(c.sizes, c.aspect_ratios);
      try {
        expect(gen.numAnchorsPerLocation()).toEqual(c.per_location);
        gen.cellAnchors.forEach((a, i) => expect(Array.from(a), `cell anchors ${i}`).toEqual(c.cell_anchors[i]));
        const host = gen.anchorsHost(c.image, c.grids);
        expect(host.length).toBe(c.anchors.shape[0]! * 4);
        expectClose(strided(host, c.anchors), c.anchors.data, TOL, 'anchors');
        // forward reads the grid sizes off the feature maps; the uploaded tensor is cached by shape.
        await dg.scope(async () => {
          const maps = c.grids.map(([h, w]) => dg.zeros([c.num_images, 2, h, w]));
          const t = gen.forward(c.image, maps);
          expect(t.shape).toEqual(c.anchors.shape);
          expectClose(strided(await t.toArray(), c.anchors), c.anchors.data, TOL, 'anchors tensor');
          expect(gen.forward(c.image, maps)).toBe(t);
        });
      } finally {
        gen.dispose();
      }
    });
  }

  it('builds fasterrcnn\'s configurations; flat sizes and ratios as torchvision reads them', () => {
    const mobile = fasterrcnnMobileNetV3AnchorGenerator();
    expect(mobile.numAnchorsPerLocation()).toEqual([15, 15, 15]);
    const resnet = fasterrcnnResnet50FpnAnchorGenerator();
    expect(resnet.numAnchorsPerLocation()).toEqual([3, 3, 3, 3, 3]);
    const flat = new AnchorGenerator([32, 64], [0.5, 1, 2]);
    expect(flat.sizes).toEqual([[32], [64]]);
    expect(flat.aspectRatios).toEqual([[0.5, 1, 2], [0.5, 1, 2]]);
    // Ties round to even, as torch.round: size 5 at ratio 1 gives +-2.5 -> +-2.
    expect(Array.from(AnchorGenerator.baseAnchors([5, 3], [1]))).toEqual([-2, -2, 2, 2, -2, -2, 2, 2]);
  });

  it('keeps the cache alive through scopes and releases it on dispose', async () => {
    const gen = fasterrcnnMobileNetV3AnchorGenerator();
    const t = dg.tidy(() => gen.anchors([64, 64], [[2, 2], [2, 2], [1, 1]]));
    expect(t.disposed).toBe(false);
    expect((await t.toArray()).length).toBe(15 * 9 * 4);
    gen.dispose();
    expect(t.disposed).toBe(true);
  });

  it('names what is wrong', () => {
    const gen = fasterrcnnMobileNetV3AnchorGenerator();
    expect(() => gen.anchorsHost([320, 320], [[10, 10]])).toThrow(/1 feature maps but 3 size \/ aspect-ratio tuples/);
    expect(() => gen.anchorsHost([320, 0], [[10, 10], [10, 10], [5, 5]])).toThrow(/imageSize must be \[height, width\] of positive integers/);
    expect(() => new AnchorGenerator([[32], [64]], [[1], [1], [1]])).toThrow(/2 size tuples but 3 aspect-ratio tuples/);
    expect(() => new AnchorGenerator([[32]], [[0]])).toThrow(/aspect ratios must be > 0/);
  });
});

describe('DefaultBoxGenerator matches torchvision', () => {
  for (const c of fixture<{ cases: BoxCase[] }>('default_boxes.json').cases) {
    it(c.name, async () => {
      const a = c.args;
      const gen = new DefaultBoxGenerator(a.aspect_ratios, { minRatio: a.min_ratio, maxRatio: a.max_ratio, scales: a.scales, steps: a.steps, clip: a.clip });
      try {
        expect(gen.numAnchorsPerLocation()).toEqual(c.per_location);
        expectClose(gen.scales, c.scales, 1e-12, 'scales');
        const host = gen.boxesHost(c.image, c.grids);
        expect(host.length).toBe(c.boxes.shape[0]! * 4);
        expectClose(strided(host, c.boxes), c.boxes.data, TOL, 'boxes');
        await dg.scope(async () => {
          const t = gen.forward(c.image, c.grids.map(([h, w]) => dg.zeros([1, 1, h, w])));
          expect(t.shape).toEqual(c.boxes.shape);
          expectClose(strided(await t.toArray(), c.boxes), c.boxes.data, TOL, 'boxes tensor');
        });
      } finally {
        gen.dispose();
      }
    });
  }

  it('builds SSDLite320\'s generator (3234 boxes on its six maps) and names what is wrong', () => {
    const gen = ssdlite320DefaultBoxGenerator();
    expect(gen.numAnchorsPerLocation()).toEqual([6, 6, 6, 6, 6, 6]);
    expect(gen.boxesHost([320, 320], [[20, 20], [10, 10], [5, 5], [3, 3], [2, 2], [1, 1]]).length).toBe(3234 * 4);
    expect(() => gen.boxesHost([320, 320], [[20, 20]])).toThrow(/1 feature maps but 6 aspect-ratio lists/);
    expect(() => new DefaultBoxGenerator([[2], [3]], { steps: [8] })).toThrow(/aspectRatios and steps should have the same length/);
    expect(() => new DefaultBoxGenerator([[2], [3]], { scales: [0.1, 0.2] })).toThrow(/scales needs 3 values/);
    expect(() => new DefaultBoxGenerator([])).toThrow(/aspectRatios is empty/);
  });
});
