// Host-side tensors as they sit in weight files: a dtype, a shape and a flat, C-ordered typed array.
// float16 and bfloat16 keep their raw 16-bit patterns in a Uint16Array (JS has no half floats);
// int64 is a BigInt64Array so values beyond 2^53 survive a read/write round trip; bool is 0/1 bytes.
// Everything here is pure (no fs), so it can run in a browser.

export type HostDType = 'float64' | 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface HostDataMap {
  float64: Float64Array;
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
export type HostData = HostDataMap[HostDType];

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<HostDType, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

const CTORS = {
  float64: Float64Array,
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

export const HOST_DTYPES = Object.keys(DTYPE_BYTES) as HostDType[];

export function isHostDType(x: unknown): x is HostDType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, x);
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * A tensor in host memory. A class (rather than a bare object) so that writers can tell a tensor from a dict
 * that happens to have `dtype`, `shape` and `data` keys.
 */
export class HostTensor<D extends HostDType = HostDType> {
  readonly dtype: D;
  readonly shape: number[];
  readonly data: HostDataMap[D];
  /** What `requires_grad` said in a PyTorch file (informational; written back as is). */
  requiresGrad = false;

  constructor(dtype: D, shape: readonly number[], data: HostDataMap[D]) {
    if (!isHostDType(dtype)) throw new Error(`HostTensor: unknown dtype '${String(dtype)}'`);
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`HostTensor: bad shape [${shape.join(', ')}]`);
    }
    if (!(data instanceof CTORS[dtype])) {
      throw new Error(`HostTensor: ${dtype} data must be a ${CTORS[dtype].name}, got ${(data as object)?.constructor?.name}`);
    }
    if (data.length !== numel(shape)) {
      throw new Error(`HostTensor: shape [${shape.join(', ')}] needs ${numel(shape)} elements, data has ${data.length}`);
    }
    this.dtype = dtype;
    this.shape = [...shape];
    this.data = data;
  }

  get numel(): number {
    return this.data.length;
  }
}

export function isHostTensor(x: unknown): x is HostTensor {
  return x instanceof HostTensor;
}

/** A zero-filled tensor. */
export function zerosHost<D extends HostDType>(dtype: D, shape: readonly number[]): HostTensor<D> {
  return new HostTensor(dtype, shape, new CTORS[dtype](numel(shape)) as HostDataMap[D]);
}

/**
 * A tensor from raw little-endian bytes (copied, so the result owns aligned memory).
 * Throws if the byte count does not match the shape.
 */
export function hostTensorFromBytes<D extends HostDType>(dtype: D, shape: readonly number[], bytes: Uint8Array): HostTensor<D> {
  const n = numel(shape);
  const size = DTYPE_BYTES[dtype];
  if (bytes.length !== n * size) {
    throw new Error(`${dtype} tensor of shape [${shape.join(', ')}] needs ${n * size} bytes, got ${bytes.length}`);
  }
  const copy = bytes.slice();
  if (!LITTLE_ENDIAN_HOST) swapBytes(copy, size);
  const data = new CTORS[dtype](copy.buffer, copy.byteOffset, n) as HostDataMap[D];
  return new HostTensor(dtype, shape, data);
}

/** The tensor's data as little-endian bytes (a view when the host is little-endian, which is every real one). */
export function hostTensorBytes(t: HostTensor): Uint8Array {
  const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (LITTLE_ENDIAN_HOST) return view;
  const copy = view.slice();
  swapBytes(copy, DTYPE_BYTES[t.dtype]);
  return copy;
}

export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses every `size`-byte group in place (endianness conversion). */
export function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

// ---- half and bfloat16 ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits to a number (exact: every half is a float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A number to IEEE binary16 bits, rounding to nearest even (overflow goes to infinity, NaN stays NaN). */
export function floatToHalf(x: number): number {
  f32[0] = x; // first to float32 (as PyTorch does for float32 -> float16), then to half
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // rounds to zero
    const m = mant | 0x800000; // implicit leading one
    const shift = 14 - e; // 24-bit significand down to the subnormal's 10 bits
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r; // r may carry into the smallest normal, which is the right encoding
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++; // may carry into the exponent, up to infinity: correct
  return sign | r;
}

/** bfloat16 bits to a number (exact). */
export function bfloat16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

/** A number to bfloat16 bits, rounding to nearest even like PyTorch (NaN stays a quiet NaN). */
export function floatToBfloat16(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The values as float32 (half and bfloat16 decoded, int64 through Number, bool as 0/1). */
export function toFloat32(t: HostTensor): Float32Array {
  const n = t.data.length;
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'float32':
      out.set(t.data as Float32Array);
      break;
    case 'float16': {
      const d = t.data as Uint16Array;
      for (let i = 0; i < n; i++) out[i] = halfToFloat(d[i]!);
      break;
    }
    case 'bfloat16': {
      const d = t.data as Uint16Array;
      const o = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) o[i] = d[i]! << 16;
      break;
    }
    case 'int64': {
      const d = t.data as BigInt64Array;
      for (let i = 0; i < n; i++) out[i] = Number(d[i]!);
      break;
    }
    default: {
      const d = t.data as Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
      for (let i = 0; i < n; i++) out[i] = d[i]!;
    }
  }
  return out;
}

/** The values as plain numbers (int64 through Number: values beyond 2^53 lose precision). */
export function toNumbers(t: HostTensor): number[] {
  if (t.dtype === 'float16') return Array.from(t.data as Uint16Array, halfToFloat);
  if (t.dtype === 'bfloat16') return Array.from(t.data as Uint16Array, bfloat16ToFloat);
  if (t.dtype === 'int64') return Array.from(t.data as BigInt64Array, Number);
  return Array.from(t.data as Float64Array);
}

/**
 * A tensor of the given dtype from numbers (or a Float32Array): floats are rounded to nearest even for
 * float32/float16/bfloat16, integers are truncated toward zero and wrapped like a C cast, bool is `x != 0`.
 */
export function fromNumbers<D extends HostDType>(
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: D,
): HostTensor<D> {
  const n = values.length;
  const data = new CTORS[dtype](n) as HostData;
  switch (dtype) {
    case 'float16':
      for (let i = 0; i < n; i++) (data as Uint16Array)[i] = floatToHalf(values[i]!);
      break;
    case 'bfloat16':
      for (let i = 0; i < n; i++) (data as Uint16Array)[i] = floatToBfloat16(values[i]!);
      break;
    case 'int64':
      for (let i = 0; i < n; i++) (data as BigInt64Array)[i] = BigInt(Math.trunc(values[i]!));
      break;
    case 'bool':
      for (let i = 0; i < n; i++) (data as Uint8Array)[i] = values[i] ? 1 : 0;
      break;
    default:
      for (let i = 0; i < n; i++) (data as Float64Array)[i] = values[i]!;
  }
  return new HostTensor(dtype, shape, data as HostDataMap[D]);
}

/** Shorthand for a float32 tensor. */
export function float32Tensor(values: ArrayLike<number>, shape: readonly number[] = [values.length]): HostTensor<'float32'> {
  return new HostTensor('float32', shape, Float32Array.from(values));
}
