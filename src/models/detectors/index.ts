// The built-in detectors, registered in DETECTORS under DeepLabCut's `detector.model.type` names: importing this
// module registers them. The builders read DeepLabCut's keys with its class defaults; `pretrained` names a weights
// file (dlc-gpu downloads nothing), so this module reads files and is Node-side (the models themselves, in
// ssdlite.ts and the rest, import nothing from Node).
import { existsSync, statSync } from 'node:fs';
import { readTorchFile } from '../../io/index.ts';
import { DETECTORS, type BuildContext } from '../registries.ts';
import type { TypedBlock } from '../registry.ts';
import { SSDLite, torchvisionStateDict } from './ssdlite.ts';
import { BUILT_VARIANTS, FASTER_RCNN_VARIANTS, FasterRCNN, type FasterRcnnVariant } from './faster-rcnn.ts';

export { SSDLite, SSDLiteFeatureExtractor, torchvisionStateDict, type SSDLiteOptions, type SSDForward } from './ssdlite.ts';
export { SSDLiteHead, SSDScoringHead, predictionBlock, extraBlock, type SSDHeadOutputs } from './ssd-head.ts';
export { ssdLoss, ssdMatch, matchTargets, boxIouHost, type SSDTarget, type SSDLossOptions } from './ssd-loss.ts';
export { GeneralizedRCNNTransform, resizeBoxes, type GeneralizedRCNNTransformOptions, type ImageBatch, type ImageSize } from './transform.ts';
export type { Detector, DetectorOutput, DetectionTarget, Detections } from './detector.ts';
export { FasterRCNN, FASTER_RCNN_VARIANTS, BUILT_VARIANTS as FASTER_RCNN_BUILT_VARIANTS, type FasterRCNNOptions, type FasterRcnnVariant } from './faster-rcnn.ts';
export { FeaturePyramidNetwork, BackboneWithFPN, IntermediateLayerGetter, mobileNetV3LargeFpn, type NamedFeatures, type DetectionBackbone } from './fpn.ts';
export { RegionProposalNetwork, RPNHead, type RpnOptions, type Proposals } from './rpn.ts';
export { RoIHeads, TwoMLPHead, FastRCNNPredictor, fastRcnnConvFcHead, type RoiHeadsOptions, type RcnnTarget } from './roi-heads.ts';
export { Matcher, BalancedPositiveNegativeSampler } from './matcher.ts';
export { resnet50Fpn, type ResNetFpnOptions } from './resnet-fpn.ts';

const COCO_URL = 'https://download.pytorch.org/models/ssdlite320_mobilenet_v3_large_coco-a79551df.pth';

/** What DeepLabCut's `pretrained: true` does for SSDLite, and how to get the same here. */
export function ssdlitePretrainedHowTo(where: string): string {
  return (
    `${where}.pretrained is true: DeepLabCut downloads torchvision's COCO weights here, and dlc-gpu downloads nothing. ` +
    `Download ${COCO_URL} yourself and set ${where}.pretrained to that file's path (its 91-class head is cut to 2 classes ` +
    `as DeepLabCut does; a DeepLabCut detector snapshot or a 2-class torchvision state dict works too), or set it to false ` +
    `to train from random initialisation`
  );
}

function flag(cfg: TypedBlock, key: string, where: string): boolean {
  const v = cfg[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new Error(`${where}.${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Reads the weights file `path` of `<where>.pretrained` and loads it into `model` through its torchvision-named
 * state dict; every failure names the key and the file (`mismatch` words a state dict that does not fit).
 */
function loadPretrainedFile(model: { loadTorchvisionState(state: ReturnType<typeof torchvisionStateDict>): void }, path: string, where: string, mismatch: (message: string) => string): void {
  const key = `${where}.pretrained`;
  if (!existsSync(path)) throw new Error(`${key}: ${path} does not exist`);
  if (statSync(path).isDirectory()) throw new Error(`${key}: ${path} is a folder; give the weights file`);
  let raw: unknown;
  try {
    raw = readTorchFile(path);
  } catch (e) {
    throw new Error(`${key}: cannot read ${path} as a PyTorch file: ${(e as Error).message}`);
  }
  try {
    model.loadTorchvisionState(torchvisionStateDict(raw, path));
  } catch (e) {
    throw new Error(`${key}: ${path} ${mismatch((e as Error).message)}`);
  }
}

/** Loads `path` (torchvision state dict, DeepLabCut snapshot or COCO weights) into `model`; errors name `<where>.pretrained`. */
export function loadSsdliteWeights(model: SSDLite, path: string, where = 'detector.model'): void {
  loadPretrainedFile(model, path, where, (m) => `does not hold SSDLite weights: ${m}`);
}

/**
 * DeepLabCut's SSDLite detector from its `detector.model` block: pretrained (false, or a weights file's path;
 * true is refused with how to supply the file), freeze_bn_stats, freeze_bn_weights (DeepLabCut's class defaults:
 * false). box_score_thresh is accepted and ignored, as in DeepLabCut (torchvision's SSD never receives it).
 */
export function buildSsdlite(cfg: TypedBlock, ctx: BuildContext): SSDLite {
  const where = ctx.where;
  const pretrained = cfg.pretrained ?? false;
  if (pretrained === true) throw new Error(ssdlitePretrainedHowTo(where));
  if (pretrained !== false && typeof pretrained !== 'string') throw new Error(`${where}.pretrained must be false or the path of a weights file, got ${JSON.stringify(pretrained)}`);
  if (cfg.pretrained_from_imagenet === true)
    throw new Error(`${where}.pretrained_from_imagenet is not supported: dlc-gpu builds SSDLite as DeepLabCut does without ImageNet weights (reduced tail); give COCO or DeepLabCut weights with ${where}.pretrained`);
  const model = new SSDLite({ seed: ctx.seed, freezeBnStats: flag(cfg, 'freeze_bn_stats', where), freezeBnWeights: flag(cfg, 'freeze_bn_weights', where) });
  if (typeof pretrained === 'string') {
    try {
      loadSsdliteWeights(model, pretrained, where);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return model;
}

DETECTORS.register('SSDLite', buildSsdlite);

/** torchvision's weight files for the Faster R-CNN variants dlc-gpu builds: COCO (DeepLabCut's pretrained: true) and the ImageNet backbone. */
const FASTER_RCNN_FILES: Partial<Record<FasterRcnnVariant, { coco: string; backbone: string }>> = {
  fasterrcnn_mobilenet_v3_large_fpn: {
    coco: 'https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth',
    backbone: 'https://download.pytorch.org/models/mobilenet_v3_large-8738ca79.pth',
  },
  fasterrcnn_mobilenet_v3_large_320_fpn: {
    coco: 'https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth',
    backbone: 'https://download.pytorch.org/models/mobilenet_v3_large-8738ca79.pth',
  },
  fasterrcnn_resnet50_fpn: {
    coco: 'https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_coco-258fb6c6.pth',
    backbone: 'https://download.pytorch.org/models/resnet50-0676ba61.pth',
  },
  fasterrcnn_resnet50_fpn_v2: {
    coco: 'https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth',
    backbone: 'https://download.pytorch.org/models/resnet50-0676ba61.pth',
  },
};

/** What DeepLabCut's `pretrained: true` does for FasterRCNN, and how to get the same here. */
export function fasterRcnnPretrainedHowTo(where: string, variant: FasterRcnnVariant): string {
  const files = FASTER_RCNN_FILES[variant];
  return (
    `${where}.pretrained is true: DeepLabCut downloads torchvision's COCO weights for ${variant} here, and dlc-gpu downloads nothing. ` +
    `Download ${files?.coco ?? "torchvision's COCO_V1 file"} yourself and set ${where}.pretrained to that file's path (its 91-class box predictor is ` +
    `replaced by a 2-class one as DeepLabCut replaces it; a DeepLabCut detector snapshot works too, and so does the ImageNet backbone file ` +
    `${files?.backbone ?? ''}${variant === 'fasterrcnn_resnet50_fpn_v2' ? '' : ', which is what DeepLabCut starts from with pretrained: false'}), or set it to false to train from random initialisation`
  );
}

/** Loads `path` (Faster R-CNN state dict, DeepLabCut snapshot, COCO or ImageNet-backbone weights) into `model`; errors name `<where>.pretrained`. */
export function loadFasterRcnnWeights(model: FasterRCNN, path: string, where = 'detector.model'): void {
  loadPretrainedFile(model, path, where, (m) => m);
}

/**
 * DeepLabCut's FasterRCNN detector from its `detector.model` block: variant (torchvision's builder name),
 * pretrained (false, or a weights file's path; true is refused with how to supply the file), freeze_bn_stats,
 * freeze_bn_weights (class defaults false) and box_score_thresh (default 0.01). With a weights file the model has
 * torchvision's structure for trained weights (FrozenBatchNorm2d backbone, 3 trainable stages); without, the one
 * torchvision builds with no weights at all (BatchNorm2d, every stage trainable), since DeepLabCut's ImageNet
 * backbone is not downloaded.
 */
export function buildFasterRcnn(cfg: TypedBlock, ctx: BuildContext): FasterRCNN {
  const where = ctx.where;
  const variant = (cfg.variant ?? 'fasterrcnn_mobilenet_v3_large_fpn') as FasterRcnnVariant;
  if (typeof variant !== 'string' || !variant.startsWith('fasterrcnn')) throw new Error(`${where}.variant must be one of torchvision's Faster R-CNN builders (${FASTER_RCNN_VARIANTS.join(', ')}), got ${JSON.stringify(cfg.variant)}`);
  if (!BUILT_VARIANTS.includes(variant))
    throw new Error(`${where}.variant: '${variant}' is not built in dlc-gpu yet (built: ${BUILT_VARIANTS.join(', ')}); use variant: fasterrcnn_mobilenet_v3_large_fpn, or type: SSDLite`);
  const pretrained = cfg.pretrained ?? false;
  if (pretrained === true) throw new Error(fasterRcnnPretrainedHowTo(where, variant));
  if (pretrained !== false && typeof pretrained !== 'string') throw new Error(`${where}.pretrained must be false or the path of a weights file, got ${JSON.stringify(pretrained)}`);
  const thresh = cfg.box_score_thresh ?? 0.01;
  if (typeof thresh !== 'number' || !(thresh >= 0 && thresh <= 1)) throw new Error(`${where}.box_score_thresh must be a number in [0, 1], got ${JSON.stringify(thresh)}`);
  const model = new FasterRCNN({
    variant,
    pretrainedBackbone: typeof pretrained === 'string',
    boxScoreThresh: thresh,
    seed: ctx.seed,
    freezeBnStats: flag(cfg, 'freeze_bn_stats', where),
    freezeBnWeights: flag(cfg, 'freeze_bn_weights', where),
  });
  if (typeof pretrained === 'string') {
    try {
      loadFasterRcnnWeights(model, pretrained, where);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return model;
}

DETECTORS.register('FasterRCNN', buildFasterRcnn);
