// batchNorm2d / groupNorm / layerNorm against PyTorch 1.13 (fixtures from scripts/fixtures/make_layer_fixtures.py):
// forward, gradients of input, weight and bias, running-statistic updates; finite differences on tiny shapes.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { expectClose } from './helpers/compare.ts';
import { gradcheck, randomInput } from './helpers/gradcheck.ts';
import { useGpu } from './helpers/gpu.ts';
import { fixtureSuite, type FixtureCase } from './helpers/fixture-suite.ts';

export function run(c: FixtureCase, t: Tensor[]): Tensor {
  const a = c.args;
  switch (c.op) {
    case 'batchNorm2d': {
      const [x, w, b, rm, rv] = a.affine === false ? [t[0]!, null, null, t[1]!, t[2]!] : t;
      return dg.batchNorm2d(x!, w!, b!, rm!, rv!, { training: a.training, momentum: a.momentum, eps: a.eps, frozenStats: a.frozenStats });
    }
    case 'groupNorm':
      return dg.groupNorm(t[0]!, a.groups, t[1] ?? null, t[2] ?? null);
    case 'layerNorm':
      return dg.layerNorm(t[0]!, a.normalizedShape, t[1]!, t[2]!);
  }
  throw new Error(`no op ${c.op}`);
}

describe('normalisation matches PyTorch 1.13', () => {
  useGpu();
  // Running statistics are the last two inputs, updated in place by the forward pass.
  fixtureSuite('norm', run, async (c, inputs) => {
    if (!c.after) return;
    const n = inputs.length;
    expectClose(await inputs[n - 2]!.toArray(), c.after.runningMean!, 1e-5, 'running mean');
    expectClose(await inputs[n - 1]!.toArray(), c.after.runningVar!, 1e-5, 'running var');
  });
});

describe('normalisation details', () => {
  useGpu();
  it('leaves running statistics alone in eval mode and when absent in training', async () => {
    await dg.scope(async () => {
      const x = dg.randn([2, 3, 4, 4], { seed: 3 });
      const rm = dg.tensor([0.1, 0.2, 0.3]);
      const rv = dg.tensor([1, 2, 3]);
      dg.batchNorm2d(x, null, null, rm, rv, { training: false });
      expectClose(await rm.toArray(), [0.1, 0.2, 0.3], 1e-7);
      expectClose(await rv.toArray(), [1, 2, 3], 1e-7);
      const y = dg.batchNorm2d(x, null, null, null, null, { training: true });
      const m = await dg.mean(y, [0, 2, 3]).toArray();
      for (const v of m) expect(Math.abs(v)).toBeLessThan(1e-5);
    });
  });

  it('rejects a single value per channel in training, as PyTorch does', () => {
    dg.tidy(() => {
      expect(() => dg.batchNorm2d(dg.zeros([1, 3, 1, 1]), null, null, null, null, { training: true })).toThrow(/more than 1 value/);
      expect(() => dg.groupNorm(dg.zeros([1, 6, 2, 2]), 4)).toThrow(/groups/);
    });
  });

  it('keeps its backward working after the forward scope freed the saved statistics', async () => {
    await dg.scope(async () => {
      const x = dg.randn([2, 3, 4, 4], { seed: 5 });
      x.requiresGrad = true;
      const w = dg.ones([3]);
      w.requiresGrad = true;
      const y = dg.tidy(() => dg.batchNorm2d(x, w, null, null, null, { training: true }));
      dg.sum(dg.mul(y, dg.randn([2, 3, 4, 4], { seed: 6 }))).backward();
      expect(x.grad).not.toBeNull();
      expect(Number.isFinite((await x.grad!.toArray())[0]!)).toBe(true);
    });
  });

  const tiny = (shape: number[], seed: number) => randomInput(shape, seed, -2, 2);
  const params = (c: number, seed: number) => [randomInput([c], seed, 0.5, 1.5), randomInput([c], seed + 1)];
  it('batchNorm (training) passes finite differences', async () => {
    const err = await gradcheck(([x, w, b]) => dg.batchNorm2d(x!, w!, b!, null, null, { training: true }), [tiny([2, 2, 2, 3], 11), ...params(2, 12)]);
    expect(err).toBeLessThan(2e-2);
  });
  it('batchNorm (frozen statistics) passes finite differences', async () => {
    const err = await gradcheck(
      ([x, w, b]) => dg.batchNorm2d(x!, w!, b!, dg.tensor([0.1, -0.2]), dg.tensor([0.5, 2]), { training: true, frozenStats: true }),
      [tiny([2, 2, 2, 2], 13), ...params(2, 14)],
    );
    expect(err).toBeLessThan(2e-2);
  });
  it('groupNorm passes finite differences', async () => {
    const err = await gradcheck(([x, w, b]) => dg.groupNorm(x!, 2, w!, b!), [tiny([2, 4, 2, 2], 15), ...params(4, 16)]);
    expect(err).toBeLessThan(2e-2);
  });
  it('layerNorm passes finite differences', async () => {
    const err = await gradcheck(([x, w, b]) => dg.layerNorm(x!, [5], w!, b!), [tiny([3, 5], 17), ...params(5, 18)]);
    expect(err).toBeLessThan(2e-2);
  });
});

describe('normalisation statistics precision', () => {
  useGpu();
  it('handles a large mean relative to the spread (batchNorm and groupNorm)', async () => {
    await dg.scope(async () => {
      const x = dg.randn([4, 3, 16, 16], { seed: 9, mean: 1000, std: 0.5 });
      const host = await x.toArray();
      for (const y of [dg.batchNorm2d(x, null, null, null, null, { training: true }), dg.groupNorm(x, 1)]) {
        const v = await y.toArray();
        // Normalised values: unit variance per channel / sample, so the overall second moment is 1.
        let m2 = 0;
        for (const a of v) m2 += a * a;
        expect(m2 / v.length).toBeGreaterThan(0.98);
        expect(m2 / v.length).toBeLessThan(1.0 + 1e-3);
      }
      expect(host.length).toBe(3072);
    });
  });
});
