// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {str: str}?, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
// (padded with spaces), then the tensors' little-endian bytes, offsets relative to the end of the header.
// Checks are as strict as the reference implementation's: offsets must tile the data exactly. Pure: no fs.

import { DTYPE_BYTES, HostTensor, hostTensorBytes, hostTensorFromBytes, numel, type HostDType } from './host-tensor.ts';

export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

const TO_HOST: Readonly<Record<string, HostDType>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const FROM_HOST = Object.fromEntries(Object.entries(TO_HOST).map(([k, v]) => [v, k])) as Record<HostDType, string>;

export interface SafetensorsContents {
  /** In the order of their data in the file. */
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string> | null;
}

const MAX_HEADER = 100_000_000; // the reference implementation's limit

export function parseSafetensors(bytes: Uint8Array, options: { name?: string } = {}): SafetensorsContents {
  const file = options.name ?? '<bytes>';
  const fail = (message: string): never => {
    throw new SafetensorsError(file, message);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes: too short for a safetensors file (truncated?)`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n} is implausible: not a safetensors file`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) fail(`header of ${headerLen} bytes runs past the end of the file (${bytes.length} bytes; truncated?)`);
  if (bytes[8] !== 0x7b) fail('the header does not start with "{": not a safetensors file');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`the JSON header cannot be parsed (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the JSON header is not an object');
  const data = bytes.subarray(8 + headerLen);
  let metadata: Record<string, string> | null = null;
  const entries: { name: string; dtype: HostDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info as object)) {
        if (typeof v !== 'string') fail(`__metadata__ value for '${k}' is not a string`);
      }
      metadata = { ...(info as Record<string, string>) };
      continue;
    }
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) fail(`tensor '${name}': entry is not an object`);
    const dtype = TO_HOST[String(t.dtype)];
    if (dtype === undefined) fail(`tensor '${name}': unsupported dtype '${String(t.dtype)}'`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}': bad shape ${JSON.stringify(t.shape)}`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[1] < off[0]) {
      fail(`tensor '${name}': bad data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    const shape = t.shape as number[];
    const want = numel(shape) * DTYPE_BYTES[dtype!];
    if (end - begin !== want) fail(`tensor '${name}': ${dtype} of shape [${shape}] needs ${want} bytes, data_offsets give ${end - begin}`);
    if (end > data.length) fail(`tensor '${name}': data ends at ${end} but the file has only ${data.length} data bytes (truncated?)`);
    entries.push({ name, dtype: dtype!, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at) fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] ${e.begin < at ? 'overlap another tensor' : 'leave a gap'}`);
    at = e.end;
  }
  if (at !== data.length) fail(`${data.length - at} bytes after the last tensor's data`);
  const tensors = new Map<string, HostTensor>();
  for (const e of entries) tensors.set(e.name, hostTensorFromBytes(e.dtype, e.shape, data.subarray(e.begin, e.end)));
  return { tensors, metadata };
}

/**
 * Serialises tensors (a Map or a plain object, name -> HostTensor) with optional string metadata. Data is laid
 * out by element size, largest first (names in the given order otherwise), so every tensor stays aligned.
 */
export function serializeSafetensors(
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata?: Record<string, string> | null,
): Uint8Array {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const seen = new Set<string>();
  for (const [name, t] of list) {
    if (!(t instanceof HostTensor)) throw new Error(`safetensors: '${name}' is not a HostTensor`);
    if (name === '__metadata__') throw new Error('safetensors: a tensor cannot be called __metadata__');
    if (seen.has(name)) throw new Error(`safetensors: duplicate tensor name '${name}'`);
    seen.add(name);
  }
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors: metadata value for '${k}' must be a string`);
    }
  }
  const order = list.map((e, i) => ({ e, i })).sort((a, b) => DTYPE_BYTES[b.e[1].dtype] - DTYPE_BYTES[a.e[1].dtype] || a.i - b.i);
  const header: [string, unknown][] = []; // not an object: a tensor may be called "__proto__"
  if (metadata) header.push(['__metadata__', metadata]);
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const { e } of order) {
    const [name, t] = e;
    const b = hostTensorBytes(t);
    header.push([name, { dtype: FROM_HOST[t.dtype], shape: t.shape, data_offsets: [offset, offset + b.length] }]);
    parts.push(b);
    offset += b.length;
  }
  let json = new TextEncoder().encode(`{${header.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let o = 8 + json.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
