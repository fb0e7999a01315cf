// Shape arithmetic shared by the ops: strides, broadcasting, axis normalisation, dispatch grids.
import type { Shape } from '../tensor/tensor.ts';

export const MAX_RANK = 8;

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

/** NumPy broadcasting of two shapes; throws naming both. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes [${a.join(', ')}] and [${b.join(', ')}] cannot be broadcast together`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of a contiguous tensor of `shape` read as `out` (right-aligned; 0 on broadcast dimensions). */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const own = contiguousStrides(shape);
  return out.map((d, i) => {
    const j = i - (out.length - shape.length);
    return j < 0 || shape[j] === 1 ? 0 : own[j]!;
  });
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function normaliseAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Sorted, unique, non-negative axes; undefined means all. */
export function normaliseAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  return [...new Set(list.map((a) => normaliseAxis(a, rank)))].sort((x, y) => x - y);
}

/** A 2-D grid of workgroups covering n invocations (a grid dimension holds at most 65535 workgroups). */
export function grid(n: number, workgroupSize = 256): [number, number] {
  const groups = Math.ceil(n / workgroupSize);
  if (groups <= 65535) return [groups, 1];
  const x = 65535;
  return [x, Math.ceil(groups / x)];
}

export function checkRank(shape: Shape, op: string): void {
  if (shape.length > MAX_RANK) throw new Error(`${op}: tensors of rank ${shape.length} are not supported (at most ${MAX_RANK})`);
}

/**
 * Merges adjacent dimensions that every stride list walks contiguously, and drops size-1 dimensions,
 * so kernels index fewer dimensions (fewer integer divisions per element). Returns at least one dimension.
 */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const dims = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (const d of dims) {
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[d]! * shape[d]!);
    if (mergeable) {
      outShape[last]! *= shape[d]!;
      strides.forEach((s, k) => (outStrides[k]![last] = s[d]!));
    } else {
      outShape.push(shape[d]!);
      strides.forEach((s, k) => outStrides[k]!.push(s[d]!));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}
