// Normalisation and pooling layers over src/ops/norm.ts and src/ops/pool.ts, with PyTorch's parameter
// and buffer names (weight, bias, running_mean, running_var, num_batches_tracked).
import { full, ones, zeros } from '../ops/creation.ts';
import { add, addScalar, relu } from '../ops/elementwise.ts';
import { batchNorm2d, groupNorm, layerNorm, type NormEpilogue } from '../ops/norm.ts';
import { avgPool2d, maxPool2d, type PoolOptions } from '../ops/pool.ts';
import { noGrad, willRecord } from '../tensor/autograd.ts';
import { foldIntoConv } from './fold-norm.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Layer } from './module.ts';

type Pair = number | readonly [number, number];

/**
 * BatchNorm2d. `freezeStats` (DeepLabCut's freeze_bn_stats) keeps it on running statistics even while
 * the model trains; `freezeWeights` (freeze_bn_weights) stops gradients to weight and bias. Both are
 * re-applied on every train()/eval(), as DeepLabCut's backbones do.
 */
export class BatchNorm2d extends Layer {
  freezeStats = false;
  freezeWeights = false;
  /** Running-statistics update factor (PyTorch's momentum). */
  momentum: number;
  constructor(
    readonly numFeatures: number,
    readonly opts: { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean } = {},
  ) {
    super();
    this.momentum = opts.momentum ?? 0.1;
    if (opts.affine ?? true) {
      this.registerParameter('weight', ones([numFeatures]));
      this.registerParameter('bias', zeros([numFeatures]));
    }
    if (opts.trackRunningStats ?? true) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', zeros([]), { dtype: 'int64' });
    }
  }
  private get affine(): boolean {
    return this.opts.affine ?? true;
  }
  private get tracking(): boolean {
    return this.opts.trackRunningStats ?? true;
  }
  zeroWeight(): void {
    this.param('weight').assign(zeros([this.numFeatures]));
  }
  protected override onModeChange(): void {
    if (this.affine) for (const n of ['weight', 'bias']) this.param(n).requiresGrad = !this.freezeWeights;
  }
  /**
   * A conv's weight and bias with this BatchNorm folded in (weight * s per output channel, (bias - mean) * s + beta,
   * s = gamma / sqrt(var + eps)) when it normalises with its running statistics and nothing records a tape; else
   * null. Kept by the engine while the conv's and this norm's tensors are unchanged (Engine.derived): the caller
   * must not dispose them.
   */
  fold(weight: Tensor, bias: Tensor | null): { weight: Tensor; bias: Tensor } | null {
    if ((this.training && !this.freezeStats) || !this.tracking) return null;
    const gamma = this.affine ? this.param('weight') : null;
    const beta = this.affine ? this.param('bias') : null;
    if (willRecord([weight, bias, gamma, beta])) return null;
    return foldIntoConv(weight, bias, { gamma, beta, mean: this.buffer('running_mean'), variance: this.buffer('running_var'), eps: this.opts.eps ?? 1e-5 });
  }
  /** `epi`: a residual added and/or a ReLU in the normalise pass (see NormEpilogue). */
  forward(x: Tensor, epi: NormEpilogue = {}): Tensor {
    const useBatch = this.training && !this.freezeStats;
    if (useBatch && this.tracking) noGrad(() => this.updateBuffer('num_batches_tracked', addScalar(this.buffer('num_batches_tracked'), 1)));
    return batchNorm2d(
      x,
      this.affine ? this.param('weight') : null,
      this.affine ? this.param('bias') : null,
      this.tracking ? this.buffer('running_mean') : null,
      this.tracking ? this.buffer('running_var') : null,
      // Without running statistics PyTorch always normalises with the batch's.
      { training: useBatch || !this.tracking, momentum: this.momentum, eps: this.opts.eps ?? 1e-5, frozenStats: this.training && this.freezeStats, ...epi },
    );
  }
}

export class GroupNorm extends Layer {
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    readonly opts: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    if (numChannels % numGroups !== 0) throw new Error(`GroupNorm: ${numChannels} channels do not split into ${numGroups} groups`);
    if (opts.affine ?? true) {
      this.registerParameter('weight', ones([numChannels]));
      this.registerParameter('bias', zeros([numChannels]));
    }
  }
  zeroWeight(): void {
    this.param('weight').assign(zeros([this.numChannels]));
  }
  /** `epi`: a residual added and/or a ReLU in the normalise pass (see NormEpilogue). */
  forward(x: Tensor, epi: NormEpilogue = {}): Tensor {
    const affine = this.opts.affine ?? true;
    return groupNorm(x, this.numGroups, affine ? this.param('weight') : null, affine ? this.param('bias') : null, this.opts.eps ?? 1e-5, epi);
  }
}

/**
 * relu(norm(x) + residual), as a ResNet block ends (residual omitted: relu(norm(x))). BatchNorm2d and GroupNorm do
 * it in their normalise pass; any other norm layer (FrozenBatchNorm2d, a plugin's) runs it as separate ops.
 */
export function normRelu(norm: Layer, x: Tensor, residual?: Tensor): Tensor {
  if (norm instanceof BatchNorm2d || norm instanceof GroupNorm) return norm.forward(x, { relu: true, residual });
  const y = norm.forward(x);
  return relu(residual ? add(y, residual) : y);
}

export class LayerNorm extends Layer {
  constructor(
    readonly normalizedShape: readonly number[],
    readonly opts: { eps?: number } = {},
  ) {
    super();
    this.registerParameter('weight', full(normalizedShape, 1));
    this.registerParameter('bias', zeros(normalizedShape));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.param('weight'), this.param('bias'), this.opts.eps ?? 1e-5);
  }
}

export class MaxPool2d extends Layer {
  constructor(
    readonly kernelSize: Pair,
    readonly stride?: Pair,
    readonly padding: Pair = 0,
    readonly opts: { dilation?: Pair; ceilMode?: boolean } = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, { stride: this.stride ?? this.kernelSize, padding: this.padding, ...this.opts });
  }
}

export class AvgPool2d extends Layer {
  constructor(
    readonly kernelSize: Pair,
    readonly opts: PoolOptions & { countIncludePad?: boolean } = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.opts);
  }
}
