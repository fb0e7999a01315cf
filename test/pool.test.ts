// maxPool2d / avgPool2d / adaptiveAvgPool2d against PyTorch 1.13 (fixtures from
// scripts/fixtures/make_layer_fixtures.py): forward and input gradients; finite differences on tiny shapes.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { gradcheck, randomInput } from './helpers/gradcheck.ts';
import { useGpu } from './helpers/gpu.ts';
import { fixtureSuite } from './helpers/fixture-suite.ts';

describe('pooling matches PyTorch 1.13', () => {
  useGpu();
  fixtureSuite('pool', (c, [x]) => {
    const a = c.args;
    if (c.op === 'maxPool2d') return dg.maxPool2d(x!, a.kernel, { stride: a.stride, padding: a.padding, dilation: a.dilation, ceilMode: a.ceilMode });
    if (c.op === 'avgPool2d') return dg.avgPool2d(x!, a.kernel, { stride: a.stride, padding: a.padding, ceilMode: a.ceilMode, countIncludePad: a.countIncludePad });
    return dg.adaptiveAvgPool2d(x!, a.outputSize);
  });
});

describe('pooling details', () => {
  useGpu();
  it('returns PyTorch-style plane indices', async () => {
    await dg.scope(async () => {
      const x = dg.tensor([1, 5, 2, 0, 3, 4, 9, 8, 7, 6, 1, 2, 0, 0, 0, 3], [1, 1, 4, 4]);
      const { values, indices } = dg.maxPool2dWithIndices(x, 2);
      expect(Array.from(await values.toArray())).toEqual([5, 9, 7, 3]);
      expect(Array.from(await indices.toArray())).toEqual([1, 6, 8, 15]);
    });
  });
  it('maxPool2d backward works after its forward scope is gone', async () => {
    await dg.scope(async () => {
      const x = dg.randn([1, 2, 5, 5], { seed: 4 });
      x.requiresGrad = true;
      const y = dg.tidy(() => dg.maxPool2d(x, 3, { stride: 2, padding: 1 }));
      dg.sum(y).backward();
      const g = await x.grad!.toArray();
      expect(g.reduce((s, v) => s + v, 0)).toBeCloseTo(18, 4);
    });
  });
  it('maxPool2d backward over more planes than one dispatch holds (65535) routes every gradient to its argmax', async () => {
    await dg.scope(async () => {
      // 70000 planes of 3 x 4, pooled 2 x 2 with stride 2 and ceil mode (2 x 2 outputs, the last row's window cut).
      const planes = 70000;
      const x = dg.randn([1, planes, 3, 4], { seed: 5 });
      x.requiresGrad = true;
      const { values, indices } = dg.maxPool2dWithIndices(x, 2, { ceilMode: true });
      const up = dg.randn(values.shape, { seed: 6 });
      dg.sum(dg.mul(values, up)).backward();
      const [g, idx, u] = await Promise.all([x.grad!.toArray(), indices.toArray(), up.toArray()]);
      const expected = new Float32Array(planes * 12);
      for (let p = 0; p < planes; p++) for (let o = 0; o < 4; o++) expected[p * 12 + idx[p * 4 + o]!] += u[p * 4 + o]!;
      expect(Array.from(g.subarray(0, 24))).toEqual(Array.from(expected.subarray(0, 24)));
      let worst = 0;
      for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i]! - expected[i]!));
      expect(worst).toBe(0);
    });
  });
  const tiny = (shape: number[], seed: number) => [randomInput(shape, seed, -2, 2)];
  it('avgPool2d passes finite differences', async () => {
    expect(await gradcheck(([x]) => dg.avgPool2d(x!, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), tiny([1, 2, 4, 5], 21))).toBeLessThan(2e-2);
  });
  it('adaptiveAvgPool2d passes finite differences', async () => {
    expect(await gradcheck(([x]) => dg.adaptiveAvgPool2d(x!, [2, 3]), tiny([1, 2, 3, 5], 22))).toBeLessThan(2e-2);
  });
  it('maxPool2d passes finite differences', async () => {
    expect(await gradcheck(([x]) => dg.maxPool2d(x!, 2, { stride: 1, dilation: 2, padding: 1 }), tiny([1, 1, 4, 5], 23))).toBeLessThan(2e-2);
  });
});
