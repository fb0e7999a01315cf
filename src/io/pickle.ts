// A Python pickle reader (protocols 2-5, the opcodes `pickle.dump` emits). Classes are never executed:
// each GLOBAL is looked up in a resolver the caller controls; unknown ones become inert PickleObjects.
// The numpy resolver is included because DeepLabCut's split files hold numpy arrays; the PyTorch weights
// reader adds its own resolver (torch._utils._rebuild_tensor_v2, ...) and a persistent-id callback.

/** A Python dict; a Map because keys may be ints or tuples, and order matters. */
export type PickleDict = Map<unknown, unknown>;

/** An instance of a class the resolver did not know: what was pickled, kept for inspection. */
export class PickleObject {
  state: unknown = undefined;
  constructor(
    readonly module: string,
    readonly name: string,
    readonly args: unknown[],
  ) {}
}

/** What a resolved global may be: a callable (for REDUCE/NEWOBJ) that may return an object with __setstate__. */
export type PickleCallable = (...args: unknown[]) => unknown;
export interface Settable {
  __setstate__(state: unknown): void;
}
export type GlobalResolver = (module: string, name: string) => PickleCallable | undefined;

export interface PickleOptions {
  /** Consulted before the built-in resolvers. */
  resolveGlobal?: GlobalResolver;
  /** PyTorch stores tensor storages by persistent id; without this callback a persistent id is an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Maps each Python float (BINFLOAT/FLOAT) to a JS value; floats are plain numbers without it. */
  float?: (value: number) => unknown;
}

export class PickleError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`pickle: ${message} at byte ${offset}`);
    this.name = 'PickleError';
  }
}

const MARK = Symbol('mark');

function hasSetState(x: unknown): x is Settable {
  return typeof x === 'object' && x !== null && typeof (x as Settable).__setstate__ === 'function';
}

function bigToNumber(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function builtinResolver(module: string, name: string): PickleCallable | undefined {
  const key = `${module}.${name}`;
  switch (key) {
    case 'builtins.set':
    case 'builtins.frozenset':
    case '__builtin__.set':
    case '__builtin__.frozenset':
      return (items) => new Set(items as unknown[]);
    case 'builtins.bytearray':
    case '__builtin__.bytearray':
      return (data) => (data instanceof Uint8Array ? data.slice() : new Uint8Array((data as number[] | undefined) ?? []));
    case 'collections.OrderedDict':
      return (items) => new Map((items as [unknown, unknown][] | undefined) ?? []);
    case '_codecs.encode':
      // Protocol 2 writes bytes as _codecs.encode(text, 'latin1'): each char is one byte.
      return (text) => Uint8Array.from(text as string, (c) => c.charCodeAt(0));
    default:
      return undefined;
  }
}

export function unpickle(data: Uint8Array, options: PickleOptions = {}): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const text = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  let pos = 0;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const toFloat = options.float ?? ((v: number) => v);

  const fail = (message: string): never => {
    throw new PickleError(message, pos);
  };
  const need = (n: number) => {
    if (pos + n > data.length) fail('unexpected end of data');
  };
  const u8 = () => (need(1), data[pos++]!);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length too large');
    return Number(v);
  };
  const bytes = (n: number) => (need(n), (pos += n), data.subarray(pos - n, pos));
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text line');
    const s = latin1.decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => (stack.length === 0 ? fail('stack underflow') : stack.pop());
  const top = () => (stack.length === 0 ? fail('stack underflow') : stack[stack.length - 1]);
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK on the stack');
    return stack.splice(m!);
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return bigToNumber(v);
  };
  const resolve = (module: string, name: string): PickleCallable => {
    const found = options.resolveGlobal?.(module, name) ?? numpyResolver(module, name) ?? builtinResolver(module, name);
    return found ?? ((...args: unknown[]) => new PickleObject(module, name, args));
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (typeof fn !== 'function') fail('REDUCE on something that is not callable');
    return (fn as PickleCallable)(...((args as unknown[]) ?? []));
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) fail('SETITEM(S) on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) (dict as PickleDict).set(items[i], items[i + 1]);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME: framing is only a read-ahead hint
      case 0x2e: return pop(); // STOP
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(signedLE(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(signedLE(bytes(u32()))); break; // LONG4
      case 0x49: { // INT (text; "01"/"00" are protocol 0 booleans)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : bigToNumber(BigInt(s)));
        break;
      }
      case 0x4c: stack.push(bigToNumber(BigInt(line().replace(/L$/, '')))); break; // LONG (text)
      case 0x47: need(8); stack.push(toFloat(view.getFloat64(pos, false))); pos += 8; break; // BINFLOAT (big-endian)
      case 0x46: stack.push(toFloat(Number(line()))); break; // FLOAT (text)
      case 0x58: stack.push(text.decode(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(text.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text.decode(bytes(u64()))); break; // BINUNICODE8
      case 0x54: stack.push(latin1.decode(bytes(i32()))); break; // BINSTRING (Python 2 str)
      case 0x55: stack.push(latin1.decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(new Uint8Array(bytes(u32()))); break; // BINBYTES
      case 0x43: stack.push(new Uint8Array(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(new Uint8Array(bytes(u64()))); break; // BINBYTES8
      case 0x96: stack.push(new Uint8Array(bytes(u64()))); break; // BYTEARRAY8
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const item = pop(); (top() as unknown[]).push(item); break; } // APPEND
      case 0x65: { const items = popMark(); (top() as unknown[]).push(...items); break; } // APPENDS
      case 0x29: stack.push(Object.freeze([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(Object.freeze(popMark())); break; // TUPLE
      case 0x85: stack.push(Object.freeze([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push(Object.freeze([pop(), b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push(Object.freeze([pop(), b, c])); break; } // TUPLE3
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const d = new Map(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); for (const i of items) (top() as Set<unknown>).add(i); break; } // ADDITEMS
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x63: { const module = line(); stack.push(resolve(module, line())); break; } // GLOBAL
      case 0x93: { const name = pop() as string; stack.push(resolve(pop() as string, name)); break; } // STACK_GLOBAL
      case 0x52: { const args = pop(); stack.push(call(pop(), args)); break; } // REDUCE
      case 0x81: { const args = pop(); stack.push(call(pop(), args)); break; } // NEWOBJ
      case 0x92: { pop(); const args = pop(); stack.push(call(pop(), args)); break; } // NEWOBJ_EX (kwargs dropped)
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (hasSetState(obj)) obj.__setstate__(state);
        else if (obj instanceof PickleObject) obj.state = state;
        else if (obj instanceof Map && state instanceof Map) for (const [k, v] of state) obj.set(k, v);
        else fail('BUILD on an object that cannot take state');
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(key)) fail(`memo key ${key} missing`);
        stack.push(memo.get(key));
        break;
      }
      case 0x51: case 0x50: { // BINPERSID, PERSID
        const pid = op === 0x51 ? pop() : line();
        if (!options.persistentLoad) fail('persistent id found but no persistentLoad callback was given');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

// ---- numpy ----

const DTYPES: Record<string, { bytes: number; read: (v: DataView, o: number, le: boolean) => number | bigint }> = {
  f8: { bytes: 8, read: (v, o, le) => v.getFloat64(o, le) },
  f4: { bytes: 4, read: (v, o, le) => v.getFloat32(o, le) },
  i8: { bytes: 8, read: (v, o, le) => bigToNumber(v.getBigInt64(o, le)) },
  u8: { bytes: 8, read: (v, o, le) => bigToNumber(v.getBigUint64(o, le)) },
  i4: { bytes: 4, read: (v, o, le) => v.getInt32(o, le) },
  u4: { bytes: 4, read: (v, o, le) => v.getUint32(o, le) },
  i2: { bytes: 2, read: (v, o, le) => v.getInt16(o, le) },
  u2: { bytes: 2, read: (v, o, le) => v.getUint16(o, le) },
  i1: { bytes: 1, read: (v, o) => v.getInt8(o) },
  u1: { bytes: 1, read: (v, o) => v.getUint8(o) },
  b1: { bytes: 1, read: (v, o) => v.getUint8(o) },
};

/** numpy.dtype as pickled: the type code plus the byte order set by __setstate__. */
export class NumpyDType implements Settable {
  littleEndian = true;
  constructor(readonly code: string) {}
  __setstate__(state: unknown): void {
    const order = (state as unknown[])[1];
    if (order === '>') this.littleEndian = false;
  }
}

/** A numpy array, values widened to JS numbers (int64 outside the safe range stays bigint). */
export class NumpyArray implements Settable {
  shape: number[] = [];
  dtype = '';
  values: (number | bigint)[] | unknown[] = [];
  __setstate__(state: unknown): void {
    const [, shape, dtype, fortran, raw] = state as [number, number[], NumpyDType, boolean, unknown];
    this.shape = [...shape];
    this.dtype = dtype.code;
    if (Array.isArray(raw)) {
      this.values = raw; // object arrays pickle their elements as a list
      return;
    }
    const spec = DTYPES[dtype.code];
    if (!spec) throw new Error(`pickle: numpy dtype '${dtype.code}' is not supported`);
    const bytes = raw as Uint8Array;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = this.shape.reduce((a, b) => a * b, 1);
    if (count * spec.bytes !== bytes.length) throw new Error(`pickle: numpy array of shape [${shape}] has ${bytes.length} data bytes`);
    const flat = Array.from({ length: count }, (_, i) => spec.read(view, i * spec.bytes, dtype.littleEndian));
    this.values = fortran ? fortranToC(flat, this.shape) : flat;
  }
}

function fortranToC<T>(flat: T[], shape: number[]): T[] {
  const out = new Array<T>(flat.length);
  const n = shape.length;
  const idx = new Array<number>(n).fill(0);
  for (let c = 0; c < flat.length; c++) {
    let f = 0;
    let stride = 1;
    for (let d = 0; d < n; d++) {
      f += idx[d]! * stride;
      stride *= shape[d]!;
    }
    out[c] = flat[f]!;
    for (let d = n - 1; d >= 0 && ++idx[d]! === shape[d]!; d--) idx[d] = 0;
  }
  return out;
}

const NUMPY_MODULES = new Set(['numpy.core.multiarray', 'numpy._core.multiarray']);
const NUMPY_NUMERIC = new Set(['numpy.core.numeric', 'numpy._core.numeric']);

/** numpy's pickle entry points: arrays, dtypes and scalars (numpy 1.x and 2.x module names). */
export function numpyResolver(module: string, name: string): PickleCallable | undefined {
  if (NUMPY_MODULES.has(module) && name === '_reconstruct') return () => new NumpyArray();
  if (NUMPY_MODULES.has(module) && name === 'scalar') {
    return (dtype, raw) => {
      const array = new NumpyArray();
      array.__setstate__([1, [], dtype, false, raw]);
      return array.values[0];
    };
  }
  // Protocol 5 (DeepLabCut's HIGHEST_PROTOCOL) pickles arrays as _frombuffer(buffer, dtype, shape, order).
  if (NUMPY_NUMERIC.has(module) && name === '_frombuffer') {
    return (buffer, dtype, shape, order) => {
      const array = new NumpyArray();
      array.__setstate__([1, shape, dtype, order === 'F', buffer]);
      return array;
    };
  }
  if (module === 'numpy' && name === 'dtype') return (code) => new NumpyDType(String(code));
  if (module === 'numpy' && name === 'ndarray') return () => new NumpyArray();
  return undefined;
}
