// interpolate over [N, C, H, W] (kernels/resample.wgsl): nearest and bilinear (alignCorners true/false), to a
// size or by a scale factor, with PyTorch 1.13's index rules (a given scale factor is used as is, as with
// recompute_scale_factor unset). The backward gathers from the outputs that read each input.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { record } from '../tensor/autograd.ts';
import { Tensor } from '../tensor/tensor.ts';
import { grid } from './layout.ts';

const forwardKernel = kernel('resample', 'forward');
const backwardKernel = kernel('resample', 'backward');

/** Options of {@link interpolate}. */
export interface InterpolateOptions {
  /** Output [H, W] (or one number for both). Give this or scaleFactor. */
  size?: number | readonly [number, number];
  scaleFactor?: number | readonly [number, number];
  /** Default 'nearest', as PyTorch. */
  mode?: 'nearest' | 'bilinear';
  /** Bilinear only: map corner pixel centres onto each other. Default false. */
  alignCorners?: boolean;
}

/** PyTorch's float `scale` from output to input coordinates along one axis. */
function ratio(mode: string, align: boolean, input: number, output: number, factor: number | undefined): number {
  if (mode === 'bilinear' && align) return output > 1 ? Math.fround((input - 1) / (output - 1)) : 0;
  return Math.fround(factor !== undefined && factor > 0 ? 1 / factor : input / output);
}

/** Resizes [N, C, H, W] images, nearest or bilinear, as torch.nn.functional.interpolate. */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  if (x.rank !== 4) throw new Error(`interpolate: input must be [N, C, H, W], got [${x.shape.join(', ')}]`);
  const mode = opts.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear') throw new Error(`interpolate: mode '${mode}' is not supported (nearest, bilinear)`);
  if (opts.alignCorners && mode === 'nearest') throw new Error('interpolate: alignCorners only applies to bilinear');
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new Error('interpolate: give exactly one of size and scaleFactor');
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const factors = opts.scaleFactor === undefined ? undefined : typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : opts.scaleFactor;
  const size = opts.size === undefined ? undefined : typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size;
  const OH = size ? size[0]! : Math.floor(H * factors![0]!);
  const OW = size ? size[1]! : Math.floor(W * factors![1]!);
  if (!(OH >= 1 && OW >= 1 && Number.isInteger(OH) && Number.isInteger(OW))) throw new Error(`interpolate: invalid output size ${OH}x${OW}`);
  const align = mode === 'bilinear' && !!opts.alignCorners;
  const rh = ratio(mode, align, H, OH, factors?.[0]);
  const rw = ratio(mode, align, W, OW, factors?.[1]);
  const u = (n: number) => new Uniforms().u32(n).u32(H).u32(W).u32(OH).u32(OW).u32(mode === 'nearest' ? 0 : 1).u32(align ? 1 : 0).u32(0).f32(rh).f32(rw).f32(0).f32(0);
  const y = Tensor.empty([N, C, OH, OW]);
  if (y.size > 0 && x.size > 0) engine().dispatch(forwardKernel, grid(y.size), [x.buffer, y.buffer], u(y.size));
  return record(y, `interpolate ${mode}`, [x], (g) => {
    const dx = Tensor.empty(x.shape);
    if (dx.size > 0) engine().dispatch(backwardKernel, grid(dx.size), [g.buffer, dx.buffer], u(dx.size));
    return [dx];
  });
}
