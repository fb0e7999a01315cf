// torchvision 0.14's RoIHeads for boxes (models/detection/roi_heads.py, faster_rcnn.py) with its state-dict
// names: MultiScaleRoIAlign (7x7, sampling_ratio 2, maps "0".."3" that exist), the box head (TwoMLPHead
// `box_head.fc6`, `box_head.fc7`; or FastRCNNConvFCHead for fasterrcnn_resnet50_fpn_v2, `box_head.0.0` ...
// `box_head.5`), FastRCNNPredictor (`box_predictor.cls_score`, `box_predictor.bbox_pred`).
// - training: ground-truth boxes appended to the proposals, Matcher(0.5, 0.5) without low-quality matches, 512
//   proposals per image sampled a quarter positive (in index order, as torch.where gives them), targets encoded
//   with BoxCoder (10, 10, 5, 5); fastrcnn_loss = cross-entropy over the sampled proposals + smooth L1 (beta
//   1/9, sum) of the positives' deltas for their class, over the number sampled;
// - eval (postprocess_detections): softmax, decode, clip, background dropped, score > box_score_thresh,
//   remove_small_boxes(1e-2), batched_nms per class (0.5), the first detections_per_img.
// Matching and sampling run on the host (proposals are host arrays); pooling, heads and losses on the GPU.
import { Conv2d } from '../../nn/conv-layers.ts';
import { kaimingNormal } from '../../nn/init.ts';
import { Flatten, Linear, ReLU, Sequential } from '../../nn/layers.ts';
import { Layer, Module } from '../../nn/module.ts';
import { BatchNorm2d } from '../../nn/norm-layers.ts';
import { BoxCoder } from '../../ops/boxes.ts';
import { tensor } from '../../ops/creation.ts';
import { div, mul, relu } from '../../ops/elementwise.ts';
import { crossEntropy, smoothL1Loss } from '../../ops/loss.ts';
import { sum } from '../../ops/reduce.ts';
import { multiScaleRoiAlign } from '../../ops/roi-align.ts';
import { concat, flatten, reshape } from '../../ops/shape.ts';
import { softmax } from '../../ops/softmax.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { scope } from '../../tensor/scope.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { Detections } from './detector.ts';
import { keepDetections } from './keep-detections.ts';
import { BalancedPositiveNegativeSampler, BELOW_LOW_THRESHOLD, BETWEEN_THRESHOLDS, Matcher } from './matcher.ts';
import type { Proposals } from './rpn.ts';
import { boxIouHost } from './ssd-loss.ts';
import type { ImageSize } from './transform.ts';

const f32 = Math.fround;

/** TwoMLPHead: x [K, C, 7, 7] -> relu(fc7(relu(fc6(flatten(x))))) [K, representation]. */
export class TwoMLPHead extends Layer {
  readonly fc6: Linear;
  readonly fc7: Linear;
  constructor(inChannels: number, representationSize: number) {
    super();
    this.fc6 = this.registerModule('fc6', new Linear(inChannels, representationSize));
    this.fc7 = this.registerModule('fc7', new Linear(representationSize, representationSize));
  }
  forward(x: Tensor): Tensor {
    return relu(this.fc7.forward(relu(this.fc6.forward(flatten(x, 1)))));
  }
}

/**
 * FastRCNNConvFCHead(input [C, H, W], convLayers, fcLayers, BatchNorm2d): Conv2dNormActivation 3x3 per conv layer,
 * Flatten, Linear + ReLU per fc layer; convs kaiming_normal(fan_out, relu). x [K, C, H, W] -> [K, fc[-1]].
 */
export function fastRcnnConvFcHead(input: readonly [number, number, number], convLayers: readonly number[], fcLayers: readonly number[], seed = 0): Sequential {
  const [C, H, W] = input;
  const blocks: Layer[] = [];
  let prev = C;
  for (const c of convLayers) {
    const conv = new Conv2d(prev, c, 3, { padding: 1, bias: false });
    noGrad(() => conv.setWeight(kaimingNormal([c, prev, 3, 3], { mode: 'fan_out', nonlinearity: 'relu', seed: seed++ })));
    blocks.push(new Sequential(conv, new BatchNorm2d(c), new ReLU()));
    prev = c;
  }
  blocks.push(new Flatten());
  prev *= H * W;
  for (const c of fcLayers) {
    blocks.push(new Linear(prev, c), new ReLU());
    prev = c;
  }
  return new Sequential(...blocks);
}

/** FastRCNNPredictor: x [K, in] -> class logits [K, numClasses] and deltas [K, 4 numClasses]. */
export class FastRCNNPredictor extends Module {
  readonly clsScore: Linear;
  readonly bboxPred: Linear;
  constructor(inChannels: number, readonly numClasses: number) {
    super();
    this.clsScore = this.registerModule('cls_score', new Linear(inChannels, numClasses));
    this.bboxPred = this.registerModule('bbox_pred', new Linear(inChannels, numClasses * 4));
  }
  forward(x: Tensor): { classLogits: Tensor; boxRegression: Tensor } {
    const f = x.rank > 2 ? flatten(x, 1) : x;
    return { classLogits: this.clsScore.forward(f), boxRegression: this.bboxPred.forward(f) };
  }
}

export interface RoiHeadsOptions {
  fgIouThresh: number;
  bgIouThresh: number;
  batchSizePerImage: number;
  positiveFraction: number;
  bboxRegWeights: readonly [number, number, number, number];
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImg: number;
  /** MultiScaleRoIAlign's output size and sampling ratio (7, 2). */
  poolSize: number;
  samplingRatio: number;
  samplerSeed?: number;
}

/** One image's ground truth in the transformed image's pixels. */
export interface RcnnTarget {
  /** [n * 4]. */
  boxes: Float32Array;
  labels: Int32Array;
}

/** torchvision's RoIHeads (boxes only). */
export class RoIHeads extends Module {
  readonly boxHead: Layer;
  readonly boxPredictor: FastRCNNPredictor;
  readonly boxCoder: BoxCoder;
  readonly matcher: Matcher;
  readonly sampler: BalancedPositiveNegativeSampler;

  constructor(boxHead: Layer, boxPredictor: FastRCNNPredictor, readonly opts: RoiHeadsOptions) {
    super();
    this.boxHead = this.registerModule('box_head', boxHead);
    this.boxPredictor = this.registerModule('box_predictor', boxPredictor);
    this.boxCoder = new BoxCoder(opts.bboxRegWeights);
    this.matcher = new Matcher(opts.fgIouThresh, opts.bgIouThresh, false);
    this.sampler = new BalancedPositiveNegativeSampler(opts.batchSizePerImage, opts.positiveFraction, opts.samplerSeed ?? 0);
  }

  /** box_roi_pool -> box_head -> box_predictor over the proposals (one host [k * 4] array per image). */
  private heads(features: readonly Tensor[], proposals: readonly Float32Array[], imageSizes: readonly ImageSize[]): { classLogits: Tensor; boxRegression: Tensor } {
    const boxes = proposals.map((p) => tensor(p, [p.length / 4, 4]));
    const pooled = multiScaleRoiAlign(features, boxes, imageSizes, { outputSize: this.opts.poolSize, samplingRatio: this.opts.samplingRatio });
    return this.boxPredictor.forward(this.boxHead.forward(pooled));
  }

  /** Training: the sampled proposals of each image and fastrcnn_loss. `features` are the maps MultiScaleRoIAlign uses. */
  losses(features: readonly Tensor[], proposals: readonly Proposals[], imageSizes: readonly ImageSize[], targets: readonly RcnnTarget[]): { loss_classifier: Tensor; loss_box_reg: Tensor } {
    // select_training_samples: proposals + ground truth, matched, sampled in index order.
    const sampledBoxes: Float32Array[] = [];
    const labels: number[] = [];
    const matchedGt: number[] = [];
    targets.forEach((t, i) => {
      const p = proposals[i]!.boxes;
      const all = new Float32Array(p.length + t.boxes.length);
      all.set(p);
      all.set(t.boxes, p.length);
      const k = all.length / 4;
      const n = t.boxes.length / 4;
      const lab = new Int32Array(k);
      const clamped = new Int32Array(k);
      if (n > 0) {
        const m = this.matcher.match(boxIouHost(t.boxes, all), n, k);
        for (let j = 0; j < k; j++) {
          clamped[j] = Math.max(m[j]!, 0);
          lab[j] = m[j] === BELOW_LOW_THRESHOLD ? 0 : m[j] === BETWEEN_THRESHOLDS ? -1 : t.labels[clamped[j]!]!;
        }
      }
      const [mask] = this.sampler.sample([lab]);
      const keep: number[] = [];
      for (let j = 0; j < k; j++) if (mask![j]) keep.push(j);
      const chosen = new Float32Array(4 * keep.length);
      keep.forEach((j, r) => {
        chosen.set(all.subarray(4 * j, 4 * j + 4), 4 * r);
        labels.push(lab[j]!);
        // No ground truth: torchvision matches against one zero box.
        if (n > 0) matchedGt.push(...t.boxes.subarray(4 * clamped[j]!, 4 * clamped[j]! + 4));
        else matchedGt.push(0, 0, 0, 0);
      });
      sampledBoxes.push(chosen);
    });
    const K = labels.length;
    const { classLogits, boxRegression } = this.heads(features, sampledBoxes, imageSizes);
    const C = this.boxPredictor.numClasses;
    const proposalsAll = new Float32Array(4 * K);
    let at = 0;
    for (const b of sampledBoxes) {
      proposalsAll.set(b, at);
      at += b.length;
    }
    const codes = noGrad(() => this.boxCoder.encode(tensor(Float32Array.from(matchedGt), [K, 4]), tensor(proposalsAll, [K, 4])));
    const classificationLoss = crossEntropy(classLogits, tensor(Float32Array.from(labels), [K]));
    // The positives' deltas for their own class: a mask over [K, 4C] against the targets repeated per class.
    const mask = new Float32Array(K * 4 * C);
    labels.forEach((l, r) => {
      if (l > 0) mask.fill(1, r * 4 * C + 4 * l, r * 4 * C + 4 * l + 4);
    });
    const tiledCodes = C === 1 ? codes : reshape(concat(Array.from({ length: C }, () => reshape(codes, [K, 1, 4])), 1), [K, 4 * C]);
    const boxLoss = div(sum(mul(smoothL1Loss(boxRegression, tiledCodes, { beta: 1 / 9, reduction: 'none' }), tensor(mask, [K, 4 * C]))), K);
    return { loss_classifier: classificationLoss, loss_box_reg: boxLoss };
  }

  /** Eval: postprocess_detections over the proposals, boxes in the transformed images' pixels. */
  async detect(features: readonly Tensor[], proposals: readonly Proposals[], imageSizes: readonly ImageSize[]): Promise<Detections[]> {
    const counts = proposals.map((p) => p.scores.length);
    const K = counts.reduce((a, b) => a + b, 0);
    const C = this.boxPredictor.numClasses;
    const empty = (): Detections => ({ boxes: new Float32Array(0), scores: new Float32Array(0), labels: new Int32Array(0) });
    if (K === 0) return proposals.map(empty);
    const host = await scope(async () =>
      noGrad(() => {
        const { classLogits, boxRegression } = this.heads(features, proposals.map((p) => p.boxes), imageSizes);
        const all = new Float32Array(4 * K);
        let at = 0;
        for (const p of proposals) {
          all.set(p.boxes, at);
          at += p.boxes.length;
        }
        const decoded = this.boxCoder.decode(boxRegression, tensor(all, [K, 4]));
        return concat([reshape(softmax(classLogits, -1), [K * C]), reshape(decoded, [K * C * 4])], 0);
      }).toArray(),
    );
    const out: Detections[] = [];
    const thresh = f32(this.opts.scoreThresh);
    const minSize = f32(1e-2);
    let row = 0;
    for (let i = 0; i < proposals.length; i++) {
      const [h, w] = imageSizes[i]!;
      const boxes: number[] = [];
      const scores: number[] = [];
      const labels: number[] = [];
      for (let r = row; r < row + counts[i]!; r++) {
        for (let c = 1; c < C; c++) {
          const s = host[r * C + c]!;
          if (!(s > thresh)) continue;
          const o = K * C + (r * C + c) * 4;
          const x1 = Math.min(Math.max(host[o]!, 0), w);
          const y1 = Math.min(Math.max(host[o + 1]!, 0), h);
          const x2 = Math.min(Math.max(host[o + 2]!, 0), w);
          const y2 = Math.min(Math.max(host[o + 3]!, 0), h);
          if (!(f32(x2 - x1) >= minSize && f32(y2 - y1) >= minSize)) continue;
          boxes.push(x1, y1, x2, y2);
          scores.push(s);
          labels.push(c);
        }
      }
      row += counts[i]!;
      const n = scores.length;
      if (n === 0) {
        out.push(empty());
        continue;
      }
      out.push(await keepDetections(boxes, scores, labels, this.opts.nmsThresh, this.opts.detectionsPerImg));
    }
    return out;
  }
}

