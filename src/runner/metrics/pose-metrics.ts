// Pose metrics as DeepLabCut 3.0.1 computes them (deeplabcut/core/metrics/api.py and
// distance_metrics.py): "RMSE" (really the mean Euclidean pixel error), RMSE over keypoints with
// score >= pcutoff, and OKS mAP / mAR. Each NaN-or-0-by-definition result carries a reason.
import { argsortDescending, countNonNaN, EPS, linspace, mean, nanMean, nanSum, searchsortedLeft } from './numeric.ts';
import { matchGreedyOks, oksMatrix, pixelErrors, potentialMatch, type Pose, type PotentialMatch } from './oks.ts';

/** Per image: (n_individuals, K, 3+) poses. GT: x, y, visibility (<= 0: unlabeled; NaN coordinates also
 * mean unlabeled). Predictions: x, y, score (< 0: missing, e.g. DeepLabCut's -1 padding); extra
 * columns (PAF ids, affinity) are ignored. */
export type PoseSet = readonly Pose[];
/** Images by id, in the order DeepLabCut iterates them (a Map keeps insertion order for any key). */
export type ImagePoses = ReadonlyMap<string, PoseSet> | Readonly<Record<string, PoseSet>>;

export interface PoseMetricsOptions {
  /** Single-animal RMSE matches the one prediction to the one GT directly (evaluate_network with one individual).
   * Training-time evaluation always uses false (OKS matching), as DeepLabCut does. Default false. */
  singleAnimal?: boolean;
  /** Scalar, or one value per bodypart followed by one per unique bodypart. DeepLabCut's runner uses 0.6. */
  pcutoff?: number | readonly number[];
  oksSigma?: number;
  oksBboxMargin?: number;
  uniqueGroundTruth?: ImagePoses;
  uniquePredictions?: ImagePoses;
}

export type MetricName = 'rmse' | 'rmse_pcutoff' | 'mAP' | 'mAR';

export interface PoseMetrics {
  rmse: number;
  rmse_pcutoff: number;
  mAP: number;
  mAR: number;
  /** Per bodypart (then per unique bodypart): nanmean of the matched pixel errors, NaN where none. */
  keypoints: { rmse: number[]; rmse_pcutoff: number[]; unique_rmse: number[]; unique_rmse_pcutoff: number[] };
  /** Why a metric is NaN, or 0 by definition, when it is. */
  reasons: Partial<Record<MetricName, string>>;
}

export type EvaluationData = { gt: number[][][]; pred: number[][][] }[];

function entries(images: ImagePoses): [string, PoseSet][] {
  return images instanceof Map ? [...images.entries()] : Object.entries(images as Record<string, PoseSet>);
}

const valid = (kp: readonly number[]) => !Number.isNaN(kp[0]!) && !Number.isNaN(kp[1]!) && !Number.isNaN(kp[2]!);

/**
 * prepare_evaluation_data: GT keypoints with visibility <= 0 and predicted keypoints with score < 0
 * become NaN (all three values); individuals without any fully valid keypoint are dropped;
 * predictions are sorted by mean score, descending (stable).
 */
export function prepareEvaluationData(groundTruth: ImagePoses, predictions: ImagePoses): EvaluationData {
  const predMap = new Map(entries(predictions));
  return entries(groundTruth).map(([image, gtPoses]) => {
    const predPoses = predMap.get(image);
    if (!predPoses) throw new Error(`no predictions for image ${image}`);
    const gt = gtPoses
      .map((pose) => pose.map((kp) => (kp[2]! <= 0 ? [NaN, NaN, NaN] : [kp[0]!, kp[1]!, kp[2]!])))
      .filter((pose) => pose.some(valid));
    const pred = predPoses
      .map((pose) => pose.map((kp) => (kp[2]! < 0 ? [NaN, NaN, NaN] : [kp[0]!, kp[1]!, kp[2]!])))
      .filter((pose) => pose.some(valid));
    const order = argsortDescending(pred.map((pose) => nanMean(pose.map((kp) => kp[2]!))));
    return { gt, pred: order.map((i) => pred[i]!) };
  });
}

function matchForRmse(data: EvaluationData, singleAnimal: boolean, margin: number): PotentialMatch[] {
  const matches: PotentialMatch[] = [];
  for (const { gt, pred } of data) {
    if (singleAnimal) {
      if (gt.length > 1 || pred.length > 1)
        throw new Error(`At most 1 individual and 1 prediction can be given when computing single animal RMSE. Found ${gt.length} ground truth and ${pred.length} predictions`);
      if (gt.length === 1 && pred.length === 1) {
        const m = potentialMatch(pred[0]!);
        Object.assign(m, { gt: gt[0]!, gtIndex: 0, oks: NaN });
        matches.push(m);
      }
    } else {
      matches.push(...matchGreedyOks(gt, pred, oksMatrix(gt, pred, 0.1, margin), 1e-6));
    }
  }
  return matches;
}

interface ErrorSums { error: number; support: number; cutoffError: number; cutoffSupport: number; perKeypoint: number[]; perKeypointCutoff: number[] }

function collect(matches: PotentialMatch[], cutoffs: readonly number[], numKeypoints: number): ErrorSums {
  const errors = matches.map(pixelErrors); // (M, K)
  const flat = errors.flat();
  const scores = matches.flatMap((m) => m.pose.map((kp) => kp[2]!));
  const support = countNonNaN(flat);
  let error = 0, cutoffError = 0, cutoffSupport = 0;
  if (support > 0) {
    error += nanSum(flat);
    const kept = flat.filter((_, i) => scores[i]! >= cutoffs[i % numKeypoints]!);
    cutoffSupport = countNonNaN(kept);
    if (cutoffSupport > 0) cutoffError = nanSum(kept);
  }
  const column = (k: number, useCutoff: boolean) =>
    nanMean(errors.map((row, m) => (useCutoff && !(matches[m]!.pose[k]![2]! >= cutoffs[k]!) ? NaN : row[k]!)));
  const ks = Array.from({ length: numKeypoints }, (_, k) => k);
  return { error, support, cutoffError, cutoffSupport, perKeypoint: ks.map((k) => column(k, false)), perKeypointCutoff: ks.map((k) => column(k, true)) };
}

function cutoffLists(pcutoff: number | readonly number[], k: number, u: number): [number[], number[]] {
  if (typeof pcutoff === 'number') return [Array<number>(k).fill(pcutoff), Array<number>(u).fill(pcutoff)];
  if (pcutoff.length !== k + u)
    throw new Error(`pcutoff has ${pcutoff.length} values; expected one per bodypart (${k}) plus one per unique bodypart (${u})`);
  return [pcutoff.slice(0, k), pcutoff.slice(k)];
}

function keypointCount(data: EvaluationData, images: ImagePoses): number {
  for (const [, poses] of entries(images)) if (poses.length) return poses[0]!.length;
  for (const d of data) for (const p of [...d.gt, ...d.pred]) return p.length;
  return 0;
}

/** compute_rmse: mean pixel error over matched keypoints (bodyparts and unique bodyparts pooled). */
export function computeRmse(
  groundTruth: ImagePoses,
  predictions: ImagePoses,
  opts: PoseMetricsOptions = {},
): Pick<PoseMetrics, 'rmse' | 'rmse_pcutoff' | 'keypoints' | 'reasons'> {
  const data = prepareEvaluationData(groundTruth, predictions);
  return rmseFromData(data, keypointCount(data, groundTruth), opts);
}

function rmseFromData(data: EvaluationData, numKeypoints: number, opts: PoseMetricsOptions): Pick<PoseMetrics, 'rmse' | 'rmse_pcutoff' | 'keypoints' | 'reasons'> {
  const pcutoff = opts.pcutoff ?? 0.6;
  let uniqueData: EvaluationData | undefined;
  let numUnique = 0;
  if (opts.uniqueGroundTruth) {
    if (!opts.uniquePredictions) throw new Error('uniqueGroundTruth needs uniquePredictions');
    uniqueData = prepareEvaluationData(opts.uniqueGroundTruth, opts.uniquePredictions);
    numUnique = keypointCount(uniqueData, opts.uniqueGroundTruth);
  }
  const [cut, uniqueCut] = cutoffLists(pcutoff, numKeypoints, numUnique);
  const matches = matchForRmse(data, opts.singleAnimal ?? false, opts.oksBboxMargin ?? 0);
  const main = collect(matches, cut, numKeypoints);
  let { error, support, cutoffError, cutoffSupport } = main;
  let unique: ErrorSums | undefined;
  if (uniqueData) {
    unique = collect(matchForRmse(uniqueData, true, 0), uniqueCut, numUnique);
    error += unique.error;
    support += unique.support;
    cutoffError += unique.cutoffError;
    cutoffSupport += unique.cutoffSupport;
  }
  const reasons: PoseMetrics['reasons'] = {};
  const rmse = support > 0 ? error / support : NaN;
  const rmsePcutoff = cutoffSupport > 0 ? cutoffError / cutoffSupport : NaN;
  if (support === 0) reasons.rmse = rmseReason(data, uniqueData, opts.singleAnimal ?? false);
  if (cutoffSupport === 0) {
    const p = typeof pcutoff === 'number' ? String(pcutoff) : `[${pcutoff.join(', ')}]`;
    reasons.rmse_pcutoff = support === 0 ? `no keypoint error to average: ${reasons.rmse}` : `no matched keypoint has a prediction score >= pcutoff (${p}), so there is no error to average`;
  }
  return {
    rmse,
    rmse_pcutoff: rmsePcutoff,
    keypoints: {
      rmse: main.perKeypoint,
      rmse_pcutoff: main.perKeypointCutoff,
      unique_rmse: unique?.perKeypoint ?? [],
      unique_rmse_pcutoff: unique?.perKeypointCutoff ?? [],
    },
    reasons,
  };
}

function rmseReason(data: EvaluationData, unique: EvaluationData | undefined, singleAnimal: boolean): string {
  const all = [...data, ...(unique ?? [])];
  if (!all.some((d) => d.gt.length)) return 'no ground truth: no image has a labeled (visibility > 0) keypoint';
  if (!all.some((d) => d.pred.length)) return 'no predictions: no image has a predicted keypoint with score >= 0';
  if (singleAnimal) return 'no keypoint is both labeled and predicted in the same image';
  return (
    'no prediction was matched to a ground-truth individual: multi-animal matching (used during training even for ' +
    'single-animal projects) needs OKS >= 1e-6 with a ground truth that has at least 2 labeled keypoints not all on one ' +
    'horizontal or vertical line'
  );
}

/** compute_oks: mAP and mAR (×100) over OKS thresholds 0.50:0.05:0.95, 101 recall points. */
export function computeOksMetrics(
  groundTruth: ImagePoses,
  predictions: ImagePoses,
  opts: Pick<PoseMetricsOptions, 'oksSigma' | 'oksBboxMargin'> = {},
): Pick<PoseMetrics, 'mAP' | 'mAR' | 'reasons'> {
  return oksFromData(prepareEvaluationData(groundTruth, predictions), opts.oksSigma ?? 0.1, opts.oksBboxMargin ?? 0);
}

export const OKS_THRESHOLDS: readonly number[] = linspace(0.5, 0.95, 10);
export const RECALL_THRESHOLDS: readonly number[] = linspace(0, 1, 101);

function oksFromData(data: EvaluationData, sigma: number, margin: number): Pick<PoseMetrics, 'mAP' | 'mAR' | 'reasons'> {
  const atLeast2 = (pose: number[][]) => pose.filter(valid).length > 1;
  let totalGt = 0;
  const images = data.map(({ gt, pred }) => {
    const g = gt.filter(atLeast2);
    const p = pred.filter(atLeast2);
    totalGt += g.length;
    return { g, p, oks: oksMatrix(g, p, sigma, margin) };
  });
  const precisions: number[] = [];
  const recalls: number[] = [];
  for (const thr of OKS_THRESHOLDS) {
    const matches = images.flatMap(({ g, p, oks }) => matchGreedyOks(g, p, oks, thr));
    if (matches.length === 0) {
      return {
        mAP: 0,
        mAR: 0,
        reasons: {
          mAP: 'no prediction has at least 2 keypoints with score >= 0, so mAP is 0 by definition',
          mAR: 'no prediction has at least 2 keypoints with score >= 0, so mAR is 0 by definition',
        },
      };
    }
    const order = argsortDescending(matches.map((m) => m.score));
    const n = order.length;
    const rc = new Float64Array(n);
    const pr = new Float64Array(n);
    let tp = 0, fp = 0;
    order.forEach((idx, i) => {
      if (matches[idx]!.oks >= thr) tp++;
      else fp++;
      rc[i] = tp / totalGt;
      pr[i] = tp / (fp + tp + EPS);
    });
    recalls.push(rc[n - 1]!);
    for (let i = n - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
    for (const r of RECALL_THRESHOLDS) {
      const j = searchsortedLeft(rc, r);
      precisions.push(j < n ? pr[j]! : 0);
    }
  }
  const reasons: PoseMetrics['reasons'] = {};
  const mAP = 100 * mean(precisions);
  const mAR = 100 * mean(recalls);
  if (totalGt === 0) {
    reasons.mAR = 'no ground-truth individual has at least 2 labeled keypoints, so recall is undefined (NaN)';
    reasons.mAP = 'no ground-truth individual has at least 2 labeled keypoints, so every prediction is a false positive and mAP is 0';
  } else if (mAP === 0) {
    reasons.mAP = 'no prediction reached OKS >= 0.5 with an unmatched ground truth, so mAP is 0';
    if (mAR === 0) reasons.mAR = reasons.mAP.replace('mAP', 'mAR');
  }
  return { mAP, mAR, reasons };
}

/**
 * compute_metrics(gt, pred, single_animal, pcutoff, ...) without detection RMSE: what DeepLabCut's
 * training runner logs (with singleAnimal false and pcutoff 0.6) and evaluate_network reports.
 */
export function computeMetrics(groundTruth: ImagePoses, predictions: ImagePoses, opts: PoseMetricsOptions = {}): PoseMetrics {
  const data = prepareEvaluationData(groundTruth, predictions);
  const oks = oksFromData(data, opts.oksSigma ?? 0.1, opts.oksBboxMargin ?? 0);
  const rmse = rmseFromData(data, keypointCount(data, groundTruth), opts);
  return { rmse: rmse.rmse, rmse_pcutoff: rmse.rmse_pcutoff, mAP: oks.mAP, mAR: oks.mAR, keypoints: rmse.keypoints, reasons: { ...rmse.reasons, ...oks.reasons } };
}

/** DeepLabCut's result keys: rmse, rmse_pcutoff, mAP, mAR, and with perKeypoint rmse_keypoint_i / rmse_unique_keypoint_i. */
export function toDlcResults(m: PoseMetrics, perKeypoint = false): Record<string, number> {
  const out: Record<string, number> = { rmse: m.rmse, rmse_pcutoff: m.rmse_pcutoff, mAP: m.mAP, mAR: m.mAR };
  if (perKeypoint) {
    m.keypoints.rmse.forEach((v, i) => (out[`rmse_keypoint_${i}`] = v));
    m.keypoints.unique_rmse.forEach((v, i) => (out[`rmse_unique_keypoint_${i}`] = v));
  }
  return out;
}

/** Keeps the given keypoint columns of every pose (evaluate_network's `comparison_bodyparts`). */
export function subsetKeypoints(images: ImagePoses, indices: readonly number[]): Map<string, PoseSet> {
  return new Map(entries(images).map(([k, poses]) => [k, poses.map((pose) => indices.map((i) => pose[i]!))]));
}
