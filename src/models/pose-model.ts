// PoseModel: backbone + heads built from a pytorch_config.yaml `model` block, with DeepLabCut's
// targets, losses (keys like bodypart_heatmap, bodypart_locref, total_loss) and predictions.
import { Module } from '../nn/module.ts';
import { ModuleDict } from '../nn/layers.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Backbone, buildBackbone, type BackboneConfig } from './backbones/index.ts';
import { aggregate, buildCriterion, WeightedCriterion } from './criterions.ts';
import { HeatmapHead, type DeconvConfig, type HeatmapHeadOutputs } from './heads/heatmap-head.ts';
import { HeatmapPredictor } from './predictors/heatmap.ts';
import { HeatmapGenerator, type HeatmapTargets, type KeypointBatch } from './target-generators/heatmap.ts';

/** The parts of the config's `model` block a pose model reads. */
export interface PoseModelConfig {
  backbone: BackboneConfig;
  backbone_output_channels: number;
  heads: Record<string, HeadConfig>;
}

interface HeadConfig {
  type: string;
  weight_init?: string | null;
  predictor: { type: string; [k: string]: unknown };
  target_generator: { type: string; [k: string]: unknown };
  criterion: Record<string, { type: string; weight?: number }> | { type: string; weight?: number };
  heatmap_config?: DeconvConfig;
  locref_config?: DeconvConfig;
  [k: string]: unknown;
}

interface HeadParts {
  head: HeatmapHead;
  generator: HeatmapGenerator;
  predictor: HeatmapPredictor;
  criteria: { name: 'heatmap' | 'locref'; criterion: WeightedCriterion; weight: number }[];
}

const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);
const bool = (v: unknown, fallback: boolean) => (typeof v === 'boolean' ? v : fallback);

function headParts(name: string, cfg: HeadConfig, seed: number): HeadParts {
  const where = `model.heads.${name}`;
  if (cfg.type !== 'HeatmapHead') throw new Error(`${where}.type: '${cfg.type}' is not available yet (supported: HeatmapHead)`);
  if (!cfg.heatmap_config) throw new Error(`${where}.heatmap_config is required for a HeatmapHead`);
  const head = new HeatmapHead(cfg.heatmap_config, cfg.locref_config, { weightInit: cfg.weight_init ?? null, seed });
  const tg = cfg.target_generator;
  const mode = tg.type === 'HeatmapGaussianGenerator' ? 'gaussian' : tg.type === 'HeatmapPlateauGenerator' ? 'plateau' : null;
  if (!mode) throw new Error(`${where}.target_generator.type: '${tg.type}' is not supported (HeatmapGaussianGenerator, HeatmapPlateauGenerator)`);
  if ((tg.heatmap_mode ?? 'KEYPOINT') !== 'KEYPOINT') throw new Error(`${where}.target_generator.heatmap_mode: only KEYPOINT is supported`);
  const generator = new HeatmapGenerator({
    numHeatmaps: num(tg.num_heatmaps, head.stride),
    posDistThresh: num(tg.pos_dist_thresh, 17),
    mode,
    gradientMasking: bool(tg.gradient_masking, false),
    backgroundWeight: num(tg.background_weight, 0.1),
    generateLocref: bool(tg.generate_locref, true) && !!cfg.locref_config,
    locrefStd: num(tg.locref_std, 7.2801),
  });
  const pr = cfg.predictor;
  if (pr.type !== 'HeatmapPredictor') throw new Error(`${where}.predictor.type: '${pr.type}' is not supported (HeatmapPredictor)`);
  const predictor = new HeatmapPredictor({
    applySigmoid: bool(pr.apply_sigmoid, true),
    clipScores: bool(pr.clip_scores, false),
    locationRefinement: bool(pr.location_refinement, true),
    locrefStd: num(pr.locref_std, 7.2801),
  });
  const crit = cfg.criterion as Record<string, { type: string; weight?: number }>;
  const named = 'type' in crit && typeof crit.type === 'string' ? { heatmap: crit as unknown as { type: string; weight?: number } } : crit;
  const criteria = Object.entries(named).map(([k, c]) => {
    if (k !== 'heatmap' && k !== 'locref') throw new Error(`${where}.criterion.${k}: a HeatmapHead has heatmap and locref outputs only`);
    return { name: k as 'heatmap' | 'locref', criterion: buildCriterion(c.type, `${where}.criterion.${k}.type`), weight: c.weight ?? 1 };
  });
  return { head, generator, predictor, criteria };
}

export type PoseOutputs = Record<string, HeatmapHeadOutputs>;
export type PoseTargets = Record<string, HeatmapTargets>;

export class PoseModel extends Module {
  readonly backbone: Backbone;
  private readonly parts = new Map<string, HeadParts>();
  constructor(cfg: PoseModelConfig, opts: { seed?: number } = {}) {
    super();
    const seed = opts.seed ?? 0;
    this.backbone = this.registerModule('backbone', buildBackbone(cfg.backbone, seed));
    if (this.backbone.outChannels !== cfg.backbone_output_channels)
      throw new Error(`model.backbone_output_channels is ${cfg.backbone_output_channels}, but ${cfg.backbone.model_name} gives ${this.backbone.outChannels}`);
    const heads = this.registerModule('heads', new ModuleDict<HeatmapHead>());
    Object.entries(cfg.heads).forEach(([name, h], i) => {
      const parts = headParts(name, h, seed + 10_000 * (i + 1));
      heads.set(name, parts.head);
      this.parts.set(name, parts);
    });
  }

  /** Input pixels per heatmap cell: backbone stride / head upsampling (DeepLabCut's model stride). */
  stride(head = 'bodypart'): number {
    return this.backbone.stride / this.part(head).head.stride;
  }

  private part(name: string): HeadParts {
    const p = this.parts.get(name);
    if (!p) throw new Error(`the model has no head '${name}'`);
    return p;
  }

  /** images [B, 3, H, W] (normalised) -> per head, heatmap [B, K, h, w] and locref [B, 2K, h, w]. */
  forward(images: Tensor): PoseOutputs {
    const features = this.backbone.forward(images);
    const out: PoseOutputs = {};
    for (const [name, p] of this.parts) out[name] = p.head.forward(features);
    return out;
  }

  /** Targets for each head's output size from keypoints [B, individuals, K, 3] in input-image pixels. */
  getTarget(keypoints: KeypointBatch, outputs: PoseOutputs): PoseTargets {
    const t: PoseTargets = {};
    for (const [name, p] of this.parts) {
      const [, , h, w] = outputs[name]!.heatmap.shape as [number, number, number, number];
      t[name] = p.generator.generate(keypoints, h, w, this.stride(name));
    }
    return t;
  }

  /** DeepLabCut's loss dict: `<head>_<output>` terms, `<head>_total_loss` is not kept separately; total_loss = mean over heads. */
  getLoss(outputs: PoseOutputs, targets: PoseTargets): Record<string, Tensor> {
    const losses: Record<string, Tensor> = {};
    const totals: { loss: Tensor; weight: number }[] = [];
    for (const [name, p] of this.parts) {
      const terms = p.criteria.map(({ name: out, criterion, weight }) => {
        const o = outputs[name]![out];
        const t = targets[name]![out];
        if (!o || !t) throw new Error(`head ${name}: no ${out} output or target to compute its loss`);
        const loss = criterion.loss(o, t.target, t.weights);
        losses[`${name}_${out}`] = loss;
        return { loss, weight };
      });
      totals.push({ loss: aggregate(terms), weight: 1 });
    }
    losses.total_loss = aggregate(totals);
    return losses;
  }

  /** Per head, poses [B, K, 3] = (x, y, score) in input-image pixels. */
  getPredictions(outputs: PoseOutputs): Record<string, Tensor> {
    const poses: Record<string, Tensor> = {};
    for (const [name, p] of this.parts) poses[name] = p.predictor.predict(outputs[name]!.heatmap, outputs[name]!.locref ?? null, this.stride(name));
    return poses;
  }
}
