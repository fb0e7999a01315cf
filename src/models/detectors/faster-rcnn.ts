// torchvision 0.14's FasterRCNN (models/detection/faster_rcnn.py, generalized_rcnn.py) as DeepLabCut builds it
// (its FasterRCNN detector: torchvision's constructor with box_score_thresh, then roi_heads.box_predictor
// replaced by FastRCNNPredictor(1024, 2)), with torchvision's state-dict names (backbone.body.*,
// backbone.fpn.*, rpn.head.*, roi_heads.box_head.*, roi_heads.box_predictor.*). Variants:
// - fasterrcnn_mobilenet_v3_large_fpn: MobileNetV3-Large FPN backbone (maps "0", "1" at stride 32, "pool"), 15
//   anchors per location on each of the 3 maps, rpn_score_thresh 0.05, TwoMLPHead; fasterrcnn_mobilenet_v3_large_
//   320_fpn is the same model with min_size 320, max_size 640 and 150 RPN proposals before / after NMS at test;
// - fasterrcnn_resnet50_fpn: ResNet-50 FPN ("0".."3" at strides 4-32, "pool"), 3 anchors per location (one size
//   per map), TwoMLPHead;
// - fasterrcnn_resnet50_fpn_v2: the same with BatchNorm2d in the FPN, a 2-conv RPN head and the
//   FastRCNNConvFCHead (4 x conv 256 + BatchNorm2d, fc 1024).
// transform (normalise with ImageNet's mean/std, resize to short side 800 / long side 1333, pad to 32) -> backbone
// -> RPN -> RoIHeads -> boxes back to each original size. When torchvision loads weights (COCO or the ImageNet
// backbone) it freezes the first backbone stages (3 trainable) and, except for v2, uses FrozenBatchNorm2d;
// without weights BatchNorm2d and every stage trainable: `pretrainedBackbone` picks the same.
import { FrozenBatchNorm2d, withoutFrozenBnCounters } from '../../nn/frozen-batch-norm.ts';
import { Module, StateDictError } from '../../nn/module.ts';
import { concat } from '../../ops/shape.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { scope } from '../../tensor/scope.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { BatchNormFreezing } from './bn-freezing.ts';
import { AnchorGenerator } from './anchors.ts';
import type { DetectionTarget, Detections, Detector, DetectorOutput } from './detector.ts';
import { mobileNetV3LargeFpn, type BackboneWithFPN } from './fpn.ts';
import { replaceModules, resnet50Fpn } from './resnet-fpn.ts';
import { FastRCNNPredictor, fastRcnnConvFcHead, RoIHeads, TwoMLPHead, type RcnnTarget } from './roi-heads.ts';
import { RegionProposalNetwork, RPNHead, type RpnOptions } from './rpn.ts';
import { GeneralizedRCNNTransform, resizeBoxes } from './transform.ts';

/** DeepLabCut's `variant` values that torchvision defines; those dlc-gpu builds are in BUILT_VARIANTS. */
export const FASTER_RCNN_VARIANTS = ['fasterrcnn_mobilenet_v3_large_fpn', 'fasterrcnn_mobilenet_v3_large_320_fpn', 'fasterrcnn_resnet50_fpn', 'fasterrcnn_resnet50_fpn_v2'] as const;
export type FasterRcnnVariant = (typeof FASTER_RCNN_VARIANTS)[number];
export const BUILT_VARIANTS: readonly FasterRcnnVariant[] = FASTER_RCNN_VARIANTS;

export interface FasterRCNNOptions {
  /** Default fasterrcnn_mobilenet_v3_large_fpn. */
  variant?: FasterRcnnVariant;
  /** Classes including the background (default 2: DeepLabCut's background + animal). */
  numClasses?: number;
  /** torchvision's is_trained (weights will be loaded): FrozenBatchNorm2d backbone, 3 trainable stages. Default false. */
  pretrainedBackbone?: boolean;
  /** torchvision's trainable_backbone_layers (default 3 with pretrainedBackbone, else all: 6 MobileNetV3, 5 ResNet-50). */
  trainableBackboneLayers?: number;
  minSize?: number | readonly number[];
  maxSize?: number;
  imageMean?: readonly number[];
  imageStd?: readonly number[];
  /** RPN settings (torchvision's rpn_* keywords; defaults 2000/1000 pre, 2000/1000 post NMS, 0.7, 0.7/0.3, 256, 0.5, score 0.05 for MobileNetV3). */
  rpn?: Partial<RpnOptions>;
  /** box_score_thresh: torchvision's default 0.05; DeepLabCut passes 0.01. */
  boxScoreThresh?: number;
  boxNmsThresh?: number;
  boxDetectionsPerImg?: number;
  boxFgIouThresh?: number;
  boxBgIouThresh?: number;
  boxBatchSizePerImage?: number;
  boxPositiveFraction?: number;
  freezeBnStats?: boolean;
  freezeBnWeights?: boolean;
  /** Seed of the initialisation and of the samplers. */
  seed?: number;
  /** Index of the training min size per image (GeneralizedRCNNTransform's choose). */
  chooseMinSize?: (n: number) => number;
}

/** Maps MultiScaleRoIAlign pools from: featmap_names ["0", "1", "2", "3"], those that exist. */
const POOLED_MAPS = new Set(['0', '1', '2', '3']);

/** Faster R-CNN: the Detector contract over torchvision's structure. */
export class FasterRCNN extends BatchNormFreezing implements Detector {
  readonly variant: FasterRcnnVariant;
  readonly numClasses: number;
  readonly transform: GeneralizedRCNNTransform;
  readonly backbone: BackboneWithFPN;
  readonly rpn: RegionProposalNetwork;
  readonly roiHeads: RoIHeads;
  readonly anchorGenerator: AnchorGenerator;
  readonly pretrainedBackbone: boolean;

  constructor(opts: FasterRCNNOptions = {}) {
    super();
    this.variant = opts.variant ?? 'fasterrcnn_mobilenet_v3_large_fpn';
    if (!BUILT_VARIANTS.includes(this.variant))
      throw new Error(`FasterRCNN: variant '${this.variant}' is not built in dlc-gpu yet (built: ${BUILT_VARIANTS.join(', ')}; torchvision's: ${FASTER_RCNN_VARIANTS.join(', ')})`);
    this.numClasses = opts.numClasses ?? 2;
    if (!Number.isInteger(this.numClasses) || this.numClasses < 2) throw new Error(`FasterRCNN: numClasses must be an integer >= 2 (background included), got ${this.numClasses}`);
    const seed = opts.seed ?? 0;
    this.pretrainedBackbone = opts.pretrainedBackbone ?? false;
    const mobilenet = this.variant === 'fasterrcnn_mobilenet_v3_large_fpn' || this.variant === 'fasterrcnn_mobilenet_v3_large_320_fpn';
    const low = this.variant === 'fasterrcnn_mobilenet_v3_large_320_fpn';
    const v2 = this.variant === 'fasterrcnn_resnet50_fpn_v2';
    const trainable = opts.trainableBackboneLayers ?? (this.pretrainedBackbone ? 3 : mobilenet ? 6 : 5);
    this.transform = this.registerModule(
      'transform',
      new GeneralizedRCNNTransform({
        minSize: opts.minSize ?? (low ? 320 : 800),
        maxSize: opts.maxSize ?? (low ? 640 : 1333),
        imageMean: opts.imageMean ?? [0.485, 0.456, 0.406],
        imageStd: opts.imageStd ?? [0.229, 0.224, 0.225],
        choose: opts.chooseMinSize,
      }),
    );
    const frozen = this.pretrainedBackbone && !v2;
    this.backbone = this.registerModule(
      'backbone',
      mobilenet
        ? mobileNetV3LargeFpn({ norm: frozen ? { kind: 'frozen' } : { kind: 'batchnorm', eps: 1e-5, momentum: 0.1 }, trainableLayers: trainable, seed })
        : resnet50Fpn({ norm: frozen ? 'frozen' : 'batchnorm', trainableLayers: trainable, fpnNorm: v2 ? { kind: 'batchnorm' } : null, seed }),
    );
    const sizes = [32, 64, 128, 256, 512];
    const ratios = [0.5, 1, 2];
    // MobileNetV3: every size on each of its 3 maps; ResNet-50 (_default_anchorgen): one size per map.
    this.anchorGenerator = mobilenet ? new AnchorGenerator([sizes, sizes, sizes], [ratios, ratios, ratios]) : new AnchorGenerator(sizes.map((s) => [s]), sizes.map(() => ratios));
    const rpnOpts: RpnOptions = {
      preNmsTopNTrain: 2000,
      preNmsTopNTest: low ? 150 : 1000,
      postNmsTopNTrain: 2000,
      postNmsTopNTest: low ? 150 : 1000,
      nmsThresh: 0.7,
      fgIouThresh: 0.7,
      bgIouThresh: 0.3,
      batchSizePerImage: 256,
      positiveFraction: 0.5,
      scoreThresh: mobilenet ? 0.05 : 0,
      samplerSeed: seed + 1,
      ...opts.rpn,
    };
    const out = this.backbone.outChannels;
    const rpnHead = new RPNHead(out, this.anchorGenerator.numAnchorsPerLocation()[0]!, { convDepth: v2 ? 2 : 1, seed: seed + 20_000 });
    this.rpn = this.registerModule('rpn', new RegionProposalNetwork(this.anchorGenerator, rpnHead, rpnOpts));
    const pool = 7;
    const boxHead = v2 ? fastRcnnConvFcHead([out, pool, pool], [256, 256, 256, 256], [1024], seed + 30_000) : new TwoMLPHead(out * pool * pool, 1024);
    this.roiHeads = this.registerModule(
      'roi_heads',
      new RoIHeads(boxHead, new FastRCNNPredictor(1024, this.numClasses), {
        fgIouThresh: opts.boxFgIouThresh ?? 0.5,
        bgIouThresh: opts.boxBgIouThresh ?? 0.5,
        batchSizePerImage: opts.boxBatchSizePerImage ?? 512,
        positiveFraction: opts.boxPositiveFraction ?? 0.25,
        bboxRegWeights: [10, 10, 5, 5],
        scoreThresh: opts.boxScoreThresh ?? 0.05,
        nmsThresh: opts.boxNmsThresh ?? 0.5,
        detectionsPerImg: opts.boxDetectionsPerImg ?? 100,
        poolSize: pool,
        samplingRatio: 2,
        samplerSeed: seed + 2,
      }),
    );
    this.initBnFreezing(opts.freezeBnStats ?? false, opts.freezeBnWeights ?? false);
  }

  /** Whether any BatchNorm2d layer is left (none when the backbone uses FrozenBatchNorm2d). */
  get hasBatchNorm(): boolean {
    return this.batchNorms().length > 0;
  }

  async detect(images: readonly Tensor[], targets?: readonly DetectionTarget[]): Promise<DetectorOutput> {
    this.transform.checkImages(images, 'FasterRCNN.detect');
    if (this.training) return { losses: await this.losses(images, targets), detections: [] };
    const detections = await scope(async () => {
      const { batch, features, pooled } = noGrad(() => {
        const b = this.transform.forward(images);
        const f = this.backbone.forward(b.tensors);
        return { batch: b, features: f.maps, pooled: f.maps.filter((_, i) => POOLED_MAPS.has(f.names[i]!)) };
      });
      const heads = noGrad(() => this.rpn.heads(batch.tensors, features));
      const proposals = await this.rpn.proposals(heads, batch.imageSizes);
      const dets = await this.roiHeads.detect(pooled, proposals, batch.imageSizes);
      return dets.map((d, i) => ({ ...d, boxes: resizeBoxes(d.boxes, batch.imageSizes[i]!, [images[i]!.shape[1]!, images[i]!.shape[2]!]) }));
    });
    return { losses: {}, detections };
  }

  /** Training: torchvision's four losses for `targets` (boxes in each input image's pixels). */
  private async losses(images: readonly Tensor[], targets: readonly DetectionTarget[] | undefined): Promise<Record<string, Tensor>> {
    if (!targets) throw new Error('FasterRCNN.detect: targets are required in training mode (call eval() to detect)');
    if (!Array.isArray(targets) || targets.length !== images.length) throw new Error(`FasterRCNN.detect: ${Array.isArray(targets) ? targets.length : typeof targets} targets for ${images.length} images (one each)`);
    const hostBoxes = await this.readTargets(targets);
    const batch = this.transform.forward(images);
    // Boxes resized with their images and checked before anything else is recorded, as GeneralizedRCNN does.
    const rcnnTargets: RcnnTarget[] = targets.map((t, i) => {
      const boxes = resizeBoxes(hostBoxes[i]!, [images[i]!.shape[1]!, images[i]!.shape[2]!], batch.imageSizes[i]!);
      for (let k = 0; k < boxes.length; k += 4) {
        if (!(boxes[k + 2]! > boxes[k]! && boxes[k + 3]! > boxes[k + 1]!))
          throw new Error(`FasterRCNN.detect: All bounding boxes should have positive height and width. Found invalid box [${Array.from(boxes.subarray(k, k + 4)).join(', ')}] for target at index ${i}.`);
      }
      return { boxes, labels: t.labels };
    });
    const f = this.backbone.forward(batch.tensors);
    const heads = this.rpn.heads(batch.tensors, f.maps);
    const proposals = await this.rpn.proposals(heads, batch.imageSizes);
    const rpnLosses = this.rpn.losses(
      heads,
      rcnnTargets.map((t) => t.boxes),
    );
    const pooled = f.maps.filter((_, i) => POOLED_MAPS.has(f.names[i]!));
    const boxLosses = this.roiHeads.losses(pooled, proposals, batch.imageSizes, rcnnTargets);
    // torchvision's dict order: the RoI heads' losses, then the RPN's.
    return { ...boxLosses, ...rpnLosses };
  }

  /** Each target's boxes on the host (one readback), after checking boxes [n, 4] and n labels in [0, numClasses). */
  private async readTargets(targets: readonly DetectionTarget[]): Promise<Float32Array[]> {
    targets.forEach((t, i) => {
      const b = t?.boxes;
      if (!(b instanceof Tensor) || b.rank !== 2 || b.shape[1] !== 4) throw new Error(`FasterRCNN.detect: target ${i}: expected target boxes to be a tensor of shape [N, 4], got ${b instanceof Tensor ? `[${b.shape.join(', ')}]` : typeof b}`);
      if (!(t.labels instanceof Int32Array) || t.labels.length !== b.shape[0]) throw new Error(`FasterRCNN.detect: target ${i}: labels must be an Int32Array with one label per box (${b.shape[0]})`);
      for (const l of t.labels) if (!(l >= 0 && l < this.numClasses)) throw new Error(`FasterRCNN.detect: target ${i}: label ${l} is outside [0, ${this.numClasses - 1}] (numClasses ${this.numClasses})`);
    });
    const nonEmpty = targets.filter((t) => t.boxes.size > 0).map((t) => t.boxes);
    const all = nonEmpty.length ? await scope(async () => (nonEmpty.length === 1 ? nonEmpty[0]! : concat(nonEmpty, 0)).toArray()) : new Float32Array(0);
    for (let k = 0; k < all.length; k++) if (!Number.isFinite(all[k]!)) throw new Error(`FasterRCNN.detect: target boxes must be finite, got ${all[k]} (value ${k % 4} of box ${Math.floor(k / 4)} of the batch)`);
    let at = 0;
    return targets.map((t) => {
      const part = all.slice(at, at + t.boxes.size);
      at += t.boxes.size;
      return part;
    });
  }

  /**
   * As torchvision's load_state_dict: the num_batches_tracked entries of FrozenBatchNorm2d layers are dropped
   * (FrozenBatchNorm2d._load_from_state_dict), so files from BatchNorm2d models load into frozen ones.
   */
  override loadStateDict(state: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>, strict = true): { missing: string[]; unexpected: string[] } {
    return super.loadStateDict(withoutFrozenBnCounters(this, state), strict);
  }

  /**
   * Loads torchvision weights (torchvisionStateDict's result) as DeepLabCut's `pretrained` does:
   * - a Faster R-CNN state dict or DeepLabCut snapshot of this variant: strictly; a COCO file's 91-class
   *   box_predictor is left as initialised (DeepLabCut replaces it with a fresh 2-class FastRCNNPredictor), and for
   *   fasterrcnn_resnet50_fpn the FrozenBatchNorm2d eps becomes 0 (torchvision's overwrite_eps for COCO_V1);
   * - an ImageNet classification file of the backbone (MobileNetV3-Large features.* / classifier.*, ResNet-50
   *   conv1 ... layer4 / fc): the trunk into backbone.body (torchvision's weights_backbone), the rest as initialised.
   * A file of another model fails naming the first keys that do not fit.
   */
  loadTorchvisionState(state: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void {
    const shapes = new Map(this.stateDictShapes());
    const keys = [...state.keys()];
    const entry = (shape: readonly number[], data: Float32Array, k: string) => ({ shape: [...shape], data, dtype: k.endsWith('num_batches_tracked') ? ('int64' as const) : ('float32' as const) });
    const mobilenet = this.variant.startsWith('fasterrcnn_mobilenet');
    const classifier = mobilenet ? keys.some((k) => k.startsWith('features.')) : keys.includes('conv1.weight') && keys.some((k) => k.startsWith('fc.'));
    if (classifier && !keys.some((k) => k.startsWith('backbone.'))) {
      // torchvision's weights_backbone: MobileNetV3's features.* or ResNet-50's trunk (its fc.* dropped) into backbone.body.
      const mapped = new Map<string, ReturnType<typeof entry>>();
      for (const [k, e] of state) {
        if (mobilenet && k.startsWith('features.')) mapped.set(`backbone.body.${k.slice('features.'.length)}`, entry(e.shape, e.data, k));
        else if (!mobilenet && !k.startsWith('fc.')) mapped.set(`backbone.body.${k}`, entry(e.shape, e.data, k));
      }
      const body = [...shapes.keys()].filter((k) => k.startsWith('backbone.body.'));
      checkSubset(withoutFrozenBnCounters(this, mapped), body, shapes, `an ImageNet backbone file for ${this.variant}`);
      super.loadStateDict(withoutFrozenBnCounters(this, mapped), false);
      return;
    }
    const out = new Map<string, ReturnType<typeof entry>>();
    const predictor = 'roi_heads.box_predictor.cls_score.weight';
    const coco = state.get(predictor)?.shape[0] === 91 && shapes.get(predictor)?.[0] !== 91;
    for (const [k, e] of state) if (!(coco && k.startsWith('roi_heads.box_predictor.'))) out.set(k, entry(e.shape, e.data, k));
    const wanted = [...shapes.keys()].filter((k) => !(coco && k.startsWith('roi_heads.box_predictor.')));
    const filtered = withoutFrozenBnCounters(this, out);
    checkSubset(filtered, wanted, shapes, this.variant);
    // torchvision's fasterrcnn_resnet50_fpn(weights=COCO_V1) runs overwrite_eps(model, 0.0): its FrozenBatchNorm2d
    // layers use eps 0 with the COCO weights (eps is not in the file; DeepLabCut trains with it so).
    if (coco && this.variant === 'fasterrcnn_resnet50_fpn') replaceModules(this.backbone, FrozenBatchNorm2d, (bn) => new FrozenBatchNorm2d(bn.numFeatures, 0));
    super.loadStateDict(filtered, !coco);
  }

  override dispose(): void {
    super.dispose();
    this.anchorGenerator.dispose();
  }
}

/** Fails unless `state` holds exactly `wanted` (with the model's shapes), naming the first keys that differ. */
function checkSubset(state: ReadonlyMap<string, { shape: readonly number[] }>, wanted: readonly string[], shapes: ReadonlyMap<string, readonly number[]>, what: string): void {
  const want = new Set(wanted);
  const missing = wanted.filter((k) => !state.has(k));
  const unexpected = [...state.keys()].filter((k) => !want.has(k));
  const wrong = wanted.filter((k) => state.has(k) && state.get(k)!.shape.join(',') !== shapes.get(k)!.join(','));
  if (!missing.length && !unexpected.length && !wrong.length) return;
  const first = (list: string[], fmt: (k: string) => string = (k) => k) => `${list.slice(0, 5).map(fmt).join(', ')}${list.length > 5 ? `, ... (${list.length} in all)` : ''}`;
  const parts = [
    missing.length ? `missing keys: ${first(missing)}` : '',
    unexpected.length ? `unexpected keys: ${first(unexpected)}` : '',
    wrong.length ? `wrong shapes: ${first(wrong, (k) => `${k} (file [${state.get(k)!.shape.join(', ')}], model [${shapes.get(k)!.join(', ')}])`)}` : '',
  ].filter(Boolean);
  throw new StateDictError(`does not hold ${what} weights: ${parts.join('; ')}`, missing, unexpected, wrong);
}


