// A per-channel affine norm (BatchNorm2d on running statistics, FrozenBatchNorm2d) folded into the conv before it:
// norm(conv(x, W, b)) = conv(x, W * s, (b - mean) * s + beta) with s = gamma / sqrt(var + eps) per output channel.
// The folded weight and bias are an Engine.derived value of all six tensors, rebuilt when any of them is written.
import { engine } from '../gpu/current.ts';
import { add, addScalar, mul, neg, rsqrt, sub } from '../ops/elementwise.ts';
import { reshape } from '../ops/shape.ts';
import { noGrad } from '../tensor/autograd.ts';
import { keep, tidy } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';

export interface AffineNorm {
  /** null: 1 (no affine weight). */
  gamma: Tensor | null;
  /** null: 0. */
  beta: Tensor | null;
  mean: Tensor;
  variance: Tensor;
  eps: number;
}

/** The conv's weight and bias with `norm` folded in; owned by the engine (callers must not dispose them). */
export function foldIntoConv(weight: Tensor, bias: Tensor | null, norm: AffineNorm): { weight: Tensor; bias: Tensor } {
  const { gamma, beta, mean, variance, eps } = norm;
  const C = mean.size;
  if (weight.shape[0] !== C) throw new Error(`cannot fold a norm of ${C} channels into a conv of ${weight.shape[0]} output channels`);
  const sources = [weight, bias, gamma, beta, mean, variance].filter((t): t is Tensor => t !== null).map((t) => t.buffer);
  return engine().derived(
    sources,
    `foldNorm:${eps}:${bias ? 'bias' : ''}:${gamma ? 'gamma' : ''}:${beta ? 'beta' : ''}`,
    () =>
      noGrad(() => {
        const [w, b] = tidy(() => {
          const invstd = rsqrt(addScalar(variance, eps));
          const s = gamma ? mul(gamma, invstd) : invstd;
          const w = mul(weight, reshape(s, [C, ...weight.shape.slice(1).map(() => 1)]));
          const shifted = mul(bias ? sub(bias, mean) : neg(mean), s);
          return [w, beta ? add(shifted, beta) : shifted];
        });
        return { weight: keep(w!), bias: keep(b!) };
      }),
    (f) => {
      f.weight.dispose();
      f.bias.dispose();
    },
  );
}
