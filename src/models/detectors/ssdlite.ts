// torchvision 0.14's ssdlite320_mobilenet_v3_large as DeepLabCut builds it (DeepLabCut's SSDLite detector:
// ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=2)), with torchvision's module
// structure and state-dict names (backbone.features.0..., backbone.extra.0..., head.classification_head.
// module_list.0.0.0.weight, head.regression_head...), so torchvision files and DeepLabCut snapshots load.
// - backbone: MobileNetV3-Large with reduced_tail (no ImageNet weights), BatchNorm2d(eps 0.001, momentum 0.03),
//   split after C4's expansion (stride 16, 672 channels) and at the end (stride 32, 480), plus 4 extra blocks
//   (512, 256, 256, 128 channels): six maps 20, 10, 5, 3, 2, 1 at 320x320;
// - every Conv2d initialised N(0, 0.03) with zero bias (ssdlite.py's _normal_init covers the backbone too
//   when there are no backbone weights), BatchNorm weight 1 and bias 0;
// - 6 default boxes per location (ratios 2, 3; scales 0.2 ... 0.95), BoxCoder weights (10, 10, 5, 5);
// - transform: normalise with mean = std = 0.5, resize to 320x320 (bilinear, no antialias), batch;
// - eval: softmax, per class score > 0.001 (float32), top 300, decode, clip, batched_nms(0.55), keep 300, boxes
//   back to each original size; training: SSD's compute_loss (ssd-loss.ts).
// DeepLabCut's box_score_thresh never reaches torchvision's SSD (SSD's keyword is score_thresh), so it is ignored
// here too.
import { isHostTensor, toFloat32, type HostTensor } from '../../io/host-tensor.ts';
import { Conv2d } from '../../nn/conv-layers.ts';
import { normal } from '../../nn/init.ts';
import { ModuleList, Sequential } from '../../nn/layers.ts';
import { Module, type StateDict } from '../../nn/module.ts';
import { BoxCoder, clipBoxesToImage } from '../../ops/boxes.ts';
import { zeros } from '../../ops/creation.ts';
import { concat, reshape, slice } from '../../ops/shape.ts';
import { softmax } from '../../ops/softmax.ts';
import { torchTopkDescending } from '../../ops/sort.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { scope } from '../../tensor/scope.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { BatchNormFreezing } from './bn-freezing.ts';
import { DefaultBoxGenerator, ssdlite320DefaultBoxGenerator } from './anchors.ts';
import type { DetectionTarget, Detections, Detector, DetectorOutput } from './detector.ts';
import { keepDetections } from './keep-detections.ts';
import { InvertedResidual, MobileNetV3, ssdliteStages, type MobileNetNorm } from './mobilenet-v3.ts';
import { extraBlock, SSDLiteHead, type SSDHeadOutputs } from './ssd-head.ts';
import { matchTargets, ssdLoss, type SSDTarget } from './ssd-loss.ts';
import { GeneralizedRCNNTransform, resizeBoxes, type ImageBatch, type ImageSize } from './transform.ts';

/**
 * torchvision's SSDLiteFeatureExtractorMobileNet: `features` = [MobileNetV3 up to C4's expansion conv, the rest],
 * `extra` = 4 extra blocks. x [N, 3, 320, 320] -> six maps [N, C_i, s_i, s_i]: C = 672, 480, 512, 256, 256, 128
 * (reduced tail), s = 20, 10, 5, 3, 2, 1.
 */
export class SSDLiteFeatureExtractor extends Module {
  readonly features: Sequential;
  readonly extra: ModuleList<Sequential>;
  readonly outChannels: number[];

  constructor(backbone: MobileNetV3, norm: MobileNetNorm, opts: { widthMult?: number; minDepth?: number } = {}) {
    super();
    const c4Pos = backbone.c4Pos;
    const c4 = backbone.features.layers[c4Pos];
    if (!(c4 instanceof InvertedResidual)) throw new Error(`SSDLiteFeatureExtractor: features[${c4Pos}] is not an InvertedResidual block`);
    const [stage0, stage1] = ssdliteStages(backbone, c4Pos);
    this.features = this.registerModule('features', new Sequential(stage0, stage1));
    const depth = (d: number) => Math.max(opts.minDepth ?? 16, Math.trunc(d * (opts.widthMult ?? 1)));
    const last = backbone.outChannels;
    this.extra = this.registerModule(
      'extra',
      new ModuleList([extraBlock(last, depth(512), norm), extraBlock(depth(512), depth(256), norm), extraBlock(depth(256), depth(256), norm), extraBlock(depth(256), depth(128), norm)]),
    );
    this.outChannels = [c4.config.expandedChannels, last, depth(512), depth(256), depth(256), depth(128)];
  }

  forward(x: Tensor): Tensor[] {
    const out: Tensor[] = [];
    let y = x;
    for (const stage of this.features.layers) out.push((y = stage.forward(y)));
    for (const block of this.extra.items) out.push((y = block.forward(y)));
    return out;
  }
}

export interface SSDLiteOptions {
  /** Classes including the background (default 2: DeepLabCut's background + animal; torchvision's default 91). */
  numClasses?: number;
  /** MobileNetV3's reduced tail (default true: what torchvision builds without ImageNet backbone weights). */
  reducedTail?: boolean;
  /** Default BatchNorm2d(eps 0.001, momentum 0.03). */
  norm?: MobileNetNorm;
  /** Backbone stages left trainable, 0-6 (torchvision's trainable_backbone_layers; default 6, all). */
  trainableBackboneLayers?: number;
  scoreThresh?: number;
  nmsThresh?: number;
  detectionsPerImg?: number;
  topkCandidates?: number;
  /** SSDMatcher's IoU threshold (default 0.5). */
  iouThresh?: number;
  /** Fraction of positives among the classified boxes (default 0.25: 3 negatives per positive). */
  positiveFraction?: number;
  imageMean?: readonly number[];
  imageStd?: readonly number[];
  /** DeepLabCut's freeze_bn_stats: BatchNorm layers keep (and use) their running statistics while training. */
  freezeBnStats?: boolean;
  /** DeepLabCut's freeze_bn_weights: BatchNorm weights and biases get no gradient. */
  freezeBnWeights?: boolean;
  /** Seed of the N(0, 0.03) initialisation. */
  seed?: number;
}

/** The eval-mode forward's pieces (the transformed batch, the six maps, the head outputs, the default boxes). */
export interface SSDForward {
  batch: ImageBatch;
  features: Tensor[];
  head: SSDHeadOutputs;
  /** [A, 4] default boxes in the 320x320 image's pixels, owned by the model (do not dispose). */
  anchors: Tensor;
}

/** SSDLite320 with a MobileNetV3-Large backbone: DeepLabCut's default detector for every top-down net type. */
export class SSDLite extends BatchNormFreezing implements Detector {
  readonly backbone: SSDLiteFeatureExtractor;
  readonly head: SSDLiteHead;
  readonly transform: GeneralizedRCNNTransform;
  readonly anchorGenerator: DefaultBoxGenerator;
  readonly boxCoder = new BoxCoder([10, 10, 5, 5]);
  readonly numClasses: number;
  /** (width, height), as torchvision's size. */
  readonly size: readonly [number, number] = [320, 320];
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;
  readonly topkCandidates: number;
  readonly iouThresh: number;
  readonly negToPosRatio: number;
  private readonly anchorsHost = new Map<string, Float32Array>();

  constructor(opts: SSDLiteOptions = {}) {
    super();
    this.numClasses = opts.numClasses ?? 2;
    if (!Number.isInteger(this.numClasses) || this.numClasses < 2) throw new Error(`SSDLite: numClasses must be an integer >= 2 (background included), got ${this.numClasses}`);
    const norm = opts.norm ?? { kind: 'batchnorm', eps: 0.001, momentum: 0.03 };
    const mobilenet = new MobileNetV3({ reducedTail: opts.reducedTail ?? true, norm, classifier: false });
    mobilenet.setTrainableLayers(opts.trainableBackboneLayers ?? 6);
    this.backbone = this.registerModule('backbone', new SSDLiteFeatureExtractor(mobilenet, norm));
    this.anchorGenerator = ssdlite320DefaultBoxGenerator();
    this.head = this.registerModule('head', new SSDLiteHead(this.backbone.outChannels, this.anchorGenerator.numAnchorsPerLocation(), this.numClasses, norm));
    this.transform = this.registerModule(
      'transform',
      new GeneralizedRCNNTransform({ minSize: 320, maxSize: 320, imageMean: opts.imageMean ?? [0.5, 0.5, 0.5], imageStd: opts.imageStd ?? [0.5, 0.5, 0.5], sizeDivisible: 1, fixedSize: this.size }),
    );
    this.scoreThresh = opts.scoreThresh ?? 0.001;
    this.nmsThresh = opts.nmsThresh ?? 0.55;
    this.detectionsPerImg = opts.detectionsPerImg ?? 300;
    this.topkCandidates = opts.topkCandidates ?? 300;
    this.iouThresh = opts.iouThresh ?? 0.5;
    const pf = opts.positiveFraction ?? 0.25;
    if (!(pf > 0 && pf <= 1)) throw new Error(`SSDLite: positiveFraction must be in (0, 1], got ${pf}`);
    this.negToPosRatio = (1 - pf) / pf;
    this.initWeights(opts.seed ?? 0);
    // BatchNorm layers in the stages trainable_backbone_layers freezes stay frozen whatever freeze_bn_weights says.
    this.initBnFreezing(opts.freezeBnStats ?? false, opts.freezeBnWeights ?? false);
  }

  /** _normal_init over the whole model: every Conv2d N(0, 0.03), biases 0 (norm layers keep 1 and 0). */
  private initWeights(seed: number): void {
    let s = seed;
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        if (!(m instanceof Conv2d)) continue;
        for (const [name, p] of m.namedParameters()) p.assign(name === 'weight' ? normal(p.shape, 0, 0.03, { seed: s++ }) : zeros(p.shape));
      }
    });
  }


  /** The default boxes on the host (the same values as the GPU ones), for the matcher. */
  private defaultBoxesHost(imageSize: ImageSize, features: readonly Tensor[]): Float32Array {
    const grids = features.map((f) => [f.shape[2]!, f.shape[3]!] as const);
    const key = `${imageSize.join('x')}|${grids.map((g) => g.join('x')).join(',')}`;
    let boxes = this.anchorsHost.get(key);
    if (!boxes) this.anchorsHost.set(key, (boxes = this.anchorGenerator.boxesHost(imageSize, grids)));
    return boxes;
  }

  /** transform -> backbone -> head, and the default boxes. Records autograd when enabled. */
  forward(images: readonly Tensor[]): SSDForward {
    const batch = this.transform.forward(images);
    const features = this.backbone.forward(batch.tensors);
    const head = this.head.forward(features);
    const anchors = this.anchorGenerator.forward([batch.tensors.shape[2]!, batch.tensors.shape[3]!], features);
    return { batch, features, head, anchors };
  }

  async detect(images: readonly Tensor[], targets?: readonly DetectionTarget[]): Promise<DetectorOutput> {
    this.transform.checkImages(images, 'SSDLite.detect');
    if (this.training) return { losses: await this.losses(images, targets), detections: [] };
    // Everything on the GPU is released here; detections are host arrays.
    const detections = await scope(async () => {
      const out = noGrad(() => this.forward(images));
      const dets = await this.postprocessDetections(out.head, out.anchors, out.batch.imageSizes);
      return dets.map((d, i) => ({ ...d, boxes: resizeBoxes(d.boxes, out.batch.imageSizes[i]!, [images[i]!.shape[1]!, images[i]!.shape[2]!]) }));
    });
    return { losses: {}, detections };
  }

  /** Training mode: SSD's losses for `targets` (boxes in each input image's pixels). */
  private async losses(images: readonly Tensor[], targets: readonly DetectionTarget[] | undefined): Promise<Record<string, Tensor>> {
    if (!targets) throw new Error('SSDLite.detect: targets are required in training mode (call eval() to detect)');
    if (!Array.isArray(targets) || targets.length !== images.length) throw new Error(`SSDLite.detect: ${Array.isArray(targets) ? targets.length : typeof targets} targets for ${images.length} images (one each)`);
    const hostBoxes = await this.readTargets(targets);
    // Boxes resized with their images (the fixed size) and checked before anything is recorded, as torchvision does.
    const ssdTargets: SSDTarget[] = targets.map((t, i) => {
      const size = [images[i]!.shape[1]!, images[i]!.shape[2]!] as const;
      const boxes = resizeBoxes(hostBoxes[i]!, size, this.transform.resizedSize(size));
      for (let k = 0; k < boxes.length; k += 4) {
        if (!(boxes[k + 2]! > boxes[k]! && boxes[k + 3]! > boxes[k + 1]!))
          throw new Error(`SSDLite.detect: All bounding boxes should have positive height and width. Found invalid box [${Array.from(boxes.subarray(k, k + 4)).join(', ')}] for target at index ${i}.`);
      }
      return { boxes, labels: t.labels };
    });
    const out = this.forward(images);
    const anchorsHost = this.defaultBoxesHost([out.batch.tensors.shape[2]!, out.batch.tensors.shape[3]!], out.features);
    const matches = matchTargets(ssdTargets, anchorsHost, this.iouThresh);
    const l = await ssdLoss(out.head, out.anchors, anchorsHost, ssdTargets, matches, { boxCoder: this.boxCoder, iouThreshold: this.iouThresh, negToPosRatio: this.negToPosRatio });
    return { bbox_regression: l.bbox_regression, classification: l.classification };
  }

  /** Each target's boxes on the host (one readback for the batch), after checking boxes [n, 4] and n labels in [0, numClasses). */
  private async readTargets(targets: readonly DetectionTarget[]): Promise<Float32Array[]> {
    targets.forEach((t, i) => {
      const b = t?.boxes;
      if (!(b instanceof Tensor) || b.rank !== 2 || b.shape[1] !== 4) throw new Error(`SSDLite.detect: target ${i}: expected target boxes to be a tensor of shape [N, 4], got ${b instanceof Tensor ? `[${b.shape.join(', ')}]` : typeof b}`);
      if (!(t.labels instanceof Int32Array) || t.labels.length !== b.shape[0]) throw new Error(`SSDLite.detect: target ${i}: labels must be an Int32Array with one label per box (${b.shape[0]})`);
      for (const l of t.labels) if (!(l >= 0 && l < this.numClasses)) throw new Error(`SSDLite.detect: target ${i}: label ${l} is outside [0, ${this.numClasses - 1}] (numClasses ${this.numClasses})`);
    });
    const nonEmpty = targets.filter((t) => t.boxes.size > 0).map((t) => t.boxes);
    const all = nonEmpty.length ? await scope(async () => (nonEmpty.length === 1 ? nonEmpty[0]! : concat(nonEmpty, 0)).toArray()) : new Float32Array(0);
    let at = 0;
    return targets.map((t) => {
      const part = all.slice(at, at + t.boxes.size);
      at += t.boxes.size;
      return part;
    });
  }

  /**
   * torchvision's postprocess_detections: per image and class (background excluded) the scores above scoreThresh
   * (compared in float32, as torch does with a Python float), their top topkCandidates (torch's topk order), the
   * decoded and clipped boxes, batched_nms(nmsThresh), the first detectionsPerImg kept. Boxes in the transformed
   * image's pixels. One readback of scores and boxes, then one nms per image.
   */
  async postprocessDetections(head: SSDHeadOutputs, anchors: Tensor, imageSizes: readonly ImageSize[]): Promise<Detections[]> {
    const [N, A, C] = head.clsLogits.shape as [number, number, number];
    if (imageSizes.length !== N) throw new Error(`SSDLite.postprocessDetections: ${imageSizes.length} image sizes for ${N} images`);
    const host = await scope(async () => {
      const scores = softmax(head.clsLogits, -1);
      const tiled = N === 1 ? anchors : concat(Array.from({ length: N }, () => anchors), 0);
      const decoded = reshape(this.boxCoder.decode(reshape(head.bboxRegression, [N * A, 4]), tiled), [N, A, 4]);
      const sameSize = imageSizes.every((s) => s[0] === imageSizes[0]![0] && s[1] === imageSizes[0]![1]);
      const clipped = sameSize ? clipBoxesToImage(decoded, [imageSizes[0]![0], imageSizes[0]![1]]) : concat(imageSizes.map((s, i) => clipBoxesToImage(slice(decoded, [[i, i + 1]]), [s[0], s[1]])), 0);
      return concat([reshape(scores, [N * A * C]), reshape(clipped, [N * A * 4])], 0).toArray();
    });
    const thresh = Math.fround(this.scoreThresh);
    const out: Detections[] = [];
    for (let i = 0; i < N; i++) {
      const sc = host.subarray(i * A * C, (i + 1) * A * C);
      const bx = host.subarray(N * A * C + i * A * 4, N * A * C + (i + 1) * A * 4);
      const boxes: number[] = [];
      const scores: number[] = [];
      const labels: number[] = [];
      for (let label = 1; label < C; label++) {
        const idx: number[] = [];
        const vals: number[] = [];
        for (let a = 0; a < A; a++) {
          const s = sc[a * C + label]!;
          if (s > thresh) {
            idx.push(a);
            vals.push(s);
          }
        }
        for (const o of torchTopkDescending(vals, Math.min(this.topkCandidates, vals.length))) {
          const a = idx[o]!;
          boxes.push(bx[4 * a]!, bx[4 * a + 1]!, bx[4 * a + 2]!, bx[4 * a + 3]!);
          scores.push(vals[o]!);
          labels.push(label);
        }
      }
      out.push(await keepDetections(boxes, scores, labels, this.nmsThresh, this.detectionsPerImg));
    }
    return out;
  }

  /**
   * Loads torchvision weights (torchvisionStateDict's result): this model's keys, as torchvision's
   * ssdlite320_mobilenet_v3_large state dict or a DeepLabCut detector snapshot has them. A COCO file's 91-class
   * classification head is cut as DeepLabCut does for `pretrained`: the first 2 * (rows / 91) rows of each
   * module_list.<i>.1 (which are the first anchor's first class channels, since rows are anchor-major; DeepLabCut
   * takes them as they are). Strict otherwise: every missing, unexpected or wrong-shape key is reported.
   */
  loadTorchvisionState(state: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
    const shapes = new Map(this.stateDictShapes());
    const out: StateDict = new Map();
    for (const [k, e] of state) {
      const want = shapes.get(k);
      let shape = [...e.shape];
      let data = Float32Array.from(e.data);
      const cocoHead = /^head\.classification_head\.module_list\.\d+\.1\.(weight|bias)$/.test(k);
      if (cocoHead && want && shape[0] !== want[0] && shape[0]! % 91 === 0 && want[0] === 2 * (shape[0]! / 91)) {
        data = data.slice(0, (want[0]! * data.length) / shape[0]!);
        shape = [want[0]!, ...shape.slice(1)];
      }
      out.set(k, { shape, data, dtype: k.endsWith('num_batches_tracked') ? 'int64' : 'float32' });
    }
    this.loadStateDict(out, true);
  }

  override dispose(): void {
    super.dispose();
    this.anchorGenerator.dispose();
  }
}

/**
 * The state dict inside a parsed torch file (readTorchFile's value): a bare state dict, a checkpoint's `state_dict`,
 * or a DeepLabCut detector snapshot's `model`, with DeepLabCut's `model.` prefix (TorchvisionDetectorAdaptor's
 * attribute) or DataParallel's `module.` stripped. Tensors come back as float32 host arrays.
 */
export function torchvisionStateDict(raw: unknown, source: string): Map<string, { shape: number[]; data: Float32Array }> {
  const entries = (o: unknown): [string, unknown][] => (o instanceof Map ? [...o.entries()].map(([k, v]) => [String(k), v]) : o !== null && typeof o === 'object' && !isHostTensor(o) ? Object.entries(o) : []);
  const field = (o: unknown, k: string): unknown => (o instanceof Map ? o.get(k) : o !== null && typeof o === 'object' && !isHostTensor(o) ? (o as Record<string, unknown>)[k] : undefined);
  let dict: unknown = raw;
  for (const key of ['model', 'state_dict', 'model_state_dict']) {
    const inner = field(raw, key);
    if (inner !== undefined && entries(inner).some(([, v]) => isHostTensor(v))) {
      dict = inner;
      break;
    }
  }
  let tensors = entries(dict).filter((e): e is [string, HostTensor] => isHostTensor(e[1]));
  if (!tensors.length) throw new Error(`${source}: holds no tensors, so it is not a state dict (nor a DeepLabCut snapshot)`);
  for (const prefix of ['module.', 'model.']) if (tensors.every(([k]) => k.startsWith(prefix))) tensors = tensors.map(([k, v]) => [k.slice(prefix.length), v]);
  return new Map(tensors.map(([k, v]) => [k, { shape: [...v.shape], data: toFloat32(v) }]));
}
