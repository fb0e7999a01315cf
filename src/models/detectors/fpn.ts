// torchvision 0.14's FeaturePyramidNetwork with LastLevelMaxPool (ops/feature_pyramid_network.py) and
// BackboneWithFPN (models/detection/backbone_utils.py) with their state-dict names: `body` (the backbone's
// layers under their own names, as IntermediateLayerGetter keeps them), `fpn.inner_blocks.<i>.0` (1x1 lateral
// convs), `fpn.layer_blocks.<i>.0` (3x3 output convs); with a norm layer (fasterrcnn_resnet50_fpn_v2) each
// block is conv (no bias) + norm at `.<i>.1`. Also the MobileNetV3-Large FPN backbone exactly as
// fasterrcnn_mobilenet_v3_large_fpn builds it (_mobilenet_extractor(backbone, fpn=True, trainable_layers)).
import { Conv2d } from '../../nn/conv-layers.ts';
import { kaimingUniform } from '../../nn/init.ts';
import { ModuleList, Sequential } from '../../nn/layers.ts';
import { Layer, Module } from '../../nn/module.ts';
import { BatchNorm2d } from '../../nn/norm-layers.ts';
import { zeros } from '../../ops/creation.ts';
import { add } from '../../ops/elementwise.ts';
import { maxPool2d } from '../../ops/pool.ts';
import { interpolate } from '../../ops/resample.ts';
import { noGrad } from '../../tensor/autograd.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { MobileNetV3, type MobileNetNorm } from './mobilenet-v3.ts';

/** A named feature map, as the OrderedDict torchvision's backbones return ("0", "1", ..., "pool"). */
export interface NamedFeatures {
  names: string[];
  maps: Tensor[];
}

/** torchvision's FPN norm layer choice: none (the default) or BatchNorm2d (fasterrcnn_resnet50_fpn_v2). */
export type FpnNorm = null | { kind: 'batchnorm'; eps?: number; momentum?: number };

/** Conv2dNormActivation(inC, outC, k, padding (k - 1) / 2, norm, no activation): conv has a bias only without norm. */
function convBlock(inC: number, outC: number, kernel: number, norm: FpnNorm): Sequential {
  const conv = new Conv2d(inC, outC, kernel, { padding: (kernel - 1) >> 1, bias: norm === null });
  return norm ? new Sequential(conv, new BatchNorm2d(outC, { eps: norm.eps ?? 1e-5, momentum: norm.momentum ?? 0.1 })) : new Sequential(conv);
}

/**
 * torchvision's FeaturePyramidNetwork(in_channels_list, out_channels, LastLevelMaxPool(), norm_layer). Maps
 * x_i [N, in_i, H_i, W_i] (highest resolution first) -> results_i [N, out, H_i, W_i]: the last lateral conv,
 * then top-down each lateral plus the nearest-upsampled sum above it, each through its 3x3 conv; plus "pool" =
 * max_pool2d(last result, 1, 2, 0) [N, out, ceil(H / 2), ceil(W / 2)]. Convs kaiming_uniform(a=1), biases 0.
 */
export class FeaturePyramidNetwork extends Module {
  readonly innerBlocks: ModuleList<Sequential>;
  readonly layerBlocks: ModuleList<Sequential>;
  readonly outChannels: number;
  /** LastLevelMaxPool (torchvision's extra block; it holds no state). */
  readonly lastLevelMaxPool: boolean;

  constructor(inChannelsList: readonly number[], outChannels: number, opts: { norm?: FpnNorm; lastLevelMaxPool?: boolean; seed?: number } = {}) {
    super();
    if (!inChannelsList.length) throw new Error('FeaturePyramidNetwork: inChannelsList is empty');
    for (const c of inChannelsList) if (!Number.isInteger(c) || c <= 0) throw new Error(`FeaturePyramidNetwork: in_channels=${c} is not supported (positive integers)`);
    const norm = opts.norm ?? null;
    this.outChannels = outChannels;
    this.innerBlocks = this.registerModule('inner_blocks', new ModuleList(inChannelsList.map((c) => convBlock(c, outChannels, 1, norm))));
    this.layerBlocks = this.registerModule('layer_blocks', new ModuleList(inChannelsList.map(() => convBlock(outChannels, outChannels, 3, norm))));
    this.lastLevelMaxPool = opts.lastLevelMaxPool ?? true;
    let seed = opts.seed ?? 0;
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        if (!(m instanceof Conv2d)) continue;
        for (const [name, p] of m.namedParameters()) p.assign(name === 'weight' ? kaimingUniform(p.shape, { a: 1, seed: seed++ }) : zeros(p.shape));
      }
    });
  }

  forward(x: NamedFeatures): NamedFeatures {
    const n = this.innerBlocks.length;
    if (x.maps.length !== n) throw new Error(`FeaturePyramidNetwork: ${x.maps.length} feature maps for ${n} inner blocks`);
    let lastInner = this.innerBlocks.at(n - 1).forward(x.maps[n - 1]!);
    const results: Tensor[] = [this.layerBlocks.at(n - 1).forward(lastInner)];
    for (let i = n - 2; i >= 0; i--) {
      const lateral = this.innerBlocks.at(i).forward(x.maps[i]!);
      const [h, w] = [lateral.shape[2]!, lateral.shape[3]!];
      // Nearest to the same size is the identity (MobileNetV3's two maps are both stride 32).
      const topDown = lastInner.shape[2] === h && lastInner.shape[3] === w ? lastInner : interpolate(lastInner, { size: [h, w], mode: 'nearest' });
      lastInner = add(lateral, topDown);
      results.unshift(this.layerBlocks.at(i).forward(lastInner));
    }
    const names = [...x.names];
    if (this.lastLevelMaxPool) {
      names.push('pool');
      results.push(maxPool2d(results[results.length - 1]!, 1, { stride: 2, padding: 0 }));
    }
    return { names, maps: results };
  }
}

/**
 * torchvision's IntermediateLayerGetter over a Sequential: the layers up to the last returned one, under their
 * names, run in order; returns the outputs of `returnLayers` (layer name -> output name) in the layers' order.
 */
export class IntermediateLayerGetter extends Module {
  private readonly layers: [string, Layer][];
  constructor(
    layers: readonly (readonly [string, Layer])[],
    readonly returnLayers: ReadonlyMap<string, string>,
  ) {
    super();
    const names = layers.map(([n]) => n);
    for (const k of returnLayers.keys()) if (!names.includes(k)) throw new Error(`IntermediateLayerGetter: return_layers are not present in model: ${k}`);
    const last = Math.max(...[...returnLayers.keys()].map((k) => names.indexOf(k)));
    this.layers = layers.slice(0, last + 1).map(([n, l]) => [n, this.registerModule(n, l)]);
  }

  /** Swaps the layer registered as `name` (it must already be registered under that name). */
  replaceLayer(name: string, layer: Layer): void {
    const at = this.layers.findIndex(([n]) => n === name);
    if (at < 0 || this.child(name) !== layer) throw new Error(`IntermediateLayerGetter.replaceLayer: register '${name}' first`);
    this.layers[at] = [name, layer];
  }

  forward(x: Tensor): NamedFeatures {
    const out: NamedFeatures = { names: [], maps: [] };
    let y = x;
    for (const [name, layer] of this.layers) {
      y = layer.forward(y);
      const as = this.returnLayers.get(name);
      if (as !== undefined) {
        out.names.push(as);
        out.maps.push(y);
      }
    }
    return out;
  }
}

/** Any FPN backbone of a Faster R-CNN: x [N, 3, H, W] -> named maps with `outChannels` channels each. */
export interface DetectionBackbone extends Module {
  readonly outChannels: number;
  forward(x: Tensor): NamedFeatures;
}

/** torchvision's BackboneWithFPN: `body` (IntermediateLayerGetter) then `fpn`. */
export class BackboneWithFPN extends Module implements DetectionBackbone {
  readonly body: IntermediateLayerGetter;
  readonly fpn: FeaturePyramidNetwork;
  readonly outChannels: number;

  constructor(body: IntermediateLayerGetter, inChannelsList: readonly number[], outChannels: number, opts: { norm?: FpnNorm; seed?: number } = {}) {
    super();
    this.body = this.registerModule('body', body);
    this.fpn = this.registerModule('fpn', new FeaturePyramidNetwork(inChannelsList, outChannels, { norm: opts.norm ?? null, seed: opts.seed }));
    this.outChannels = outChannels;
  }

  forward(x: Tensor): NamedFeatures {
    return this.fpn.forward(this.body.forward(x));
  }
}

export interface MobileNetFpnOptions {
  /** FrozenBatchNorm2d when torchvision has weights to load (is_trained), else BatchNorm2d (eps 1e-5, momentum 0.1). */
  norm: MobileNetNorm;
  /** _mobilenet_extractor's trainable_layers, 0-6 (torchvision: 3 with weights, 6 without). */
  trainableLayers: number;
  seed?: number;
}

/**
 * fasterrcnn_mobilenet_v3_large_fpn's backbone: mobilenet_v3_large(norm_layer).features, the first
 * features[:stage_indices[6 - trainableLayers]] frozen, returned layers 4 and 5 of the stages (features[13], 160
 * channels, and features[16], 960, both stride 32) as "0" and "1", FPN to 256 channels with LastLevelMaxPool
 * ("pool", stride 64). x [N, 3, H, W] -> "0", "1" [N, 256, H / 32, W / 32], "pool" [N, 256, H / 64, W / 64].
 */
export function mobileNetV3LargeFpn(opts: MobileNetFpnOptions): BackboneWithFPN {
  const mobilenet = new MobileNetV3({ arch: 'large', norm: opts.norm, classifier: false, seed: opts.seed });
  mobilenet.setTrainableLayers(opts.trainableLayers);
  const stages = mobilenet.stageIndices;
  const returned = [stages.length - 2, stages.length - 1];
  const layers = mobilenet.features.layers.map((l, i) => [String(i), l] as const);
  const body = new IntermediateLayerGetter(layers, new Map(returned.map((k, v) => [String(stages[k]), String(v)])));
  const inChannels = returned.map((k) => {
    const layer = mobilenet.features.layers[stages[k]!]!;
    // InvertedResidual blocks and the last Conv2dNormActivation: torchvision reads `.out_channels`.
    return 'outChannels' in layer ? (layer as { outChannels: number }).outChannels : mobilenet.outChannels;
  });
  return new BackboneWithFPN(body, inChannels, 256, { seed: (opts.seed ?? 0) + 10_000 });
}

