// Backbones from the config's `model.backbone` block, wrapped as DeepLabCut wraps timm models
// (state-dict prefix `backbone.model.`), with freeze_bn_stats / freeze_bn_weights re-applied on train().
import { Layer } from '../../nn/module.ts';
import { BatchNorm2d } from '../../nn/norm-layers.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { ResNet, type ResNetOptions } from './resnet.ts';

export interface BackboneConfig {
  type: string;
  model_name?: string;
  output_stride?: number;
  freeze_bn_stats?: boolean;
  freeze_bn_weights?: boolean;
  [key: string]: unknown;
}

export class Backbone extends Layer {
  readonly model: ResNet;
  constructor(
    model: ResNet,
    readonly freezeBnStats: boolean,
    readonly freezeBnWeights: boolean,
  ) {
    super();
    this.model = this.registerModule('model', model);
    for (const [, m] of this.namedModules())
      if (m instanceof BatchNorm2d) {
        m.freezeStats = freezeBnStats;
        m.freezeWeights = freezeBnWeights;
      }
    this.train(true);
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

export function buildBackbone(cfg: BackboneConfig, seed = 0): Backbone {
  if (cfg.type !== 'ResNet') throw new Error(`model.backbone.type: '${cfg.type}' is not available yet (supported: ResNet)`);
  // DeepLabCut's BaseBackbone defaults both flags to true when absent.
  const model = new ResNet(resnetOptions(cfg.model_name ?? 'resnet50_gn', cfg.output_stride ?? 32, seed));
  return new Backbone(model, cfg.freeze_bn_stats ?? true, cfg.freeze_bn_weights ?? true);
}
