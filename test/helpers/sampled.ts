// Sampled tensors in the detector fixtures (make_mobilenet_fixtures.py `sampled`): every `step`-th value of a
// tensor plus its whole-tensor mean and mean absolute value, so large feature maps stay small in JSON.
import { expect } from 'vitest';
import type { Tensor } from '../../src/index.ts';
import { expectClose } from './compare.ts';

export interface Sampled {
  shape: number[];
  step: number;
  data: number[];
  mean: number;
  meanAbs: number;
}

/** Compares a tensor with its sampled fixture at relative tolerance `tol`: the samples, then the whole-tensor summaries. */
export async function expectSampled(t: Tensor, want: Sampled, what: string, tol: number): Promise<void> {
  expect(t.shape, `${what} shape`).toEqual(want.shape);
  const all = await t.toArray();
  expectClose(want.data.map((_, i) => all[i * want.step]!), want.data, tol, what);
  let sum = 0;
  let abs = 0;
  for (const v of all) {
    sum += v;
    abs += Math.abs(v);
  }
  // Whole-tensor summaries catch what the stride skips; the mean may cancel, so it is judged against meanAbs.
  expect(Math.abs(abs / all.length - want.meanAbs) / want.meanAbs, `${what} mean |x|`).toBeLessThan(tol);
  expect(Math.abs(sum / all.length - want.mean) / want.meanAbs, `${what} mean`).toBeLessThan(tol);
}
