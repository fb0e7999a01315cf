// Creating tensors: from data, constants, ranges and seeded random numbers (generated on the GPU).
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { numel, Tensor, type Shape } from '../tensor/tensor.ts';
import { grid } from './layout.ts';

const fillKernel = kernel('fill');
const randomKernel = kernel('random');

/** A number or nested arrays of numbers, one level per axis (not ragged). */
export type Nested = number | readonly Nested[];

function flatten(data: Nested, out: number[], shape: number[], depth: number): void {
  if (typeof data === 'number') {
    out.push(data);
    return;
  }
  if (shape.length === depth) shape.push(data.length);
  else if (shape[depth] !== data.length) throw new Error('tensor(): ragged nested array');
  for (const d of data) flatten(d, out, shape, depth + 1);
}

/** A tensor from nested arrays or flat data with a shape. */
export function tensor(data: Nested | Float32Array | ArrayLike<number>, shape?: Shape): Tensor {
  let flat: Float32Array;
  let inferred: number[];
  if (data instanceof Float32Array || (typeof data === 'object' && !Array.isArray(data))) {
    flat = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    inferred = [flat.length];
  } else {
    const values: number[] = [];
    inferred = [];
    flatten(data as Nested, values, inferred, 0);
    flat = Float32Array.from(values);
  }
  const s = shape ?? inferred;
  if (numel(s) !== flat.length) throw new Error(`tensor(): ${flat.length} values do not fill shape [${s.join(', ')}]`);
  const t = Tensor.empty(s);
  if (flat.length > 0) engine().write(t.buffer, flat);
  return t;
}

function fill(shape: Shape, start: number, step: number): Tensor {
  const t = Tensor.empty(shape);
  if (t.size > 0) engine().dispatch(fillKernel, grid(t.size), [t.buffer], new Uniforms().u32(t.size).f32(start).f32(step));
  return t;
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number): Tensor {
  return fill(shape, value, 0);
}

/** A tensor of zeros. */
export function zeros(shape: Shape): Tensor {
  return fill(shape, 0, 0);
}

/** A tensor of ones. */
export function ones(shape: Shape): Tensor {
  return fill(shape, 1, 0);
}

/** Zeros with `t`'s shape. */
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape);
}

/** Ones with `t`'s shape. */
export function onesLike(t: Tensor): Tensor {
  return ones(t.shape);
}

/** Values start, start + step, ... below end (PyTorch's arange). */
export function arange(start: number, end?: number, step = 1): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new Error('arange(): step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  return fill([n], start, step);
}

let globalSeed = 0;
let stream = 0;

/** Seeds the random numbers of later `rand`/`randn` calls that pass no seed of their own. */
export function manualSeed(seed: number): void {
  globalSeed = seed >>> 0;
  stream = 0;
}

/** Options of {@link rand} and {@link randn}. */
export interface RandomOptions {
  /** A fixed seed: the same seed and shape give the same values on every adapter. */
  seed?: number;
}

function random(shape: Shape, op: 0 | 1, a: number, b: number, opts: RandomOptions): Tensor {
  const t = Tensor.empty(shape);
  const [seed, s] = opts.seed === undefined ? [globalSeed, ++stream] : [opts.seed >>> 0, 0];
  if (t.size > 0) engine().dispatch(randomKernel, grid(t.size), [t.buffer], new Uniforms().u32(t.size).u32(op).u32(seed).u32(s).f32(a).f32(b));
  return t;
}

/** Uniform in [low, high). */
export function rand(shape: Shape, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  return random(shape, 0, opts.low ?? 0, opts.high ?? 1, opts);
}

/** Normal with the given mean and standard deviation. */
export function randn(shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  return random(shape, 1, opts.mean ?? 0, opts.std ?? 1, opts);
}
