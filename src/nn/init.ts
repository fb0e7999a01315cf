// Weight initialisers with PyTorch's formulas. Each returns a new tensor of the given shape.
import { rand, randn, zeros } from '../ops/creation.ts';
import { affine } from '../ops/elementwise.ts';
import { numel, type Shape, type Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../tensor/autograd.ts';

/** fan_in and fan_out as torch.nn.init computes them: dims 0/1 times the receptive field. */
export function fans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fan in/out need at least 2 dimensions, got [${shape.join(', ')}]`);
  const receptive = numel(shape.slice(2));
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

export interface InitOptions {
  seed?: number;
}

export function uniform(shape: Shape, low: number, high: number, opts: InitOptions = {}): Tensor {
  return rand(shape, { low, high, ...opts });
}

export function normal(shape: Shape, mean: number, std: number, opts: InitOptions = {}): Tensor {
  return randn(shape, { mean, std, ...opts });
}

/** PyTorch's default for Conv and Linear weights: kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function defaultWeight(shape: Shape, opts: InitOptions = {}): Tensor {
  const bound = 1 / Math.sqrt(fans(shape).fanIn);
  return uniform(shape, -bound, bound, opts);
}

/** PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in. */
export function defaultBias(size: number, weightShape: Shape, opts: InitOptions = {}): Tensor {
  const fanIn = fans(weightShape).fanIn;
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform([size], -bound, bound, opts);
}

function gain(nonlinearity: 'relu' | 'linear' | 'leaky_relu', a = 0): number {
  if (nonlinearity === 'relu') return Math.SQRT2;
  if (nonlinearity === 'leaky_relu') return Math.sqrt(2 / (1 + a * a));
  return 1;
}

/** kaiming_normal_(mode, nonlinearity): the init torchvision and timm use for ResNet convolutions. */
export function kaimingNormal(shape: Shape, opts: InitOptions & { mode?: 'fan_in' | 'fan_out'; nonlinearity?: 'relu' | 'linear' | 'leaky_relu'; a?: number } = {}): Tensor {
  const f = fans(shape);
  const fan = (opts.mode ?? 'fan_in') === 'fan_in' ? f.fanIn : f.fanOut;
  return normal(shape, 0, gain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan), opts);
}

export function kaimingUniform(shape: Shape, opts: InitOptions & { mode?: 'fan_in' | 'fan_out'; nonlinearity?: 'relu' | 'linear' | 'leaky_relu'; a?: number } = {}): Tensor {
  const f = fans(shape);
  const fan = (opts.mode ?? 'fan_in') === 'fan_in' ? f.fanIn : f.fanOut;
  const bound = gain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) * Math.sqrt(3 / fan);
  return uniform(shape, -bound, bound, opts);
}

export function xavierUniform(shape: Shape, opts: InitOptions & { gain?: number } = {}): Tensor {
  const f = fans(shape);
  const bound = (opts.gain ?? 1) * Math.sqrt(6 / (f.fanIn + f.fanOut));
  return uniform(shape, -bound, bound, opts);
}

export function xavierNormal(shape: Shape, opts: InitOptions & { gain?: number } = {}): Tensor {
  const f = fans(shape);
  return normal(shape, 0, (opts.gain ?? 1) * Math.sqrt(2 / (f.fanIn + f.fanOut)), opts);
}

/** DeepLabCut's heads: weights N(0, 0.001), biases 0. */
export function dlcNormal(shape: Shape, opts: InitOptions = {}): Tensor {
  return normal(shape, 0, 0.001, opts);
}

export function constant(shape: Shape, value: number): Tensor {
  return noGrad(() => {
    const z = zeros(shape);
    if (value === 0) return z;
    const out = affine(z, 0, value);
    z.dispose();
    return out;
  });
}
