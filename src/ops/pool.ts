// 2-D pooling over [N, C, H, W] (kernels/pool.wgsl): maxPool2d (argmax kept for the backward), avgPool2d and
// adaptiveAvgPool2d, with PyTorch's output sizes, padding and ceil-mode rules. Backward passes are gathers.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { record } from '../tensor/autograd.ts';
import { Tensor } from '../tensor/tensor.ts';
import { grid } from './layout.ts';
import type { Pair } from './conv.ts';

const K = {
  maxFwd: kernel('pool', 'max_fwd'),
  maxBwd: kernel('pool', 'max_bwd'),
  avgFwd: kernel('pool', 'avg_fwd'),
  avgBwd: kernel('pool', 'avg_bwd'),
  adaptiveFwd: kernel('pool', 'adaptive_fwd'),
  adaptiveBwd: kernel('pool', 'adaptive_bwd'),
};

const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

interface Geometry {
  H: number; W: number; OH: number; OW: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  countPad?: boolean;
}

function params(n: number, g: Geometry, planeBase = 0): Uniforms {
  return new Uniforms()
    .u32(n).u32(g.H).u32(g.W).u32(g.OH)
    .u32(g.OW).u32(g.kh).u32(g.kw).u32(g.sh)
    .u32(g.sw).u32(g.ph).u32(g.pw).u32(g.dh)
    .u32(g.dw).u32(g.countPad ? 1 : 0).u32(planeBase).u32(0);
}

/** max_bwd's columns per workgroup (its ROW_WG). */
const ROW_WG = 64;

/** dX of a max pool: one invocation per input pixel, rows and planes from the grid, the window geometry as constants. */
function maxPoolBackward(grad: Tensor, idx: Tensor, dx: Tensor, g: Geometry): void {
  const planes = dx.size / (g.H * g.W);
  // The grid's z axis holds at most maxComputeWorkgroupsPerDimension planes a dispatch.
  const max = engine().limits.maxComputeWorkgroupsPerDimension;
  const constants = { KH: g.kh, KW: g.kw, SH: g.sh, SW: g.sw, PH: g.ph, PW: g.pw, DH: g.dh, DW: g.dw, ROW_WG };
  for (let p0 = 0; p0 < planes; p0 += max) {
    const z = Math.min(max, planes - p0);
    engine().dispatch(K.maxBwd, [Math.ceil(g.W / ROW_WG), g.H, z], [grad.buffer, idx.buffer, dx.buffer], params(dx.size, g, p0), constants);
  }
}

function spatial(x: Tensor, op: string): [number, number, number, number] {
  if (x.rank !== 4) throw new Error(`${op}: input must be [N, C, H, W], got [${x.shape.join(', ')}]`);
  return [x.shape[0]!, x.shape[1]!, x.shape[2]!, x.shape[3]!];
}

/** PyTorch's pooling_output_shape. */
function outSize(input: number, k: number, s: number, p: number, d: number, ceil: boolean, op: string): number {
  if (p > k / 2) throw new Error(`${op}: padding ${p} must be at most half of the kernel size ${k}`);
  const span = input + 2 * p - d * (k - 1) - 1;
  let out = Math.floor((span + (ceil ? s - 1 : 0)) / s) + 1;
  // The last window must start inside the input or its left padding.
  if (ceil && (out - 1) * s >= input + p) out--;
  if (out < 1) throw new Error(`${op}: output size ${out} is too small (input ${input}, kernel ${k}, stride ${s}, padding ${p}, dilation ${d})`);
  return out;
}

/** Options of the 2-D pooling ops, as PyTorch's (stride, padding, ceil_mode). */
export interface PoolOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

function geometry(x: Tensor, kernelSize: Pair, opts: PoolOptions & { dilation?: Pair }, op: string): Geometry {
  const [, , H, W] = spatial(x, op);
  const [kh, kw] = pair(kernelSize);
  const [sh, sw] = pair(opts.stride ?? kernelSize);
  const [ph, pw] = pair(opts.padding ?? 0);
  const [dh, dw] = pair(opts.dilation ?? 1);
  const ceil = opts.ceilMode ?? false;
  return { H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH: outSize(H, kh, sh, ph, dh, ceil, op), OW: outSize(W, kw, sw, pw, dw, ceil, op) };
}

/** Max pooling; `indices` are the argmax positions within each H*W plane (as float32), as PyTorch's return_indices. */
export function maxPool2dWithIndices(x: Tensor, kernelSize: Pair, opts: PoolOptions & { dilation?: Pair } = {}): { values: Tensor; indices: Tensor } {
  const [N, C] = spatial(x, 'maxPool2d');
  const g = geometry(x, kernelSize, opts, 'maxPool2d');
  const values = Tensor.empty([N, C, g.OH, g.OW]);
  const indices = Tensor.empty([N, C, g.OH, g.OW]);
  const forward = (v: Tensor, i: Tensor) => {
    if (v.size > 0) engine().dispatch(K.maxFwd, grid(v.size), [x.buffer, v.buffer, i.buffer], params(v.size, g));
  };
  forward(values, indices);
  record(values, 'maxPool2d', [x], (grad) => {
    // The indices may have gone with the forward's scope: recompute them.
    let idx = indices;
    if (idx.disposed) forward(Tensor.empty(values.shape), (idx = Tensor.empty(values.shape)));
    const dx = Tensor.empty(x.shape);
    if (dx.size > 0) maxPoolBackward(grad, idx, dx, g);
    return [dx];
  });
  return { values, indices };
}

/** Max pooling over [N, C, H, W] windows (stride defaults to the kernel size). */
export function maxPool2d(x: Tensor, kernelSize: Pair, opts: PoolOptions & { dilation?: Pair } = {}): Tensor {
  return maxPool2dWithIndices(x, kernelSize, opts).values;
}

/** Average pooling; `countIncludePad` (default true) divides by the padded window size, as PyTorch. */
export function avgPool2d(x: Tensor, kernelSize: Pair, opts: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  const [N, C] = spatial(x, 'avgPool2d');
  const g = { ...geometry(x, kernelSize, opts, 'avgPool2d'), countPad: opts.countIncludePad ?? true };
  const y = Tensor.empty([N, C, g.OH, g.OW]);
  if (y.size > 0) engine().dispatch(K.avgFwd, grid(y.size), [x.buffer, y.buffer], params(y.size, g));
  return record(y, 'avgPool2d', [x], (grad) => {
    const dx = Tensor.empty(x.shape);
    if (dx.size > 0) engine().dispatch(K.avgBwd, grid(dx.size), [grad.buffer, dx.buffer], params(dx.size, g));
    return [dx];
  });
}

/** Adaptive average pooling to `outputSize` (a number for a square output). */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  const [N, C, H, W] = spatial(x, 'adaptiveAvgPool2d');
  const [OH, OW] = pair(outputSize);
  if (OH < 1 || OW < 1 || H < 1 || W < 1) throw new Error(`adaptiveAvgPool2d: cannot pool [${x.shape.join(', ')}] to ${OH}x${OW}`);
  const g: Geometry = { H, W, OH, OW, kh: 0, kw: 0, sh: 0, sw: 0, ph: 0, pw: 0, dh: 0, dw: 0 };
  const y = Tensor.empty([N, C, OH, OW]);
  if (y.size > 0) engine().dispatch(K.adaptiveFwd, grid(y.size), [x.buffer, y.buffer], params(y.size, g));
  return record(y, 'adaptiveAvgPool2d', [x], (grad) => {
    const dx = Tensor.empty(x.shape);
    if (dx.size > 0) engine().dispatch(K.adaptiveBwd, grid(dx.size), [grad.buffer, dx.buffer], params(dx.size, g));
    return [dx];
  });
}
