// DeepLabCut's HeatmapHead: a heatmap DeconvModule and an optional locref DeconvModule, each a stack of
// ConvTranspose2d (padding 0, ReLU between layers, not after the last) and an optional 1x1-style
// final_conv. State-dict names: heatmap_head.deconv_layers.0.weight, heatmap_head.final_conv.weight, ...
import { ReLU, Sequential } from '../../nn/layers.ts';
import { Conv2d, ConvTranspose2d } from '../../nn/conv-layers.ts';
import { dlcNormal } from '../../nn/init.ts';
import { Layer, Module } from '../../nn/module.ts';
import { zeros } from '../../ops/creation.ts';
import type { Tensor } from '../../tensor/tensor.ts';

export interface DeconvConfig {
  channels: number[];
  kernel_size: number[];
  strides: number[];
  final_conv?: { out_channels: number; kernel_size: number } | null;
}

export class DeconvModule extends Layer {
  readonly stride: number;
  readonly outChannels: number;
  constructor(cfg: DeconvConfig, seed: number) {
    super();
    const layers: Layer[] = [];
    for (let i = 0; i < cfg.kernel_size.length; i++) {
      if (i > 0) layers.push(new ReLU());
      layers.push(new ConvTranspose2d(cfg.channels[i]!, cfg.channels[i + 1]!, cfg.kernel_size[i]!, { stride: cfg.strides[i]!, seed: seed + i }));
    }
    if (layers.length) this.registerModule('deconv_layers', new Sequential(...layers));
    this.stride = cfg.strides.reduce((a, s) => a * s, 1);
    const last = cfg.channels[cfg.channels.length - 1]!;
    this.outChannels = cfg.final_conv ? cfg.final_conv.out_channels : last;
    if (cfg.final_conv) this.registerModule('final_conv', new Conv2d(last, cfg.final_conv.out_channels, cfg.final_conv.kernel_size, { seed: seed + 100 }));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    const deconv = this.child('deconv_layers') as Layer | undefined;
    if (deconv) y = deconv.forward(y);
    const final = this.child('final_conv') as Layer | undefined;
    return final ? final.forward(y) : y;
  }
}

export type HeatmapHeadOutputs = {
  heatmap: Tensor;
  locref?: Tensor;
};

export class HeatmapHead extends Module {
  readonly stride: number;
  constructor(heatmap: DeconvConfig, locref: DeconvConfig | undefined, opts: { weightInit?: string | null; seed?: number } = {}) {
    super();
    const seed = opts.seed ?? 0;
    const hm = this.registerModule('heatmap_head', new DeconvModule(heatmap, seed));
    if (locref) {
      const loc = this.registerModule('locref_head', new DeconvModule(locref, seed + 1000));
      if (loc.stride !== hm.stride) throw new Error(`HeatmapHead: the heatmap and locref heads need the same stride (found ${hm.stride} and ${loc.stride})`);
    }
    this.stride = hm.stride;
    if (opts.weightInit === 'normal') this.initNormal(seed + 5000);
    else if (opts.weightInit) throw new Error(`HeatmapHead: weight_init '${opts.weightInit}' is not supported (use normal, or null for PyTorch's default)`);
  }

  /** DeepLabCut's `normal` init: every *bias* parameter 0, every other N(0, 0.001). */
  private initNormal(seed: number): void {
    this.namedParameters().forEach(([name, p], i) => p.assign(name.includes('bias') ? zeros(p.shape) : dlcNormal(p.shape, { seed: seed + i })));
  }

  forward(x: Tensor): HeatmapHeadOutputs {
    const out: HeatmapHeadOutputs = { heatmap: (this.child('heatmap_head') as Layer).forward(x) };
    const loc = this.child('locref_head') as Layer | undefined;
    if (loc) out.locref = loc.forward(x);
    return out;
  }
}
