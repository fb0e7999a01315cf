// interpolate (nearest, bilinear with alignCorners true/false, size or scale factor) against PyTorch 1.13
// (fixtures from scripts/fixtures/make_layer_fixtures.py), and finite differences on tiny shapes.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { gradcheck, randomInput } from './helpers/gradcheck.ts';
import { useGpu } from './helpers/gpu.ts';
import { fixtureSuite } from './helpers/fixture-suite.ts';

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
