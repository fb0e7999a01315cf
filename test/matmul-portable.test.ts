// The portable matmul (kernels/matmul_portable.wgsl, for adapters without 8-lane subgroups) against the
// same PyTorch fixtures as the subgroup kernel, forward and gradients.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { expectClose } from './helpers/compare.ts';
import { checkMatmulEpilogue } from './helpers/matmul-epilogue.ts';
import { checkGroupNormFromPartials, checkRowPartials } from './helpers/row-partials.ts';

interface Case {
  name: string;
  op: string;
  tol: number;
  inputs: { shape: number[]; data: number[] }[];
  out: { shape: number[]; data: number[] };
  upstream: number[];
  grads: number[][];
}
const cases = (JSON.parse(readFileSync(new URL('./fixtures/ops.json', import.meta.url), 'utf8')) as { cases: Case[] }).cases.filter((c) => c.op === 'matmul');

describe('portable matmul matches PyTorch', () => {
  beforeAll(async () => {
    const e = await dg.init({ portable: true });
    expect(e.device.features.has('subgroups')).toBe(false);
  });
  it('covers the matmul fixtures', () => expect(cases.length).toBeGreaterThan(5));
  it('adds the bias per row, the residual and relu in its store', () => checkMatmulEpilogue());
  it('leaves partial statistics of its rows for a groupNorm', () => checkRowPartials());
  it('gives groupNorm from those partials the numbers of its statistics pass', () => checkGroupNormFromPartials());
  for (const c of cases) {
    it(c.name, async () => {
      await dg.scope(async () => {
        const [a, b] = c.inputs.map((i) => {
          const t = dg.tensor(Float32Array.from(i.data), i.shape);
          t.requiresGrad = true;
          return t;
        }) as [dg.Tensor, dg.Tensor];
        const out = dg.matmul(a, b);
        expectClose(await out.toArray(), c.out.data, c.tol, 'forward');
        out.backward(dg.tensor(Float32Array.from(c.upstream), c.out.shape));
        expectClose(await a.grad!.toArray(), c.grads[0]!, c.tol, 'grad A');
        expectClose(await b.grad!.toArray(), c.grads[1]!, c.tol, 'grad B');
      });
    });
  }
});
