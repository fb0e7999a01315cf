// The pieces timm's HRNet is assembled from: conv and BatchNorm layers with its initialisation
// (kaiming-normal fan_out convs, unit BatchNorm; unlike timm's ResNet, no zero-initialised last norm),
// timm's BasicBlock and Bottleneck (the ResNet blocks HRNet imports, with their parameter names), and
// `_make_layer`.
import { Conv2d } from '../../nn/conv-layers.ts';
import { kaimingNormal } from '../../nn/init.ts';
import { Layer } from '../../nn/module.ts';
import { Sequential } from '../../nn/layers.ts';
import { BatchNorm2d } from '../../nn/norm-layers.ts';
import { add, relu } from '../../ops/elementwise.ts';
import type { Tensor } from '../../tensor/tensor.ts';

/** Seeds for the initialisers, consumed in construction order so a seed gives one network. */
export interface InitCtx {
  seed: number;
}

export function conv(ctx: InitCtx, inC: number, outC: number, k: number, stride = 1, padding = 0): Conv2d {
  const c = new Conv2d(inC, outC, k, { stride, padding, bias: false });
  c.setWeight(kaimingNormal([outC, inC, k, k], { mode: 'fan_out', nonlinearity: 'relu', seed: ctx.seed++ }));
  return c;
}

/** timm's _BN_MOMENTUM is 0.1, PyTorch's default. */
export const bn = (c: number): BatchNorm2d => new BatchNorm2d(c, { momentum: 0.1 });

/** conv + BN (+ ReLU): the unit of HRNet's transition and fuse layers. */
export class ConvBnAct extends Sequential {
  constructor(conv: Conv2d, norm: BatchNorm2d, readonly act: boolean) {
    super(conv, norm);
  }
  override forward(x: Tensor): Tensor {
    const y = super.forward(x);
    return this.act ? relu(y) : y;
  }
}

export interface BlockType {
  readonly expansion: number;
  new (ctx: InitCtx, inC: number, planes: number, stride: number, downsample: Sequential | null): Layer;
}

export class BasicBlock extends Layer {
  static readonly expansion = 1;
  constructor(ctx: InitCtx, inC: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.registerModule('conv1', conv(ctx, inC, planes, 3, stride, 1));
    this.registerModule('bn1', bn(planes));
    this.registerModule('conv2', conv(ctx, planes, planes, 3, 1, 1));
    this.registerModule('bn2', bn(planes));
    if (downsample) this.registerModule('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    const m = (n: string) => this.child(n) as Layer;
    let y = relu(m('bn1').forward(m('conv1').forward(x)));
    y = m('bn2').forward(m('conv2').forward(y));
    return relu(add(y, this.child('downsample') ? m('downsample').forward(x) : x));
  }
}

export class Bottleneck extends Layer {
  static readonly expansion = 4;
  constructor(ctx: InitCtx, inC: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.registerModule('conv1', conv(ctx, inC, planes, 1));
    this.registerModule('bn1', bn(planes));
    this.registerModule('conv2', conv(ctx, planes, planes, 3, stride, 1));
    this.registerModule('bn2', bn(planes));
    this.registerModule('conv3', conv(ctx, planes, planes * 4, 1));
    this.registerModule('bn3', bn(planes * 4));
    if (downsample) this.registerModule('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    const m = (n: string) => this.child(n) as Layer;
    let y = relu(m('bn1').forward(m('conv1').forward(x)));
    y = relu(m('bn2').forward(m('conv2').forward(y)));
    y = m('bn3').forward(m('conv3').forward(y));
    return relu(add(y, this.child('downsample') ? m('downsample').forward(x) : x));
  }
}

/** timm's HighResolutionNet._make_layer: `blocks` blocks, a 1x1 conv + BN shortcut when the shape changes. */
export function makeLayer(ctx: InitCtx, Block: BlockType, inC: number, planes: number, blocks: number, stride = 1): Sequential {
  const outC = planes * Block.expansion;
  const downsample = stride !== 1 || inC !== outC ? new Sequential(conv(ctx, inC, outC, 1, stride), bn(outC)) : null;
  const layers: Layer[] = [new Block(ctx, inC, planes, stride, downsample)];
  for (let i = 1; i < blocks; i++) layers.push(new Block(ctx, outC, planes, 1, null));
  return new Sequential(...layers);
}
