// torchvision 0.14's ResNet-50 FPN backbone (models/detection/backbone_utils.py _resnet_fpn_extractor) as
// fasterrcnn_resnet50_fpn and fasterrcnn_resnet50_fpn_v2 build it, over the pose models' ResNet (whose module
// names are torchvision's: conv1, bn1, layer1.0.conv1, ..., layer4.2.bn3, downsample.0/1):
// - norm: torchvision's norm_layer argument, FrozenBatchNorm2d (v1 with weights) or BatchNorm2d (v1 without
//   weights, v2 always); BatchNorm2d weights start at 1 (torchvision's resnet does not zero-init the last norm of
//   each block, as timm's does);
// - trainable_layers k: only ["layer4", "layer3", "layer2", "layer1", "conv1"][:k] (and bn1 when k = 5) train;
// - body: conv1, bn1, relu, maxpool, layer1..layer4 (IntermediateLayerGetter's names), layers 1-4 returned as
//   "0".."3" (256, 512, 1024, 2048 channels, strides 4-32); FPN to 256 channels with LastLevelMaxPool ("pool",
//   stride 64), its blocks conv + BatchNorm2d for v2.
import { FrozenBatchNorm2d } from '../../nn/frozen-batch-norm.ts';
import { ModuleList, ReLU, Sequential } from '../../nn/layers.ts';
import { Layer, type Module } from '../../nn/module.ts';
import { BatchNorm2d } from '../../nn/norm-layers.ts';
import { ones } from '../../ops/creation.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { ResNet } from '../backbones/resnet.ts';
import { BackboneWithFPN, IntermediateLayerGetter, type FpnNorm } from './fpn.ts';

/**
 * Replaces every module of class `kind` below `m` by `make(old)` under the same name (what torchvision's norm_layer
 * argument chooses at construction, or overwrite_eps changes after it; the pose ResNet takes only BatchNorm2d or
 * GroupNorm). The replaced modules are released.
 */
export function replaceModules<T extends Module>(m: Module, kind: abstract new (...args: never[]) => T, make: (old: T) => Layer): void {
  for (const [name, child] of m.namedChildren()) {
    if (child instanceof kind) {
      const fresh = make(child);
      (m as unknown as { registerModule(n: string, c: Module): Module }).registerModule(name, fresh);
      // Containers that run their own list rather than looking children up by name (as the ResNet blocks do).
      if (m instanceof Sequential) m.layers[Number(name)] = fresh;
      else if (m instanceof ModuleList) m.items[Number(name)] = fresh;
      else if (m instanceof IntermediateLayerGetter) m.replaceLayer(name, fresh);
      child.dispose();
    } else replaceModules(child, kind, make);
  }
}

export interface ResNetFpnOptions {
  norm: 'frozen' | 'batchnorm';
  /** 0-5 (torchvision: 3 with weights, 5 without). */
  trainableLayers: number;
  /** The FPN's norm layer (BatchNorm2d for v2). */
  fpnNorm?: FpnNorm;
  seed?: number;
}

/** x [N, 3, H, W] -> "0".."3" [N, 256, H / 4 ... H / 32, ...] and "pool" [N, 256, H / 64, W / 64]. */
export function resnet50Fpn(opts: ResNetFpnOptions): BackboneWithFPN {
  const k = opts.trainableLayers;
  if (!Number.isInteger(k) || k < 0 || k > 5) throw new Error(`resnet50Fpn: Trainable layers should be in the range [0,5], got ${k}`);
  const resnet = new ResNet({ depth: 50, seed: opts.seed });
  noGrad(() => {
    for (const [, m] of resnet.namedModules()) if (m instanceof BatchNorm2d) (m.namedParameters().find(([n]) => n === 'weight')?.[1])?.assign(ones([m.numFeatures]));
  });
  if (opts.norm === 'frozen') replaceModules(resnet, BatchNorm2d, (bn) => new FrozenBatchNorm2d(bn.numFeatures));
  const train = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'].slice(0, k);
  if (k === 5) train.push('bn1');
  for (const [name, p] of resnet.namedParameters()) p.requiresGrad = train.some((t) => name.startsWith(t));
  for (const [name, m] of resnet.namedModules()) if (m instanceof BatchNorm2d) m.freezeWeights = !train.some((t) => name.startsWith(t));
  const layer = (n: string) => resnet.child(n) as Layer;
  const body = new IntermediateLayerGetter(
    [
      ['conv1', layer('conv1')],
      ['bn1', layer('bn1')],
      ['relu', new ReLU()],
      ['maxpool', layer('maxpool')],
      ['layer1', layer('layer1')],
      ['layer2', layer('layer2')],
      ['layer3', layer('layer3')],
      ['layer4', layer('layer4')],
    ],
    new Map([
      ['layer1', '0'],
      ['layer2', '1'],
      ['layer3', '2'],
      ['layer4', '3'],
    ]),
  );
  return new BackboneWithFPN(body, [256, 512, 1024, 2048], 256, { norm: opts.fpnNorm ?? null, seed: (opts.seed ?? 0) + 10_000 });
}
