// Every engine-core op against PyTorch 1.13: forward values and input gradients
// (fixtures from scripts/fixtures/make_op_fixtures.py, random inputs, seed recorded there).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { useGpu } from './helpers/gpu.ts';
import { fixtureSuite, type FixtureCase } from './helpers/fixture-suite.ts';


const fixtures = JSON.parse(readFileSync(new URL('./fixtures/ops.json', import.meta.url), 'utf8')) as { cases: FixtureCase[] };

type Run = (t: Tensor[], a: Record<string, any>) => Tensor;
const ax = (a: Record<string, any>) => (a.axis === null ? undefined : a.axis);
const ops: Record<string, Run> = {
  leakyRelu: ([x], a) => dg.leakyRelu(x!, a.slope),
  clamp: ([x], a) => dg.clamp(x!, a.min, a.max),
  powScalar: ([x], a) => dg.powScalar(x!, a.p),
  addScalar: ([x], a) => dg.addScalar(x!, a.c),
  mulScalar: ([x], a) => dg.mulScalar(x!, a.c),
  where: ([c, x, y]) => dg.where(c!, x!, y!),
  sum: ([x], a) => dg.sum(x!, ax(a), a.keepdim),
  mean: ([x], a) => dg.mean(x!, ax(a), a.keepdim),
  max: ([x], a) => dg.max(x!, ax(a), a.keepdim),
  min: ([x], a) => dg.min(x!, ax(a), a.keepdim),
  variance: ([x], a) => dg.variance(x!, ax(a), { correction: a.correction }),
  argmax: ([x], a) => dg.argmax(x!, ax(a)),
  argmin: ([x], a) => dg.argmin(x!, ax(a)),
  matmul: ([x, y]) => dg.matmul(x!, y!),
  reshape: ([x], a) => dg.reshape(x!, a.shape),
  permute: ([x], a) => dg.permute(x!, a.dims),
  transpose: ([x], a) => dg.transpose(x!, a.a, a.b),
  slice: ([x], a) => dg.slice(x!, a.spec.map((s: (number | null)[] | null) => s && s.map((v) => (v === null ? undefined : v)))),
  narrow: ([x], a) => dg.narrow(x!, a.axis, a.start, a.length),
  concat: (t, a) => dg.concat(t, a.axis),
  stack: (t, a) => dg.stack(t, a.axis),
  pad: ([x], a) => dg.pad(x!, a.pads, a.value),
  expand: ([x], a) => dg.expand(x!, a.shape),
  unsqueeze: ([x], a) => dg.unsqueeze(x!, a.axis),
  squeeze: ([x], a) => dg.squeeze(x!, a.axis),
  flatten: ([x], a) => dg.flatten(x!, a.start),
  softmax: ([x], a) => dg.softmax(x!, a.axis),
  logSoftmax: ([x], a) => dg.logSoftmax(x!, a.axis),
};

function run(c: FixtureCase, t: Tensor[]): Tensor {
  const custom = ops[c.op];
  if (custom) return custom(t, c.args);
  const fn = (dg as unknown as Record<string, (...x: Tensor[]) => Tensor>)[c.op];
  if (!fn) throw new Error(`no op named ${c.op}`);
  return fn(...t);
}

describe('ops match PyTorch 1.13 (forward and gradient)', () => {
  useGpu();
  it('has fixtures for every op family', () => {
    expect(fixtures.cases.length).toBeGreaterThan(100);
  });
  fixtureSuite('ops', run);
});
