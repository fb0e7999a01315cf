// convNorm / ConvNorm (src/nn/conv-norm.ts): a BatchNorm on running statistics folded into its conv when nothing
// records a tape, with the residual and ReLU in the conv's store; the same numbers as conv, norm, add and ReLU
// run one after another, and the unfolded path wherever folding does not apply.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { BatchNorm2d, Conv2d, ConvNorm, convNorm, FrozenBatchNorm2d } from '../src/nn/index.ts';
import { expectClose } from './helpers/compare.ts';
import { useGpu } from './helpers/gpu.ts';

/** A conv and a BatchNorm with running statistics, weight and bias far from their defaults. */
async function layers(cin: number, cout: number, k: number, seed: number): Promise<{ conv: Conv2d; norm: BatchNorm2d }> {
  const conv = new Conv2d(cin, cout, k, { padding: (k - 1) / 2, bias: seed % 2 === 0, seed });
  const norm = new BatchNorm2d(cout);
  const host = (n: number, f: (i: number) => number) => ({ shape: [n], data: Float32Array.from({ length: n }, (_, i) => f(i)) });
  const state = new Map<string, { shape: readonly number[]; data: ArrayLike<number> }>([
    ['weight', host(cout, (i) => 0.5 + 0.05 * i)],
    ['bias', host(cout, (i) => 0.1 * (i % 5) - 0.2)],
    ['running_mean', host(cout, (i) => 0.02 * i - 0.3)],
    ['running_var', host(cout, (i) => 0.3 + 0.04 * i)],
    ['num_batches_tracked', { shape: [], data: [1] }],
  ]);
  norm.loadStateDict(state, true);
  return { conv, norm };
}

/** relu(norm(conv(x)) + residual) by separate layers and ops. */
function reference(conv: Conv2d, norm: BatchNorm2d, x: dg.Tensor, residual?: dg.Tensor): dg.Tensor {
  return dg.noGrad(() => {
    const n = norm.forward(conv.forward(x));
    return dg.relu(residual ? dg.add(n, residual) : n);
  });
}

describe('convNorm folds an eval-mode BatchNorm into its conv', () => {
  const engine = useGpu();
  for (const [name, cin, cout, k, size] of [
    ['3x3, 32 channels (direct kernel)', 32, 48, 3, 12],
    ['3x3, 64 channels (Winograd F(4x4))', 64, 64, 3, 12],
    ['7x7 (main8)', 3, 16, 7, 20],
    ['1x1 (matmul)', 32, 40, 1, 8],
  ] as const) {
    it(`${name}: the numbers of conv, norm, add and relu, in one pass and none of the norm's`, async () => {
      await dg.scope(async () => {
        const { conv, norm } = await layers(cin, cout, k, cin + k);
        conv.eval();
        norm.eval();
        const x = dg.randn([2, cin, size, size], { seed: 1 });
        const res = dg.randn([2, cout, size, size], { seed: 2 });
        const want = await reference(conv, norm, x, res).toArray();
        engine().startProfile();
        const got = await dg.noGrad(() => convNorm(conv, norm, x, { relu: true, residual: res })).toArray();
        const kernels = (await engine().stopProfile()).map((d) => d.kernel);
        // The first call folds (a few elementwise ops on the weights); no normalise pass either way.
        expect(kernels.filter((kn) => kn.startsWith('norm:')), kernels.join(' ')).toEqual([]);
        expectClose(got, want, 1e-3, 'folded'); // a convolution's float32 tolerance: the folded weight rounds differently
        expect(got.some((v) => v === 0) && got.some((v) => v > 0)).toBe(true);
        // The fold is kept: a second call runs only the conv, whose store adds the residual and the ReLU.
        engine().startProfile();
        await dg.noGrad(() => convNorm(conv, norm, x, { relu: true, residual: res })).toArray();
        const again = (await engine().stopProfile()).map((d) => d.kernel);
        expect(again.filter((kn) => !kn.startsWith('conv') && !kn.startsWith('matmul:')), again.join(' ')).toEqual([]);
        conv.dispose();
        norm.dispose();
      });
    });
  }

  it('folds a FrozenBatchNorm2d too (a torchvision detector backbone), where it ran norm, add and relu as three passes', async () => {
    await dg.scope(async () => {
      for (const k of [1, 3]) {
        const conv = new Conv2d(32, 32, k, { padding: (k - 1) / 2, bias: false, seed: 5 });
        const frozen = new FrozenBatchNorm2d(32);
        const host = (f: (i: number) => number) => ({ shape: [32], data: Float32Array.from({ length: 32 }, (_, i) => f(i)) });
        frozen.loadStateDict(new Map([['weight', host((i) => 1 + 0.03 * i)], ['bias', host((i) => 0.05 * i - 0.4)], ['running_mean', host((i) => 0.01 * i)], ['running_var', host((i) => 0.5 + 0.02 * i)]]), true);
        const x = dg.randn([1, 32, 9, 12], { seed: 6 });
        const res = dg.randn([1, 32, 9, 12], { seed: 7 });
        const want = await dg.noGrad(() => dg.relu(dg.add(frozen.forward(conv.forward(x)), res))).toArray();
        await dg.noGrad(() => convNorm(conv, frozen, x, { relu: true, residual: res })).toArray();
        engine().startProfile();
        const got = await dg.noGrad(() => convNorm(conv, frozen, x, { relu: true, residual: res })).toArray();
        const kernels = (await engine().stopProfile()).map((d) => d.kernel);
        expect(kernels.filter((kn) => !kn.startsWith('conv') && !kn.startsWith('matmul:')), kernels.join(' ')).toEqual([]);
        expectClose(got, want, 1e-3, `FrozenBatchNorm2d after a ${k}x${k} conv`);
        conv.dispose();
        frozen.dispose();
      }
    });
  });

  it('follows changed running statistics and weights', async () => {
    await dg.scope(async () => {
      const { conv, norm } = await layers(32, 32, 3, 7);
      conv.eval();
      norm.eval();
      const x = dg.randn([1, 32, 10, 10], { seed: 3 });
      const step = new ConvNorm(conv, norm, true);
      await dg.noGrad(() => step.forward(x)).toArray();
      // New running variance and a new conv weight through loadStateDict (assign), then an in-place upload of gamma.
      const sd = new Map([['1.running_var', { shape: [32], data: new Float32Array(32).fill(2.5) }]]);
      step.loadStateDict(sd, false);
      expectClose(await dg.noGrad(() => step.forward(x)).toArray(), await reference(conv, norm, x).toArray(), 1e-4, 'after the variance');
      conv.setWeight(dg.randn([32, 32, 3, 3], { seed: 9, std: 0.1 }));
      expectClose(await dg.noGrad(() => step.forward(x)).toArray(), await reference(conv, norm, x).toArray(), 1e-4, 'after the weight');
      const gamma = norm.namedParameters().find(([n]) => n === 'weight')![1];
      engine().write(gamma.buffer, new Float32Array(32).fill(-1));
      const flipped = await dg.noGrad(() => step.forward(x)).toArray();
      expectClose(flipped, await reference(conv, norm, x).toArray(), 1e-4, 'after gamma');
      step.dispose();
    });
  });

  it('does not fold in training (batch statistics) or on a tape, and gradients flow', async () => {
    await dg.scope(async () => {
      const { conv, norm } = await layers(32, 32, 3, 11);
      const x = dg.randn([2, 32, 8, 8], { seed: 4 });
      // Training mode: batch statistics, so the output is normalised per channel.
      conv.train();
      norm.train();
      const trained = await dg.noGrad(() => convNorm(conv, norm, x)).toArray();
      const c0 = trained.filter((_, i) => Math.floor(i / 64) % 32 === 0);
      const mean = c0.reduce((a, v) => a + v, 0) / c0.length;
      const gammaBeta = [0.5, -0.2];
      expect(Math.abs(mean - gammaBeta[1]!)).toBeLessThan(1e-4);
      // Eval with a tape: unfolded, and the conv weight gets a gradient.
      conv.eval();
      norm.eval();
      engine().startProfile();
      dg.tidy(() => {
        const y = convNorm(conv, norm, x, { relu: true });
        dg.sum(y).backward();
      });
      const kernels = (await engine().stopProfile()).map((d) => d.kernel);
      expect(kernels).toContain('norm:normalize_rows4');
      const w = conv.namedParameters().find(([n]) => n === 'weight')![1];
      expect(Math.max(...(await w.grad!.toArray()).map(Math.abs))).toBeGreaterThan(0);
      conv.dispose();
      norm.dispose();
    });
  });
});
