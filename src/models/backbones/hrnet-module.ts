// timm's HighResolutionModule: parallel branches of residual blocks, then fuse layers that give every
// output branch i the sum over input branches j of
//   j > i: 1x1 conv + BN to branch i's channels at branch j's resolution, nearest-upsampled by 2^(j-i);
//   j = i: the branch itself;
//   j < i: i-j stride-2 3x3 conv + BN, with ReLU after all but the last;
// followed by ReLU. The upsample-adds run on hrnetUpsampleAdd (forward and backward in one kernel each,
// no upsampled tensor); setHrnetFuseMode('materialised') instead upsamples with interpolate and adds
// (benchmarks, and tests that the two agree).
import { Identity, ModuleList, Sequential } from '../../nn/layers.ts';
import { Layer, Module } from '../../nn/module.ts';
import { add, relu } from '../../ops/elementwise.ts';
import { hrnetUpsampleAdd } from '../../ops/hrnet-fuse.ts';
import { interpolate } from '../../ops/resample.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { bn, conv, type BlockType, type InitCtx } from './hrnet-blocks.ts';
import { ConvNorm } from '../../nn/conv-norm.ts';

export type FuseMode = 'kernel' | 'materialised';

let fuseMode: FuseMode = 'kernel';

/** How every HRNet module's fuse layers add upsampled branches from now on; returns the previous mode. */
export function setHrnetFuseMode(mode: FuseMode): FuseMode {
  const prev = fuseMode;
  fuseMode = mode;
  return prev;
}

export interface ModuleSpec {
  block: BlockType;
  numBlocks: readonly number[];
  numChannels: readonly number[];
}

export class HighResolutionModule extends Module {
  readonly numBranches: number;
  /** Output channels per branch (timm's num_in_chs after construction). */
  readonly outChannels: number[];
  private readonly branches: ModuleList<Sequential>;
  private readonly fuseLayers: ModuleList<ModuleList<Layer>> | null = null;

  constructor(
    ctx: InitCtx,
    inChannels: readonly number[],
    spec: ModuleSpec,
    multiScaleOutput: boolean,
  ) {
    super();
    const n = (this.numBranches = inChannels.length);
    if (spec.numBlocks.length !== n || spec.numChannels.length !== n)
      throw new Error(`HRNet module: ${n} input branches, but ${spec.numBlocks.length} block counts and ${spec.numChannels.length} channel counts`);
    const chs = [...inChannels];
    const branches: Sequential[] = [];
    for (let i = 0; i < n; i++) {
      const outC = spec.numChannels[i]! * spec.block.expansion;
      const downsample = chs[i] !== outC ? new ConvNorm(conv(ctx, chs[i]!, outC, 1), bn(outC), false) : null;
      const blocks: Layer[] = [new spec.block(ctx, chs[i]!, spec.numChannels[i]!, 1, downsample)];
      chs[i] = outC;
      for (let b = 1; b < spec.numBlocks[i]!; b++) blocks.push(new spec.block(ctx, outC, spec.numChannels[i]!, 1, null));
      branches.push(new Sequential(...blocks));
    }
    this.branches = this.registerModule('branches', new ModuleList(branches));
    this.outChannels = chs;
    if (n === 1) return;
    const fuseLayers = new ModuleList<ModuleList<Layer>>();
    for (let i = 0; i < (multiScaleOutput ? n : 1); i++) {
      const row = new ModuleList<Layer>();
      for (let j = 0; j < n; j++) {
        if (j > i) row.push(new ConvNorm(conv(ctx, chs[j]!, chs[i]!, 1), bn(chs[i]!), false));
        else if (j === i) row.push(new Identity());
        else {
          const chain: Layer[] = [];
          for (let k = 0; k < i - j; k++) {
            const last = k === i - j - 1;
            const outC = last ? chs[i]! : chs[j]!;
            chain.push(new ConvNorm(conv(ctx, chs[j]!, outC, 3, 2, 1), bn(outC), !last));
          }
          row.push(new Sequential(...chain));
        }
      }
      fuseLayers.push(row);
    }
    this.fuseLayers = this.registerModule('fuse_layers', fuseLayers);
  }

  forward(xs: readonly Tensor[]): Tensor[] {
    if (xs.length !== this.numBranches) throw new Error(`HRNet module: expected ${this.numBranches} branches, got ${xs.length}`);
    const ys = xs.map((x, i) => this.branches.at(i).forward(x));
    if (!this.fuseLayers) return ys;
    const fused = fuseMode === 'kernel';
    return this.fuseLayers.items.map((row, i) => {
      // Same summation order as timm (j ascending): the lower-resolution terms come last, so they fuse into the sum.
      let acc: Tensor | null = null;
      for (let j = 0; j <= i; j++) {
        const t = row.at(j).forward(ys[j]!);
        acc = acc ? add(acc, t) : t;
      }
      for (let j = i + 1; j < this.numBranches; j++) {
        const low = row.at(j).forward(ys[j]!);
        const scale = 2 ** (j - i);
        const last = j === this.numBranches - 1;
        if (fused) acc = hrnetUpsampleAdd(acc!, low, scale, { relu: last });
        else acc = add(acc!, interpolate(low, { scaleFactor: scale, mode: 'nearest' }));
      }
      return fused && i < this.numBranches - 1 ? acc! : relu(acc!);
    });
  }
}
