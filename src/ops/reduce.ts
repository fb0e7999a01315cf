// Reductions over any set of axes. The input is viewed as [outer, K, inner] when the reduced axes are
// contiguous, else permuted so they are; kernels/reduce.wgsl then reduces K.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { record } from '../tensor/autograd.ts';
import { numel, Tensor, type Shape } from '../tensor/tensor.ts';
import { div, eq, mul, mulScalar, sub } from './elementwise.ts';
import { grid, normaliseAxes, sameShape } from './layout.ts';
import { expand, reshape } from './shape.ts';

const wideKernel = kernel('reduce', 'wide');
const narrowKernel = kernel('reduce', 'narrow');
const OP = { sum: 0, max: 1, min: 2, argmax: 3, argmin: 4 } as const;

interface Plan {
  axes: number[];
  kept: number[];
  outShape: number[];
  keepShape: number[];
}

function plan(x: Tensor, axis: number | readonly number[] | undefined, keepdim: boolean): Plan {
  const axes = normaliseAxes(axis, x.rank);
  const kept = [...Array(x.rank).keys()].filter((d) => !axes.includes(d));
  const keepShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return { axes, kept, keepShape, outShape: keepdim ? keepShape : kept.map((d) => x.shape[d]!) };
}

/** Contiguous runs of sorted axes: [0, 2, 3] -> [[0], [2, 3]]. */
function runsOf(axes: readonly number[]): number[][] {
  const runs: number[][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === a - 1) last.push(a);
    else runs.push([a]);
  }
  return runs;
}

/** Runs the reduce kernel; no autograd. */
function reduceRaw(x: Tensor, p: Plan, op: number, scale = 1): Tensor {
  const runs = runsOf(p.axes);
  if (runs.length > 1) {
    if (op === OP.argmax || op === OP.argmin) throw new Error('argmax/argmin reduce one axis');
    // Sums, maxima and minima compose: reduce the innermost run first (keeping its axes), then the rest.
    // This avoids a transposing copy of the whole input.
    const inner = runs[runs.length - 1]!;
    const partial = reduceRaw(x, plan(x, inner, true), op);
    const rest = reduceRaw(partial, { ...plan(partial, p.axes.filter((a) => !inner.includes(a)), true), outShape: p.outShape }, op, scale);
    partial.dispose();
    return rest;
  }
  const out = Tensor.empty(p.outShape);
  if (out.size === 0) return out;
  const first = p.axes[0] ?? x.rank;
  const last = p.axes[p.axes.length - 1] ?? x.rank - 1;
  const outer = numel(x.shape.slice(0, first));
  const K = numel(p.axes.map((a) => x.shape[a]!));
  const inner = numel(x.shape.slice(last + 1));
  const u = new Uniforms().u32(outer).u32(K).u32(inner).u32(op).f32(scale);
  const outputs = outer * inner;
  // Long reductions get a workgroup per output; short ones an invocation per output.
  if (K >= 64 || outputs < 1024) engine().dispatch(wideKernel, grid(outputs, 1), [x.buffer, out.buffer], u);
  else engine().dispatch(narrowKernel, grid(outputs, 64), [x.buffer, out.buffer], u);
  return out;
}

/** Sum over `axis` (all axes when omitted). */
export function sum(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  const p = plan(x, axis, keepdim);
  const out = reduceRaw(x, p, OP.sum);
  return record(out, 'sum', [x], (g) => [expand(reshape(g, p.keepShape), x.shape)]);
}

/** Mean over `axis` (all axes when omitted). */
export function mean(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  const p = plan(x, axis, keepdim);
  const count = numel(p.axes.map((a) => x.shape[a]!));
  const out = reduceRaw(x, p, OP.sum, 1 / count);
  return record(out, 'mean', [x], (g) => [mulScalar(expand(reshape(g, p.keepShape), x.shape), 1 / count)]);
}

// max/min gradients spread evenly over ties (PyTorch's amax/amin).
function extreme(op: 'max' | 'min', x: Tensor, axis: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  const p = plan(x, axis, keepdim);
  const out = reduceRaw(x, p, OP[op]);
  return record(out, op, [x], (g) => {
    const hit = eq(x, reshape(out, p.keepShape));
    const count = reduceRaw(hit, { ...p, outShape: p.keepShape }, OP.sum);
    return [div(mul(hit, reshape(g, p.keepShape)), count)];
  });
}

/** Largest value over `axis` (all axes when omitted); the gradient is shared evenly by ties (torch.amax). */
export const max = (x: Tensor, axis?: number | readonly number[], keepdim = false) => extreme('max', x, axis, keepdim);
/** Smallest value over `axis` (all axes when omitted); the gradient is shared evenly by ties (torch.amin). */
export const min = (x: Tensor, axis?: number | readonly number[], keepdim = false) => extreme('min', x, axis, keepdim);

function argReduce(op: number, x: Tensor, axis: number | undefined, keepdim: boolean): Tensor {
  if (axis !== undefined) return reduceRaw(x, plan(x, axis, keepdim), op);
  const flat = Tensor.view(x, [x.size]);
  const out = reduceRaw(flat, plan(flat, 0, false), op);
  flat.dispose();
  return out;
}

/** Index of the largest value along one axis (or of the flattened tensor), as float32. First index wins ties. */
export const argmax = (x: Tensor, axis?: number, keepdim = false): Tensor => argReduce(OP.argmax, x, axis, keepdim);
/** Index of the smallest value along one axis (or of the flattened tensor), as float32. First index wins ties. */
export const argmin = (x: Tensor, axis?: number, keepdim = false): Tensor => argReduce(OP.argmin, x, axis, keepdim);

/** Variance with Bessel's correction by default (`correction: 1`), as torch.var. */
export function variance(x: Tensor, axis?: number | readonly number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
  const p = plan(x, axis, opts.keepdim ?? false);
  const count = numel(p.axes.map((a) => x.shape[a]!));
  const centred = sub(x, mean(x, axis, true));
  const sq = mul(centred, centred);
  return mulScalar(sum(sq, axis, opts.keepdim ?? false), 1 / Math.max(count - (opts.correction ?? 1), 0));
}

/** Sums a broadcast gradient back to `shape` (leading axes and axes of size 1). No autograd: for gradient rules. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes = [...Array(g.rank).keys()].filter((d) => d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1));
  if (axes.length === 0) return Tensor.view(g, shape);
  return reduceRaw(g, { ...plan(g, axes, false), outShape: [...shape] }, OP.sum);
}
