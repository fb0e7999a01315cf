// Top-down inference as DeepLabCut runs it (apis/utils.py get_inference_runners with a detector): the detector on
// each whole frame (detector.data.inference transforms: normalisation only), its first max_individuals boxes
// (torchvision returns them score-sorted) as xywh in frame pixels, a top_down_crop of each box
// (data.inference.top_down_crop), the pose model on the crops in batches of `batchSize` (crops of successive
// frames flattened into one list), each crop's keypoints mapped back to the frame, and the outputs padded to
// max_individuals with -1 (poses, boxes and box scores). The pose score is not multiplied by the box score.
import type { PoseConfig } from '../config/index.ts';
import { AugmentationPipeline, type PoseDataset, type PoseSample } from '../data/index.ts';
import type { RgbImage } from '../io/image.ts';
import type { Detector } from '../models/detectors/detector.ts';
import type { PoseModel } from '../models/pose-model.ts';
import { scope } from '../tensor/scope.ts';
import { boxesToOriginal, detectorImages } from './detector-train.ts';
import { batchPoses, predictBatch, unlabeledSample, type ImagePrediction, type Pose } from './inference.ts';

export interface Frame {
  /** The image file (or `<video>@<frame>`), for messages. */
  path: string;
  image: RgbImage;
}

export interface FrameBoxes {
  /** xywh in frame pixels, score order. */
  boxes: number[][];
  scores: number[];
}

export interface TopDownPrediction {
  /** [maxIndividuals][K] (x, y, score) in frame pixels; rows past the detections are -1. */
  poses: Pose[];
  /** [maxIndividuals] xywh; -1 past the detections. */
  boxes: number[][];
  /** [maxIndividuals]; -1 past the detections. */
  boxScores: number[];
}

/** Runs the detector (in eval mode) on each frame; keeps its first `maxIndividuals` boxes. */
export async function detectBoxes(detector: Detector, pipeline: AugmentationPipeline, frames: readonly Frame[], maxIndividuals: number): Promise<FrameBoxes[]> {
  detector.eval();
  const out: FrameBoxes[] = [];
  for (const frame of frames) {
    const batch = pipeline.run([unlabeledSample(frame.path, frame.image, 0, 0)], [frame.image], [0]);
    try {
      const found = await scope(async () => (await detector.detect(detectorImages(batch))).detections[0]!);
      const boxes = boxesToOriginal(batch.items[0]!, found).slice(0, maxIndividuals);
      out.push({ boxes, scores: Array.from(found.scores.slice(0, boxes.length)) });
    } finally {
      batch.dispose();
    }
  }
  return out;
}

/**
 * The detector on `frames` (all one size, as a video's) in one call, as DeepLabCut's detector runner takes
 * detector_batch_size frames at a time: per frame, its first `maxIndividuals` boxes (xywh, frame pixels) and scores.
 */
export async function detectBatch(detector: Detector, pipeline: AugmentationPipeline, frames: readonly Frame[], maxIndividuals: number): Promise<FrameBoxes[]> {
  detector.eval();
  const batch = pipeline.run(frames.map((f, i) => unlabeledSample(f.path, f.image, 0, 0, i)), frames.map((f) => f.image), frames.map(() => 0));
  try {
    const found = await scope(async () => (await detector.detect(detectorImages(batch))).detections);
    return found.map((d, i) => {
      const boxes = boxesToOriginal(batch.items[i]!, d).slice(0, maxIndividuals);
      return { boxes, scores: Array.from(d.scores.slice(0, boxes.length)) };
    });
  } finally {
    batch.dispose();
  }
}

/** A crop sample: the frame with one "annotation" whose box is `box` (the top_down_crop transform crops around it). */
export function cropSample(frame: Frame, box: readonly number[], bodyparts: number, uniqueBodyparts: number): PoseSample {
  const s = unlabeledSample(frame.path, frame.image, bodyparts, uniqueBodyparts);
  s.boxes = Float32Array.from(box);
  s.annotation = 0;
  // One annotation in use: the augmentation crops around in-use slots' boxes only.
  s.annotations = 1;
  s.individualIds = Int32Array.of(0);
  return s;
}

/**
 * The pose model on a crop around every box of every frame, `batchSize` crops at a time; per frame, one pose per
 * box in frame pixels. `pipeline` is data.inference with its top_down_crop.
 */
export async function posesInBoxes(model: PoseModel, pipeline: AugmentationPipeline, frames: readonly Frame[], boxes: readonly FrameBoxes[], batchSize: number, bodyparts: number, uniqueBodyparts: number): Promise<Pose[][]> {
  if (!pipeline.transforms.top_down_crop) throw new Error('top-down inference needs data.inference.top_down_crop in the pose config');
  model.eval();
  const crops = frames.flatMap((frame, f) => boxes[f]!.boxes.map((box) => ({ f, frame, box })));
  const out: Pose[][] = frames.map(() => []);
  for (let start = 0; start < crops.length; start += batchSize) {
    const group = crops.slice(start, start + batchSize);
    const batch = pipeline.run(
      group.map((c) => cropSample(c.frame, c.box, bodyparts, uniqueBodyparts)),
      group.map((c) => c.frame.image),
      group.map(() => 0),
    );
    try {
      const { pred, K } = await predictBatch(model, batch, false);
      batchPoses(batch, pred, K).forEach((pose, i) => out[group[i]!.f]!.push(pose));
    } finally {
      batch.dispose();
    }
  }
  return out;
}

/** Pads a frame's results to `maxIndividuals` with -1, as DeepLabCut's PadOutputs does. */
export function padOutputs(poses: readonly Pose[], found: FrameBoxes, maxIndividuals: number, bodyparts: number): TopDownPrediction {
  const missing = (n: number) => Array.from({ length: n }, () => -1);
  const pad = maxIndividuals - poses.length;
  return {
    poses: [...poses, ...Array.from({ length: Math.max(0, pad) }, () => Array.from({ length: bodyparts }, () => missing(3)))].slice(0, maxIndividuals),
    boxes: [...found.boxes, ...Array.from({ length: Math.max(0, pad) }, () => missing(4))].slice(0, maxIndividuals),
    boxScores: [...found.scores, ...missing(Math.max(0, pad))].slice(0, maxIndividuals),
  };
}

export interface TopDownOptions {
  maxIndividuals: number;
  batchSize: number;
  bodyparts: number;
  uniqueBodyparts: number;
  /** detector.data.inference. */
  detectorPipeline: AugmentationPipeline;
  /** data.inference (with top_down_crop). */
  posePipeline: AugmentationPipeline;
}

/** The top-down options of a pose config with a detector block: its individuals, bodyparts, detector.data.inference and data.inference. */
export function topDownOptions(cfg: PoseConfig, batchSize = 1): TopDownOptions {
  return {
    maxIndividuals: cfg.metadata.individuals.length,
    batchSize,
    bodyparts: cfg.metadata.bodyparts.length,
    uniqueBodyparts: cfg.metadata.unique_bodyparts.length,
    detectorPipeline: new AugmentationPipeline(cfg.detector!.data.inference ?? { normalize_images: true }),
    posePipeline: new AugmentationPipeline(cfg.data.inference),
  };
}

/** Detector, crops and pose model on frames: per frame, the padded poses, boxes and box scores. */
export async function predictTopDown(detector: Detector, model: PoseModel, frames: readonly Frame[], o: TopDownOptions): Promise<TopDownPrediction[]> {
  const boxes = await detectBoxes(detector, o.detectorPipeline, frames, o.maxIndividuals);
  const poses = await posesInBoxes(model, o.posePipeline, frames, boxes, o.batchSize, o.bodyparts, o.uniqueBodyparts);
  return frames.map((_, f) => padOutputs(poses[f]!, boxes[f]!, o.maxIndividuals, o.bodyparts));
}

/**
 * Top-down predictions over a dataset opened one item per image (bottom-up mode): per image, the annotated
 * individuals' ground truth (x, y, visibility; NaN where not visible) and the poses predicted in the detector's
 * boxes (padding rows dropped), in original pixels. `limit`: at most that many images.
 */
export async function predictDatasetTopDown(detector: Detector, model: PoseModel, dataset: PoseDataset, o: TopDownOptions, limit?: number): Promise<ImagePrediction[]> {
  if (dataset.mode !== 'bottom-up') throw new Error('top-down prediction with a detector takes a dataset of whole images (bottom-up mode)');
  const out: ImagePrediction[] = [];
  const n = Math.min(dataset.length, limit ?? Infinity);
  for (let i = 0; i < n; i++) {
    const s = dataset.sample(i);
    const frame = { path: s.path, image: dataset.loadImage(i) };
    const [p] = await predictTopDown(detector, model, [frame], o);
    const gt: Pose[] = [];
    for (let a = 0; a < s.individuals; a++) {
      if (s.individualIds[a]! < 0) continue;
      gt.push(Array.from({ length: s.bodyparts }, (_, k) => {
        const j = (a * s.bodyparts + k) * 3;
        const v = s.keypoints[j + 2]!;
        return v > 0 ? [s.keypoints[j]!, s.keypoints[j + 1]!, v] : [NaN, NaN, v];
      }));
    }
    const found = p!.boxScores.map((score, a) => score !== -1 ? a : -1).filter((a) => a >= 0);
    out.push({ image: s.relPath, imageId: s.imageId, gt, pred: found.map((a) => p!.poses[a]!), boxes: found.map((a) => p!.boxes[a]!) });
  }
  return out;
}
