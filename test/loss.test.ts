// Losses against PyTorch 1.13 (fixtures from scripts/fixtures/make_layer_fixtures.py): forward and the
// gradients of predictions and targets; finite differences on tiny shapes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { expectClose } from './helpers/compare.ts';
import { gradcheck, randomInput } from './helpers/gradcheck.ts';
import { useGpu } from './helpers/gpu.ts';

interface Case {
  name: string;
  op: string;
  args: Record<string, any>;
  tol: number;
  inputs: { shape: number[]; data: number[] }[];
  out: { shape: number[]; data: number[] };
  upstream?: number[];
  grads?: (number[] | null)[];
}

/** One test per fixture case: forward, then gradients of the inputs the case marks. */
function fixtureSuite(file: string, run: (c: Case, t: Tensor[]) => Tensor): void {
  const { cases } = JSON.parse(readFileSync(new URL(`./fixtures/${file}.json`, import.meta.url), 'utf8')) as { cases: Case[] };
  for (const c of cases) {
    it(c.name, async () => {
      await dg.scope(async () => {
        const inputs = c.inputs.map((i, k) => {
          const t = dg.tensor(Float32Array.from(i.data), i.shape);
          t.requiresGrad = !!c.grads?.[k];
          return t;
        });
        const out = run(c, inputs);
        expect(out.shape).toEqual(c.out.shape);
        expectClose(await out.toArray(), c.out.data, c.tol, 'forward');
        out.backward(dg.tensor(Float32Array.from(c.upstream!), c.out.shape));
        for (let k = 0; k < inputs.length; k++) {
          const want = c.grads![k];
          if (!want) continue;
          const g = inputs[k]!.grad;
          expect(g, `gradient of input ${k}`).not.toBeNull();
          expectClose(await g!.toArray(), want, c.tol, `gradient of input ${k}`);
        }
      });
    });
  }
}

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
