// Conv2d and ConvTranspose2d layers over src/ops/conv.ts, with PyTorch's parameter names and default init.
import { conv2d, conv2dStoresEpilogue, convTranspose2d, type Conv2dOptions } from '../ops/conv.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { defaultBias, defaultWeight, type InitOptions } from './init.ts';
import { Layer } from './module.ts';

type Pair = number | readonly [number, number];
const pair = (p: Pair): [number, number] => (typeof p === 'number' ? [p, p] : [p[0], p[1]]);

export interface ConvOptions extends InitOptions {
  stride?: Pair;
  padding?: Pair | 'same';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** x [N, Cin, H, W] -> [N, Cout, H', W']; weight [Cout, Cin / groups, kh, kw]. */
export class Conv2d extends Layer {
  private readonly hasBias: boolean;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Pair,
    readonly opts: ConvOptions = {},
  ) {
    super();
    const [kh, kw] = pair(kernelSize);
    const groups = opts.groups ?? 1;
    const shape = [outChannels, inChannels / groups, kh, kw];
    this.hasBias = opts.bias ?? true;
    this.registerParameter('weight', defaultWeight(shape, opts));
    if (this.hasBias) this.registerParameter('bias', defaultBias(outChannels, shape, opts));
  }
  /** Replaces the weight (an initialiser's result), consuming `w`. */
  setWeight(w: Tensor): void {
    this.param('weight').assign(w);
  }
  /** Whether the forward on x adds a bias, residual and ReLU in its kernel's store (see conv2dStoresEpilogue). */
  storesEpilogue(x: Tensor): boolean {
    return conv2dStoresEpilogue(x, this.param('weight'), this.convOptions());
  }
  private convOptions(): Conv2dOptions {
    return { stride: this.opts.stride ?? 1, padding: this.opts.padding ?? 0, dilation: this.opts.dilation ?? 1, groups: this.opts.groups ?? 1 };
  }
  /** The weight and bias (null without one) the forward uses. */
  get weights(): { weight: Tensor; bias: Tensor | null } {
    return { weight: this.param('weight'), bias: this.hasBias ? this.param('bias') : null };
  }
  /**
   * `epi`: a residual and/or ReLU after the bias (conv2d's epilogue); `replace`: another weight and bias of the same
   * shapes (a BatchNorm folded into them, src/nn/conv-norm.ts).
   */
  forward(x: Tensor, epi: Pick<Conv2dOptions, 'residual' | 'relu' | 'normGroups'> = {}, replace?: { weight: Tensor; bias: Tensor | null }): Tensor {
    const { weight, bias } = replace ?? this.weights;
    return conv2d(x, weight, bias, { ...this.convOptions(), ...epi });
  }
}

export interface ConvTransposeOptions extends InitOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** x [N, Cin, H, W] -> [N, Cout, (H - 1) s - 2p + d (k - 1) + op + 1, ...]; weight [Cin, Cout / groups, kh, kw]. */
export class ConvTranspose2d extends Layer {
  private readonly hasBias: boolean;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Pair,
    readonly opts: ConvTransposeOptions = {},
  ) {
    super();
    const [kh, kw] = pair(kernelSize);
    const groups = opts.groups ?? 1;
    const shape = [inChannels, outChannels / groups, kh, kw];
    this.hasBias = opts.bias ?? true;
    // PyTorch computes fan_in from weight dim 1 (out / groups) times the kernel for transposed convs too.
    this.registerParameter('weight', defaultWeight(shape, opts));
    if (this.hasBias) this.registerParameter('bias', defaultBias(outChannels, shape, opts));
  }
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.param('weight'), this.hasBias ? this.param('bias') : null, {
      stride: this.opts.stride ?? 1,
      padding: this.opts.padding ?? 0,
      outputPadding: this.opts.outputPadding ?? 0,
      dilation: this.opts.dilation ?? 1,
      groups: this.opts.groups ?? 1,
    });
  }
}
