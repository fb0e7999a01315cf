// timm's ResNet (v1.5: stride on the 3x3) as DeepLabCut uses it: forward_features only, no classifier,
// with timm's module names so state dicts load from timm/DeepLabCut files, and output_stride through
// dilation exactly as timm's make_blocks does. Depths 18/34 use BasicBlock, 50/101/152 Bottleneck.
import type { Tensor } from '../../tensor/tensor.ts';
import { Conv2d } from '../../nn/conv-layers.ts';
import { ConvNorm, convNorm } from '../../nn/conv-norm.ts';
import { BatchNorm2d, GroupNorm, MaxPool2d } from '../../nn/norm-layers.ts';
import { kaimingNormal } from '../../nn/init.ts';
import { Layer } from '../../nn/module.ts';
import { Sequential } from '../../nn/layers.ts';

export type NormKind = 'batchnorm' | 'groupnorm';

export interface ResNetOptions {
  depth: 18 | 34 | 50 | 101 | 152;
  /** 32 (no dilation), 16 or 8. */
  outputStride?: 8 | 16 | 32;
  norm?: NormKind;
  inChannels?: number;
  /** Seed for timm's initialisation (kaiming-normal fan_out convs, unit norms, zero-init last norm of each block). */
  seed?: number;
}

const LAYERS: Record<ResNetOptions['depth'], [number, number, number, number]> = {
  18: [2, 2, 2, 2],
  34: [3, 4, 6, 3],
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
  152: [3, 8, 36, 3],
};

/** How blocks are built: the norm layer, and the seed counter the initialisers consume in construction order. */
export interface BlockCtx {
  norm: NormKind;
  seed: number;
  /** timm's ResNet zero-initialises each block's last norm weight; HRNet, which reuses the blocks, does not. */
  zeroInitLast?: boolean;
}
type Ctx = BlockCtx;

export function convInit(ctx: Ctx, inC: number, outC: number, k: number, stride = 1, padding = 0, dilation = 1): Conv2d {
  const conv = new Conv2d(inC, outC, k, { stride, padding, dilation, bias: false });
  // timm: kaiming_normal_(mode='fan_out', nonlinearity='relu') on every conv.
  conv.setWeight(kaimingNormal([outC, inC, k, k], { mode: 'fan_out', nonlinearity: 'relu', seed: ctx.seed++ }));
  return conv;
}

export function norm(ctx: Ctx, c: number, last = false): BatchNorm2d | GroupNorm {
  const n = ctx.norm === 'groupnorm' ? new GroupNorm(32, c) : new BatchNorm2d(c);
  if (last && (ctx.zeroInitLast ?? true)) n.zeroWeight();
  return n;
}

/** What the HRNet and ResNet stage builders need of a block class. */
export interface BlockType {
  readonly expansion: number;
  new (ctx: Ctx, inC: number, planes: number, stride: number, downsample: Sequential | null): Layer;
}

export class BasicBlock extends Layer {
  static readonly expansion = 1;
  constructor(ctx: Ctx, inC: number, planes: number, stride: number, downsample: Sequential | null, firstDilation = 1, dilation = 1) {
    super();
    this.registerModule('conv1', convInit(ctx, inC, planes, 3, stride, firstDilation, firstDilation));
    this.registerModule('bn1', norm(ctx, planes));
    this.registerModule('conv2', convInit(ctx, planes, planes, 3, 1, dilation, dilation));
    this.registerModule('bn2', norm(ctx, planes, true));
    if (downsample) this.registerModule('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    const m = (n: string) => this.child(n) as Layer;
    const y = convNorm(m('conv1') as Conv2d, m('bn1'), x, { relu: true });
    const shortcut = this.child('downsample') ? m('downsample').forward(x) : x;
    return convNorm(m('conv2') as Conv2d, m('bn2'), y, { relu: true, residual: shortcut });
  }
}

// timm's Bottleneck dilates only its 3x3, with the first dilation of its block (the stage's from the second block on).
export class Bottleneck extends Layer {
  static readonly expansion = 4;
  constructor(ctx: Ctx, inC: number, planes: number, stride: number, downsample: Sequential | null, firstDilation = 1, _dilation = 1) {
    super();
    this.registerModule('conv1', convInit(ctx, inC, planes, 1));
    this.registerModule('bn1', norm(ctx, planes));
    this.registerModule('conv2', convInit(ctx, planes, planes, 3, stride, firstDilation, firstDilation));
    this.registerModule('bn2', norm(ctx, planes));
    this.registerModule('conv3', convInit(ctx, planes, planes * 4, 1));
    this.registerModule('bn3', norm(ctx, planes * 4, true));
    if (downsample) this.registerModule('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    const m = (n: string) => this.child(n) as Layer;
    let y = convNorm(m('conv1') as Conv2d, m('bn1'), x, { relu: true });
    y = convNorm(m('conv2') as Conv2d, m('bn2'), y, { relu: true });
    const shortcut = this.child('downsample') ? m('downsample').forward(x) : x;
    return convNorm(m('conv3') as Conv2d, m('bn3'), y, { relu: true, residual: shortcut });
  }
}

/** ResNet trunk: x [N, 3, H, W] -> features [N, 512 * expansion, H / outputStride, W / outputStride]. */
export class ResNet extends Layer {
  readonly outChannels: number;
  readonly stride: number;
  constructor(readonly opts: ResNetOptions) {
    super();
    const ctx: Ctx = { norm: opts.norm ?? 'batchnorm', seed: opts.seed ?? 0 };
    const outputStride = opts.outputStride ?? 32;
    if (![8, 16, 32].includes(outputStride)) throw new Error(`ResNet: output_stride must be 8, 16 or 32, got ${outputStride}`);
    const Block = opts.depth <= 34 ? BasicBlock : Bottleneck;
    this.registerModule('conv1', convInit(ctx, opts.inChannels ?? 3, 64, 7, 2, 3));
    this.registerModule('bn1', norm(ctx, 64));
    this.registerModule('maxpool', new MaxPool2d(3, 2, 1));
    // timm make_blocks: the net stride starts at 4; once it reaches output_stride, strides become dilation.
    let netStride = 4;
    let dilation = 1;
    let prevDilation = 1;
    let inC = 64;
    LAYERS[opts.depth].forEach((blocks, stage) => {
      const planes = 64 * 2 ** stage;
      let stride = stage === 0 ? 1 : 2;
      if (netStride >= outputStride) {
        dilation *= stride;
        stride = 1;
      } else netStride *= stride;
      const outC = planes * Block.expansion;
      let downsample: Sequential | null = null;
      if (stride !== 1 || inC !== outC) downsample = new ConvNorm(convInit(ctx, inC, outC, 1, stride), norm(ctx, outC));
      const layer: Layer[] = [];
      for (let b = 0; b < blocks; b++) {
        layer.push(new Block(ctx, inC, planes, b === 0 ? stride : 1, b === 0 ? downsample : null, prevDilation, dilation));
        prevDilation = dilation;
        inC = outC;
      }
      this.registerModule(`layer${stage + 1}`, new Sequential(...layer));
    });
    this.outChannels = inC;
    this.stride = netStride;
  }

  forward(x: Tensor): Tensor {
    const m = (n: string) => this.child(n) as Layer;
    let y = m('maxpool').forward(convNorm(m('conv1') as Conv2d, m('bn1'), x, { relu: true }));
    for (const n of ['layer1', 'layer2', 'layer3', 'layer4']) y = m(n).forward(y);
    return y;
  }
}

