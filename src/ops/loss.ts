// Losses, composed from existing ops (autograd follows) except bceWithLogits, whose elementwise term has its
// own gradient rule so that it stays exact at x = 0 and finite for any logit. `weights` multiply the
// elementwise loss (broadcasting) before the reduction; 'mean' divides by the element count, as PyTorch's
// `mean(weights * loss(reduction='none'))`.
import { noGrad, record } from '../tensor/autograd.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { arange } from './creation.ts';
import { abs, add, affine, div, eq, exp, log1p, lt, mul, mulScalar, neg, relu, sigmoid, square, sub, where } from './elementwise.ts';
import { mean, sum } from './reduce.ts';
import { reshape } from './shape.ts';
import { logSoftmax } from './softmax.ts';

/** How a loss reduces its elementwise values: their mean (default), sum, or none (the elementwise tensor). */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options shared by the regression and classification losses. */
export interface LossOptions {
  /** Per-element weights, broadcast against the elementwise loss. */
  weights?: Tensor | null;
  reduction?: Reduction;
}

function reduce(l: Tensor, opts: LossOptions): Tensor {
  const weighted = opts.weights ? mul(l, opts.weights) : l;
  switch (opts.reduction ?? 'mean') {
    case 'mean':
      return mean(weighted);
    case 'sum':
      return sum(weighted);
    case 'none':
      return weighted;
  }
}

/** mean((x - y)^2) */
export function mseLoss(x: Tensor, y: Tensor, opts: LossOptions = {}): Tensor {
  return reduce(square(sub(x, y)), opts);
}

/** mean(weights * (x - y)^2) over all elements (DeepLabCut's weighted heatmap MSE). */
export function weightedMseLoss(x: Tensor, y: Tensor, weights: Tensor, opts: Omit<LossOptions, 'weights'> = {}): Tensor {
  return reduce(square(sub(x, y)), { ...opts, weights });
}

/** PyTorch's smooth_l1_loss: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta. */
export function smoothL1Loss(x: Tensor, y: Tensor, opts: LossOptions & { beta?: number } = {}): Tensor {
  const beta = opts.beta ?? 1;
  const d = sub(x, y);
  const a = abs(d);
  if (beta === 0) return reduce(a, opts);
  return reduce(where(lt(a, beta), mulScalar(square(d), 0.5 / beta), affine(a, 1, -0.5 * beta)), opts);
}

/** PyTorch's huber_loss: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta). */
export function huberLoss(x: Tensor, y: Tensor, opts: LossOptions & { delta?: number } = {}): Tensor {
  const delta = opts.delta ?? 1;
  const d = sub(x, y);
  const a = abs(d);
  return reduce(where(lt(a, delta), mulScalar(square(d), 0.5), affine(a, delta, -0.5 * delta * delta)), opts);
}

/**
 * Binary cross-entropy on logits: (1 - t) x + (1 + (posWeight - 1) t) softplus(-x), with softplus(-x) as
 * max(-x, 0) + log1p(exp(-|x|)), stable for any x. Gradients reach x and t.
 */
export function bceWithLogits(x: Tensor, t: Tensor, opts: LossOptions & { posWeight?: Tensor | null } = {}): Tensor {
  const pw = opts.posWeight ?? null;
  const softplusNeg = (v: Tensor) => add(relu(neg(v)), log1p(exp(neg(abs(v)))));
  const l = noGrad(() => {
    const sp = softplusNeg(x);
    const lw = pw ? add(mul(sub(pw, 1), t), 1) : null;
    return add(mul(affine(t, -1, 1), x), lw ? mul(lw, sp) : sp);
  });
  const inputs = pw ? [x, t, pw] : [x, t];
  record(l, 'bceWithLogits', inputs, (g) => {
    // d/dx = (1 - t) - lw (1 - sigmoid(x)); d/dt = (posWeight - 1) softplus(-x) - x; d/dposWeight = t softplus(-x).
    const s = sigmoid(x);
    const lw = pw ? add(mul(sub(pw, 1), t), 1) : null;
    const dx = lw ? sub(affine(t, -1, 1), mul(lw, affine(s, -1, 1))) : sub(s, t);
    const dt = t.requiresGrad ? (pw ? sub(mul(sub(pw, 1), softplusNeg(x)), x) : neg(x)) : null;
    const dp = pw?.requiresGrad ? mul(t, softplusNeg(x)) : null;
    return [mul(g, dx), dt && mul(g, dt), dp && mul(g, dp)];
  });
  return reduce(l, opts);
}

/**
 * Cross-entropy of logits [N, C] against class indices [N] (float32 holding integers), averaged over N;
 * optional per-class `classWeights` [C] give PyTorch's weighted mean (sum w_t l / sum w_t).
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: { classWeights?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  if (logits.rank !== 2 || targets.size !== logits.shape[0]) throw new Error(`crossEntropy: expected logits [N, C] and targets [N], got [${logits.shape.join(', ')}] and [${targets.shape.join(', ')}]`);
  const [N, C] = logits.shape as [number, number];
  const onehot = noGrad(() => eq(reshape(targets, [N, 1]), reshape(arange(C), [1, C])));
  const picked = neg(sum(mul(logSoftmax(logits, 1), opts.classWeights ? mul(onehot, opts.classWeights) : onehot), 1));
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'none') return picked;
  if (reduction === 'sum' || !opts.classWeights) return reduction === 'sum' ? sum(picked) : mean(picked);
  const total = noGrad(() => sum(mul(onehot, opts.classWeights!)));
  return div(sum(picked), total);
}
