// conv2d's epilogue (residual, relu): relu(conv(x) + bias + residual) in the kernels' store where they have one
// (Winograd's output transforms, the direct `main` and `main8`, the matmul of groups 1), as separate passes
// elsewhere; on the tape, as ops.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { useGpu } from './helpers/gpu.ts';

describe('conv2d with a residual and relu', () => {
  const engine = useGpu();
  const cases: { name: string; x: number[]; w: number[]; opts: dg.Conv2dOptions; algorithm: dg.ConvAlgorithm; kernel: string }[] = [
    { name: 'Winograd F(4x4), 64 channels', x: [2, 64, 9, 11], w: [64, 64, 3, 3], opts: { padding: 1 }, algorithm: 'auto', kernel: 'conv_winograd:output4' },
    { name: 'Winograd F(2x2), dilation 2', x: [1, 128, 10, 12], w: [128, 128, 3, 3], opts: { padding: 2, dilation: 2 }, algorithm: 'winograd2', kernel: 'conv_winograd:output' },
    { name: 'direct main, 32 channels', x: [2, 32, 10, 13], w: [48, 32, 3, 3], opts: { padding: 1 }, algorithm: 'auto', kernel: 'conv2d_direct:main' },
    { name: 'direct main, stride 2', x: [1, 16, 17, 16], w: [24, 16, 3, 3], opts: { padding: 1, stride: 2 }, algorithm: 'auto', kernel: 'conv2d_direct:main' },
    { name: 'direct main8, 7x7 stride 2', x: [1, 3, 32, 32], w: [16, 3, 7, 7], opts: { padding: 3, stride: 2 }, algorithm: 'auto', kernel: 'conv2d_direct:main8' },
    { name: 'matmul 1x1 (vec4 columns)', x: [2, 32, 8, 8], w: [40, 32, 1, 1], opts: {}, algorithm: 'auto', kernel: 'matmul:main_n4' },
    { name: 'matmul 1x1 (7x7 maps: scalar columns)', x: [1, 32, 7, 7], w: [40, 32, 1, 1], opts: {}, algorithm: 'auto', kernel: 'matmul:main' },
    { name: 'im2col + matmul, 3x3', x: [2, 8, 9, 10], w: [12, 8, 3, 3], opts: { padding: 1 }, algorithm: 'gemm', kernel: 'matmul:main' },
    { name: 'grouped im2col + matmul, separate passes', x: [1, 8, 9, 10], w: [12, 4, 3, 3], opts: { padding: 1, groups: 2 }, algorithm: 'gemm', kernel: 'matmul:main' },
    { name: 'depthwise, separate passes', x: [1, 8, 9, 9], w: [8, 1, 3, 3], opts: { padding: 1, groups: 8 }, algorithm: 'auto', kernel: 'conv2d_direct:depthwise' },
  ];
  for (const c of cases) {
    it(`${c.name}: equals relu(conv + bias + residual) by separate ops`, async () => {
      const before = dg.setConvAlgorithm(c.algorithm);
      try {
        await dg.scope(async () => {
          const x = dg.randn(c.x, { seed: 1 });
          const w = dg.randn(c.w, { seed: 2, std: 0.1 });
          const b = dg.randn([c.w[0]!], { seed: 3 });
          const plain = dg.noGrad(() => dg.conv2d(x, w, b, c.opts));
          const res = dg.randn(plain.shape, { seed: 4 });
          const expected = dg.noGrad(() => dg.relu(dg.add(plain, res)));
          engine().startProfile();
          const fused = dg.noGrad(() => dg.conv2d(x, w, b, { ...c.opts, residual: res, relu: true }));
          const got = await fused.toArray();
          const kernels = (await engine().stopProfile()).map((d) => d.kernel);
          expect(kernels, kernels.join(' ')).toContain(c.kernel);
          // In the store: no add or relu pass of its own.
          const inStore = !c.name.includes('separate passes');
          expect(kernels.some((k) => k.startsWith('binary:') || k.startsWith('unary:')), kernels.join(' ')).toBe(!inStore);
          const want = await expected.toArray();
          expect(got.some((v) => v === 0) && got.some((v) => v > 0)).toBe(true);
          expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThanOrEqual(1e-6);
          // The residual alone and relu alone.
          const onlyRes = await dg.noGrad(() => dg.conv2d(x, w, b, { ...c.opts, residual: res })).toArray();
          const wantRes = await dg.noGrad(() => dg.add(plain, res)).toArray();
          expect(Math.max(...onlyRes.map((v, i) => Math.abs(v - wantRes[i]!)))).toBeLessThanOrEqual(1e-6);
          const onlyRelu = await dg.noGrad(() => dg.conv2d(x, w, b, { ...c.opts, relu: true })).toArray();
          const wantRelu = await dg.noGrad(() => dg.relu(plain)).toArray();
          expect(Math.max(...onlyRelu.map((v, i) => Math.abs(v - wantRelu[i]!)))).toBeLessThanOrEqual(1e-6);
        });
      } finally {
        dg.setConvAlgorithm(before);
      }
    });
  }

  it('on the tape, gives the gradients of the separate ops (residual included)', async () => {
    await dg.scope(async () => {
      const x = dg.randn([1, 64, 8, 8], { seed: 5 });
      const w = dg.randn([64, 64, 3, 3], { seed: 6, std: 0.05 });
      const res = dg.randn([1, 64, 8, 8], { seed: 7 });
      const grads = async (fused: boolean) => {
        for (const t of [x, w, res]) {
          t.requiresGrad = true;
          t.grad?.dispose();
          t.grad = null;
        }
        dg.tidy(() => {
          const y = fused ? dg.conv2d(x, w, null, { padding: 1, residual: res, relu: true }) : dg.relu(dg.add(dg.conv2d(x, w, null, { padding: 1 }), res));
          dg.sum(dg.mul(y, y)).backward();
        });
        return Promise.all([x, w, res].map((t) => t.grad!.toArray()));
      };
      const [a, b] = [await grads(true), await grads(false)];
      a.forEach((g, i) => expect(g).toEqual(b[i]));
      expect(Math.max(...a[2]!.map(Math.abs))).toBeGreaterThan(0);
    });
  });

  it('refuses a residual of another shape, naming both', () => {
    const x = dg.zeros([1, 4, 6, 6]);
    const w = dg.zeros([8, 4, 3, 3]);
    const r = dg.zeros([1, 8, 6, 5]);
    expect(() => dg.conv2d(x, w, null, { padding: 1, residual: r })).toThrow(/residual \[1, 8, 6, 5\] should be the output's shape \[1, 8, 6, 6\]/);
    for (const t of [x, w, r]) t.dispose();
  });
});
