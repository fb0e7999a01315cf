// GroupNorm statistics from the partial sums a 1x1 conv's matmul store leaves (kernels/_matmul.wgsl STATS,
// kernels/norm.wgsl stats_partials, src/ops/row-partials.ts): the same numbers as the statistics pass, forward and
// gradients, none of that pass's dispatches, and the partials dropped whenever the output changes or is freed.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { Conv2d, ConvNorm, GroupNorm } from '../src/nn/index.ts';
import { takeRowPartials } from '../src/ops/row-partials.ts';
import { expectClose } from './helpers/compare.ts';
import { useGpu } from './helpers/gpu.ts';
import { checkGroupNormFromPartials, checkRowPartials } from './helpers/row-partials.ts';

describe('groupNorm statistics from a matmul store', () => {
  const engine = useGpu();
  it('leaves (mean, M2) per block of rows and lane of columns, as float64 host sums give them', () => checkRowPartials());
  it('gives groupNorm the numbers of its statistics pass', () => checkGroupNormFromPartials());

  it('replaces the statistics pass by the combine of the partials', async () => {
    await dg.scope(async () => {
      const x = dg.randn([2, 32, 16, 16], { seed: 1 });
      const w = dg.randn([256, 32, 1, 1], { seed: 2 });
      const kernels = async (normGroups?: number) => {
        engine().startProfile();
        await dg.groupNorm(dg.conv2d(x, w, null, { normGroups }), 32).toArray();
        // (fill: groupNorm's default weight and bias)
        return (await engine().stopProfile()).map((t) => t.kernel).filter((k) => !k.startsWith('fill:'));
      };
      expect(await kernels()).toEqual(['matmul:main_n4', 'norm:stats4', 'norm:normalize_rows4']);
      expect(await kernels(32)).toEqual(['matmul:main_n4', 'norm:stats_partials', 'norm:normalize_rows4']);
      // 64 groups of 4 rows: no partials (blocks are 8 rows), the pass.
      expect(await kernels(64)).toEqual(['matmul:main_n4', 'norm:stats4', 'norm:normalize_rows4']);
    });
  });

  it('drops the partials when the output is written, and groupNorm reads the new values', async () => {
    await dg.scope(async () => {
      const x = dg.randn([1, 16, 8, 8], { seed: 3 });
      const w = dg.randn([64, 16, 1, 1], { seed: 4 });
      const other = dg.mul(dg.randn([1, 64, 8, 8], { seed: 5 }), 3);
      const y = dg.conv2d(x, w, null, { normGroups: 8 });
      // assign takes over the source's storage and frees y's own (with its partials).
      y.assign(dg.mul(other, 1));
      expect(takeRowPartials(y, 64, 64, 8)).toBeNull();
      expectClose(await dg.groupNorm(y, 8).toArray(), await dg.groupNorm(other, 8).toArray(), 1e-5, 'after assign');
      // Written in place (an upload, a copy into it): the same buffer, new contents.
      const z = dg.conv2d(x, w, null, { normGroups: 8 });
      engine().write(z.buffer, await other.toArray());
      expect(takeRowPartials(z, 64, 64, 8)).toBeNull();
      const u = dg.conv2d(x, w, null, { normGroups: 8 });
      engine().copyBuffer(other.buffer, 0, u.buffer, 0, other.size * 4);
      expectClose(await dg.groupNorm(u, 8).toArray(), await dg.groupNorm(other, 8).toArray(), 1e-5, 'after a copy');
    });
  });

  it('is taken by the norm that uses it, and a loop keeps no buffers or derived values', async () => {
    const conv = new Conv2d(16, 64, 1, { seed: 6 });
    const norm = new GroupNorm(8, 64);
    const block = new ConvNorm(conv, norm, true);
    const x = dg.randn([2, 16, 8, 8], { seed: 7 });
    const step = () => dg.noGrad(() => dg.tidy(() => dg.sum(block.forward(x))));
    (await step()).dispose();
    const base = engine().stats();
    for (let i = 0; i < 4; i++) {
      const s = step();
      await s.toArray();
      s.dispose();
    }
    expect(engine().stats().liveBuffers).toBe(base.liveBuffers);
    expect(engine().stats().derived).toBe(base.derived);
    block.dispose();
    x.dispose();
  });

  it('leaves the gradients of ConvNorm with a GroupNorm as conv and norm apart give them', async () => {
    await dg.scope(async () => {
      const conv = new Conv2d(8, 32, 1, { seed: 8, bias: true });
      const norm = new GroupNorm(4, 32);
      const x = dg.randn([2, 8, 6, 6], { seed: 9 });
      x.requiresGrad = true;
      const up = dg.randn([2, 32, 6, 6], { seed: 10 });
      const grads = async (y: dg.Tensor) => {
        for (const p of [x, ...conv.parameters()]) p.grad = null;
        dg.sum(dg.mul(y, up)).backward();
        return Promise.all([x, ...conv.parameters()].map((p) => p.grad!.toArray()));
      };
      const want = await grads(dg.relu(norm.forward(conv.forward(x))));
      engine().startProfile();
      const y = new ConvNorm(conv, norm, true).forward(x);
      expect((await engine().stopProfile()).map((t) => t.kernel)).toContain('norm:stats_partials');
      const got = await grads(y);
      got.forEach((g, i) => expectClose(g, want[i]!, 1e-4, `gradient ${i}`));
    });
  });

  it('leaves no partials where the conv does not run on the matmul (3x3), and groupNorm is still right', async () => {
    await dg.scope(async () => {
      const x = dg.randn([1, 16, 10, 10], { seed: 11 });
      const w = dg.randn([32, 16, 3, 3], { seed: 12 });
      const y = dg.conv2d(x, w, null, { padding: 1, normGroups: 8 });
      expect(takeRowPartials(y, 32, 100, 4)).toBeNull();
      expectClose(await dg.groupNorm(y, 8).toArray(), await dg.groupNorm(dg.conv2d(x, w, null, { padding: 1 }), 8).toArray(), 1e-5, '3x3');
    });
  });
});
