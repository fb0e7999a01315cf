// timm's HRNet (hrnet_w18 / w32 / w48, and the other widths of the same layout) as DeepLabCut's HRNet
// backbone uses it: timm.create_model(features_only=True, out_indices=(1, 2, 3, 4), feature_location=
// 'incre' with increased_channel_count, else ''), with timm's module names so its state dicts load as they
// are. Stem (two stride-2 3x3 convs), layer1 (4 Bottlenecks), then stages 2-4 of high-resolution modules
// with 2, 3, 4 branches at strides 4, 8, 16, 32 (w, 2w, 4w, 8w channels), transition layers between them;
// with increased_channel_count each branch goes through timm's incre module (a Bottleneck to 128, 256,
// 512, 1024 channels). DeepLabCut returns branch 0, or with interpolate_branches branches 1-3 bilinearly
// upsampled to branch 0's size and concatenated to it.
import { Identity, ModuleList, Sequential } from '../../nn/layers.ts';
import { Layer } from '../../nn/module.ts';
import type { Conv2d } from '../../nn/conv-layers.ts';
import { ConvNorm, convNorm } from '../../nn/conv-norm.ts';
import { interpolate } from '../../ops/resample.ts';
import { concat } from '../../ops/shape.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { BasicBlock, bn, Bottleneck, conv, hrnetCtx, makeLayer, type InitCtx } from './hrnet-blocks.ts';
import { HighResolutionModule } from './hrnet-module.ts';

/** Input height and width must be multiples of this: the stride of branch 3, whose upsampling must land on branch 0. */
export const HRNET_INPUT_DIVISOR = 32;

/** timm's cfg_cls for the full-size HRNets: only the width w changes. */
const STAGES = [
  { modules: 1, branches: 2 },
  { modules: 4, branches: 3 },
  { modules: 3, branches: 4 },
] as const;
const BLOCKS_PER_BRANCH = 4;
/** timm's _make_head head_channels (Bottleneck planes; x4 out). */
const INCRE_PLANES = [32, 64, 128, 256];

export interface HRNetOptions {
  /** Channels of branch 0 (18, 32, 48 in DeepLabCut's configs). */
  width: number;
  /** timm's feature_location='incre': branches through the incre modules (128/256/512/1024 channels). */
  increasedChannelCount?: boolean;
  /** DeepLabCut's interpolate_branches: concatenate all four branches at branch 0's resolution. */
  interpolateBranches?: boolean;
  inChannels?: number;
  seed?: number;
  /** For messages. */
  name?: string;
}

export class HRNet extends Layer {
  readonly stride = 4;
  readonly outChannels: number;
  /** Channels of the four outputs of features(). */
  readonly featureChannels: number[];
  private readonly stages: ModuleList<HighResolutionModule>[] = [];
  private readonly transitions: ModuleList<Layer>[] = [];

  constructor(readonly opts: HRNetOptions) {
    super();
    const w = opts.width;
    if (!(Number.isInteger(w) && w > 0)) throw new Error(`HRNet: width must be a positive integer, got ${w}`);
    const ctx = hrnetCtx(opts.seed ?? 0);
    this.registerModule('conv1', conv(ctx, opts.inChannels ?? 3, 64, 3, 2, 1));
    this.registerModule('bn1', bn(64));
    this.registerModule('conv2', conv(ctx, 64, 64, 3, 2, 1));
    this.registerModule('bn2', bn(64));
    this.registerModule('layer1', makeLayer(ctx, Bottleneck, 64, 64, BLOCKS_PER_BRANCH));
    let pre = [64 * Bottleneck.expansion];
    STAGES.forEach(({ modules, branches }, s) => {
      const channels = Array.from({ length: branches }, (_, i) => w * 2 ** i);
      this.transitions.push(this.registerModule(`transition${s + 1}`, transition(ctx, pre, channels)));
      const stage = new ModuleList<HighResolutionModule>();
      let inC = channels;
      for (let m = 0; m < modules; m++) {
        const mod = new HighResolutionModule(ctx, inC, { block: BasicBlock, numBlocks: channels.map(() => BLOCKS_PER_BRANCH), numChannels: channels }, true);
        stage.push(mod);
        inC = mod.outChannels;
      }
      this.stages.push(this.registerModule(`stage${s + 2}`, stage));
      pre = inC;
    });
    if (opts.increasedChannelCount) {
      this.registerModule('incre_modules', new ModuleList(pre.map((c, i) => makeLayer(ctx, Bottleneck, c, INCRE_PLANES[i]!, 1))));
      this.featureChannels = INCRE_PLANES.map((p) => p * Bottleneck.expansion);
    } else this.featureChannels = pre;
    this.outChannels = opts.interpolateBranches ? this.featureChannels.reduce((a, b) => a + b, 0) : this.featureChannels[0]!;
  }

  /** timm's HighResolutionNetFeatures.forward with out_indices (1, 2, 3, 4): the four branches, strides 4-32. */
  features(x: Tensor): Tensor[] {
    const [, , H, W] = x.shape as [number, number, number, number];
    if (x.rank !== 4 || H % HRNET_INPUT_DIVISOR || W % HRNET_INPUT_DIVISOR)
      throw new Error(
        `${this.opts.name ?? 'HRNet'} needs input height and width divisible by ${HRNET_INPUT_DIVISOR}, got ${x.rank === 4 ? `${H}x${W}` : `[${x.shape.join(', ')}]`}: ` +
          `pad images with auto_padding (data.train.auto_padding and data.inference.auto_padding: {pad_height_divisor: ${HRNET_INPUT_DIVISOR}, pad_width_divisor: ${HRNET_INPUT_DIVISOR}}), ` +
          `as the default hrnet configs do, or use crop sizes that are multiples of ${HRNET_INPUT_DIVISOR}`,
      );
    const m = (n: string) => this.child(n) as Layer;
    let y = convNorm(m('conv1') as Conv2d, m('bn1'), x, { relu: true });
    y = convNorm(m('conv2') as Conv2d, m('bn2'), y, { relu: true });
    y = m('layer1').forward(y);
    let ys = [y];
    this.stages.forEach((stage, s) => {
      const t = this.transitions[s]!;
      // timm: an Identity transition passes its branch through; every other one reads the last branch.
      let xs = t.items.map((layer, i) => (layer instanceof Identity ? ys[i]! : layer.forward(ys[ys.length - 1]!)));
      for (const mod of stage.items) xs = mod.forward(xs);
      ys = xs;
    });
    const incre = this.child('incre_modules') as ModuleList<Sequential> | undefined;
    return incre ? ys.map((f, i) => incre.at(i).forward(f)) : ys;
  }

  /** DeepLabCut's HRNet.prepare_output: branch 0, or all four at branch 0's size, concatenated. */
  forward(x: Tensor): Tensor {
    const ys = this.features(x);
    if (!this.opts.interpolateBranches) return ys[0]!;
    const [, , h, w] = ys[0]!.shape as [number, number, number, number];
    return concat([ys[0]!, ...ys.slice(1).map((f) => interpolate(f, { size: [h, w], mode: 'bilinear' }))], 1);
  }
}

/**
 * timm's _make_transition_layer: existing branches keep their tensor (Identity) or get a 3x3 conv + BN + ReLU
 * when their channel count changes; each new branch is a chain of stride-2 3x3 conv + BN + ReLU from the last one.
 */
function transition(ctx: InitCtx, pre: readonly number[], cur: readonly number[]): ModuleList<Layer> {
  const layers = new ModuleList<Layer>();
  cur.forEach((c, i) => {
    if (i < pre.length) {
      layers.push(c !== pre[i] ? new ConvNorm(conv(ctx, pre[i]!, c, 3, 1, 1), bn(c), true) : new Identity());
      return;
    }
    const chain: Layer[] = [];
    for (let j = 0; j < i + 1 - pre.length; j++) {
      const inC = pre[pre.length - 1]!;
      const outC = j === i - pre.length ? c : inC;
      chain.push(new ConvNorm(conv(ctx, inC, outC, 3, 2, 1), bn(outC), true));
    }
    layers.push(new Sequential(...chain));
  });
  return layers;
}

/** timm's full-size HRNet names (same layout, different width); the _small variants have another layout. */
export function hrnetWidth(name: string): number {
  const m = /^hrnet_w(18|30|32|40|44|48|64)$/.exec(name);
  if (!m) throw new Error(`model.backbone.model_name: '${name}' is not a supported HRNet (hrnet_w18, hrnet_w30, hrnet_w32, hrnet_w40, hrnet_w44, hrnet_w48, hrnet_w64)`);
  return Number(m[1]);
}
