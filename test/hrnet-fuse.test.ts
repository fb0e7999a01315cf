// The fused HRNet branch fusion (acc + nearest upsample of src, optional ReLU) equals the unfused composition
// interpolate + add (+ relu), forward and both gradients, and passes finite differences.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { expectClose } from './helpers/compare.ts';
import { gradcheck, randomInput } from './helpers/gradcheck.ts';
import { useGpu } from './helpers/gpu.ts';

const unfused = (acc: Tensor, src: Tensor, scale: number, relu: boolean) => {
  const y = dg.add(acc, dg.interpolate(src, { mode: 'nearest', scaleFactor: scale }));
  return relu ? dg.relu(y) : y;
};

describe('hrnetUpsampleAdd', () => {
  useGpu();
  for (const [shape, scale, relu] of [
    [[2, 3, 5, 7], 2, false],
    [[2, 3, 5, 7], 2, true],
    [[8, 4, 3, 3], 4, true],
    [[1, 2, 4, 5], 8, false],
    [[1, 2, 6, 6], 1, true],
  ] as const) {
    it(`equals the composition: src [${shape}] x${scale}${relu ? ' + ReLU' : ''}`, async () => {
      await dg.scope(async () => {
        const [N, C, h, w] = shape;
        const big = [N, C, h * scale, w * scale];
        const results = [];
        for (const fused of [true, false]) {
          const acc = dg.randn(big, { seed: 1 });
          const src = dg.randn([...shape], { seed: 2 });
          acc.requiresGrad = src.requiresGrad = true;
          const y = fused ? dg.hrnetUpsampleAdd(acc, src, scale, { relu }) : unfused(acc, src, scale, relu);
          dg.sum(dg.mul(y, dg.randn(big, { seed: 3 }))).backward();
          results.push([await y.toArray(), await acc.grad!.toArray(), await src.grad!.toArray()]);
        }
        const [f, u] = results as [Float32Array[], Float32Array[]];
        expectClose(f[0]!, u[0]!, 1e-6, 'forward');
        expectClose(f[1]!, u[1]!, 1e-6, 'gradient of acc');
        expectClose(f[2]!, u[2]!, 1e-5, 'gradient of src');
      });
    });
  }

  it('passes finite differences', async () => {
    const err = await gradcheck(([a, s]) => dg.hrnetUpsampleAdd(a!, s!, 2, { relu: true }), [randomInput([1, 2, 4, 6], 51, -2, 2), randomInput([1, 2, 2, 3], 52, -2, 2)]);
    expect(err).toBeLessThan(2e-2);
  });

  it('rejects mismatched shapes', () => {
    dg.tidy(() => {
      expect(() => dg.hrnetUpsampleAdd(dg.zeros([1, 2, 5, 6]), dg.zeros([1, 2, 3, 3]), 2)).toThrow(/does not match/);
    });
  });
});
