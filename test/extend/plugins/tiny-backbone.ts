// A plugin backbone for the tests: three stride-2 3x3 convolutions with BatchNorm and ReLU (stride 8),
// `channels` wide, registered at import time through the API the loader passes.
import type * as DG from 'dlc-gpu';

export default function register(dg: typeof DG): void {
  class TinyConvNet extends dg.nn.Module implements DG.models.BackboneNet {
    readonly stride = 8;
    readonly outChannels: number;
    constructor(channels: number, seed: number) {
      super();
      this.outChannels = channels;
      const layers: DG.nn.Layer[] = [];
      [3, channels, channels].forEach((inC, i) => {
        layers.push(new dg.nn.Conv2d(inC, channels, 3, { stride: 2, padding: 1, bias: false, seed: seed + i }), new dg.nn.BatchNorm2d(channels), new dg.nn.ReLU());
      });
      this.registerModule('body', new dg.nn.Sequential(...layers));
    }
    forward(images: DG.Tensor): DG.Tensor {
      return (this.child('body') as DG.nn.Layer).forward(images);
    }
  }
  const schema = dg.v.strictObject({
    channels: dg.v.pipe(dg.v.number(), dg.v.integer(), dg.v.minValue(1)),
    freeze_bn_stats: dg.v.optional(dg.v.boolean()),
    freeze_bn_weights: dg.v.optional(dg.v.boolean()),
  });
  dg.registries.BACKBONES.register('TinyConvNet', (cfg, { seed }) => new TinyConvNet(cfg.channels as number, seed), { schema });
}
