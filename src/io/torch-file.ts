// PyTorch's torch.save / torch.load file format (PyTorch >= 1.6, "zipfile serialization"):
//   <archive>/data.pkl      the pickled object; tensors are torch._utils._rebuild_tensor_v2(storage, offset,
//                           size, stride, requires_grad, backward_hooks[, metadata]) and each storage is a
//                           persistent id ('storage', torch.FloatStorage, key, location, numel)
//   <archive>/data/<key>    each storage's raw bytes (little-endian unless <archive>/byteorder says 'big')
//   <archive>/version       "3\n"
// Reading gives plain JS values (see py-values.ts) with HostTensors; tensors that were views of one storage
// come back as separate contiguous tensors. Byte-level functions are pure; the path-based ones are in index.ts.

import { PickleError, PickleObject, unpickle, type PickleCallable } from './pickle.ts';
import { pickle, PickleWriteError } from './pickle-writer.ts';
import { PyCounter, PyFloat, PyGlobal, PyOrderedDict, PyPersistentId, PyReduce, tuple } from './py-values.ts';
import { DTYPE_BYTES, HostTensor, hostTensorBytes, hostTensorFromBytes, numel, swapBytes, type HostData, type HostDType } from './host-tensor.ts';
import { looksLikeZip, writeZipChunks, ZipError, ZipReader, type ZipWriteEntry } from './zip.ts';

export class TorchFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'TorchFileError';
  }
}

/** Legacy storage class names (what persistent ids name) and their dtypes. */
export const STORAGE_DTYPES: Readonly<Record<string, HostDType>> = {
  DoubleStorage: 'float64',
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
const DTYPE_STORAGES = Object.fromEntries(Object.entries(STORAGE_DTYPES).map(([k, v]) => [v, k])) as Record<HostDType, string>;

/** Marks the callable a `torch.XStorage` global resolves to. */
interface StorageClass {
  storageClass: string;
  dtype: HostDType | undefined;
}

interface LoadedStorage {
  dtype: HostDType;
  key: string;
  bytes: Uint8Array;
  numel: number;
}

export interface ReadTorchOptions {
  /** Names the file in error messages (readTorchFile(path) sets it to the path). */
  name?: string;
  /** Keep integer-valued Python floats as PyFloat (so writing them back gives floats, not ints). Default false. */
  exactFloats?: boolean;
  /** Check each record's CRC-32 (default true). */
  verifyCrc?: boolean;
}

const LEGACY_MAGIC = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]; // 0x1950a86a20f9469cfc6c, LONG1 bytes

function describeStart(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 8);
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `starts with ${hex}${bytes.length > 8 ? ' ...' : ''}`;
}

/** What kind of file the bytes are, for error messages and dispatch. */
export function sniffWeightsFile(bytes: Uint8Array): 'zip' | 'legacy-torch' | 'pickle' | 'safetensors' | 'tar' | 'unknown' {
  if (looksLikeZip(bytes) || (bytes.length < 4 && bytes[0] === 0x50 && bytes[1] === 0x4b)) return 'zip';
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5) {
    if (bytes[2] === 0x8a && bytes[3] === 0x0a && LEGACY_MAGIC.every((b, i) => bytes[4 + i] === b)) return 'legacy-torch';
    return 'pickle';
  }
  if (bytes.length > 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar') return 'tar';
  if (bytes.length >= 10 && bytes[8] === 0x7b /* { */) {
    const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    if (n > 1n && n <= BigInt(bytes.length - 8)) return 'safetensors';
  }
  return 'unknown';
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** Copies the strided view (in elements) of `storage` into a new contiguous tensor. */
function materialise(storage: LoadedStorage, offset: number, size: number[], stride: number[], fail: (m: string) => never): HostTensor {
  const es = DTYPE_BYTES[storage.dtype];
  const n = numel(size);
  if (size.length !== stride.length) fail(`tensor has ${size.length} sizes but ${stride.length} strides`);
  if (!Number.isInteger(offset) || offset < 0) fail(`bad storage offset ${offset}`);
  for (let d = 0; d < size.length; d++) {
    if (!Number.isInteger(size[d]) || size[d]! < 0 || !Number.isInteger(stride[d]) || stride[d]! < 0) {
      fail(`bad tensor size [${size}] or stride [${stride}]`);
    }
  }
  if (n === 0) return hostTensorFromBytes(storage.dtype, size, new Uint8Array(0));
  let last = offset;
  for (let d = 0; d < size.length; d++) last += (size[d]! - 1) * stride[d]!;
  if (last >= storage.numel) {
    fail(`tensor of size [${size}], stride [${stride}], offset ${offset} reaches past its storage '${storage.key}' of ${storage.numel} elements`);
  }
  const want = contiguousStrides(size);
  if (size.every((s, d) => s === 1 || stride[d] === want[d])) {
    return hostTensorFromBytes(storage.dtype, size, storage.bytes.subarray(offset * es, (offset + n) * es));
  }
  // General case: walk the index space in C order; the innermost dimension is copied as a run when dense.
  const out = new Uint8Array(n * es);
  const src = storage.bytes;
  const dims = size.length;
  const inner = size[dims - 1]!;
  const innerStride = stride[dims - 1]!;
  const idx = new Array<number>(Math.max(dims - 1, 0)).fill(0);
  let o = 0;
  for (;;) {
    let base = offset;
    for (let d = 0; d < dims - 1; d++) base += idx[d]! * stride[d]!;
    if (innerStride === 1) {
      out.set(src.subarray(base * es, (base + inner) * es), o);
      o += inner * es;
    } else {
      for (let i = 0; i < inner; i++) {
        const at = (base + i * innerStride) * es;
        for (let b = 0; b < es; b++) out[o++] = src[at + b]!;
      }
    }
    let d = dims - 2;
    for (; d >= 0; d--) {
      if (++idx[d]! < size[d]!) break;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  return hostTensorFromBytes(storage.dtype, size, out);
}

function tagGlobal<F extends PickleCallable>(fn: F, module: string, name: string): F {
  return Object.assign(fn, { pyGlobal: new PyGlobal(module, name) });
}

const TORCH_DTYPE_NAMES = new Set([
  'float64', 'float32', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool',
  'double', 'float', 'half', 'long', 'int', 'short', 'complex64', 'complex128',
]);

/**
 * Reads a torch.save file (zip format) from its bytes. Throws TorchFileError naming the file for anything it
 * cannot read: a truncated or damaged archive, a legacy (pre-1.6) file, a pickle that is not a torch file,
 * an unsupported storage type.
 */
export function parseTorchFile(bytes: Uint8Array, options: ReadTorchOptions = {}): unknown {
  const file = options.name ?? '<bytes>';
  const fail = (message: string): never => {
    throw new TorchFileError(file, message);
  };
  if (bytes.length === 0) fail('the file is empty');
  const kind = sniffWeightsFile(bytes);
  switch (kind) {
    case 'zip':
      break;
    case 'legacy-torch':
      fail('this is a legacy PyTorch file (torch.save before 1.6, or _use_new_zipfile_serialization=False), which is not supported; load it in PyTorch and save it again with torch.save');
      break;
    case 'pickle':
      fail('this is a plain Python pickle, not a torch.save file (no zip archive around it)');
      break;
    case 'tar':
      fail('this is a tar archive (the oldest PyTorch format), which is not supported; load it in PyTorch and save it again');
      break;
    case 'safetensors':
      fail('this looks like a safetensors file, not a torch.save file; read it with readSafetensors');
      break;
    default:
      fail(`not a PyTorch file: neither a zip archive nor a pickle (${describeStart(bytes)})`);
  }

  let zip: ZipReader;
  try {
    zip = new ZipReader(bytes, { verifyCrc: options.verifyCrc ?? true });
  } catch (e) {
    if (e instanceof ZipError) return fail(`truncated or damaged PyTorch file: ${e.message}`);
    throw e;
  }
  const names = zip.names();
  const pkl = names.find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? names.find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (pkl === undefined) {
    if (names.some((n) => /(^|\/)(constants\.pkl|code\/)/.test(n))) fail('this is a TorchScript archive (torch.jit.save), not a torch.save file; it is not supported');
    fail(`a zip archive without data.pkl, so not a torch.save file (entries: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''})`);
  }
  const prefix = pkl!.slice(0, pkl!.length - 'data.pkl'.length);
  const readRecord = (name: string): Uint8Array => {
    try {
      return zip.read(name);
    } catch (e) {
      if (e instanceof ZipError) return fail(e.message);
      throw e;
    }
  };
  let bigEndian = false;
  if (zip.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(readRecord(`${prefix}byteorder`)).trim();
    if (order !== 'little' && order !== 'big') fail(`unknown byteorder '${order}'`);
    bigEndian = order === 'big';
  }

  const storages = new Map<string, LoadedStorage>();
  const persistentLoad = (pid: unknown): LoadedStorage => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) fail(`unknown persistent id ${JSON.stringify(pid)}`);
    const [, cls, rawKey, , count] = pid as unknown[];
    const sc = cls as Partial<StorageClass> | undefined;
    if (typeof cls !== 'function' || sc?.storageClass === undefined) fail(`a storage of an unknown class (${String((cls as { pyGlobal?: unknown })?.pyGlobal ?? cls)})`);
    if (sc!.dtype === undefined) fail(`unsupported tensor dtype: storage class torch.${sc!.storageClass}`);
    const key = String(rawKey);
    const dtype = sc!.dtype!;
    const cached = storages.get(key);
    if (cached) {
      if (cached.dtype !== dtype) fail(`storage '${key}' is used as both ${cached.dtype} and ${dtype}`);
      return cached;
    }
    const record = `${prefix}data/${key}`;
    if (!zip.has(record)) fail(`storage record '${record}' is missing`);
    const n = Number(count);
    const es = DTYPE_BYTES[dtype];
    let data = readRecord(record);
    if (!Number.isSafeInteger(n) || n < 0 || data.length < n * es) {
      fail(`storage '${key}' should hold ${n} ${dtype} elements (${n * es} bytes) but has ${data.length} bytes`);
    }
    data = data.subarray(0, n * es);
    if (bigEndian && es > 1) {
      data = data.slice();
      swapBytes(data, es);
    }
    const storage: LoadedStorage = { dtype, key, bytes: data, numel: n };
    storages.set(key, storage);
    return storage;
  };

  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown, requiresGrad: unknown): HostTensor => {
    const s = storage as LoadedStorage;
    if (typeof s !== 'object' || s === null || !(s.bytes instanceof Uint8Array)) fail('_rebuild_tensor_v2 without a storage');
    const t = materialise(s, Number(offset), [...(size as number[])].map(Number), [...(stride as number[])].map(Number), fail);
    t.requiresGrad = requiresGrad === true;
    return t;
  };

  const resolveGlobal = (module: string, name: string): PickleCallable | undefined => {
    const key = `${module}.${name}`;
    switch (key) {
      case 'torch._utils._rebuild_tensor_v2':
      case 'torch._utils._rebuild_tensor':
        return tagGlobal((storage, offset, size, stride, requiresGrad) => rebuild(storage, offset, size, stride, requiresGrad), module, name);
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return tagGlobal((data, requiresGrad) => {
          if (!(data instanceof HostTensor)) fail('_rebuild_parameter of something that is not a tensor');
          (data as HostTensor).requiresGrad = requiresGrad === true;
          return data;
        }, module, name);
      case 'collections.OrderedDict':
        return tagGlobal((items) => new PyOrderedDict((items as [unknown, unknown][] | undefined) ?? []), module, name);
      case 'collections.Counter':
        return tagGlobal((items) => new PyCounter(items instanceof Map ? (items as Map<unknown, number>) : []), module, name);
      case 'torch.Size':
        return tagGlobal((items) => tuple(...((items as unknown[] | undefined) ?? [])), module, name);
      case 'torch.device':
        return tagGlobal((type, index) => (index === undefined || index === null ? String(type) : `${String(type)}:${String(index)}`), module, name);
      case '__builtin__.bytes':
      case 'builtins.bytes':
        return tagGlobal(() => new Uint8Array(0), module, name);
    }
    if (module === 'torch' && name.endsWith('Storage')) {
      const fn = tagGlobal(() => fail(`cannot construct torch.${name}`), module, name);
      return Object.assign(fn, { storageClass: name, dtype: STORAGE_DTYPES[name] });
    }
    if (module === 'torch' && TORCH_DTYPE_NAMES.has(name)) {
      return tagGlobal(() => fail(`torch.${name} is not callable`), module, name);
    }
    if (module.startsWith('torch')) {
      if (name.startsWith('_rebuild')) {
        return () => fail(`unsupported tensor kind: ${key} (only dense CPU-style tensors are supported)`);
      }
    }
    return undefined;
  };

  try {
    return unpickle(readRecord(pkl!), {
      resolveGlobal,
      persistentLoad,
      float: options.exactFloats ? (v) => (Number.isInteger(v) ? new PyFloat(v) : v) : undefined,
    });
  } catch (e) {
    if (e instanceof PickleError) return fail(`damaged data.pkl: ${e.message}`);
    if (e instanceof TorchFileError) throw e;
    if (e instanceof Error && e.message.startsWith('HostTensor')) return fail(e.message);
    throw e;
  }
}

export interface WriteTorchOptions {
  /** The folder name inside the zip (torch.save uses the file's base name; torch.load accepts any). */
  archiveName?: string;
  /** Write ZIP64 records even for small files (testing). */
  forceZip64?: boolean;
}

/**
 * Serialises a value the way torch.save does; the result is a list of chunks to write in order (storages
 * are not copied). Tensors that share one `data` array share one storage. Throws PickleWriteError for a value
 * that cannot be pickled.
 */
export function serializeTorchFileChunks(value: unknown, options: WriteTorchOptions = {}): Uint8Array[] {
  const archive = options.archiveName ?? 'archive';
  if (!/^[A-Za-z0-9_.-]+$/.test(archive)) throw new Error(`torch file: bad archive name '${archive}'`);
  const keys = new Map<HostData, string>();
  const records: ZipWriteEntry[] = [];
  const rebuildV2 = new PyGlobal('torch._utils', '_rebuild_tensor_v2');
  const orderedDict = new PyGlobal('collections', 'OrderedDict');
  const transform = (value: unknown) => {
    if (!(value instanceof HostTensor)) return undefined;
    const v = value as HostTensor;
    let key = keys.get(v.data);
    if (key === undefined) {
      key = String(keys.size);
      keys.set(v.data, key);
      records.push({ name: `${archive}/data/${key}`, data: hostTensorBytes(v) });
    }
    const storage = new PyPersistentId(tuple('storage', new PyGlobal('torch', DTYPE_STORAGES[v.dtype]), key, 'cpu', v.numel));
    return new PyReduce(rebuildV2, [
      storage,
      0,
      tuple(...v.shape),
      tuple(...contiguousStrides(v.shape)),
      v.requiresGrad,
      new PyReduce(orderedDict, []),
    ]);
  };
  const data = pickle(value, { transform });
  const enc = new TextEncoder();
  return writeZipChunks(
    [
      { name: `${archive}/data.pkl`, data },
      { name: `${archive}/byteorder`, data: enc.encode('little') },
      ...records,
      { name: `${archive}/version`, data: enc.encode('3\n') },
    ],
    { align: 64, forceZip64: options.forceZip64 },
  );
}

export { PickleWriteError };
