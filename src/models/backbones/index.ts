// The backbone wrapper: a registered backbone network (BACKBONES) wrapped as DeepLabCut wraps timm models
// (state-dict prefix `backbone.model.`), with freeze_bn_stats / freeze_bn_weights re-applied on train().
import { Layer } from '../../nn/module.ts';
import { BatchNorm2d } from '../../nn/norm-layers.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import '../builtin-types.ts';
import type { BackboneNet } from '../parts.ts';
import { BACKBONES } from '../registries.ts';

export interface BackboneConfig {
  type: string;
  model_name?: string;
  output_stride?: number;
  freeze_bn_stats?: boolean;
  freeze_bn_weights?: boolean;
  [key: string]: unknown;
}

export type { BackboneNet } from '../parts.ts';

export class Backbone extends Layer {
  readonly model: BackboneNet;
  private bnStatsFrozen: boolean;
  constructor(
    model: BackboneNet,
    freezeBnStats: boolean,
    readonly freezeBnWeights: boolean,
  ) {
    super();
    this.model = this.registerModule('model', model);
    this.bnStatsFrozen = freezeBnStats;
    for (const bn of this.batchNorms()) {
      bn.freezeStats = freezeBnStats;
      bn.freezeWeights = freezeBnWeights;
    }
    this.train(true);
  }
  private batchNorms(): BatchNorm2d[] {
    return [...this.namedModules()].map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  }
  /** freeze_bn_stats: BatchNorm layers normalise with their running statistics (and keep them) while training. */
  get freezeBnStats(): boolean {
    return this.bnStatsFrozen;
  }
  set freezeBnStats(frozen: boolean) {
    this.bnStatsFrozen = frozen;
    for (const bn of this.batchNorms()) bn.freezeStats = frozen;
  }
  /** Whether the backbone has BatchNorm layers at all (GroupNorm ResNets have none). */
  get hasBatchNorm(): boolean {
    return this.batchNorms().length > 0;
  }
  get stride(): number {
    return this.model.stride;
  }
  get outChannels(): number {
    return this.model.outChannels;
  }
  forward(x: Tensor): Tensor {
    return this.model.forward(x);
  }
}

/** Builds `model.backbone` through BACKBONES and wraps it (DeepLabCut's BaseBackbone defaults both freeze flags to true). */
export function buildBackbone(cfg: BackboneConfig, seed = 0): Backbone {
  const net = BACKBONES.build(cfg, { where: 'model.backbone', seed }, 'model.backbone');
  return new Backbone(net, cfg.freeze_bn_stats ?? true, cfg.freeze_bn_weights ?? true);
}
