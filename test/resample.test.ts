// interpolate (nearest, bilinear with alignCorners true/false, size or scale factor) against PyTorch 1.13
// (fixtures from scripts/fixtures/make_layer_fixtures.py), and finite differences on tiny shapes.
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

describe('interpolate matches PyTorch 1.13', () => {
  useGpu();
  fixtureSuite('resample', (c, [x]) => {
    const a = c.args;
    return dg.interpolate(x!, { mode: a.mode, size: a.size ?? undefined, scaleFactor: a.scaleFactor ?? undefined, alignCorners: a.mode === 'bilinear' ? a.alignCorners : undefined });
  });
});

describe('interpolate details', () => {
  useGpu();
  for (const [mode, alignCorners] of [['nearest', false], ['bilinear', false], ['bilinear', true]] as const) {
    it(`${mode}${alignCorners ? ' alignCorners' : ''} passes finite differences`, async () => {
      const err = await gradcheck(([x]) => dg.interpolate(x!, { mode, alignCorners: alignCorners || undefined, size: [5, 7] }), [randomInput([1, 2, 3, 4], 31)]);
      expect(err).toBeLessThan(2e-2);
    });
  }
  it('rejects both or neither of size and scaleFactor', () => {
    dg.tidy(() => {
      const x = dg.zeros([1, 1, 2, 2]);
      expect(() => dg.interpolate(x, {})).toThrow(/exactly one/);
      expect(() => dg.interpolate(x, { size: 4, scaleFactor: 2 })).toThrow(/exactly one/);
    });
  });
});
