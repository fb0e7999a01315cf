// Shape ops: reshape (a view), and permute, slice, concat, pad, expand as strided copies
// (kernels/copy.wgsl). Gradients: the inverse permute, a scatter into zeros, slices, a sum.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { record } from '../tensor/autograd.ts';
import { numel, Tensor, type Shape } from '../tensor/tensor.ts';
import { full, zeros } from './creation.ts';
import { broadcastStrides, checkRank, coalesce, contiguousStrides, grid, normaliseAxis } from './layout.ts';
import { sumTo } from './reduce.ts';

const copyKernel = kernel('copy');

interface Region {
  shape: readonly number[];
  srcBase: number;
  srcStrides: readonly number[];
  dstBase: number;
  dstStrides: readonly number[];
}

/** Copies a strided region of `src` into a strided region of `dst`. */
function copyRegion(src: Tensor, dst: Tensor, r: Region): void {
  const n = numel(r.shape);
  if (n === 0) return;
  checkRank(r.shape, 'copy');
  const c = coalesce(r.shape, [r.srcStrides, r.dstStrides]);
  const u = new Uniforms().u32(n).u32(c.shape.length).u32(r.srcBase).u32(r.dstBase).dims(c.shape).dims(c.strides[0]!).dims(c.strides[1]!);
  engine().dispatch(copyKernel, grid(n), [src.buffer, dst.buffer], u);
}

/** Same data, new shape (one dimension may be -1). Shares storage. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.map((d) => (d === -1 ? x.size / Math.max(numel(known), 1) : d));
  if (shape.filter((d) => d === -1).length > 1 || numel(inferred) !== x.size || inferred.some((d) => !Number.isInteger(d)))
    throw new Error(`reshape: cannot view [${x.shape.join(', ')}] as [${shape.join(', ')}]`);
  const out = Tensor.view(x, inferred);
  return record(out, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

/** Merges axes `start`..`end` (inclusive, negative from the end) into one. Shares storage. */
export const flatten = (x: Tensor, start = 0, end = -1): Tensor => {
  const s = normaliseAxis(start, x.rank);
  const e = normaliseAxis(end, x.rank);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
};

/** Inserts an axis of size 1 at `axis`. Shares storage. */
export const unsqueeze = (x: Tensor, axis: number): Tensor => {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
};

/** Removes `axis` if its size is 1, or every axis of size 1 when omitted. Shares storage. */
export const squeeze = (x: Tensor, axis?: number): Tensor => {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normaliseAxis(axis, x.rank);
  return x.shape[a] === 1 ? reshape(x, x.shape.filter((_, i) => i !== a)) : reshape(x, x.shape);
};

/** A contiguous copy. */
export function clone(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  const strides = contiguousStrides(x.shape);
  copyRegion(x, out, { shape: x.shape, srcBase: 0, srcStrides: strides, dstBase: 0, dstStrides: strides });
  return record(out, 'clone', [x], (g) => [g]);
}

/** Reorders the axes (a copy): output axis i is input axis dims[i]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const axes = dims.map((d) => normaliseAxis(d, x.rank));
  if (axes.length !== x.rank || new Set(axes).size !== x.rank) throw new Error(`permute: [${dims.join(', ')}] is not a permutation of ${x.rank} axes`);
  const shape = axes.map((a) => x.shape[a]!);
  const out = Tensor.empty(shape);
  const src = contiguousStrides(x.shape);
  copyRegion(x, out, { shape, srcBase: 0, srcStrides: axes.map((a) => src[a]!), dstBase: 0, dstStrides: contiguousStrides(shape) });
  const inverse = new Array<number>(axes.length);
  axes.forEach((a, i) => (inverse[a] = i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** Swaps two axes (default the last two): a copy. */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const dims = [...Array(x.rank).keys()];
  const i = normaliseAxis(a, x.rank);
  const j = normaliseAxis(b, x.rank);
  [dims[i], dims[j]] = [dims[j]!, dims[i]!];
  return permute(x, dims);
}

/** Per-axis [start, end, step] (PyTorch's x[a:b:c]); missing axes are taken whole. Negative indices count from the end. */
export type SliceSpec = readonly (readonly [number?, number?, number?] | null | undefined)[];

function resolveSlice(x: Tensor, spec: SliceSpec): { starts: number[]; steps: number[]; shape: number[] } {
  const starts: number[] = [];
  const steps: number[] = [];
  const shape: number[] = [];
  x.shape.forEach((dim, d) => {
    const [s0 = 0, e0 = dim, step = 1] = spec[d] ?? [];
    if (!Number.isInteger(step) || step < 1) throw new Error(`slice: step must be a positive integer, got ${step} on axis ${d}`);
    const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const s = clampIdx(s0);
    const e = clampIdx(e0);
    starts.push(s);
    steps.push(step);
    shape.push(Math.max(0, Math.ceil((e - s) / step)));
  });
  return { starts, steps, shape };
}

/** A strided sub-tensor (a copy); see {@link SliceSpec}. */
export function slice(x: Tensor, spec: SliceSpec): Tensor {
  if (spec.length > x.rank) throw new Error(`slice: ${spec.length} ranges for a tensor of rank ${x.rank}`);
  const { starts, steps, shape } = resolveSlice(x, spec);
  const src = contiguousStrides(x.shape);
  const out = Tensor.empty(shape);
  const base = starts.reduce((acc, s, d) => acc + s * src[d]!, 0);
  copyRegion(x, out, { shape, srcBase: base, srcStrides: src.map((s, d) => s * steps[d]!), dstBase: 0, dstStrides: contiguousStrides(shape) });
  return record(out, 'slice', [x], (g) => {
    const gx = zeros(x.shape);
    copyRegion(g, gx, { shape, srcBase: 0, srcStrides: contiguousStrides(shape), dstBase: base, dstStrides: src.map((s, d) => s * steps[d]!) });
    return [gx];
  });
}

/** Narrow one axis to [start, start + length). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normaliseAxis(axis, x.rank);
  const spec: ([number, number] | null)[] = x.shape.map(() => null);
  spec[a] = [start, start + length];
  return slice(x, spec);
}

/** Joins tensors along an existing axis; their other sizes must match. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: no tensors');
  const first = tensors[0]!;
  const a = normaliseAxis(axis, first.rank);
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i]))
      throw new Error(`concat: shapes ${tensors.map((u) => `[${u.shape.join(', ')}]`).join(', ')} differ outside axis ${axis}`);
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((acc, t) => acc + t.shape[a]!, 0);
  const out = Tensor.empty(shape);
  const dst = contiguousStrides(shape);
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    offsets.push(offset);
    copyRegion(t, out, { shape: t.shape, srcBase: 0, srcStrides: contiguousStrides(t.shape), dstBase: offset * dst[a]!, dstStrides: dst });
    offset += t.shape[a]!;
  }
  return record(out, 'concat', tensors, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? narrow(g, a, offsets[i]!, t.shape[a]!) : null)),
  );
}

/** Joins same-shaped tensors along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  return concat(tensors.map((t) => unsqueeze(t, axis < 0 ? axis + t.rank + 1 : axis)), axis);
}

/**
 * Constant padding, PyTorch's F.pad order: [left, right] of the last axis, then [top, bottom] of the
 * one before, and so on.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.rank) throw new Error(`pad: ${pads.length} values do not pair up over ${x.rank} axes`);
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`pad: padding must be non-negative integers, got [${pads.join(', ')}]`);
  const before = x.shape.map(() => 0);
  const shape = [...x.shape];
  for (let k = 0; k < pads.length / 2; k++) {
    const d = x.rank - 1 - k;
    before[d] = pads[2 * k]!;
    shape[d] = x.shape[d]! + pads[2 * k]! + pads[2 * k + 1]!;
  }
  const out = full(shape, value);
  const dst = contiguousStrides(shape);
  const base = before.reduce((acc, b, d) => acc + b * dst[d]!, 0);
  copyRegion(x, out, { shape: x.shape, srcBase: 0, srcStrides: contiguousStrides(x.shape), dstBase: base, dstStrides: dst });
  return record(out, 'pad', [x], (g) => [slice(g, before.map((b, d) => [b, b + x.shape[d]!] as const))]);
}

/** Broadcasts to `shape` (materialised). */
export function expand(x: Tensor, shape: Shape): Tensor {
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - (shape.length - x.rank)]! : d));
  const out = Tensor.empty(target);
  x.shape.forEach((d, i) => {
    const t = target[i + target.length - x.rank];
    if (d !== 1 && d !== t) throw new Error(`expand: [${x.shape.join(', ')}] cannot expand to [${shape.join(', ')}]`);
  });
  copyRegion(x, out, { shape: target, srcBase: 0, srcStrides: broadcastStrides(x.shape, target), dstBase: 0, dstStrides: contiguousStrides(target) });
  return record(out, 'expand', [x], (g) => [sumTo(g, x.shape)]);
}
