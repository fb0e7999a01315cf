// Losses against PyTorch 1.13 (fixtures from scripts/fixtures/make_layer_fixtures.py): forward and the
// gradients of predictions and targets; finite differences on tiny shapes.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { expectClose } from './helpers/compare.ts';
import { gradcheck, randomInput } from './helpers/gradcheck.ts';
import { useGpu } from './helpers/gpu.ts';
import { fixtureSuite } from './helpers/fixture-suite.ts';

describe('losses match PyTorch 1.13', () => {
  useGpu();
  fixtureSuite('loss', (c, t) => {
    const [x, y, w] = t as [Tensor, Tensor, Tensor?];
    const a = c.args;
    switch (c.op) {
      case 'mseLoss': return dg.mseLoss(x, y);
      case 'weightedMseLoss': return dg.weightedMseLoss(x, y, w!);
      case 'smoothL1Loss': return dg.smoothL1Loss(x, y, { beta: a.beta, weights: w });
      case 'huberLoss': return dg.huberLoss(x, y, { delta: a.delta, weights: w });
      case 'bceWithLogits': return dg.bceWithLogits(x, y, { weights: w });
      case 'crossEntropy': return dg.crossEntropy(x, y);
    }
    throw new Error(`no op ${c.op}`);
  });
});

describe('loss details', () => {
  useGpu();
  it('bceWithLogits stays finite for huge logits', async () => {
    await dg.scope(async () => {
      const x = dg.tensor([-1e4, 1e4, 0]);
      x.requiresGrad = true;
      const l = dg.bceWithLogits(x, dg.tensor([1, 0, 1]), { reduction: 'sum' });
      expect(await l.item()).toBeCloseTo(2e4 + Math.log(2), 0);
      l.backward();
      expectClose(await x.grad!.toArray(), [-1, 1, -0.5], 1e-6);
    });
  });
  it('crossEntropy with class weights is the weighted mean', async () => {
    await dg.scope(async () => {
      const x = dg.tensor([[2, 0, 0], [0, 1, 0]]);
      const l = await dg.crossEntropy(x, dg.tensor([0, 2]), { classWeights: dg.tensor([1, 1, 3]) }).item();
      const l0 = -Math.log(Math.exp(2) / (Math.exp(2) + 2));
      const l1 = -Math.log(1 / (Math.exp(1) + 2));
      expect(l).toBeCloseTo((l0 + 3 * l1) / 4, 5);
    });
  });
  it('bceWithLogits with posWeight passes finite differences', async () => {
    const err = await gradcheck(([x, t, p]) => dg.bceWithLogits(x!, t!, { posWeight: p, reduction: 'none' }),
      [randomInput([2, 3], 41, -3, 3), randomInput([2, 3], 42, 0, 1), randomInput([3], 43, 0.5, 2)]);
    expect(err).toBeLessThan(2e-2);
  });
});
