// torchvision 0.14's region proposal network (models/detection/rpn.py) with its state-dict names
// (`head.conv.<d>.0`, `head.cls_logits`, `head.bbox_pred`):
// - RPNHead: conv_depth x (3x3 conv + ReLU), then 1x1 convs to A objectness logits and 4A box deltas per
//   location; every conv N(0, 0.01) with zero bias;
// - proposals: deltas decoded (BoxCoder weights 1) on the anchors, then per image the top pre_nms_top_n logits
//   of each level (torch's topk order), sigmoid, clip to the image, remove_small_boxes(1e-3), score >=
//   score_thresh, batched_nms per level (0.7), the first post_nms_top_n kept;
// - training: Matcher(0.7, 0.3, allow_low_quality_matches), 256 anchors per image sampled half positive, loss
//   smooth L1 (beta 1/9, sum over sampled positives) and BCE with logits, both over the number sampled.
// The head and its losses run on the GPU; the logits and decoded proposals are read back once per step and
// filtered on the host (a few thousand anchors), with nms on the GPU. Proposals carry no gradient (torchvision
// detaches them too).
import { Conv2d } from '../../nn/conv-layers.ts';
import { normal } from '../../nn/init.ts';
import { ReLU, Sequential } from '../../nn/layers.ts';
import { Module } from '../../nn/module.ts';
import { BoxCoder } from '../../ops/boxes.ts';
import { tensor, zeros } from '../../ops/creation.ts';
import { div, mul } from '../../ops/elementwise.ts';
import { bceWithLogits, smoothL1Loss } from '../../ops/loss.ts';
import { batchedNms } from '../../ops/nms.ts';
import { sum } from '../../ops/reduce.ts';
import { concat, permute, reshape } from '../../ops/shape.ts';
import { torchTopkDescending } from '../../ops/sort.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { scope } from '../../tensor/scope.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { AnchorGenerator } from './anchors.ts';
import { BalancedPositiveNegativeSampler, BELOW_LOW_THRESHOLD, BETWEEN_THRESHOLDS, Matcher } from './matcher.ts';
import { boxIouHost } from './ssd-loss.ts';
import type { ImageSize } from './transform.ts';

const f32 = Math.fround;

/** RPNHead: per map x_l [N, C, H, W] -> logits [N, A, H, W] and deltas [N, 4A, H, W]. */
export class RPNHead extends Module {
  readonly conv: Sequential;
  readonly clsLogits: Conv2d;
  readonly bboxPred: Conv2d;

  constructor(inChannels: number, numAnchors: number, opts: { convDepth?: number; seed?: number } = {}) {
    super();
    const depth = opts.convDepth ?? 1;
    // Conv2dNormActivation(C, C, 3, norm_layer=None): a biased conv and ReLU, keys conv.<d>.0.*.
    this.conv = this.registerModule('conv', new Sequential(...Array.from({ length: depth }, () => new Sequential(new Conv2d(inChannels, inChannels, 3, { padding: 1 }), new ReLU()))));
    this.clsLogits = this.registerModule('cls_logits', new Conv2d(inChannels, numAnchors, 1));
    this.bboxPred = this.registerModule('bbox_pred', new Conv2d(inChannels, numAnchors * 4, 1));
    let seed = opts.seed ?? 0;
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        if (!(m instanceof Conv2d)) continue;
        for (const [name, p] of m.namedParameters()) p.assign(name === 'weight' ? normal(p.shape, 0, 0.01, { seed: seed++ }) : zeros(p.shape));
      }
    });
  }

  forward(features: readonly Tensor[]): { logits: Tensor[]; deltas: Tensor[] } {
    const logits: Tensor[] = [];
    const deltas: Tensor[] = [];
    for (const f of features) {
      const t = this.conv.forward(f);
      logits.push(this.clsLogits.forward(t));
      deltas.push(this.bboxPred.forward(t));
    }
    return { logits, deltas };
  }
}

/** torchvision's concat_box_prediction_layers: per map [N, A*C, H, W] viewed [N, A, C, H, W] -> [N, H*W*A, C], maps concatenated. */
function flattenLevels(levels: readonly Tensor[], C: number): Tensor {
  const parts = levels.map((l) => {
    const [N, AC, H, W] = l.shape as [number, number, number, number];
    return reshape(permute(reshape(l, [N, AC / C, C, H, W]), [0, 3, 4, 1, 2]), [N, (H * W * AC) / C, C]);
  });
  return parts.length === 1 ? parts[0]! : concat(parts, 1);
}

export interface RpnOptions {
  preNmsTopNTrain: number;
  preNmsTopNTest: number;
  postNmsTopNTrain: number;
  postNmsTopNTest: number;
  nmsThresh: number;
  fgIouThresh: number;
  bgIouThresh: number;
  batchSizePerImage: number;
  positiveFraction: number;
  scoreThresh: number;
  /** Seed of the sampler's generator. */
  samplerSeed?: number;
}

/** Proposals of one image (host, in the transformed image's pixels), score-sorted. */
export interface Proposals {
  /** [k * 4] (x1, y1, x2, y2). */
  boxes: Float32Array;
  scores: Float32Array;
}

/** The head's outputs over all levels (RegionProposalNetwork.heads). */
export interface RpnHeads {
  N: number;
  /** Anchors per image. */
  total: number;
  perLevel: number[];
  /** [N, total] logits, anchor order as the anchors'. */
  objectness: Tensor;
  /** [N * total, 4] box deltas. */
  predDeltas: Tensor;
  /** [N * total, 4] every image's anchors (owned by the anchor generator when N is 1). */
  anchors: Tensor;
  /** One image's anchors on the host [total * 4]. */
  anchorsHost: () => Float32Array;
}

/** torchvision's RegionProposalNetwork. */
export class RegionProposalNetwork extends Module {
  readonly head: RPNHead;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  readonly matcher: Matcher;
  readonly sampler: BalancedPositiveNegativeSampler;
  readonly minSize = 1e-3;

  constructor(
    readonly anchorGenerator: AnchorGenerator,
    head: RPNHead,
    readonly opts: RpnOptions,
  ) {
    super();
    this.head = this.registerModule('head', head);
    this.matcher = new Matcher(opts.fgIouThresh, opts.bgIouThresh, true);
    this.sampler = new BalancedPositiveNegativeSampler(opts.batchSizePerImage, opts.positiveFraction, opts.samplerSeed ?? 0);
  }

  get preNmsTopN(): number {
    return this.training ? this.opts.preNmsTopNTrain : this.opts.preNmsTopNTest;
  }
  get postNmsTopN(): number {
    return this.training ? this.opts.postNmsTopNTrain : this.opts.postNmsTopNTest;
  }

  /**
   * The synchronous part of the forward (recorded when autograd is on): the head on the FPN maps of a padded
   * batch [N, C, H, W], the flattened objectness [N, total] and deltas [N * total, 4], and the anchors.
   */
  heads(batch: Tensor, features: readonly Tensor[]): RpnHeads {
    const N = batch.shape[0]!;
    const { logits, deltas } = this.head.forward(features);
    const imageSize = [batch.shape[2]!, batch.shape[3]!];
    const anchors = this.anchorGenerator.forward(imageSize, features);
    const perLevel = logits.map((l) => l.shape[1]! * l.shape[2]! * l.shape[3]!);
    const total = perLevel.reduce((a, b) => a + b, 0);
    return {
      N,
      total,
      perLevel,
      objectness: reshape(flattenLevels(logits, 1), [N, total]),
      predDeltas: reshape(flattenLevels(deltas, 4), [N * total, 4]),
      anchors: N === 1 ? anchors : concat(Array.from({ length: N }, () => anchors), 0),
      anchorsHost: () => this.anchorGenerator.anchorsHost(imageSize, features.map((f) => [f.shape[2]!, f.shape[3]!])),
    };
  }

  /** Each image's proposals (filter_proposals), from one readback of the logits and the decoded (detached) deltas. */
  async proposals(h: RpnHeads, imageSizes: readonly ImageSize[]): Promise<Proposals[]> {
    const { N, total } = h;
    if (imageSizes.length !== N) throw new Error(`RegionProposalNetwork: ${imageSizes.length} image sizes for ${N} images`);
    const host = await scope(async () => noGrad(() => concat([reshape(h.objectness, [N * total]), reshape(this.boxCoder.decode(h.predDeltas, h.anchors), [N * total * 4])], 0)).toArray());
    const out: Proposals[] = [];
    for (let i = 0; i < N; i++) {
      const obj = host.subarray(i * total, (i + 1) * total);
      const boxes = host.subarray(N * total + i * total * 4, N * total + (i + 1) * total * 4);
      out.push(await this.filterProposals(obj, boxes, imageSizes[i]!, h.perLevel));
    }
    return out;
  }

  /** filter_proposals for one image: logits [total], decoded boxes [total * 4]. */
  async filterProposals(obj: Float32Array, boxes: Float32Array, size: ImageSize, perLevel: readonly number[]): Promise<Proposals> {
    const picked: number[] = [];
    const levels: number[] = [];
    let offset = 0;
    perLevel.forEach((n, level) => {
      const k = Math.min(this.preNmsTopN, n);
      for (const j of torchTopkDescending(obj.subarray(offset, offset + n), k)) {
        picked.push(offset + j);
        levels.push(level);
      }
      offset += n;
    });
    const [h, w] = size;
    const minSize = f32(this.minSize);
    const thresh = f32(this.opts.scoreThresh);
    const kept: number[] = [];
    const keptBoxes: number[] = [];
    const keptScores: number[] = [];
    const keptLevels: number[] = [];
    for (let p = 0; p < picked.length; p++) {
      const a = picked[p]!;
      const x1 = Math.min(Math.max(boxes[4 * a]!, 0), w);
      const y1 = Math.min(Math.max(boxes[4 * a + 1]!, 0), h);
      const x2 = Math.min(Math.max(boxes[4 * a + 2]!, 0), w);
      const y2 = Math.min(Math.max(boxes[4 * a + 3]!, 0), h);
      if (!(f32(x2 - x1) >= minSize && f32(y2 - y1) >= minSize)) continue;
      const score = f32(1 / f32(1 + f32(Math.exp(-obj[a]!))));
      if (!(score >= thresh)) continue;
      kept.push(a);
      keptBoxes.push(x1, y1, x2, y2);
      keptScores.push(score);
      keptLevels.push(levels[p]!);
    }
    const n = kept.length;
    if (n === 0) return { boxes: new Float32Array(0), scores: new Float32Array(0) };
    const b = Float32Array.from(keptBoxes);
    const s = Float32Array.from(keptScores);
    const keep = (await scope(async () => batchedNms(tensor(b, [n, 4]), tensor(s, [n]), Int32Array.from(keptLevels), this.opts.nmsThresh))).slice(0, this.postNmsTopN);
    const out: Proposals = { boxes: new Float32Array(4 * keep.length), scores: new Float32Array(keep.length) };
    keep.forEach((k, j) => {
      out.boxes.set(b.subarray(4 * k, 4 * k + 4), 4 * j);
      out.scores[j] = s[k]!;
    });
    return out;
  }

  /**
   * assign_targets_to_anchors + compute_loss: labels 1 / 0 / -1 per anchor from the matcher, the sampler's
   * choice, then the two losses over the sampled anchors (as masks over all anchors).
   */
  losses(h: RpnHeads, targets: readonly Float32Array[]): { loss_objectness: Tensor; loss_rpn_box_reg: Tensor } {
    const { N, total, objectness, predDeltas } = h;
    const anchorsHost = h.anchorsHost();
    if (targets.length !== N) throw new Error(`RegionProposalNetwork: ${targets.length} targets for ${N} images`);
    const labels: Float32Array[] = [];
    const matched = new Float32Array(N * total * 4);
    targets.forEach((gt, i) => {
      const l = new Float32Array(total);
      const n = gt.length / 4;
      if (n > 0) {
        const m = this.matcher.match(boxIouHost(gt, anchorsHost), n, total);
        for (let a = 0; a < total; a++) {
          const g = Math.max(m[a]!, 0);
          matched.set(gt.subarray(4 * g, 4 * g + 4), (i * total + a) * 4);
          l[a] = m[a] === BELOW_LOW_THRESHOLD ? 0 : m[a] === BETWEEN_THRESHOLDS ? -1 : 1;
        }
      }
      labels.push(l);
    });
    const masks = this.sampler.sample(labels);
    const pos = new Float32Array(N * total);
    const sampled = new Float32Array(N * total);
    const target = new Float32Array(N * total);
    let count = 0;
    masks.forEach((m, i) => {
      for (let a = 0; a < total; a++) {
        const r = i * total + a;
        if (m[a] === 0) continue;
        sampled[r] = 1;
        count++;
        if (m[a] === 1) pos[r] = 1;
        target[r] = Math.max(labels[i]![a]!, 0);
      }
    });
    const codes = noGrad(() => this.boxCoder.encode(tensor(matched, [N * total, 4]), h.anchors));
    const boxLoss = div(sum(mul(smoothL1Loss(predDeltas, codes, { beta: 1 / 9, reduction: 'none' }), tensor(pos, [N * total, 1]))), count);
    const objLoss = div(sum(mul(bceWithLogits(reshape(objectness, [N * total]), tensor(target, [N * total]), { reduction: 'none' }), tensor(sampled, [N * total]))), count);
    return { loss_objectness: objLoss, loss_rpn_box_reg: boxLoss };
  }
}
