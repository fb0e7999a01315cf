// torchvision 0.14's MobileNetV3 (models/mobilenetv3.py) with its module names, so state dicts load from
// torchvision files: `features` (a Sequential: Conv2dNormActivation, 15 (large) or 11 (small) InvertedResidual
// blocks, Conv2dNormActivation), `avgpool`, `classifier`. As a detection backbone: `forwardFeatures` returns
// intermediate outputs (fasterrcnn_mobilenet_v3_large_fpn's features[13] and [16]), `ssdliteStages` splits
// the features where SSDLite does (C4's expansion conv ends stage 0), `setTrainableLayers` freezes as
// torchvision's _mobilenet_extractor does.
import { Conv2d } from '../../nn/conv-layers.ts';
import { FrozenBatchNorm2d } from '../../nn/frozen-batch-norm.ts';
import { kaimingNormal, normal } from '../../nn/init.ts';
import { Hardswish, Linear, ReLU, ReLU6, Sequential } from '../../nn/layers.ts';
import { Layer, type Module } from '../../nn/module.ts';
import { BatchNorm2d } from '../../nn/norm-layers.ts';
import { zeros, rand } from '../../ops/creation.ts';
import { add, ge, mul, mulScalar } from '../../ops/elementwise.ts';
import { adaptiveAvgPool2d } from '../../ops/pool.ts';
import { flatten } from '../../ops/shape.ts';
import { noGrad } from '../../tensor/autograd.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { SqueezeExcitation } from './squeeze-excitation.ts';

/**
 * The norm layer after every conv: torchvision's MobileNetV3 default is BatchNorm2d(eps=0.001, momentum=0.01);
 * fasterrcnn_mobilenet_v3_large_fpn passes nn.BatchNorm2d (eps 1e-5, momentum 0.1) without weights and
 * FrozenBatchNorm2d (eps 1e-5) with them; ssdlite320 passes BatchNorm2d(eps=0.001, momentum=0.03).
 */
export type MobileNetNorm = { kind: 'batchnorm'; eps?: number; momentum?: number } | { kind: 'frozen'; eps?: number };

/** torchvision's _make_divisible: v rounded to the nearest multiple of divisor, never more than 10% below v. */
export function makeDivisible(v: number, divisor: number, minValue = divisor): number {
  let out = Math.max(minValue, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

/** One InvertedResidual block (torchvision's InvertedResidualConfig, channels already width-adjusted). */
export interface InvertedResidualConfig {
  inputChannels: number;
  kernel: number;
  expandedChannels: number;
  outChannels: number;
  useSe: boolean;
  /** Hardswish ('HS') rather than ReLU ('RE'). */
  useHs: boolean;
  stride: number;
  dilation: number;
}

export interface MobileNetV3ConfigOptions {
  /** Channel multiplier (torchvision's width_mult), default 1. */
  widthMult?: number;
  /** Halves the channels of the C4 blocks and the classifier's hidden layer (Table 6 of the paper; SSDLite without ImageNet weights). */
  reducedTail?: boolean;
  /** The C4 blocks at dilation 2 (and stride 1): output stride 16. */
  dilated?: boolean;
}

export type MobileNetArch = 'large' | 'small';

type Row = [number, number, number, number, boolean, 'RE' | 'HS', number, number];

/** torchvision's _mobilenet_v3_conf: the block table and the classifier's hidden width. */
export function mobileNetV3Config(arch: MobileNetArch, opts: MobileNetV3ConfigOptions = {}): { blocks: InvertedResidualConfig[]; lastChannel: number } {
  const width = opts.widthMult ?? 1;
  if (!(width > 0)) throw new Error(`mobileNetV3Config: widthMult must be > 0, got ${width}`);
  const r = opts.reducedTail ? 2 : 1;
  const d = opts.dilated ? 2 : 1;
  const adjust = (c: number) => makeDivisible(c * width, 8);
  const t = Math.trunc;
  let rows: Row[];
  let last: number;
  if (arch === 'large') {
    rows = [
      [16, 3, 16, 16, false, 'RE', 1, 1],
      [16, 3, 64, 24, false, 'RE', 2, 1], // C1
      [24, 3, 72, 24, false, 'RE', 1, 1],
      [24, 5, 72, 40, true, 'RE', 2, 1], // C2
      [40, 5, 120, 40, true, 'RE', 1, 1],
      [40, 5, 120, 40, true, 'RE', 1, 1],
      [40, 3, 240, 80, false, 'HS', 2, 1], // C3
      [80, 3, 200, 80, false, 'HS', 1, 1],
      [80, 3, 184, 80, false, 'HS', 1, 1],
      [80, 3, 184, 80, false, 'HS', 1, 1],
      [80, 3, 480, 112, true, 'HS', 1, 1],
      [112, 3, 672, 112, true, 'HS', 1, 1],
      [112, 5, 672, t(160 / r), true, 'HS', 2, d], // C4
      [t(160 / r), 5, t(960 / r), t(160 / r), true, 'HS', 1, d],
      [t(160 / r), 5, t(960 / r), t(160 / r), true, 'HS', 1, d],
    ];
    last = adjust(t(1280 / r)); // C5
  } else if (arch === 'small') {
    rows = [
      [16, 3, 16, 16, true, 'RE', 2, 1], // C1
      [16, 3, 72, 24, false, 'RE', 2, 1], // C2
      [24, 3, 88, 24, false, 'RE', 1, 1],
      [24, 5, 96, 40, true, 'HS', 2, 1], // C3
      [40, 5, 240, 40, true, 'HS', 1, 1],
      [40, 5, 240, 40, true, 'HS', 1, 1],
      [40, 5, 120, 48, true, 'HS', 1, 1],
      [48, 5, 144, 48, true, 'HS', 1, 1],
      [48, 5, 288, t(96 / r), true, 'HS', 2, d], // C4
      [t(96 / r), 5, t(576 / r), t(96 / r), true, 'HS', 1, d],
      [t(96 / r), 5, t(576 / r), t(96 / r), true, 'HS', 1, d],
    ];
    last = adjust(t(1024 / r)); // C5
  } else throw new Error(`mobileNetV3Config: arch must be 'large' or 'small', got '${String(arch)}'`);
  const blocks = rows.map(([inC, kernel, exp, out, useSe, act, stride, dilation]) => ({
    inputChannels: adjust(inC),
    kernel,
    expandedChannels: adjust(exp),
    outChannels: adjust(out),
    useSe,
    useHs: act === 'HS',
    stride,
    dilation,
  }));
  return { blocks, lastChannel: last };
}

function normLayer(norm: MobileNetNorm, channels: number): Layer {
  if (norm.kind === 'frozen') return new FrozenBatchNorm2d(channels, norm.eps ?? 1e-5);
  if (norm.kind === 'batchnorm') return new BatchNorm2d(channels, { eps: norm.eps ?? 1e-5, momentum: norm.momentum ?? 0.1 });
  throw new Error(`MobileNetV3: norm.kind must be 'batchnorm' or 'frozen', got '${String((norm as { kind: unknown }).kind)}'`);
}

/**
 * torchvision's Conv2dNormActivation: Sequential(Conv2d (no bias, padding (k - 1) / 2 * dilation), norm,
 * activation?), children named 0, 1, 2. x [N, inC, H, W] -> [N, outC, H / stride, W / stride].
 */
export function conv2dNormActivation(
  inC: number,
  outC: number,
  kernel: number,
  opts: { stride?: number; groups?: number; dilation?: number; norm: MobileNetNorm; activation: 'hardswish' | 'relu' | 'relu6' | null },
): Sequential {
  const dilation = opts.dilation ?? 1;
  const conv = new Conv2d(inC, outC, kernel, { stride: opts.stride ?? 1, padding: ((kernel - 1) >> 1) * dilation, dilation, groups: opts.groups ?? 1, bias: false });
  const layers: Layer[] = [conv, normLayer(opts.norm, outC)];
  // relu6: SSDLite's extra blocks and prediction heads (ssdlite.py's _extra_block, _prediction_block).
  if (opts.activation) layers.push(opts.activation === 'hardswish' ? new Hardswish() : opts.activation === 'relu6' ? new ReLU6() : new ReLU());
  return new Sequential(...layers);
}

/** A Sequential whose children keep the names given (torchvision's slice of a Sequential keeps its keys). */
export class NamedSequential extends Layer {
  readonly layers: Layer[];
  constructor(entries: readonly (readonly [string, Layer])[]) {
    super();
    this.layers = entries.map(([name, l]) => this.registerModule(name, l));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = l.forward(y);
    return y;
  }
}

/**
 * torchvision's InvertedResidual: `block` = [expand 1x1 (when expanded != input)], depthwise k x k
 * (stride, or dilation with stride 1), [SqueezeExcitation], project 1x1 (no activation); plus the input
 * when stride is 1 and channels are kept. x [N, in, H, W] -> [N, out, H / s, W / s].
 */
export class InvertedResidual extends Layer {
  readonly block: Sequential;
  readonly useResConnect: boolean;
  readonly outChannels: number;
  /** A strided ("C_n") block: torchvision's _is_cn, which the detection extractors use for stage indices. */
  readonly isCn: boolean;

  constructor(
    readonly config: InvertedResidualConfig,
    norm: MobileNetNorm,
  ) {
    super();
    const c = config;
    if (!(c.stride >= 1 && c.stride <= 2) || !Number.isInteger(c.stride)) throw new Error(`InvertedResidual: illegal stride value ${c.stride} (1 or 2)`);
    this.useResConnect = c.stride === 1 && c.inputChannels === c.outChannels;
    const activation = c.useHs ? 'hardswish' : 'relu';
    const layers: Layer[] = [];
    if (c.expandedChannels !== c.inputChannels) layers.push(conv2dNormActivation(c.inputChannels, c.expandedChannels, 1, { norm, activation }));
    layers.push(
      conv2dNormActivation(c.expandedChannels, c.expandedChannels, c.kernel, {
        stride: c.dilation > 1 ? 1 : c.stride,
        dilation: c.dilation,
        groups: c.expandedChannels,
        norm,
        activation,
      }),
    );
    if (c.useSe) layers.push(new SqueezeExcitation(c.expandedChannels, makeDivisible(Math.trunc(c.expandedChannels / 4), 8)));
    layers.push(conv2dNormActivation(c.expandedChannels, c.outChannels, 1, { norm, activation: null }));
    this.block = this.registerModule('block', new Sequential(...layers));
    this.outChannels = c.outChannels;
    this.isCn = c.stride > 1;
  }

  forward(x: Tensor): Tensor {
    const y = this.block.forward(x);
    return this.useResConnect ? add(y, x) : y;
  }
}

/** nn.Dropout: zeroes each element with probability p in training and scales the rest by 1 / (1 - p). */
class Dropout extends Layer {
  constructor(readonly p: number) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const keep = ge(rand(x.shape), this.p);
    return mul(x, this.p === 1 ? mulScalar(keep, 0) : mulScalar(keep, 1 / (1 - this.p)));
  }
}

export interface MobileNetV3Options extends MobileNetV3ConfigOptions {
  /** Default 'large'. */
  arch?: MobileNetArch;
  /** Default torchvision's: BatchNorm2d(eps=0.001, momentum=0.01). */
  norm?: MobileNetNorm;
  /** Build avgpool + classifier (torchvision always does; detection backbones keep only `features`). Default true. */
  classifier?: boolean;
  numClasses?: number;
  dropout?: number;
  /** Seed for torchvision's initialisation (kaiming-normal fan_out convs, N(0, 0.01) linears, zero biases). */
  seed?: number;
}

/**
 * MobileNetV3 as torchvision builds it. x [N, 3, H, W] -> `features` [N, 960 (large; small 576), H / 32, W / 32]
 * (H / 16 when dilated) -> logits [N, numClasses]. State-dict keys: features.0.0.weight,
 * features.1.block.0.0.weight, features.4.block.2.fc1.weight, ..., classifier.3.bias.
 */
export class MobileNetV3 extends Layer {
  readonly features: Sequential;
  readonly classifier: Sequential | null;
  readonly blocks: InvertedResidualConfig[];
  /** Channels of features[16] (large): 6 x the last block's output. */
  readonly outChannels: number;
  /** [0, the strided blocks, the last layer]: torchvision's stage_indices ([0, 2, 4, 7, 13, 16] for large). */
  readonly stageIndices: number[];
  readonly norm: MobileNetNorm;

  constructor(readonly opts: MobileNetV3Options = {}) {
    super();
    const { blocks, lastChannel } = mobileNetV3Config(opts.arch ?? 'large', opts);
    this.blocks = blocks;
    const norm = (this.norm = opts.norm ?? { kind: 'batchnorm', eps: 0.001, momentum: 0.01 });
    const layers: Layer[] = [conv2dNormActivation(3, blocks[0]!.inputChannels, 3, { stride: 2, norm, activation: 'hardswish' })];
    for (const cnf of blocks) layers.push(new InvertedResidual(cnf, norm));
    const lastIn = blocks[blocks.length - 1]!.outChannels;
    this.outChannels = 6 * lastIn;
    layers.push(conv2dNormActivation(lastIn, this.outChannels, 1, { norm, activation: 'hardswish' }));
    this.features = this.registerModule('features', new Sequential(...layers));
    this.stageIndices = [0, ...layers.flatMap((l, i) => (l instanceof InvertedResidual && l.isCn ? [i] : [])), layers.length - 1];
    this.classifier = null;
    if (opts.classifier ?? true) {
      // avgpool (AdaptiveAvgPool2d(1)) holds no state; the classifier's keys follow it as in torchvision.
      this.classifier = this.registerModule(
        'classifier',
        new Sequential(new Linear(this.outChannels, lastChannel), new Hardswish(), new Dropout(opts.dropout ?? 0.2), new Linear(lastChannel, opts.numClasses ?? 1000)),
      );
    }
    initMobileNetV3(this, opts.seed ?? 0);
  }

  /** The position of the C4 block in `features` (SSDLite's c4_pos: stage_indices[-2]). */
  get c4Pos(): number {
    return this.stageIndices[this.stageIndices.length - 2]!;
  }

  /** Logits [N, numClasses] (torchvision's forward); the last feature map when built without the classifier. */
  forward(x: Tensor): Tensor {
    const f = this.features.forward(x);
    if (!this.classifier) return f;
    return this.classifier.forward(flatten(adaptiveAvgPool2d(f, 1), 1));
  }

  /**
   * The outputs of features[i] for each i of `indices` (in the order given), running features only as far as the
   * largest: what torchvision's IntermediateLayerGetter returns (fasterrcnn_mobilenet_v3_large_fpn: [13, 16]).
   */
  forwardFeatures(x: Tensor, indices: readonly number[]): Tensor[] {
    const n = this.features.layers.length;
    for (const i of indices) if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`MobileNetV3.forwardFeatures: index ${i} is outside features[0..${n - 1}]`);
    if (!indices.length) return [];
    const end = Math.max(...indices);
    const out = new Map<number, Tensor>();
    let y = x;
    for (let i = 0; i <= end; i++) {
      y = this.features.layers[i]!.forward(y);
      if (indices.includes(i)) out.set(i, y);
    }
    return indices.map((i) => out.get(i)!);
  }

  /**
   * torchvision's _mobilenet_extractor freezing: with k trainable layers (0 ..stageIndices.length), the
   * parameters of features[:stageIndices[stages - k]] stop taking gradients (all of features for k = 0).
   * BatchNorm statistics still update in training, as in torchvision.
   */
  setTrainableLayers(k: number): void {
    const stages = this.stageIndices.length;
    if (!Number.isInteger(k) || k < 0 || k > stages) throw new Error(`MobileNetV3.setTrainableLayers: trainable layers must be in [0, ${stages}], got ${k}`);
    const freezeBefore = k === 0 ? this.features.layers.length : this.stageIndices[stages - k]!;
    this.features.layers.forEach((layer, i) => setFrozen(layer, i < freezeBefore));
  }
}

/** Parameters stop (or resume) taking gradients; BatchNorm2d re-applies this on every train()/eval(). */
function setFrozen(m: Module, frozen: boolean): void {
  for (const [, sub] of m.namedModules()) if (sub instanceof BatchNorm2d) sub.freezeWeights = frozen;
  for (const p of m.parameters()) p.requiresGrad = !frozen;
}

/** torchvision's MobileNetV3.__init__ loop: kaiming_normal_(fan_out) conv weights, zero conv biases, N(0, 0.01) linears. */
function initMobileNetV3(model: MobileNetV3, seed: number): void {
  noGrad(() => {
    for (const [, m] of model.namedModules()) {
      if (!(m instanceof Conv2d || m instanceof Linear)) continue;
      for (const [name, t] of m.namedParameters()) {
        if (name === 'bias') t.assign(zeros(t.shape));
        else t.assign(m instanceof Conv2d ? kaimingNormal(t.shape, { mode: 'fan_out', seed: seed++ }) : normal(t.shape, 0, 0.01, { seed: seed++ }));
      }
    }
  });
}

/**
 * SSDLite's split of the backbone (SSDLiteFeatureExtractorMobileNet.features in ssdlite.py): stage 0 =
 * Sequential(features[:c4Pos], features[c4Pos].block[0]) (up to C4's expansion conv, stride 16), stage 1 =
 * Sequential(features[c4Pos].block[1:] (children keep their names 1, 2, 3), features[c4Pos + 1:]) (stride 32).
 * The stages share the backbone's modules: register the stages (state-dict keys 0.0.0.weight, ...,
 * 1.0.1.0.weight, ...), not the backbone as well.
 */
export function ssdliteStages(backbone: MobileNetV3, c4Pos = backbone.c4Pos): [Sequential, Sequential] {
  const layers = backbone.features.layers;
  const c4 = layers[c4Pos];
  if (!(c4 instanceof InvertedResidual)) throw new Error(`ssdliteStages: features[${c4Pos}] is not an InvertedResidual block`);
  if (c4.useResConnect) throw new Error(`ssdliteStages: features[${c4Pos}].use_res_connect should be False (a strided block)`);
  const [first, ...rest] = c4.block.namedChildren();
  if (!first || !rest.length) throw new Error(`ssdliteStages: features[${c4Pos}] has no expansion conv to split after`);
  return [
    new Sequential(...layers.slice(0, c4Pos), first[1] as Layer),
    new Sequential(new NamedSequential(rest.map(([n, m]) => [n, m as Layer] as const)), ...layers.slice(c4Pos + 1)),
  ];
}
