// Object keypoint similarity and greedy OKS matching as DeepLabCut 3.0.1 computes them
// (deeplabcut/core/inferenceutils.py calc_object_keypoint_similarity, core/metrics/matching.py).
import { EPS, mean, nanMean } from './numeric.ts';

/** One individual's keypoints, (K, 3+): x, y, then visibility (ground truth) or score (prediction). */
export type Pose = readonly (readonly number[])[];

/**
 * OKS between a prediction and a ground truth (both (K, 2+), NaN where missing).
 * - Ground-truth keypoints count when not both coordinates are NaN; fewer than 2 gives NaN.
 * - The "area" s² is the product of the visible GT keypoints' extents (ptp) each plus eps and
 *   2·margin: the area of their bounding box, not a segmentation area. If s² is close to 0
 *   (|s²| <= 1e-8, np.isclose), OKS is NaN; keypoints on one horizontal or vertical line do that.
 * - k² = (2σ)², σ = 0.1 for every keypoint unless a per-keypoint list is given.
 * - OKS = mean over visible GT keypoints of exp(-d² / (2·s²·k²)); a NaN prediction scores 0.
 */
export function objectKeypointSimilarity(pred: Pose, gt: Pose, sigma: number | readonly number[] = 0.1, margin = 0): number {
  const visible: number[] = [];
  gt.forEach((kp, i) => {
    if (!(Number.isNaN(kp[0]!) && Number.isNaN(kp[1]!))) visible.push(i);
  });
  if (visible.length < 2) return NaN;
  // np.ptp propagates NaN (a keypoint with one NaN coordinate)
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity, nanX = false, nanY = false;
  for (const i of visible) {
    const [x, y] = gt[i]! as [number, number];
    if (Number.isNaN(x)) nanX = true;
    if (Number.isNaN(y)) nanY = true;
    minX = Math.min(minX, x); maxX = Math.max(maxX, x);
    minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  const w = (nanX ? NaN : maxX - minX) + EPS + margin * 2;
  const h = (nanY ? NaN : maxY - minY) + EPS + margin * 2;
  const scale2 = w * h;
  if (Math.abs(scale2) <= 1e-8) return NaN; // np.isclose(scale_squared, 0)
  const oks = visible.map((i) => {
    const s = typeof sigma === 'number' ? sigma : sigma[i]!;
    const k2 = 2 * s * (2 * s);
    const denom = 2 * scale2 * k2;
    let px = pred[i]![0]!;
    let py = pred[i]![1]!;
    if (Number.isNaN(px)) px = Infinity;
    if (Number.isNaN(py)) py = Infinity;
    const dx = px - gt[i]![0]!;
    const dy = py - gt[i]![1]!;
    return Math.exp(-(dx * dx + dy * dy) / denom);
  });
  return mean(oks);
}

/** (n_pred, n_gt) OKS matrix. */
export function oksMatrix(gt: readonly Pose[], preds: readonly Pose[], sigma: number | readonly number[] = 0.1, margin = 0): number[][] {
  return preds.map((p) => gt.map((g) => objectKeypointSimilarity(p, g, sigma, margin)));
}

/** A prediction and the ground truth it was matched to (DeepLabCut's PotentialMatch). */
export interface PotentialMatch {
  pose: Pose;
  /** nanmean of the keypoint scores */
  score: number;
  gt: Pose | null;
  gtIndex: number;
  oks: number;
}

export function potentialMatch(pose: Pose): PotentialMatch {
  const score = nanMean(pose.map((kp) => kp[2]!));
  if (Number.isNaN(score)) throw new Error('Cannot create a match from a pose prediction where all scores are NaN');
  return { pose, score, gt: null, gtIndex: -1, oks: 0 };
}

/** Per-keypoint Euclidean distances to the matched GT (all NaN when unmatched). */
export function pixelErrors(m: PotentialMatch): number[] {
  return m.pose.map((kp, i) => {
    if (!m.gt) return NaN;
    const dx = kp[0]! - m.gt[i]![0]!;
    const dy = kp[1]! - m.gt[i]![1]!;
    return Math.sqrt(dx * dx + dy * dy);
  });
}

/**
 * DeepLabCut's greedy OKS matching. Predictions must already be sorted by score. Each prediction
 * takes its best GT (nanargmax); if that GT is taken it stays unmatched (pycocotools would try the
 * next GT), and it matches only when OKS >= threshold. Returns one entry per prediction.
 */
export function matchGreedyOks(gt: readonly Pose[], preds: readonly Pose[], oks: readonly (readonly number[])[], threshold = 0): PotentialMatch[] {
  const matches = preds.map(potentialMatch);
  const taken = new Set<number>();
  preds.forEach((_, i) => {
    const row = oks[i]!;
    let best = -1;
    for (let j = 0; j < row.length; j++) if (!Number.isNaN(row[j]!) && (best < 0 || row[j]! > row[best]!)) best = j;
    if (best < 0 || taken.has(best) || row[best]! < threshold) return;
    taken.add(best);
    Object.assign(matches[i]!, { gt: gt[best]!, gtIndex: best, oks: row[best]! });
  });
  return matches;
}
