// The built-in detectors, registered in DETECTORS under DeepLabCut's `detector.model.type` names: importing this
// module registers them. The builders read DeepLabCut's keys with its class defaults; `pretrained` names a weights
// file (dlc-gpu downloads nothing), so this module reads files and is Node-side (the models themselves, in
// ssdlite.ts and the rest, import nothing from Node).
import { existsSync, statSync } from 'node:fs';
import { readTorchFile } from '../../io/index.ts';
import { DETECTORS, type BuildContext } from '../registries.ts';
import type { TypedBlock } from '../registry.ts';
import { SSDLite, torchvisionStateDict } from './ssdlite.ts';

export { SSDLite, SSDLiteFeatureExtractor, torchvisionStateDict, type SSDLiteOptions, type SSDForward } from './ssdlite.ts';
export { SSDLiteHead, SSDScoringHead, predictionBlock, extraBlock, type SSDHeadOutputs } from './ssd-head.ts';
export { ssdLoss, ssdMatch, matchTargets, boxIouHost, type SSDTarget, type SSDLossOptions } from './ssd-loss.ts';
export { GeneralizedRCNNTransform, resizeBoxes, type GeneralizedRCNNTransformOptions, type ImageBatch, type ImageSize } from './transform.ts';
export type { Detector, DetectorOutput, DetectionTarget, Detections } from './detector.ts';

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

/** Loads `path` (torchvision state dict, DeepLabCut snapshot or COCO weights) into `model`; errors name `<where>.pretrained`. */
export function loadSsdliteWeights(model: SSDLite, path: string, where = 'detector.model'): void {
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
    throw new Error(`${key}: ${path} does not hold SSDLite weights: ${(e as Error).message}`);
  }
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
