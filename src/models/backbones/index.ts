// Backbones from the config's `model.backbone` block, wrapped as DeepLabCut wraps timm models
// (state-dict prefix `backbone.model.`), with freeze_bn_stats / freeze_bn_weights re-applied on train().
import { Layer } from '../../nn/module.ts';
import { BatchNorm2d } from '../../nn/norm-layers.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { HRNet, hrnetWidth } from './hrnet.ts';
import { ResNet, type ResNetOptions } from './resnet.ts';

export interface BackboneConfig {
  type: string;
  model_name?: string;
  output_stride?: number;
  freeze_bn_stats?: boolean;
  freeze_bn_weights?: boolean;
  [key: string]: unknown;
}

/** The network a Backbone wraps (timm's, with its parameter names): images in, one feature map out. */
export interface BackboneNet extends Layer {
  /** Input pixels per feature-map cell. */
  readonly stride: number;
  readonly outChannels: number;
}

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

/** timm names: resnet18/34/50/101/152, and resnet50_gn (GroupNorm 32) and friends. */
function resnetOptions(name: string, outputStride: number, seed: number): ResNetOptions {
  const m = /^resnet(18|34|50|101|152)(_gn)?$/.exec(name);
  if (!m) throw new Error(`model.backbone.model_name: '${name}' is not a supported ResNet (resnet18, resnet34, resnet50, resnet101, resnet152, with _gn for GroupNorm)`);
  return { depth: Number(m[1]) as ResNetOptions['depth'], norm: m[2] ? 'groupnorm' : 'batchnorm', outputStride: outputStride as 8 | 16 | 32, seed };
}

function hrnet(cfg: BackboneConfig, seed: number): HRNet {
  // DeepLabCut's HRNet class defaults: hrnet_w32, branch 0 only, no incre modules.
  const name = cfg.model_name ?? 'hrnet_w32';
  return new HRNet({
    width: hrnetWidth(name),
    name,
    interpolateBranches: cfg.interpolate_branches === true,
    increasedChannelCount: cfg.increased_channel_count === true,
    seed,
  });
}

export function buildBackbone(cfg: BackboneConfig, seed = 0): Backbone {
  let model: BackboneNet;
  if (cfg.type === 'ResNet') model = new ResNet(resnetOptions(cfg.model_name ?? 'resnet50_gn', cfg.output_stride ?? 32, seed));
  else if (cfg.type === 'HRNet') model = hrnet(cfg, seed);
  else throw new Error(`model.backbone.type: '${cfg.type}' is not available yet (supported: ResNet, HRNet)`);
  // DeepLabCut's BaseBackbone defaults both flags to true when absent.
  return new Backbone(model, cfg.freeze_bn_stats ?? true, cfg.freeze_bn_weights ?? true);
}
