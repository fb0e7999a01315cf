// The augmentation pipeline of one data block (data.train or data.inference) and collation into a batch.
import type { Transforms } from '../config/index.ts';
import type { RgbImage } from '../io/image.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { apply, invert, type Affine } from './affine.ts';
import { augmentBatch } from './augment.ts';
import type { PoseSample } from './dataset.ts';
import { planBatch, planSample, unsupportedTransforms, type SamplePlan } from './plan.ts';

/** What a batch keeps of each item, to map predictions back to the original image. */
export interface BatchItem {
  imageId: number;
  /** Top-down items: which annotation of the image (see PoseSample.annotation). */
  annotation?: number;
  path: string;
  relPath: string;
  /** Original image size as DeepLabCut's original_size (h, w, c). */
  originalSize: [number, number, number];
  /** Original image pixel -> batch pixel (every geometric step composed), as the image was warped. */
  matrix: Affine;
  /** Original -> batch coordinates of keypoints and boxes (see SamplePlan.labelMatrix). */
  labelMatrix: Affine;
  /** Batch coordinates -> original image coordinates: the inverse of labelMatrix, as DeepLabCut maps predictions
   * back (x * scale + offset). */
  inverse: Affine;
  flipped: boolean;
}

export interface Batch {
  /** [B, 3, H, W] float32; the caller owns it (dispose, or `batch.dispose()`). */
  images: Tensor;
  batchSize: number;
  height: number;
  width: number;
  /** Annotation slots per item, bodyparts, unique bodyparts. */
  individuals: number;
  bodyparts: number;
  uniqueBodyparts: number;
  /** [B, individuals, K, 3] (x, y, visibility) in batch pixels; empty slots are 0. */
  keypoints: Float32Array;
  /** [B, U, 3]. */
  unique: Float32Array;
  /** [B, individuals, 4] xywh. */
  boxes: Float32Array;
  /** [B, individuals], -1 for empty slots. */
  individualIds: Int32Array;
  items: BatchItem[];
  dispose(): void;
}

/** Maps a point predicted in batch pixels back to the item's original image. */
export function toOriginal(item: BatchItem, x: number, y: number): [number, number] {
  return apply(item.inverse, x, y);
}

export interface PipelineOptions {
  /**
   * The padding of top-down and collate crops: 'zero' for training pipelines (DeepLabCut's PoseDataset crops and
   * collates the normalised image, so its padding is 0 after normalisation), 'black' (default) for inference
   * (DeepLabCut's TopDownCrop runs before normalisation).
   */
  cropPadding?: 'black' | 'zero';
}

/** The options of a training pipeline (data.train, detector.data.train): DeepLabCut's dataset crops after Normalize. */
export const TRAINING: PipelineOptions = { cropPadding: 'zero' };

export class AugmentationPipeline {
  constructor(
    readonly transforms: Transforms,
    readonly options: PipelineOptions = {},
  ) {
    const missing = unsupportedTransforms(transforms);
    if (missing.length) {
      throw new Error(`data transforms not supported yet by dlc-gpu's augmentation: ${missing.join(', ')} (remove them from the config)`);
    }
  }

  plan(sample: PoseSample, seed: number): SamplePlan {
    return planSample(sample, this.transforms, seed);
  }

  /** Plans a whole batch: with a collate function, the items share one drawn target size. */
  planBatch(samples: readonly PoseSample[], seeds: readonly number[]): SamplePlan[] {
    return planBatch(samples, this.transforms, seeds);
  }

  /**
   * Augments and collates samples whose images are decoded; `seeds` fix each item's random draws (and, with a
   * collate function, together the batch's target size).
   */
  run(samples: readonly PoseSample[], images: readonly RgbImage[], seeds: readonly number[]): Batch {
    samples.forEach((s, i) => {
      const img = images[i]!;
      if (img.width !== s.width || img.height !== s.height) {
        throw new Error(`${s.path}: decoded size ${img.width}x${img.height} differs from the header's ${s.width}x${s.height}`);
      }
    });
    const plans = planBatch(samples, this.transforms, seeds);
    const tensor = augmentBatch(images, plans, {
      normalize: this.transforms.normalize_images !== false,
      scaleToUnit: this.transforms.scale_to_unit_range === true,
      cropPadding: this.options.cropPadding ?? 'black',
    });
    return collate(samples, plans, tensor);
  }
}

/** Stacks the labels of augmented samples; slots pad to the largest item, with 0 (keypoints, boxes) and -1 (ids). */
export function collate(samples: readonly PoseSample[], plans: readonly SamplePlan[], images: Tensor): Batch {
  const B = samples.length;
  const N = Math.max(...samples.map((s) => s.individuals));
  const K = samples[0]!.bodyparts;
  const U = samples[0]!.unique.length / 3;
  const keypoints = new Float32Array(B * N * K * 3);
  const unique = new Float32Array(B * U * 3);
  const boxes = new Float32Array(B * N * 4);
  const individualIds = new Int32Array(B * N).fill(-1);
  samples.forEach((s, b) => {
    const p = plans[b]!;
    keypoints.set(p.keypoints, b * N * K * 3);
    unique.set(p.unique, b * U * 3);
    boxes.set(p.boxes, b * N * 4);
    individualIds.set(s.individualIds, b * N);
  });
  const items = samples.map((s, b): BatchItem => ({
    imageId: s.imageId,
    ...(s.annotation !== undefined ? { annotation: s.annotation } : {}),
    path: s.path,
    relPath: s.relPath,
    originalSize: [s.height, s.width, 3],
    matrix: plans[b]!.matrix,
    labelMatrix: plans[b]!.labelMatrix,
    inverse: invert(plans[b]!.labelMatrix),
    flipped: plans[b]!.flipped,
  }));
  return {
    images,
    batchSize: B,
    height: plans[0]!.height,
    width: plans[0]!.width,
    individuals: N,
    bodyparts: K,
    uniqueBodyparts: U,
    keypoints,
    unique,
    boxes,
    individualIds,
    items,
    dispose: () => images.dispose(),
  };
}
