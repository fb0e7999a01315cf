// Predictions over a dataset with the `data.inference` transforms (DeepLabCut's eval and
// evaluate_network path): per image, ground truth and predicted (x, y, score) mapped back to the
// original image's pixels, and optionally the loss terms against the ground truth.
import { AugmentationPipeline, PoseLoader, toOriginal, type Batch, type PoseDataset, type PoseSample } from '../data/index.ts';
import type { RgbImage } from '../io/image.ts';
import type { PoseConfig } from '../config/index.ts';
import { PoseModel } from '../models/pose-model.ts';
import { readSnapshot, SnapshotError, type SnapshotMetadata } from './checkpoint.ts';
import { concat, reshape } from '../ops/shape.ts';
import { noGrad } from '../tensor/autograd.ts';
import { tidy } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';

export type Pose = number[][];

export interface ImagePrediction {
  /** Path relative to the project root (labeled-data/<video>/<img>.png), or the image path. */
  image: string;
  imageId: number;
  /** [individuals][K] (x, y, visibility) in original pixels (top-down: the annotated individuals, one per crop). */
  gt: Pose[];
  /** [predicted individuals][K] (x, y, score) in original pixels. */
  pred: Pose[];
  /** A top-down model's detections (xywh, original pixels), one per predicted individual. */
  boxes?: number[][];
}

export interface InferenceResult {
  images: ImagePrediction[];
  /** Mean of each loss term over batches (when losses were asked for). */
  losses: Record<string, number>;
}

/** A batch's predictions [B, K, 3] (batch pixels) -> per item one pose in original pixels. */
function posesOf(batch: Batch, data: Float32Array, K: number): Pose[][] {
  return batch.items.map((item, b) => {
    const pose: Pose = [];
    for (let k = 0; k < K; k++) {
      const o = (b * K + k) * 3;
      const [x, y] = toOriginal(item, data[o]!, data[o + 1]!);
      pose.push([x, y, data[o + 2]!]);
    }
    return [pose];
  });
}

function groundTruthOf(batch: Batch): Pose[][] {
  const { individuals: N, bodyparts: K } = batch;
  return batch.items.map((item, b) => {
    const poses: Pose[] = [];
    for (let i = 0; i < N; i++) {
      const pose: Pose = [];
      for (let k = 0; k < K; k++) {
        const o = ((b * N + i) * K + k) * 3;
        const v = batch.keypoints[o + 2]!;
        const [x, y] = v > 0 ? toOriginal(item, batch.keypoints[o]!, batch.keypoints[o + 1]!) : [NaN, NaN];
        pose.push([x, y, v]);
      }
      poses.push(pose);
    }
    return poses;
  });
}

/** Forward (no gradients) on one batch: predictions [B, K, 3] and, with `withLoss`, the loss terms. */
export async function predictBatch(model: PoseModel, batch: Batch, withLoss: boolean): Promise<{ pred: Float32Array; K: number; losses: Record<string, number> | null }> {
  let names: string[] = [];
  const { pred, loss } = noGrad(() =>
    tidy(() => {
      const out = model.forward(batch.images);
      const p = model.getPredictions(out).bodypart;
      if (!p) throw new Error("the model has no 'bodypart' head");
      let l: Tensor | null = null;
      if (withLoss) {
        const targets = model.getTarget({ data: batch.keypoints, batch: batch.batchSize, individuals: batch.individuals }, out);
        const terms = model.getLoss(out, targets);
        names = Object.keys(terms);
        l = concat(names.map((n) => reshape(terms[n]!, [1])), 0);
      }
      return { pred: p, loss: l };
    }),
  );
  try {
    const data = await pred.toArray();
    const K = pred.shape[1]!;
    let losses: Record<string, number> | null = null;
    if (loss) {
      const v = await loss.toArray();
      losses = Object.fromEntries(names.map((n, i) => [n, v[i]!]));
    }
    return { pred: data, K, losses };
  } finally {
    pred.dispose();
    loss?.dispose();
  }
}

/** Runs the model (in eval mode) over a dataset, `batchSize` images at a time, in dataset order. */
export async function predictDataset(
  model: PoseModel,
  dataset: PoseDataset,
  pipeline: AugmentationPipeline,
  options: { batchSize?: number; withLoss?: boolean; seed?: number; limit?: number } = {},
): Promise<InferenceResult> {
  const loader = new PoseLoader(dataset, pipeline, { batchSize: options.batchSize ?? 1, seed: options.seed ?? 0, shuffle: false });
  const images: ImagePrediction[] = [];
  const sums = new Map<string, { sum: number; n: number }>();
  // `limit` counts images: a top-down image's crops are consecutive items, all kept.
  const seen = new Set<number>();
  model.eval();
  try {
    for await (const batch of loader.epoch(0)) {
      if (options.limit !== undefined && seen.size >= options.limit && batch.items.every((item) => !seen.has(item.imageId))) {
        batch.dispose();
        break;
      }
      for (const item of batch.items) seen.add(item.imageId);
      try {
        const { pred, K, losses } = await predictBatch(model, batch, !!options.withLoss);
        const preds = posesOf(batch, pred, K);
        const gts = groundTruthOf(batch);
        batch.items.forEach((item, b) => images.push({ image: item.relPath, imageId: item.imageId, gt: gts[b]!, pred: preds[b]! }));
        for (const [k, v] of Object.entries(losses ?? {})) {
          const s = sums.get(k) ?? { sum: 0, n: 0 };
          if (!Number.isNaN(v)) {
            s.sum += v;
            s.n += 1;
          }
          sums.set(k, s);
        }
      } finally {
        batch.dispose();
      }
    }
  } finally {
    await loader.close();
  }
  const losses: Record<string, number> = {};
  for (const [k, s] of sums) losses[k] = s.n ? s.sum / s.n : NaN;
  return { images: dataset.mode === 'top-down' ? byImage(images) : images, losses };
}

/**
 * Top-down items are annotations (one crop each): regroup them per image, every annotated individual's ground
 * truth and every crop's prediction, in item order, so metrics match predictions to individuals per image.
 */
export function byImage(items: readonly ImagePrediction[]): ImagePrediction[] {
  const out = new Map<number, ImagePrediction>();
  for (const item of items) {
    const entry = out.get(item.imageId);
    if (entry) {
      entry.gt.push(...item.gt);
      entry.pred.push(...item.pred);
    } else out.set(item.imageId, { image: item.image, imageId: item.imageId, gt: [...item.gt], pred: [...item.pred] });
  }
  return [...out.values()];
}

/** A label-free sample for an arbitrary image (dlc-gpu predict). */
export function unlabeledSample(path: string, image: RgbImage, bodyparts: number, uniqueBodyparts: number, imageId = 0): PoseSample {
  return {
    imageId,
    path,
    relPath: path,
    width: image.width,
    height: image.height,
    individuals: 1,
    bodyparts,
    keypoints: new Float32Array(bodyparts * 3),
    unique: new Float32Array(uniqueBodyparts * 3).fill(-1),
    boxes: new Float32Array(4),
    individualIds: Int32Array.of(-1),
    annotations: 0,
  };
}

/** Predicts one decoded image with the inference transforms: one pose [K] of (x, y, score) in image pixels. */
export async function predictImage(model: PoseModel, pipeline: AugmentationPipeline, path: string, image: RgbImage, bodyparts: number, uniqueBodyparts: number): Promise<Pose[]> {
  const batch = pipeline.run([unlabeledSample(path, image, bodyparts, uniqueBodyparts)], [image], [0]);
  try {
    const { pred, K } = await predictBatch(model, batch, false);
    return posesOf(batch, pred, K)[0]!;
  } finally {
    batch.dispose();
  }
}

/** A pose model built from the config with a snapshot's weights, in eval mode. */
export function loadPoseModel(config: PoseConfig, snapshotPath: string): { model: PoseModel; metadata: SnapshotMetadata } {
  const snap = readSnapshot(snapshotPath);
  const model = new PoseModel(config.model as ConstructorParameters<typeof PoseModel>[0], { seed: 0 });
  try {
    model.loadStateDict(snap.model, true);
  } catch (e) {
    model.dispose();
    throw new SnapshotError(`${snapshotPath}: ${(e as Error).message}`);
  }
  model.eval();
  return { model, metadata: snap.metadata };
}

/**
 * Records the forward pass and the predictor on one batch (no gradients) and returns its poses [B, K, 3] in
 * batch pixels, still on the GPU: the caller reads them back (and disposes), so several batches can be
 * queued before the first result is read (dlc-gpu analyze-videos).
 */
export function recordPredictions(model: PoseModel, images: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const p = model.getPredictions(model.forward(images)).bodypart;
      if (!p) throw new Error("the model has no 'bodypart' head");
      return p;
    }),
  );
}

/** Per batch item, its pose [K] of (x, y, score) in original pixels, from predictions [B, K, 3] in batch pixels. */
export function batchPoses(batch: Pick<Batch, 'items'>, data: Float32Array, K: number): Pose[] {
  return posesOf(batch as Batch, data, K).map((p) => p[0]!);
}
