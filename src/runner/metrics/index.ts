// Evaluation metrics as DeepLabCut 3.0.1 computes them: "RMSE" (mean Euclidean pixel error),
// RMSE over keypoints with score >= pcutoff, per-keypoint errors, and OKS mAP / mAR, each with a
// reason string when it is NaN or 0 by definition.
export {
  computeMetrics, computeOksMetrics, computeRmse, OKS_THRESHOLDS, prepareEvaluationData, RECALL_THRESHOLDS, subsetKeypoints, toDlcResults,
  type EvaluationData, type ImagePoses, type MetricName, type PoseMetrics, type PoseMetricsOptions, type PoseSet,
} from './pose-metrics.ts';
export { matchGreedyOks, objectKeypointSimilarity, oksMatrix, pixelErrors, potentialMatch, type Pose, type PotentialMatch } from './oks.ts';
export { argsortDescending, linspace, mean, nanMean, nanSum, pairwiseSum, searchsortedLeft } from './numeric.ts';
