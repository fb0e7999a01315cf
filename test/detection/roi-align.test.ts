// roiAlign and multiScaleRoiAlign against torchvision 0.14 (fixtures from scripts/fixtures/make_roi_align_fixtures.py,
// computed in float32 as torchvision runs): forward values and feature-map gradients; finite differences on
// small cases; determinism, argument errors and a flat buffer count over a training-style loop.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import type { Tensor } from '../../src/index.ts';
import { multiScaleLevels, multiScaleRoiAlign, roiAlign } from '../../src/ops/roi-align.ts';
import { expectClose } from '../helpers/compare.ts';
import { useGpu } from '../helpers/gpu.ts';
import { gradcheck, randomInput } from '../helpers/gradcheck.ts';
import { runFlatLoop } from '../helpers/memory.ts';

interface Stored { shape: number[]; data: number[] }
interface RoiCase {
  name: string;
  op: 'roiAlign' | 'multiScaleRoiAlign';
  args: Record<string, any>;
  tol: number;
  features: Stored[];
  boxes: Stored[];
  boxList: boolean;
  out: Stored;
  upstream: number[];
  grads: number[][];
}

const { cases } = JSON.parse(readFileSync(new URL('../fixtures/roi_align.json', import.meta.url), 'utf8')) as { cases: RoiCase[] };
const upload = (s: Stored) => dg.tensor(Float32Array.from(s.data), s.shape);
/** Gradients are sums of a few weighted upstream values, in another order than torchvision's scatter. */
const GRAD_TOL = 1e-4;

const engine = useGpu();

describe('roi align matches torchvision 0.14', () => {
  for (const c of cases) {
    it(`${c.op}: ${c.name}`, async () => {
      await dg.scope(async () => {
        const features = c.features.map((f) => {
          const t = upload(f);
          t.requiresGrad = true;
          return t;
        });
        const boxes = c.boxes.map(upload);
        const a = c.args;
        let out: Tensor;
        if (c.op === 'roiAlign') {
          out = roiAlign(features[0]!, c.boxList ? boxes : boxes[0]!, { outputSize: a.outputSize, spatialScale: a.spatialScale, samplingRatio: a.samplingRatio, aligned: a.aligned });
        } else {
          const levels = multiScaleLevels(c.features.map((f) => [f.shape[2]!, f.shape[3]!]), a.imageSizes);
          expect(levels.scales).toEqual(a.scales);
          out = multiScaleRoiAlign(features, boxes, a.imageSizes, { outputSize: a.outputSize, samplingRatio: a.samplingRatio, canonicalScale: a.canonicalScale, canonicalLevel: a.canonicalLevel });
        }
        expect(out.shape).toEqual(c.out.shape);
        expectClose(await out.toArray(), c.out.data, c.tol, 'forward');
        out.backward(dg.tensor(Float32Array.from(c.upstream), c.out.shape));
        for (let l = 0; l < features.length; l++) {
          const g = features[l]!.grad;
          expect(g?.shape, `gradient of feature map ${l}`).toEqual(c.features[l]!.shape);
          expectClose(await g!.toArray(), c.grads[l]!, GRAD_TOL, `gradient of feature map ${l}`);
        }
      });
    });
  }
});

describe('roi align details', () => {
  const boxes5 = () => dg.tensor([[0, 0.6, 0.3, 4.2, 3.1], [0, -0.7, 1.2, 2.4, 4.9], [0, 2.2, 0.1, 2.5, 0.6]], [3, 5]);

  it('passes finite differences (aligned=false, sampling 2)', async () => {
    const err = await gradcheck(([x]) => roiAlign(x!, boxes5(), { outputSize: [2, 3], samplingRatio: 2 }), [randomInput([1, 2, 5, 6], 31, -2, 2)]);
    expect(err).toBeLessThan(1e-2);
  });
  it('passes finite differences (aligned=true, adaptive sampling)', async () => {
    const err = await gradcheck(([x]) => roiAlign(x!, boxes5(), { outputSize: 2, aligned: true, spatialScale: 1.3 }), [randomInput([1, 2, 5, 6], 32, -2, 2)]);
    expect(err).toBeLessThan(1e-2);
  });
  it('multiScaleRoiAlign passes finite differences on two levels', async () => {
    const boxes = () => [dg.tensor([[1, 2, 9, 12], [0, 0, 30, 28], [4, 5, 6, 7]], [3, 4])];
    const err = await gradcheck(([a, b]) => multiScaleRoiAlign([a!, b!], boxes(), [[16, 16]], { outputSize: 2, samplingRatio: 2, canonicalScale: 16, canonicalLevel: 2 }),
      [randomInput([1, 1, 8, 8], 33, -2, 2), randomInput([1, 1, 4, 4], 34, -2, 2)]);
    expect(err).toBeLessThan(1e-2);
  });

  it('gives the same gradient bit for bit on every run', async () => {
    await dg.scope(async () => {
      const x = dg.randn([2, 3, 9, 11], { seed: 5 });
      x.requiresGrad = true;
      const b = dg.tensor([[0, 1, 1, 8, 7], [1, 0, 2, 10, 9], [0, 3, 0, 6, 8], [1, 2.5, 2.5, 3, 3]], [4, 5]);
      const grads: Float32Array[] = [];
      for (let i = 0; i < 3; i++) {
        dg.tidy(() => dg.sum(dg.mul(roiAlign(x, b, { outputSize: 3, samplingRatio: 2 }), dg.randn([4, 3, 3, 3], { seed: 9 }))).backward());
        grads.push(await x.grad!.toArray());
        x.grad!.dispose();
        x.grad = null;
      }
      expect(Array.from(grads[1]!)).toEqual(Array.from(grads[0]!));
      expect(Array.from(grads[2]!)).toEqual(Array.from(grads[0]!));
    });
  });

  it('gives zeros for ROIs whose batch index is outside the batch, and handles no ROIs', async () => {
    await dg.scope(async () => {
      const x = dg.randn([2, 2, 6, 6], { seed: 6 });
      x.requiresGrad = true;
      const y = roiAlign(x, dg.tensor([[2, 0, 0, 4, 4], [-1, 0, 0, 4, 4], [1, 0, 0, 4, 4]], [3, 5]), { outputSize: 2 });
      const v = await y.toArray();
      expect(Array.from(v.slice(0, 16))).toEqual(new Array(16).fill(0));
      expect(v.slice(16).some((e) => e !== 0)).toBe(true);
      const empty = roiAlign(x, dg.zeros([0, 5]), { outputSize: [3, 2] });
      expect(empty.shape).toEqual([0, 2, 3, 2]);
      dg.sum(empty).backward();
      expect(Array.from(await x.grad!.toArray())).toEqual(new Array(144).fill(0));
      expect(roiAlign(x, [dg.zeros([0, 4])], { outputSize: 2 }).shape).toEqual([0, 2, 2, 2]);
    });
  });

  it('the list form equals the [K, 5] form', async () => {
    await dg.scope(async () => {
      const x = dg.randn([2, 2, 7, 8], { seed: 7 });
      const a = roiAlign(x, [dg.tensor([[1, 1, 5, 6]], [1, 4]), dg.tensor([[0, 2, 7, 5], [2, 2, 3, 3]], [2, 4])], { outputSize: 3, samplingRatio: 2 });
      const b = roiAlign(x, dg.tensor([[0, 1, 1, 5, 6], [1, 0, 2, 7, 5], [1, 2, 2, 3, 3]], [3, 5]), { outputSize: 3, samplingRatio: 2 });
      expect(Array.from(await a.toArray())).toEqual(Array.from(await b.toArray()));
    });
  });

  it('names the argument that is wrong', () => {
    dg.tidy(() => {
      const x = dg.zeros([2, 3, 8, 8]);
      const b = dg.zeros([4, 5]);
      expect(() => roiAlign(dg.zeros([3, 8, 8]), b, { outputSize: 2 })).toThrow(/roiAlign: input must be a \[N, C, H, W\] tensor, got \[3, 8, 8\]/);
      expect(() => roiAlign(dg.zeros([1, 3, 0, 8]), b, { outputSize: 2 })).toThrow(/empty plane/);
      expect(() => roiAlign(x, dg.zeros([4, 4]), { outputSize: 2 })).toThrow(/boxes must be \[K, 5\].*got \[4, 4\]/);
      expect(() => roiAlign(x, [dg.zeros([2, 5])], { outputSize: 2 })).toThrow(/boxes\[0\] must be a \[k, 4\] tensor/);
      expect(() => roiAlign(x, [dg.zeros([1, 4]), dg.zeros([1, 4]), dg.zeros([1, 4])], { outputSize: 2 })).toThrow(/3 per-image box tensors for a batch of 2/);
      expect(() => roiAlign(x, b, { outputSize: 0 })).toThrow(/outputSize must be a positive integer/);
      expect(() => roiAlign(x, b, { outputSize: [7, 2.5] })).toThrow(/outputSize/);
      expect(() => roiAlign(x, b, { outputSize: 2, samplingRatio: 1.5 })).toThrow(/samplingRatio must be an integer/);
      expect(() => roiAlign(x, b, { outputSize: 2, spatialScale: Number.NaN })).toThrow(/spatialScale must be a finite number/);
      const f = [dg.zeros([2, 3, 8, 8]), dg.zeros([2, 3, 4, 4])];
      const per = [dg.zeros([1, 4]), dg.zeros([2, 4])];
      const sizes: [number, number][] = [[32, 32], [32, 30]];
      const o = { outputSize: 7, samplingRatio: 2 };
      expect(() => multiScaleRoiAlign([], per, sizes, o)).toThrow(/features must be a non-empty list/);
      expect(() => multiScaleRoiAlign([f[0]!, dg.zeros([2, 4, 4, 4])], per, sizes, o)).toThrow(/features\[1\] is \[2, 4, 4, 4\] but features\[0\] is \[2, 3, 8, 8\]/);
      expect(() => multiScaleRoiAlign(f, [per[0]!], sizes, o)).toThrow(/one \[k, 4\] tensor per image \(2\), got 1/);
      expect(() => multiScaleRoiAlign(f, per, [[32, 32]], o)).toThrow(/imageSizes must be one \[height, width\]/);
      expect(() => multiScaleRoiAlign(f, per, sizes, { outputSize: 7, samplingRatio: 0.5 })).toThrow(/samplingRatio must be an integer/);
    });
  });

  it('keeps the buffer count flat over 100 forward/backward steps in tidy', async () => {
    const x = dg.randn([2, 4, 12, 14], { seed: 8 });
    const levels = [dg.randn([2, 4, 16, 16], { seed: 10 }), dg.randn([2, 4, 8, 8], { seed: 11 })];
    for (const t of [x, ...levels]) t.requiresGrad = true;
    const boxes = [dg.tensor([[1, 1, 30, 40], [5, 6, 9, 9]], [2, 4]), dg.tensor([[0, 0, 60, 50]], [1, 4])];
    const step = () =>
      dg.tidy(() => {
        const a = roiAlign(x, boxes, { outputSize: 3, spatialScale: 0.25, samplingRatio: 2 });
        const b = multiScaleRoiAlign(levels, boxes, [[64, 64], [60, 64]], { outputSize: 3, samplingRatio: 2, canonicalScale: 32 });
        const loss = dg.add(dg.sum(dg.square(a)), dg.sum(dg.square(b)));
        loss.backward();
        for (const t of [x, ...levels]) {
          t.grad!.dispose();
          t.grad = null;
        }
        return loss;
      });
    const r = await runFlatLoop(engine, step, 100, 99);
    expect(r.liveAtEnd).toBe(r.liveAfterFirst);
    expect(r.lastLoss).toBeCloseTo(r.firstLoss, 3);
  });
});
