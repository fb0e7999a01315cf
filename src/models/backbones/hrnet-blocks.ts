// The pieces timm's HRNet is assembled from: conv and BatchNorm layers with its initialisation
// (kaiming-normal fan_out convs, unit BatchNorm; unlike timm's ResNet, no zero-initialised last norm),
// timm's BasicBlock and Bottleneck (the ResNet blocks HRNet imports: ./resnet.ts's, built with
// zeroInitLast off), and `_make_layer`.
import type { Conv2d } from '../../nn/conv-layers.ts';
import type { Layer } from '../../nn/module.ts';
import { Sequential } from '../../nn/layers.ts';
import { ConvNorm } from '../../nn/conv-norm.ts';
import { BatchNorm2d } from '../../nn/norm-layers.ts';
import { BasicBlock, Bottleneck, convInit, type BlockCtx, type BlockType } from './resnet.ts';

export { BasicBlock, Bottleneck, type BlockType };

/** Seeds for the initialisers, consumed in construction order so a seed gives one network. */
export type InitCtx = BlockCtx;

/** The block context of an HRNet: BatchNorm, no zero-initialised last norm. */
export const hrnetCtx = (seed: number): InitCtx => ({ norm: 'batchnorm', seed, zeroInitLast: false });

export const conv = (ctx: InitCtx, inC: number, outC: number, k: number, stride = 1, padding = 0): Conv2d => convInit(ctx, inC, outC, k, stride, padding);

/** timm's _BN_MOMENTUM is 0.1, PyTorch's default. */
export const bn = (c: number): BatchNorm2d => new BatchNorm2d(c, { momentum: 0.1 });


/** timm's HighResolutionNet._make_layer: `blocks` blocks, a 1x1 conv + BN shortcut when the shape changes. */
export function makeLayer(ctx: InitCtx, Block: BlockType, inC: number, planes: number, blocks: number, stride = 1): Sequential {
  const outC = planes * Block.expansion;
  const downsample = stride !== 1 || inC !== outC ? new ConvNorm(conv(ctx, inC, outC, 1, stride), bn(outC)) : null;
  const layers: Layer[] = [new Block(ctx, inC, planes, stride, downsample)];
  for (let i = 1; i < blocks; i++) layers.push(new Block(ctx, outC, planes, 1, null));
  return new Sequential(...layers);
}
