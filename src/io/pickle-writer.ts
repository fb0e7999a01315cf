// A Python pickle writer, protocol 2 (what torch.save writes), using only the opcodes that PyTorch 1.13's
// weights_only unpickler accepts whenever the value allows it (no BINFLOAT there, so floats need a full
// torch.load). Values map to Python as described in py-values.ts. Pure: no fs.

import { PickleObject } from './pickle.ts';
import { PyCounter, PyFloat, PyGlobal, PyOrderedDict, PyPersistentId, PyReduce } from './py-values.ts';

export class PickleWriteError extends Error {
  constructor(message: string, path: string) {
    super(`pickle writer: ${message}${path ? ` (at ${path})` : ''}`);
    this.name = 'PickleWriteError';
  }
}

export interface PickleWriteOptions {
  /**
   * Called for each value before the built-in rules: return a replacement (e.g. a PyReduce for a tensor) or
   * undefined to keep the value. The replacement is not passed through `transform` again.
   */
  transform?: (value: unknown, path: string) => unknown;
}

class ByteSink {
  buf = new Uint8Array(1 << 12);
  length = 0;
  private view = new DataView(this.buf.buffer);

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }
  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f64be(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, false);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const OP = {
  PROTO: 0x80,
  STOP: 0x2e,
  MARK: 0x28,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINFLOAT: 0x47,
  BINUNICODE: 0x58,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  APPENDS: 0x65,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  EMPTY_DICT: 0x7d,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  GLOBAL: 0x63,
  REDUCE: 0x52,
  BUILD: 0x62,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  BINPERSID: 0x51,
} as const;

const BATCH = 1000; // like CPython's pickler

/** Two's complement little-endian bytes of the fewest length (Python's encode_long). */
function encodeLong(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  let n = 1;
  while (v < -(1n << BigInt(8 * n - 1)) || v >= 1n << BigInt(8 * n - 1)) n++;
  let u = BigInt.asUintN(8 * n, v);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

/** Pickles `value` with protocol 2. */
export function pickle(value: unknown, options: PickleWriteOptions = {}): Uint8Array {
  const out = new ByteSink();
  const utf8 = new TextEncoder();
  const globals = new Map<string, number>(); // memoised GLOBALs: "module\nname" -> memo index
  let memoSize = 0;
  const active = new Set<object>(); // containers being written, to refuse cycles

  const put = () => {
    const i = memoSize++;
    if (i < 256) out.u8(OP.BINPUT), out.u8(i);
    else out.u8(OP.LONG_BINPUT), out.u32(i);
    return i;
  };
  const str = (s: string) => {
    const b = utf8.encode(s);
    out.u8(OP.BINUNICODE);
    out.u32(b.length);
    out.bytes(b);
  };
  const global = (module: string, name: string) => {
    const key = `${module}\n${name}`;
    const at = globals.get(key);
    if (at !== undefined) {
      if (at < 256) out.u8(OP.BINGET), out.u8(at);
      else out.u8(OP.LONG_BINGET), out.u32(at);
      return;
    }
    if (/[\n\r]/.test(key.replace('\n', ''))) throw new PickleWriteError(`bad global name ${module}.${name}`, '');
    out.u8(OP.GLOBAL);
    out.bytes(utf8.encode(`${key}\n`));
    globals.set(key, put());
  };
  const int = (v: bigint) => {
    if (v >= 0n && v < 256n) out.u8(OP.BININT1), out.u8(Number(v));
    else if (v >= 0n && v < 65536n) out.u8(OP.BININT2), out.u16(Number(v));
    else if (v >= -(2n ** 31n) && v < 2n ** 31n) out.u8(OP.BININT), out.i32(Number(v));
    else {
      const b = encodeLong(v);
      if (b.length < 256) out.u8(OP.LONG1), out.u8(b.length);
      else out.u8(OP.LONG4), out.u32(b.length);
      out.bytes(b);
    }
  };
  const float = (v: number) => {
    out.u8(OP.BINFLOAT);
    out.f64be(v);
  };
  const enter = (obj: object, path: string) => {
    if (active.has(obj)) throw new PickleWriteError('the value contains a cycle', path);
    active.add(obj);
  };

  const write = (v: unknown, path: string, transformed = false): void => {
    if (!transformed && options.transform) {
      const replaced = options.transform(v, path);
      if (replaced !== undefined) return write(replaced, path, true);
    }
    if (v === null || v === undefined) return out.u8(OP.NONE);
    if (v === true) return out.u8(OP.NEWTRUE);
    if (v === false) return out.u8(OP.NEWFALSE);
    if (typeof v === 'bigint') return int(v);
    if (typeof v === 'number') {
      // Integers are ints unless they are beyond 2^53 (where a JS number is really a float) or -0.
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return int(BigInt(v));
      return float(v);
    }
    if (typeof v === 'string') return str(v);
    if (v instanceof PyFloat) return float(v.value);
    if (v instanceof PyGlobal) return global(v.module, v.name);
    if (typeof v === 'function') {
      const g = (v as { pyGlobal?: unknown }).pyGlobal;
      if (g instanceof PyGlobal) return global(g.module, g.name);
      throw new PickleWriteError('cannot pickle a function', path);
    }
    if (v instanceof PyPersistentId) {
      write(v.pid, `${path}<pid>`);
      return out.u8(OP.BINPERSID);
    }
    if (v instanceof PyReduce) {
      enter(v, path);
      global(v.callable.module, v.callable.name);
      writeTuple(v.args, `${path}<args>`);
      out.u8(OP.REDUCE);
      if (v.state !== undefined) {
        write(v.state, `${path}<state>`);
        out.u8(OP.BUILD);
      }
      active.delete(v);
      return;
    }
    if (v instanceof PickleObject) {
      // An instance of a class the reader did not know: written back the way it came.
      enter(v, path);
      global(v.module, v.name);
      writeTuple(v.args, `${path}<args>`);
      out.u8(OP.REDUCE);
      if (v.state !== undefined) {
        write(v.state, `${path}<state>`);
        out.u8(OP.BUILD);
      }
      active.delete(v);
      return;
    }
    if (v instanceof Uint8Array) {
      // Protocol 2 has no bytes opcode; CPython writes _codecs.encode(latin-1 text, 'latin1').
      global('_codecs', 'encode');
      let s = '';
      for (let i = 0; i < v.length; i += 4096) s += String.fromCharCode(...v.subarray(i, i + 4096));
      str(s);
      str('latin1');
      out.u8(OP.TUPLE2);
      return out.u8(OP.REDUCE);
    }
    if (Array.isArray(v)) {
      enter(v, path);
      if (Object.isFrozen(v)) writeTuple(v, path);
      else {
        out.u8(OP.EMPTY_LIST);
        for (let i = 0; i < v.length; i += BATCH) {
          const batch = v.slice(i, i + BATCH);
          if (batch.length > 1) out.u8(OP.MARK);
          batch.forEach((item, j) => write(item, `${path}[${i + j}]`));
          out.u8(batch.length > 1 ? OP.APPENDS : OP.APPEND);
        }
      }
      active.delete(v);
      return;
    }
    if (v instanceof Set) {
      enter(v, path);
      global('__builtin__', 'set');
      out.u8(OP.EMPTY_LIST);
      let i = 0;
      for (const item of v) {
        write(item, `${path}{${i++}}`);
        out.u8(OP.APPEND);
      }
      out.u8(OP.TUPLE1);
      out.u8(OP.REDUCE);
      active.delete(v);
      return;
    }
    if (v instanceof PyCounter) {
      // Counter.__reduce__: Counter(dict(self))
      enter(v, path);
      global('collections', 'Counter');
      write(new Map(v), `${path}<items>`);
      out.u8(OP.TUPLE1);
      out.u8(OP.REDUCE);
      active.delete(v);
      return;
    }
    if (v instanceof Map || isPlainObject(v)) {
      enter(v, path);
      const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : Object.entries(v);
      if (v instanceof PyOrderedDict) {
        global('collections', 'OrderedDict');
        out.u8(OP.EMPTY_TUPLE);
        out.u8(OP.REDUCE);
      } else {
        out.u8(OP.EMPTY_DICT);
      }
      for (let i = 0; i < entries.length; i += BATCH) {
        const batch = entries.slice(i, i + BATCH);
        if (batch.length > 1) out.u8(OP.MARK);
        for (const [k, item] of batch) {
          const keyPath = `${path}[${typeof k === 'string' ? JSON.stringify(k) : String(k)}]`;
          write(k, `${keyPath}<key>`);
          write(item, keyPath);
        }
        out.u8(batch.length > 1 ? OP.SETITEMS : OP.SETITEM);
      }
      if (v instanceof PyOrderedDict && v.attributes && v.attributes.size > 0) {
        write(v.attributes, `${path}<attributes>`);
        out.u8(OP.BUILD);
      }
      active.delete(v);
      return;
    }
    const what = typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v;
    throw new PickleWriteError(`cannot pickle a value of type ${what}`, path);
  };

  const writeTuple = (items: readonly unknown[], path: string) => {
    const n = items.length;
    if (n === 0) return out.u8(OP.EMPTY_TUPLE);
    if (n > 3) out.u8(OP.MARK);
    items.forEach((item, i) => write(item, `${path}(${i})`));
    out.u8(n === 1 ? OP.TUPLE1 : n === 2 ? OP.TUPLE2 : n === 3 ? OP.TUPLE3 : OP.TUPLE);
  };

  out.u8(OP.PROTO);
  out.u8(2);
  write(value, '');
  out.u8(OP.STOP);
  return out.result();
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}
