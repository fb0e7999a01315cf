// The built-in types, registered exactly as a plugin registers its own (one mechanism): DeepLabCut's
// names, each builder reading its config block's keys with DeepLabCut's defaults.
import type { Tensor } from '../tensor/tensor.ts';
import { HRNet, hrnetWidth } from './backbones/hrnet.ts';
import { ResNet, type ResNetOptions } from './backbones/resnet.ts';
import { criterionTypes, WeightedCriterion, weightedMean, type CriterionType } from './criterions.ts';
import { HeatmapHead, type DeconvConfig } from './heads/heatmap-head.ts';
import type { HeadOutputs, Predictor, Target, TargetGenerator } from './parts.ts';
import { HeatmapPredictor } from './predictors/heatmap.ts';
import { BACKBONES, CRITERIONS, HEADS, LOSS_AGGREGATORS, PREDICTORS, TARGET_GENERATORS } from './registries.ts';
import type { TypedBlock } from './registry.ts';
import { HeatmapGenerator, type KeypointBatch } from './target-generators/heatmap.ts';

const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);
const bool = (v: unknown, fallback: boolean) => (typeof v === 'boolean' ? v : fallback);

// ---- backbones ----

/** timm names: resnet18/34/50/101/152, and resnet50_gn (GroupNorm 32) and friends. */
function resnetOptions(name: string, outputStride: number, seed: number, where: string): ResNetOptions {
  const m = /^resnet(18|34|50|101|152)(_gn)?$/.exec(name);
  if (!m) throw new Error(`${where}.model_name: '${name}' is not a supported ResNet (resnet18, resnet34, resnet50, resnet101, resnet152, with _gn for GroupNorm)`);
  return { depth: Number(m[1]) as ResNetOptions['depth'], norm: m[2] ? 'groupnorm' : 'batchnorm', outputStride: outputStride as 8 | 16 | 32, seed };
}

BACKBONES.register('ResNet', (cfg, { seed, where }) => new ResNet(resnetOptions(typeof cfg.model_name === 'string' ? cfg.model_name : 'resnet50_gn', num(cfg.output_stride, 32), seed, where)));

// DeepLabCut's HRNet class defaults: hrnet_w32, branch 0 only, no incre modules.
BACKBONES.register('HRNet', (cfg, { seed }) => {
  const name = typeof cfg.model_name === 'string' ? cfg.model_name : 'hrnet_w32';
  return new HRNet({ width: hrnetWidth(name), name, interpolateBranches: cfg.interpolate_branches === true, increasedChannelCount: cfg.increased_channel_count === true, seed });
});

// ---- heads ----

HEADS.register('HeatmapHead', (cfg, { seed, where }) => {
  if (!cfg.heatmap_config) throw new Error(`${where}.heatmap_config is required for a HeatmapHead`);
  const weightInit = typeof cfg.weight_init === 'string' ? cfg.weight_init : null;
  return new HeatmapHead(cfg.heatmap_config as DeconvConfig, cfg.locref_config as DeconvConfig | undefined, { weightInit, seed });
});

// ---- target generators ----

class HeatmapTargetGenerator implements TargetGenerator {
  constructor(readonly generator: HeatmapGenerator) {}
  generate(keypoints: KeypointBatch, outputs: HeadOutputs, stride: number): Record<string, Target> {
    const heatmap = outputs.heatmap;
    if (!heatmap) throw new Error('a heatmap target generator needs a head with a heatmap output');
    const [, , h, w] = heatmap.shape as [number, number, number, number];
    const t = this.generator.generate(keypoints, h, w, stride);
    return t.locref ? { heatmap: t.heatmap, locref: t.locref } : { heatmap: t.heatmap };
  }
}

/** The heatmap output's channels (one per keypoint): the final conv's, else the last deconvolution's. */
function heatmapChannels(head: TypedBlock): number {
  const hm = head.heatmap_config as DeconvConfig | undefined;
  return hm?.final_conv?.out_channels ?? hm?.channels[hm.channels.length - 1] ?? 0;
}

for (const [type, mode] of [['HeatmapGaussianGenerator', 'gaussian'], ['HeatmapPlateauGenerator', 'plateau']] as const) {
  TARGET_GENERATORS.register(type, (tg, { head, where }) => {
    if ((tg.heatmap_mode ?? 'KEYPOINT') !== 'KEYPOINT') throw new Error(`${where}.heatmap_mode: only KEYPOINT is supported`);
    return new HeatmapTargetGenerator(
      new HeatmapGenerator({
        numHeatmaps: num(tg.num_heatmaps, heatmapChannels(head)),
        posDistThresh: num(tg.pos_dist_thresh, 17),
        mode,
        gradientMasking: bool(tg.gradient_masking, false),
        backgroundWeight: num(tg.background_weight, 0.1),
        generateLocref: bool(tg.generate_locref, true) && !!head.locref_config,
        locrefStd: num(tg.locref_std, 7.2801),
      }),
    );
  });
}

// ---- predictors ----

class HeatmapOutputsPredictor implements Predictor {
  constructor(readonly predictor: HeatmapPredictor) {}
  predict(outputs: HeadOutputs, stride: number): Tensor {
    if (!outputs.heatmap) throw new Error('a HeatmapPredictor needs a head with a heatmap output');
    return this.predictor.predict(outputs.heatmap, outputs.locref ?? null, stride);
  }
}

PREDICTORS.register(
  'HeatmapPredictor',
  (pr) =>
    new HeatmapOutputsPredictor(
      new HeatmapPredictor({
        applySigmoid: bool(pr.apply_sigmoid, true),
        clipScores: bool(pr.clip_scores, false),
        locationRefinement: bool(pr.location_refinement, true),
        locrefStd: num(pr.locref_std, 7.2801),
      }),
    ),
);

// ---- criteria and the aggregator ----

for (const type of criterionTypes) CRITERIONS.register(type, () => new WeightedCriterion(type as CriterionType));

LOSS_AGGREGATORS.register('WeightedLossAggregator', () => ({ aggregate: weightedMean }));
