// torchvision's SqueezeExcitation (ops/misc.py) as MobileNetV3 uses it: global average pool -> 1x1 conv
// (fc1) -> ReLU -> 1x1 conv (fc2) -> Hardsigmoid, and the input scaled per channel by the result.
import { Conv2d } from '../../nn/conv-layers.ts';
import { Hardsigmoid, ReLU, Sigmoid } from '../../nn/layers.ts';
import { Layer } from '../../nn/module.ts';
import { mul } from '../../ops/elementwise.ts';
import { adaptiveAvgPool2d } from '../../ops/pool.ts';
import type { Tensor } from '../../tensor/tensor.ts';

/**
 * x [N, C, H, W] -> x * scale, scale [N, C, 1, 1] = scaleActivation(fc2(relu(fc1(mean over H, W of x)))).
 * State-dict keys: fc1.weight [S, C, 1, 1], fc1.bias, fc2.weight [C, S, 1, 1], fc2.bias.
 * torchvision's default scale activation is Sigmoid; MobileNetV3 passes Hardsigmoid (the default here).
 */
export class SqueezeExcitation extends Layer {
  readonly fc1: Conv2d;
  readonly fc2: Conv2d;
  private readonly scaleActivation: Layer;

  constructor(
    readonly inputChannels: number,
    readonly squeezeChannels: number,
    opts: { scaleActivation?: 'hardsigmoid' | 'sigmoid' } = {},
  ) {
    super();
    for (const [v, what] of [[inputChannels, 'inputChannels'], [squeezeChannels, 'squeezeChannels']] as const)
      if (!Number.isInteger(v) || v < 1) throw new Error(`SqueezeExcitation: ${what} must be a positive integer, got ${v}`);
    // Registration order is torchvision's (avgpool, fc1, fc2, activation, scale_activation); only fc1 and fc2 hold state.
    this.fc1 = this.registerModule('fc1', new Conv2d(inputChannels, squeezeChannels, 1));
    this.fc2 = this.registerModule('fc2', new Conv2d(squeezeChannels, inputChannels, 1));
    this.registerModule('activation', new ReLU());
    this.scaleActivation = this.registerModule('scale_activation', (opts.scaleActivation ?? 'hardsigmoid') === 'hardsigmoid' ? new Hardsigmoid() : new Sigmoid());
  }

  /** The per-channel scale [N, C, 1, 1]. */
  scale(x: Tensor): Tensor {
    const pooled = adaptiveAvgPool2d(x, 1);
    return this.scaleActivation.forward(this.fc2.forward((this.child('activation') as Layer).forward(this.fc1.forward(pooled))));
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inputChannels)
      throw new Error(`SqueezeExcitation(${this.inputChannels}): input must be [N, ${this.inputChannels}, H, W], got [${x.shape.join(', ')}]`);
    return mul(this.scale(x), x);
  }
}
