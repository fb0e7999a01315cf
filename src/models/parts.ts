// The contracts of a pose model's parts, as DeepLabCut's base classes define them (BaseBackbone, BaseNeck,
// BaseHead, BasePredictor, BaseTargetGenerator, BaseCriterion, BaseLossAggregator). Built-in parts and
// plugin parts implement the same interfaces and are built from the same registries (./registries.ts).
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { KeypointBatch } from './target-generators/heatmap.ts';

export type { KeypointBatch } from './target-generators/heatmap.ts';

/** The network inside a backbone (timm's, with its parameter names): images in, one feature map out. */
export interface BackboneNet extends Module {
  /** Input pixels per feature-map cell. */
  readonly stride: number;
  /** Channels of the feature map (the config's `backbone_output_channels`). */
  readonly outChannels: number;
  forward(images: Tensor): Tensor;
}

/** Between backbone and heads: features in, features out (same stride). */
export interface Neck extends Module {
  readonly outChannels: number;
  forward(features: Tensor): Tensor;
}

/** A head's outputs by name: `heatmap`, `locref`, ... (the names its criteria and targets use). */
export type HeadOutputs = Record<string, Tensor>;

export interface PoseHead extends Module {
  /** How much the head upsamples its input: the model stride is backbone stride / head stride. */
  readonly stride: number;
  forward(features: Tensor): HeadOutputs;
}

/** A target and the weight of each element of the loss (broadcastable to the output). */
export interface Target {
  target: Tensor;
  weights: Tensor;
}

export interface TargetGenerator {
  /**
   * Targets for the head's outputs from keypoints [B, individuals, K, 3] in input pixels. `stride`: input
   * pixels per output cell. Keys are output names; an output without a target gets no loss.
   */
  generate(keypoints: KeypointBatch, outputs: HeadOutputs, stride: number): Record<string, Target>;
}

export interface Predictor {
  /** Poses [B, K, 3] = (x, y, score) in input pixels from the head's outputs. */
  predict(outputs: HeadOutputs, stride: number): Tensor;
}

export interface Criterion {
  /** A [] loss from an output, its target and the weights (broadcastable to both). */
  loss(output: Tensor, target: Tensor, weights: Tensor): Tensor;
}

export interface LossAggregator {
  /** One [] loss from named, weighted losses. */
  aggregate(losses: readonly { name: string; loss: Tensor; weight: number }[]): Tensor;
}
