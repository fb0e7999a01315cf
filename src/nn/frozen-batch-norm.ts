// torchvision's FrozenBatchNorm2d (ops/misc.py): BatchNorm2d whose statistics and affine parameters are all
// fixed buffers (weight, bias, running_mean, running_var; no num_batches_tracked), the same in train and eval.
import { ones, zeros } from '../ops/creation.ts';
import { addScalar, mul, rsqrt } from '../ops/elementwise.ts';
import { batchNorm2d } from '../ops/norm.ts';
import { reshape } from '../ops/shape.ts';
import { noGrad, record, willRecord } from '../tensor/autograd.ts';
import { foldIntoConv } from './fold-norm.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Layer, type Module } from './module.ts';

/**
 * x [N, C, H, W] -> x * scale + (bias - running_mean * scale), scale = weight * rsqrt(running_var + eps).
 * Gradients reach the input only. State-dict keys as torchvision writes them: weight, bias, running_mean,
 * running_var (all buffers). eps defaults to 1e-5 and, as in torchvision, is not stored.
 */
export class FrozenBatchNorm2d extends Layer {
  constructor(
    readonly numFeatures: number,
    readonly eps = 1e-5,
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`FrozenBatchNorm2d: numFeatures must be a positive integer, got ${numFeatures}`);
    if (!(eps >= 0)) throw new Error(`FrozenBatchNorm2d: eps must be >= 0, got ${eps}`);
    this.registerBuffer('weight', ones([numFeatures]));
    this.registerBuffer('bias', zeros([numFeatures]));
    this.registerBuffer('running_mean', zeros([numFeatures]));
    this.registerBuffer('running_var', ones([numFeatures]));
  }

  /**
   * A conv's weight and bias with this norm folded in (src/nn/fold-norm.ts) when nothing records a tape on them;
   * else null. Owned by the engine: callers must not dispose them.
   */
  fold(weight: Tensor, bias: Tensor | null): { weight: Tensor; bias: Tensor } | null {
    if (willRecord([weight, bias])) return null;
    const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((n) => this.buffer(n)) as [Tensor, Tensor, Tensor, Tensor];
    return foldIntoConv(weight, bias, { gamma, beta, mean, variance, eps: this.eps });
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures)
      throw new Error(`FrozenBatchNorm2d(${this.numFeatures}): input must be [N, ${this.numFeatures}, H, W], got [${x.shape.join(', ')}]`);
    const [w, b, rm, rv] = ['weight', 'bias', 'running_mean', 'running_var'].map((n) => this.buffer(n)) as [Tensor, Tensor, Tensor, Tensor];
    // The running-statistics path of batchNorm2d is this formula in one pass over x: its kernel forms
    // a = invstd * weight and b = bias - mean * a per channel, then y = x * a + b.
    const y = noGrad(() => batchNorm2d(x, w, b, rm, rv, { training: false, eps: this.eps }));
    // Only x takes a gradient, dx = g * scale: one broadcast multiply, where batchNorm2d's own backward
    // would also reduce g and x for the weight and bias gradients that buffers never use.
    return record(y, 'frozenBatchNorm2d', [x], (g) => [mul(g, reshape(mul(w, rsqrt(addScalar(rv, this.eps))), [this.numFeatures, 1, 1]))]);
  }
}

/**
 * The keys of `state` without the `num_batches_tracked` entries of the FrozenBatchNorm2d modules in `model`:
 * torchvision's FrozenBatchNorm2d._load_from_state_dict drops them, so a BatchNorm2d checkpoint (ImageNet
 * weights) loads strictly into a frozen model. Pass the result to `model.loadStateDict`.
 */
export function withoutFrozenBnCounters<E>(model: Module, state: ReadonlyMap<string, E>): Map<string, E> {
  const drop = new Set<string>();
  for (const [name, m] of model.namedModules()) if (m instanceof FrozenBatchNorm2d) drop.add(name ? `${name}.num_batches_tracked` : 'num_batches_tracked');
  return new Map([...state].filter(([k]) => !drop.has(k)));
}
