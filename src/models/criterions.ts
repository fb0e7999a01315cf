// DeepLabCut's weighted criteria and loss aggregation (reference section 2.5):
// loss = sum(elementwise_loss * weights) / count_nonzero(weights broadcast to the loss) (0 -> 1),
// and the aggregator takes the MEAN of weight_i * loss_i, not the sum.
import { full } from '../ops/creation.ts';
import { add, div, maximum, mul, mulScalar, ne } from '../ops/elementwise.ts';
import { bceWithLogits, huberLoss, mseLoss } from '../ops/loss.ts';
import { sum } from '../ops/reduce.ts';
import { expand } from '../ops/shape.ts';
import { noGrad } from '../tensor/autograd.ts';
import type { Tensor } from '../tensor/tensor.ts';

export type CriterionType = 'WeightedMSECriterion' | 'WeightedHuberCriterion' | 'WeightedBCECriterion';
export const criterionTypes: readonly CriterionType[] = ['WeightedMSECriterion', 'WeightedHuberCriterion', 'WeightedBCECriterion'];

export class WeightedCriterion {
  constructor(readonly type: CriterionType) {}

  /** output, target [B, C, H, W]; weights broadcastable to them. Returns a [] loss. */
  loss(output: Tensor, target: Tensor, weights: Tensor): Tensor {
    const elementwise =
      this.type === 'WeightedMSECriterion'
        ? mseLoss(output, target, { reduction: 'none' })
        : this.type === 'WeightedHuberCriterion'
          ? huberLoss(output, target, { reduction: 'none', delta: 1 })
          : bceWithLogits(output, target, { reduction: 'none' });
    const count = noGrad(() => {
      const w = weights.shape.join() === elementwise.shape.join() ? weights : expand(weights, elementwise.shape);
      return maximum(sum(ne(w, 0)), full([], 1));
    });
    return div(sum(mul(elementwise, weights)), count);
  }
}

/** WeightedLossAggregator: mean over named losses of weight * loss. */
export function weightedMean(losses: readonly { loss: Tensor; weight: number }[]): Tensor {
  if (!losses.length) throw new Error('WeightedLossAggregator: no losses to aggregate');
  let total = mulScalar(losses[0]!.loss, losses[0]!.weight);
  for (const l of losses.slice(1)) total = add(total, mulScalar(l.loss, l.weight));
  return mulScalar(total, 1 / losses.length);
}
