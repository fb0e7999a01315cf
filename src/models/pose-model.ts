// PoseModel: backbone, optional neck and named heads built from a pytorch_config.yaml `model` block through
// the registries (built-in and plugin types alike), with DeepLabCut's targets, losses (keys like
// bodypart_heatmap, bodypart_locref, total_loss) and predictions.
import { Module } from '../nn/module.ts';
import { ModuleDict } from '../nn/layers.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { buildBackbone, type Backbone, type BackboneConfig } from './backbones/index.ts';
import './builtin-types.ts';
import type { DeconvConfig } from './heads/heatmap-head.ts';
import type { Criterion, HeadOutputs, LossAggregator, Neck, PoseHead, Predictor, Target, TargetGenerator } from './parts.ts';
import { CRITERIONS, HEADS, LOSS_AGGREGATORS, NECKS, PREDICTORS, TARGET_GENERATORS } from './registries.ts';
import type { TypedBlock } from './registry.ts';
import type { KeypointBatch } from './target-generators/heatmap.ts';

/** The parts of the config's `model` block a pose model reads. */
export interface PoseModelConfig {
  backbone: BackboneConfig;
  backbone_output_channels: number;
  neck?: TypedBlock | null;
  heads: Record<string, HeadConfig>;
}

export interface HeadConfig extends TypedBlock {
  predictor: TypedBlock;
  target_generator: TypedBlock;
  /** One criterion (for the `heatmap` output), or criteria by output name with weights. */
  criterion: Record<string, TypedBlock & { weight?: number }> | (TypedBlock & { weight?: number });
  aggregator?: TypedBlock;
  /** A HeatmapHead's deconvolution stacks (other head types read their own keys). */
  heatmap_config?: DeconvConfig;
  locref_config?: DeconvConfig;
  weight_init?: string | null;
}

interface HeadParts {
  head: PoseHead;
  generator: TargetGenerator;
  predictor: Predictor;
  criteria: { output: string; criterion: Criterion; weight: number }[];
  aggregator: LossAggregator;
}

const DEFAULT_AGGREGATOR: TypedBlock = { type: 'WeightedLossAggregator' };

/** A head's criteria by output name: a single criterion applies to the `heatmap` output, as in DeepLabCut. */
function namedCriteria(c: HeadConfig['criterion']): Record<string, TypedBlock & { weight?: number }> {
  return typeof (c as TypedBlock).type === 'string' ? { heatmap: c as TypedBlock } : (c as Record<string, TypedBlock>);
}

function headParts(name: string, cfg: HeadConfig, inChannels: number, seed: number): HeadParts {
  const where = `model.heads.${name}`;
  const head = HEADS.build(cfg, { where, seed, inChannels }, where);
  const part = { head: cfg, headModule: head, seed };
  const generator = TARGET_GENERATORS.build(cfg.target_generator, { ...part, where: `${where}.target_generator` }, `${where}.target_generator`);
  const predictor = PREDICTORS.build(cfg.predictor, { ...part, where: `${where}.predictor` }, `${where}.predictor`);
  const single = typeof (cfg.criterion as TypedBlock).type === 'string';
  const criteria = Object.entries(namedCriteria(cfg.criterion)).map(([output, c]) => {
    const at = single ? `${where}.criterion` : `${where}.criterion.${output}`;
    return { output, criterion: CRITERIONS.build(c, { where: at, seed }, at), weight: c.weight ?? 1 };
  });
  const aggregator = LOSS_AGGREGATORS.build(cfg.aggregator ?? DEFAULT_AGGREGATOR, { where: `${where}.aggregator`, seed }, `${where}.aggregator`);
  return { head, generator, predictor, criteria, aggregator };
}

export type PoseOutputs = Record<string, HeadOutputs>;
export type PoseTargets = Record<string, Record<string, Target>>;

export class PoseModel extends Module {
  readonly backbone: Backbone;
  readonly neck: Neck | null;
  private readonly parts = new Map<string, HeadParts>();
  private readonly aggregator: LossAggregator;
  constructor(cfg: PoseModelConfig, opts: { seed?: number } = {}) {
    super();
    const seed = opts.seed ?? 0;
    this.backbone = this.registerModule('backbone', buildBackbone(cfg.backbone, seed));
    if (this.backbone.outChannels !== cfg.backbone_output_channels)
      throw new Error(`model.backbone_output_channels is ${cfg.backbone_output_channels}, but the ${cfg.backbone.type} backbone${cfg.backbone.model_name ? ` ${cfg.backbone.model_name}` : ''} gives ${this.backbone.outChannels}`);
    this.neck = cfg.neck ? this.registerModule('neck', NECKS.build(cfg.neck, { where: 'model.neck', seed: seed + 5_000, inChannels: this.backbone.outChannels }, 'model.neck')) : null;
    const inChannels = this.neck?.outChannels ?? this.backbone.outChannels;
    const heads = this.registerModule('heads', new ModuleDict<PoseHead>());
    Object.entries(cfg.heads).forEach(([name, h], i) => {
      const parts = headParts(name, h, inChannels, seed + 10_000 * (i + 1));
      heads.set(name, parts.head);
      this.parts.set(name, parts);
    });
    this.aggregator = LOSS_AGGREGATORS.build(DEFAULT_AGGREGATOR, { where: 'model', seed }, 'model');
  }

  /** Input pixels per output cell of a head: backbone stride / head upsampling (DeepLabCut's model stride). */
  stride(head = 'bodypart'): number {
    return this.backbone.stride / this.part(head).head.stride;
  }

  /** The head names, in config order. */
  get headNames(): string[] {
    return [...this.parts.keys()];
  }

  private part(name: string): HeadParts {
    const p = this.parts.get(name);
    if (!p) throw new Error(`the model has no head '${name}'`);
    return p;
  }

  /** images [B, 3, H, W] (normalised) -> per head, its outputs (a HeatmapHead: heatmap [B, K, h, w], locref [B, 2K, h, w]). */
  forward(images: Tensor): PoseOutputs {
    const backbone = this.backbone.forward(images);
    const features = this.neck ? this.neck.forward(backbone) : backbone;
    const out: PoseOutputs = {};
    for (const [name, p] of this.parts) out[name] = p.head.forward(features);
    return out;
  }

  /** Targets for each head's outputs from keypoints [B, individuals, K, 3] in input-image pixels. */
  getTarget(keypoints: KeypointBatch, outputs: PoseOutputs): PoseTargets {
    const t: PoseTargets = {};
    for (const [name, p] of this.parts) t[name] = p.generator.generate(keypoints, outputs[name]!, this.stride(name));
    return t;
  }

  /** DeepLabCut's loss dict: `<head>_<output>` terms; total_loss aggregates each head's aggregated terms. */
  getLoss(outputs: PoseOutputs, targets: PoseTargets): Record<string, Tensor> {
    const losses: Record<string, Tensor> = {};
    const totals: { name: string; loss: Tensor; weight: number }[] = [];
    for (const [name, p] of this.parts) {
      const terms = p.criteria.map(({ output, criterion, weight }) => {
        const o = outputs[name]![output];
        const t = targets[name]![output];
        if (!o || !t) throw new Error(`head ${name}: no ${output} output or target to compute its loss (outputs: ${Object.keys(outputs[name]!).join(', ')}; targets: ${Object.keys(targets[name]!).join(', ')})`);
        const loss = criterion.loss(o, t.target, t.weights);
        losses[`${name}_${output}`] = loss;
        return { name: output, loss, weight };
      });
      totals.push({ name, loss: p.aggregator.aggregate(terms), weight: 1 });
    }
    losses.total_loss = this.aggregator.aggregate(totals);
    return losses;
  }

  /** Per head, poses [B, K, 3] = (x, y, score) in input-image pixels. */
  getPredictions(outputs: PoseOutputs): Record<string, Tensor> {
    const poses: Record<string, Tensor> = {};
    for (const [name, p] of this.parts) poses[name] = p.predictor.predict(outputs[name]!, this.stride(name));
    return poses;
  }
}
