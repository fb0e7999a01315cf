// The model parts, for users who build on them (a plugin head that reuses DeconvModule, a backbone that
// wraps ResNet) and the registries they register their own types in.
import './builtin-types.ts';

export { PoseModel, type PoseModelConfig, type HeadConfig, type PoseOutputs, type PoseTargets } from './pose-model.ts';
export { Backbone, buildBackbone, type BackboneConfig } from './backbones/index.ts';
export { ResNet, type ResNetOptions } from './backbones/resnet.ts';
export { HRNet } from './backbones/hrnet.ts';
export { HeatmapHead, DeconvModule, type DeconvConfig, type HeatmapHeadOutputs } from './heads/heatmap-head.ts';
export { HeatmapPredictor, type HeatmapPredictorOptions } from './predictors/heatmap.ts';
export { HeatmapGenerator, type HeatmapGeneratorOptions, type HeatmapTargets } from './target-generators/heatmap.ts';
export { WeightedCriterion, weightedMean, criterionTypes, type CriterionType } from './criterions.ts';
export type { BackboneNet, Neck, PoseHead, HeadOutputs, Target, TargetGenerator, Predictor, Criterion, LossAggregator, KeypointBatch } from './parts.ts';
export * from './registries.ts';
export { Registry, UnknownTypeError, type TypedBlock, type RegisterOptions, type RegistryEntry } from './registry.ts';
export type { Detector, DetectorOutput, DetectionTarget, Detections } from './detectors/detector.ts';
export { SSDLite, SSDLiteFeatureExtractor, torchvisionStateDict, type SSDLiteOptions, type SSDForward } from './detectors/ssdlite.ts';
export { SSDLiteHead, SSDScoringHead, predictionBlock, extraBlock, type SSDHeadOutputs } from './detectors/ssd-head.ts';
export { FasterRCNN, FASTER_RCNN_VARIANTS, type FasterRCNNOptions, type FasterRcnnVariant } from './detectors/faster-rcnn.ts';
export { FeaturePyramidNetwork, BackboneWithFPN, IntermediateLayerGetter, mobileNetV3LargeFpn, type NamedFeatures, type DetectionBackbone } from './detectors/fpn.ts';
export { RegionProposalNetwork, RPNHead, type RpnOptions, type Proposals } from './detectors/rpn.ts';
export { RoIHeads, TwoMLPHead, FastRCNNPredictor, fastRcnnConvFcHead, type RoiHeadsOptions, type RcnnTarget } from './detectors/roi-heads.ts';
export { Matcher, BalancedPositiveNegativeSampler } from './detectors/matcher.ts';
export { resnet50Fpn, type ResNetFpnOptions } from './detectors/resnet-fpn.ts';
export { ssdLoss, ssdMatch, matchTargets, boxIouHost, type SSDTarget, type SSDLossOptions } from './detectors/ssd-loss.ts';
export { GeneralizedRCNNTransform, resizeBoxes, type GeneralizedRCNNTransformOptions, type ImageBatch, type ImageSize } from './detectors/transform.ts';
export {
  MobileNetV3,
  InvertedResidual,
  conv2dNormActivation,
  NamedSequential,
  makeDivisible,
  mobileNetV3Config,
  ssdliteStages,
  type MobileNetV3Options,
  type MobileNetNorm,
  type InvertedResidualConfig,
  type MobileNetArch,
  type MobileNetV3ConfigOptions,
} from './detectors/mobilenet-v3.ts';
export { SqueezeExcitation } from './detectors/squeeze-excitation.ts';
export {
  AnchorGenerator,
  DefaultBoxGenerator,
  fasterrcnnMobileNetV3AnchorGenerator,
  fasterrcnnResnet50FpnAnchorGenerator,
  ssdlite320DefaultBoxGenerator,
  type DefaultBoxOptions,
} from './detectors/anchors.ts';
