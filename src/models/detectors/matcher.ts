// torchvision 0.14's Matcher and BalancedPositiveNegativeSampler (models/detection/_utils.py), on the host:
// Faster R-CNN matches a few ground-truth boxes against its anchors (RPN) or proposals (RoIHeads) before the
// losses are recorded, on IoUs computed in float32 as torch does (boxIouHost), so every threshold and tie
// decides as in torchvision. The sampler draws with a seeded generator where torchvision calls torch.randperm:
// which anchors are drawn differs from torch's RNG, never how many or from which set.
import { Rng } from '../../data/random.ts';

export const BELOW_LOW_THRESHOLD = -1;
export const BETWEEN_THRESHOLDS = -2;

/**
 * torchvision's Matcher(high, low, allow_low_quality_matches) on an IoU matrix [gt * preds] (row-major): per
 * prediction its best ground truth (the first on ties, as torch's max), -1 when that IoU is below `low`, -2
 * when in [low, high); with allow_low_quality_matches, each prediction that ties for some ground truth's
 * highest IoU gets its best ground truth back.
 */
export class Matcher {
  constructor(
    readonly highThreshold: number,
    readonly lowThreshold: number,
    readonly allowLowQualityMatches = false,
  ) {
    if (!(lowThreshold <= highThreshold)) throw new Error(`Matcher: low_threshold should be <= high_threshold (${lowThreshold} > ${highThreshold})`);
  }

  match(iou: Float32Array, numGt: number, numPreds: number): Int32Array {
    if (numGt === 0) throw new Error('Matcher: No ground-truth boxes available for one of the images during training');
    if (numPreds === 0) throw new Error('Matcher: No proposal boxes available for one of the images during training');
    const matches = new Int32Array(numPreds);
    const all = new Int32Array(numPreds);
    // torch compares float32 values with a Python float threshold in float32.
    const low = Math.fround(this.lowThreshold);
    const high = Math.fround(this.highThreshold);
    for (let j = 0; j < numPreds; j++) {
      let best = 0;
      let value = iou[j]!;
      for (let i = 1; i < numGt; i++) {
        const v = iou[i * numPreds + j]!;
        if (v > value) [best, value] = [i, v];
      }
      all[j] = best;
      matches[j] = value < low ? BELOW_LOW_THRESHOLD : value < high ? BETWEEN_THRESHOLDS : best;
    }
    if (this.allowLowQualityMatches) {
      for (let i = 0; i < numGt; i++) {
        let highest = -Infinity;
        for (let j = 0; j < numPreds; j++) highest = Math.max(highest, iou[i * numPreds + j]!);
        for (let j = 0; j < numPreds; j++) if (iou[i * numPreds + j] === highest) matches[j] = all[j]!;
      }
    }
    return matches;
  }
}

/**
 * torchvision's BalancedPositiveNegativeSampler(batch_size_per_image, positive_fraction) over per-image labels
 * (>= 1 positive, 0 negative, -1 ignored): min(#positive, int(batch * fraction)) positives and
 * min(#negative, batch - that) negatives drawn without replacement. Returns per image a mask: 1 positive
 * sampled, 2 negative sampled, 0 not sampled.
 */
export class BalancedPositiveNegativeSampler {
  private readonly rng: Rng;
  constructor(
    readonly batchSizePerImage: number,
    readonly positiveFraction: number,
    seed = 0,
  ) {
    if (!Number.isInteger(batchSizePerImage) || batchSizePerImage < 1) throw new Error(`BalancedPositiveNegativeSampler: batch_size_per_image must be a positive integer, got ${batchSizePerImage}`);
    if (!(positiveFraction >= 0 && positiveFraction <= 1)) throw new Error(`BalancedPositiveNegativeSampler: positive_fraction must be in [0, 1], got ${positiveFraction}`);
    this.rng = new Rng(seed);
  }

  sample(labels: readonly ArrayLike<number>[]): Uint8Array[] {
    return labels.map((l) => {
      const positive: number[] = [];
      const negative: number[] = [];
      for (let i = 0; i < l.length; i++) {
        if (l[i]! >= 1) positive.push(i);
        else if (l[i] === 0) negative.push(i);
      }
      const numPos = Math.min(positive.length, Math.trunc(this.batchSizePerImage * this.positiveFraction));
      const numNeg = Math.min(negative.length, this.batchSizePerImage - numPos);
      const mask = new Uint8Array(l.length);
      for (const i of this.draw(positive, numPos)) mask[i] = 1;
      for (const i of this.draw(negative, numNeg)) mask[i] = 2;
      return mask;
    });
  }

  /** k of `from` without replacement (a partial Fisher-Yates shuffle; all of them when k = from.length). */
  private draw(from: number[], k: number): number[] {
    if (k >= from.length) return from;
    const a = [...from];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.rng.random() * (a.length - i));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a.slice(0, k);
  }
}
