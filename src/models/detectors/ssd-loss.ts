// SSD's training loss (torchvision 0.14 models/detection/ssd.py compute_loss, with _utils.py's SSDMatcher):
// each default box is matched to the ground-truth box it overlaps most when that IoU is >= 0.5, and each ground
// truth is also forced onto its best default box; the box loss is smooth L1 (beta 1) between the regression
// outputs and the BoxCoder codes of the matched boxes, over the matched boxes; the class loss is cross-entropy
// over the foreground boxes plus the hardest negatives (neg_to_pos_ratio = 3 per foreground box per image, by
// torch's sort order); both are divided by max(1, number of matched boxes).
// The matching runs on the host in float32 as torch computes box_iou (a few ground-truth boxes against a few
// thousand fixed default boxes), before the forward is recorded; the negatives are chosen from the per-box class
// loss read back once per step. The losses themselves are GPU ops, so gradients flow through autograd.
import { tensor } from '../../ops/creation.ts';
import { div, mul } from '../../ops/elementwise.ts';
import { crossEntropy, smoothL1Loss } from '../../ops/loss.ts';
import { sum } from '../../ops/reduce.ts';
import { concat, reshape } from '../../ops/shape.ts';
import { torchSortDescending } from '../../ops/sort.ts';
import type { BoxCoder } from '../../ops/boxes.ts';
import { noGrad } from '../../tensor/autograd.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { SSDHeadOutputs } from './ssd-head.ts';

const f32 = Math.fround;

/** torchvision's box_iou in float32 (each operation rounded as torch does): IoU [n * m] of a [n * 4] and b [m * 4], row-major. */
export function boxIouHost(a: Float32Array, b: Float32Array): Float32Array {
  const n = a.length / 4;
  const m = b.length / 4;
  const areaB = new Float32Array(m);
  for (let j = 0; j < m; j++) areaB[j] = f32(f32(b[4 * j + 2]! - b[4 * j]!) * f32(b[4 * j + 3]! - b[4 * j + 1]!));
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    const [x1, y1, x2, y2] = [a[4 * i]!, a[4 * i + 1]!, a[4 * i + 2]!, a[4 * i + 3]!];
    const areaA = f32(f32(x2 - x1) * f32(y2 - y1));
    for (let j = 0; j < m; j++) {
      const w = Math.max(f32(Math.min(x2, b[4 * j + 2]!) - Math.max(x1, b[4 * j]!)), 0);
      const h = Math.max(f32(Math.min(y2, b[4 * j + 3]!) - Math.max(y1, b[4 * j + 1]!)), 0);
      const inter = f32(w * h);
      out[i * m + j] = f32(inter / f32(f32(areaA + areaB[j]!) - inter));
    }
  }
  return out;
}

/**
 * torchvision's SSDMatcher(threshold) on an IoU matrix [gt * anchors]: per anchor the index of its best ground
 * truth (the first on ties, as torch's max) when that IoU is >= threshold, else -1; then every ground truth is
 * assigned to its best anchor (the first on ties; a later ground truth wins an anchor two share).
 */
export function ssdMatch(iou: Float32Array, numGt: number, numAnchors: number, threshold: number): Int32Array {
  if (numGt <= 0) throw new Error('ssdMatch: no ground-truth boxes (torchvision raises on an empty match matrix)');
  const matches = new Int32Array(numAnchors);
  for (let j = 0; j < numAnchors; j++) {
    let best = 0;
    let value = iou[j]!;
    for (let i = 1; i < numGt; i++) {
      const v = iou[i * numAnchors + j]!;
      if (v > value) [best, value] = [i, v];
    }
    // below_low_threshold -> -1; low == high, so nothing lies between the thresholds.
    matches[j] = value < threshold ? -1 : best;
  }
  for (let i = 0; i < numGt; i++) {
    let best = 0;
    for (let j = 1; j < numAnchors; j++) if (iou[i * numAnchors + j]! > iou[i * numAnchors + best]!) best = j;
    matches[best] = i;
  }
  return matches;
}

/** One image's ground truth in the transformed image's pixels. */
export interface SSDTarget {
  /** [n * 4] (x1, y1, x2, y2). */
  boxes: Float32Array;
  /** n class labels (> 0 for objects). */
  labels: Int32Array;
}

export interface SSDLossOptions {
  boxCoder: BoxCoder;
  /** SSDMatcher's threshold (torchvision's iou_thresh, 0.5). */
  iouThreshold: number;
  /** (1 - positive_fraction) / positive_fraction: 3 for SSD's 0.25. */
  negToPosRatio: number;
}

/** Per image, the matched ground truth of each anchor (-1: background): SSD.forward's matched_idxs. */
export function matchTargets(targets: readonly SSDTarget[], anchorsHost: Float32Array, iouThreshold: number): Int32Array[] {
  const A = anchorsHost.length / 4;
  return targets.map((t) => {
    const n = t.boxes.length / 4;
    if (n === 0) return new Int32Array(A).fill(-1);
    return ssdMatch(boxIouHost(t.boxes, anchorsHost), n, A, iouThreshold);
  });
}

/**
 * torchvision's SSD.compute_loss: { bbox_regression, classification } from the head's outputs ([N, A, 4] and
 * [N, A, C]), the default boxes (`anchors` [A, 4] on the GPU and `anchorsHost` the same values), the targets and
 * their matches (matchTargets). Reads the per-box class loss back once (hard negative mining).
 */
export async function ssdLoss(
  head: SSDHeadOutputs,
  anchors: Tensor,
  anchorsHost: Float32Array,
  targets: readonly SSDTarget[],
  matches: readonly Int32Array[],
  opts: SSDLossOptions,
): Promise<{ bbox_regression: Tensor; classification: Tensor }> {
  const [N, A, C] = head.clsLogits.shape as [number, number, number];
  if (head.bboxRegression.shape[0] !== N || head.bboxRegression.shape[1] !== A || head.bboxRegression.shape[2] !== 4)
    throw new Error(`ssdLoss: bbox regression [${head.bboxRegression.shape.join(', ')}] does not match class logits [${head.clsLogits.shape.join(', ')}] ([N, A, 4] and [N, A, C])`);
  if (anchorsHost.length !== 4 * A || anchors.shape[0] !== A) throw new Error(`ssdLoss: ${anchorsHost.length / 4} default boxes for ${A} head rows`);
  if (targets.length !== N || matches.length !== N) throw new Error(`ssdLoss: ${targets.length} targets and ${matches.length} matches for ${N} images`);

  // Host: the matched ground-truth box of every anchor (the anchor itself for background rows, whose codes are 0
  // and masked out), the foreground mask, and the class targets.
  const matched = new Float32Array(N * A * 4);
  const fg = new Float32Array(N * A);
  const clsTargets = new Float32Array(N * A);
  let numForeground = 0;
  for (let b = 0; b < N; b++) {
    const t = targets[b]!;
    const m = matches[b]!;
    for (let a = 0; a < A; a++) {
      const r = b * A + a;
      const g = m[a]!;
      if (g >= 0) {
        matched.set(t.boxes.subarray(4 * g, 4 * g + 4), 4 * r);
        fg[r] = 1;
        clsTargets[r] = t.labels[g]!;
        numForeground++;
      } else matched.set(anchorsHost.subarray(4 * a, 4 * a + 4), 4 * r);
    }
  }
  const norm = Math.max(1, numForeground);

  const tiled = N === 1 ? anchors : concat(Array.from({ length: N }, () => anchors), 0);
  const codes = noGrad(() => opts.boxCoder.encode(tensor(matched, [N * A, 4]), tiled));
  const boxLoss = smoothL1Loss(reshape(head.bboxRegression, [N * A, 4]), codes, { beta: 1, reduction: 'none' });
  const bboxRegression = div(sum(mul(boxLoss, tensor(fg, [N * A, 1]))), norm);

  const clsLoss = crossEntropy(reshape(head.clsLogits, [N * A, C]), tensor(clsTargets, [N * A]), { reduction: 'none' });
  const values = await clsLoss.toArray();
  // Hard negative mining: per image, the foreground rows (class target > 0) get -inf, the rest are ranked by
  // torch's descending sort, and rows ranked below neg_to_pos_ratio * #foreground are the negatives used.
  const weight = new Float32Array(N * A);
  for (let b = 0; b < N; b++) {
    const row = new Float64Array(A);
    let positives = 0;
    for (let a = 0; a < A; a++) {
      const r = b * A + a;
      const positive = clsTargets[r]! > 0;
      if (positive) positives++;
      row[a] = positive ? -Infinity : values[r]!;
      weight[r] = positive ? 1 : 0;
    }
    const numNegative = opts.negToPosRatio * positives;
    const order = torchSortDescending(row);
    // A row counts once as foreground and once more when it also ranks among the negatives, as torchvision's sum.
    for (let rank = 0; rank < A && rank < numNegative; rank++) weight[b * A + order[rank]!]! += 1;
  }
  const classification = div(sum(mul(clsLoss, tensor(weight, [N * A]))), norm);
  return { bbox_regression: bboxRegression, classification };
}
