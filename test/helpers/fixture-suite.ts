// One test per PyTorch fixture case (scripts/fixtures/make_layer_fixtures.py format): forward values, then the
// gradients of the inputs the case marks, after backward with the case's upstream gradient.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import type { Tensor } from '../../src/index.ts';
import { expectClose } from './compare.ts';

export interface FixtureCase {
  name: string;
  op: string;
  args: Record<string, any>;
  tol: number;
  inputs: { shape: number[]; data: number[] }[];
  out: { shape: number[]; data: number[] };
  upstream?: number[];
  grads?: (number[] | null)[];
  /** Expected values of inputs updated in place (running statistics). */
  after?: Record<string, number[]>;
}

/** `afterForward` checks state a case updates in place (e.g. running statistics) before backward. */
export function fixtureSuite(file: string, run: (c: FixtureCase, t: Tensor[]) => Tensor, afterForward?: (c: FixtureCase, t: Tensor[]) => Promise<void>): void {
  const { cases } = JSON.parse(readFileSync(new URL(`../fixtures/${file}.json`, import.meta.url), 'utf8')) as { cases: FixtureCase[] };
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
        await afterForward?.(c, inputs);
        if (!c.upstream || !c.grads) return;
        out.backward(dg.tensor(Float32Array.from(c.upstream), c.out.shape));
        for (let k = 0; k < inputs.length; k++) {
          const want = c.grads[k];
          if (!want) continue;
          const g = inputs[k]!.grad;
          expect(g, `gradient of input ${k}`).not.toBeNull();
          expect(g!.shape).toEqual(inputs[k]!.shape);
          expectClose(await g!.toArray(), want, c.tol, `gradient of input ${k}`);
        }
      });
    });
  }
}
