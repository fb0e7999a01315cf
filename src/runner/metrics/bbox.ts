// DeepLabCut's detector metrics (core/metrics/bbox.py), which run pycocotools' COCOeval(iouType="bbox") with
// one category: mAP@50:95, mAP@50, mAP@75, mAR@50:95, mAR@50, mAR@75 for area "all" and at most 100 detections
// per image, each x100, -1 where COCOeval leaves the value undefined (no ground truth), and all zeros when there
// is no prediction at all. Written from pycocotools' cocoeval.py and maskApi.c (bbIou), step for step, in
// float64: detections sorted by score with a stable sort, the greedy per-threshold matching, the precision
// envelope and the 101-point recall sampling (test/fixtures/bbox_metrics.json holds pycocotools' numbers).
import { argsortDescending, linspace, searchsortedLeft } from './numeric.ts';

/** One image: ground-truth and detected boxes as [x, y, w, h] (pixels), detection scores. */
export interface BboxImage {
  gt: readonly (readonly number[])[];
  dets: readonly (readonly number[])[];
  scores: readonly number[];
}

export interface BboxMetrics {
  'mAP@50:95': number;
  'mAP@50': number;
  'mAP@75': number;
  'mAR@50:95': number;
  'mAR@50': number;
  'mAR@75': number;
}

const IOU_THRESHOLDS = linspace(0.5, 0.95, 10);
const RECALL_THRESHOLDS = linspace(0, 1, 101);
const MAX_DETS = 100;
// COCOeval's "all" area range; DeepLabCut's GT area is max(1, w*h), detections' w*h.
const AREA_ALL: [number, number] = [0, 1e5 ** 2];

/** maskApi.c bbIou for non-crowd ground truth: intersection over union of xywh boxes, 0 when they do not overlap. */
function iou(d: readonly number[], g: readonly number[]): number {
  const w = Math.min(d[2]! + d[0]!, g[2]! + g[0]!) - Math.max(d[0]!, g[0]!);
  if (w <= 0) return 0;
  const h = Math.min(d[3]! + d[1]!, g[3]! + g[1]!) - Math.max(d[1]!, g[1]!);
  if (h <= 0) return 0;
  const i = w * h;
  return i / (d[2]! * d[3]! + g[2]! * g[3]! - i);
}

interface ImageEval {
  /** Per IoU threshold, per kept detection (score order): matched (a ground truth) or not. */
  matched: boolean[][];
  /** Per threshold and detection: ignored (matched to an ignored ground truth, or an unmatched one out of the area range). */
  ignored: boolean[][];
  scores: number[];
  /** Ground truths that count (not ignored). */
  counted: number;
}

/** COCOeval.evaluateImg for one image, area "all", maxDet 100 (null when it has neither ground truth nor detections). */
function evaluateImage(img: BboxImage): ImageEval | null {
  if (img.gt.length === 0 && img.dets.length === 0) return null;
  // GT sorted "ignore last": with area "all" and no crowds none is ignored, so their order stays.
  const gtIgnored = img.gt.map((g) => {
    const area = Math.max(1, g[2]! * g[3]!);
    return area < AREA_ALL[0] || area > AREA_ALL[1];
  });
  const gtOrder = gtIgnored.map((_, i) => i).sort((a, b) => Number(gtIgnored[a]) - Number(gtIgnored[b]));
  const gt = gtOrder.map((i) => img.gt[i]!);
  const gtIg = gtOrder.map((i) => gtIgnored[i]!);
  const order = argsortDescending([...img.scores]).slice(0, MAX_DETS);
  const dets = order.map((i) => img.dets[i]!);
  const ious = dets.map((d) => gt.map((g) => iou(d, g)));
  const matched: boolean[][] = [];
  const ignored: boolean[][] = [];
  for (const t of IOU_THRESHOLDS) {
    const gtTaken = new Array<boolean>(gt.length).fill(false);
    const m = new Array<boolean>(dets.length).fill(false);
    const ig = new Array<boolean>(dets.length).fill(false);
    if (gt.length > 0) {
      dets.forEach((_, d) => {
        let best = Math.min(t, 1 - 1e-10);
        let match = -1;
        for (let g = 0; g < gt.length; g++) {
          if (gtTaken[g]) continue;
          if (match > -1 && !gtIg[match] && gtIg[g]) break;
          if (ious[d]![g]! < best) continue;
          best = ious[d]![g]!;
          match = g;
        }
        if (match === -1) return;
        ig[d] = gtIg[match]!;
        m[d] = true;
        gtTaken[match] = true;
      });
    }
    // Unmatched detections outside the area range are ignored.
    dets.forEach((d, i) => {
      const area = d[2]! * d[3]!;
      if (!m[i] && (area < AREA_ALL[0] || area > AREA_ALL[1])) ig[i] = true;
    });
    matched.push(m);
    ignored.push(ig);
  }
  return { matched, ignored, scores: order.map((i) => img.scores[i]!), counted: gtIg.filter((x) => !x).length };
}

/** COCOeval.accumulate for the one category, area and maxDets: precision [T][R] and recall [T], or null (no counted GT). */
function accumulate(evals: ImageEval[]): { precision: number[][]; recall: number[] } | null {
  if (evals.length === 0) return null;
  const scores = evals.flatMap((e) => e.scores);
  const order = argsortDescending(scores);
  const counted = evals.reduce((n, e) => n + e.counted, 0);
  if (counted === 0) return null;
  const precision: number[][] = [];
  const recall: number[] = [];
  IOU_THRESHOLDS.forEach((_, t) => {
    const m = evals.flatMap((e) => e.matched[t]!);
    const ig = evals.flatMap((e) => e.ignored[t]!);
    const rc: number[] = [];
    const pr: number[] = [];
    let tp = 0;
    let fp = 0;
    for (const i of order) {
      if (m[i] && !ig[i]) tp++;
      if (!m[i] && !ig[i]) fp++;
      rc.push(tp / counted);
      pr.push(tp / (fp + tp + Number.EPSILON));
    }
    recall.push(rc.length ? rc[rc.length - 1]! : 0);
    for (let i = pr.length - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
    // Past the last recall reached, precision stays 0 (pycocotools' try/except around the lookup).
    const q = RECALL_THRESHOLDS.map(() => 0);
    for (let r = 0; r < RECALL_THRESHOLDS.length; r++) {
      const at = searchsortedLeft(rc, RECALL_THRESHOLDS[r]!);
      if (at >= pr.length) break;
      q[r] = pr[at]!;
    }
    precision.push(q);
  });
  return { precision, recall };
}

/** DeepLabCut's compute_bbox_metrics over images (one category). */
export function computeBboxMetrics(images: readonly BboxImage[]): BboxMetrics {
  for (const [i, img] of images.entries())
    if (img.dets.length !== img.scores.length) throw new Error(`image ${i}: ${img.dets.length} detections but ${img.scores.length} scores`);
  if (images.every((img) => img.dets.length === 0)) return { 'mAP@50:95': 0, 'mAP@50': 0, 'mAP@75': 0, 'mAR@50:95': 0, 'mAR@50': 0, 'mAR@75': 0 };
  const acc = accumulate(images.map(evaluateImage).filter((e): e is ImageEval => e !== null));
  const mean = (values: number[]) => (values.length ? (100 * values.reduce((a, b) => a + b, 0)) / values.length : -1);
  if (!acc) return { 'mAP@50:95': -1, 'mAP@50': -1, 'mAP@75': -1, 'mAR@50:95': -1, 'mAR@50': -1, 'mAR@75': -1 };
  const at = (v: number) => IOU_THRESHOLDS.indexOf(v);
  // The mean of all precision values, in pycocotools' memory order (threshold-major): summing in another order
  // could differ in the last bits.
  return {
    'mAP@50:95': mean(acc.precision.flat()),
    'mAP@50': mean(acc.precision[at(0.5)]!),
    'mAP@75': mean(acc.precision[at(0.75)]!),
    'mAR@50:95': mean(acc.recall),
    'mAR@50': mean([acc.recall[at(0.5)]!]),
    'mAR@75': mean([acc.recall[at(0.75)]!]),
  };
}
