// The contract every detector meets (torchvision's detection models as DeepLabCut wraps them:
// forward(images, targets) always gives a (losses, detections) pair).
import type { Module } from '../../nn/module.ts';
import type { Tensor } from '../../tensor/tensor.ts';

/** Ground truth of one image, in the input image's pixels. */
export interface DetectionTarget {
  /** [n, 4] boxes as (x1, y1, x2, y2). */
  boxes: Tensor;
  /** n class labels (1 = animal for DeepLabCut; 0 is background). */
  labels: Int32Array;
}

/** Detections of one image, read back to the host, in the input image's pixels. */
export interface Detections {
  /** n boxes as (x1, y1, x2, y2), row-major [n * 4]. */
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
}

export interface DetectorOutput {
  /** Training: torchvision's loss terms (e.g. loss_classifier, loss_box_reg, loss_objectness, loss_rpn_box_reg; SSD: bbox_regression, classification). Empty in eval mode. */
  losses: Record<string, Tensor>;
  /** Eval mode: one entry per image, score-sorted. Empty in training mode. */
  detections: Detections[];
}

export interface Detector extends Module {
  /**
   * images: one [3, H, W] tensor per image, as DeepLabCut feeds them (RGB in 0-1, already normalised
   * when the config's normalize_images is true: torchvision's transform normalises a second time).
   * targets: required in training mode.
   */
  detect(images: readonly Tensor[], targets?: readonly DetectionTarget[]): Promise<DetectorOutput>;
}
