// HRNet's branch fusion step as one kernel (kernels/hrnet_fuse.wgsl): acc + nearest_upsample(src, scale),
// optionally followed by ReLU, without materialising the upsampled tensor; the backward is one pass too.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { record } from '../tensor/autograd.ts';
import { Tensor } from '../tensor/tensor.ts';
import { grid } from './layout.ts';

const forwardKernel = kernel('hrnet_fuse', 'forward');
const backwardKernel = kernel('hrnet_fuse', 'backward');

/**
 * acc [N, C, H, W] + interpolate(src [N, C, H / scale, W / scale], nearest, scaleFactor: scale), then ReLU
 * when `relu`. Equal to the composition, gradients included.
 */
export function hrnetUpsampleAdd(acc: Tensor, src: Tensor, scale: number, opts: { relu?: boolean } = {}): Tensor {
  const [N, C, H, W] = acc.shape as [number, number, number, number];
  if (acc.rank !== 4 || src.rank !== 4 || !Number.isInteger(scale) || scale < 1 || src.shape[0] !== N || src.shape[1] !== C ||
    src.shape[2]! * scale !== H || src.shape[3]! * scale !== W)
    throw new Error(`hrnetUpsampleAdd: src [${src.shape.join(', ')}] upsampled by ${scale} does not match acc [${acc.shape.join(', ')}]`);
  const [h, w] = [src.shape[2]!, src.shape[3]!];
  const relu = opts.relu ? 1 : 0;
  const u = (n: number) => new Uniforms().u32(n).u32(h).u32(w).u32(scale).u32(relu);
  const y = Tensor.empty(acc.shape);
  if (y.size > 0) engine().dispatch(forwardKernel, grid(y.size), [acc.buffer, src.buffer, y.buffer], u(y.size));
  return record(y, 'hrnetUpsampleAdd', [acc, src], (g) => {
    const dAcc = Tensor.empty(acc.shape);
    const dSrc = Tensor.empty(src.shape);
    // y (the output) is only read under ReLU; bind g in its place otherwise.
    if (dSrc.size > 0) engine().dispatch(backwardKernel, grid(dSrc.size), [g.buffer, relu ? y.buffer : g.buffer, dAcc.buffer, dSrc.buffer], u(dSrc.size));
    return [acc.requiresGrad ? dAcc : null, src.requiresGrad ? dSrc : null];
  });
}
