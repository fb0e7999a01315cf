// A Python pickle writer for protocol 0, the text protocol. PyTables stores every attribute that is not a
// plain number or string (pandas' `non_index_axes`, `info`, `values_block_0_kind`, ...) as
// `pickle.dumps(value, 0)` in a NUL-terminated HDF5 string, and unpickles a string attribute when it ends
// with "."; a binary protocol would hold NUL bytes and be cut short there. The output follows CPython's
// pickler (MARK/LIST/PUT for lists, memo GETs for repeated strings), except that non-ASCII characters are
// written as \uXXXX escapes (CPython writes Latin-1 bytes for U+0080..U+00FF): it loads the same and keeps
// the attribute pure ASCII. `unpickleText` reads such attributes back (the opcodes protocol 0 uses for
// these values). Values map as in py-values.ts: frozen arrays are tuples, arrays lists, Maps and
// plain objects dicts, integers ints, null None.
import { isTuple, PyFloat } from './py-values.ts';
import { PickleWriteError } from './pickle-writer.ts';
import { pyFloatRepr as floatText } from './py-repr.ts';

/** raw-unicode-escape as CPython's protocol 0 applies it, with every non-ASCII character escaped. */
function escapeText(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c === 0x5c || c === 0 || c === 0x0a || c === 0x0d || c === 0x1a || c >= 0x80) {
      out += c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out;
}


/** Pickles `value` with protocol 0: ASCII text, as PyTables writes its object attributes. */
export function pickleText(value: unknown): string {
  const parts: string[] = [];
  const strings = new Map<string, number>();
  let memo = 0;
  const put = (): void => void parts.push(`p${memo++}\n`);

  const write = (v: unknown, path: string): void => {
    if (v === null || v === undefined) return void parts.push('N');
    if (v === true || v === false) return void parts.push(v ? 'I01\n' : 'I00\n');
    if (v instanceof PyFloat) return void parts.push(`F${floatText(v.value)}\n`);
    if (typeof v === 'bigint') return void parts.push(v >= -(2n ** 31n) && v < 2n ** 31n ? `I${v}\n` : `L${v}L\n`);
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || Object.is(v, -0)) return void parts.push(`F${floatText(v)}\n`);
      return write(BigInt(v), path);
    }
    if (typeof v === 'string') {
      const at = strings.get(v);
      if (at !== undefined) return void parts.push(`g${at}\n`);
      parts.push(`V${escapeText(v)}\n`);
      strings.set(v, memo);
      return put();
    }
    if (isTuple(v)) {
      parts.push('(');
      v.forEach((item, i) => write(item, `${path}(${i})`));
      parts.push('t');
      // CPython does not memoise the empty tuple (a singleton).
      if (v.length) put();
      return;
    }
    if (Array.isArray(v)) {
      parts.push('(l');
      put();
      v.forEach((item, i) => {
        write(item, `${path}[${i}]`);
        parts.push('a');
      });
      return;
    }
    if (v instanceof Map || (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)) {
      parts.push('(d');
      put();
      const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
      for (const [k, item] of entries) {
        write(k, `${path}<key>`);
        write(item, `${path}[${String(k)}]`);
        parts.push('s');
      }
      return;
    }
    throw new PickleWriteError(`protocol 0: cannot pickle a value of type ${typeof v === 'object' ? (v as object).constructor?.name : typeof v}`, path);
  };

  write(value, '');
  parts.push('.');
  return parts.join('');
}

export class PickleTextError extends Error {
  constructor(message: string) {
    super(`protocol-0 pickle: ${message}`);
    this.name = 'PickleTextError';
  }
}

/** Reads a protocol-0 pickle of None, bools, ints, floats, strings, lists, tuples and dicts (dicts as Maps). */
export function unpickleText(text: string): unknown {
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const line = () => {
    const end = text.indexOf('\n', pos);
    if (end < 0) throw new PickleTextError('truncated (a line has no end)');
    const s = text.slice(pos, end);
    pos = end + 1;
    return s;
  };
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) throw new PickleTextError('no MARK for a container');
    return stack.splice(m);
  };
  const top = () => {
    if (!stack.length) throw new PickleTextError('stack underflow');
    return stack[stack.length - 1];
  };
  const pop = () => {
    if (!stack.length) throw new PickleTextError('stack underflow');
    return stack.pop();
  };
  const unescape = (s: string) =>
    s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) => String.fromCodePoint(parseInt(u4 ?? u8!, 16)));
  while (pos < text.length) {
    const op = text[pos++]!;
    switch (op) {
      case '(': marks.push(stack.length); break;
      case '.': {
        if (stack.length !== 1) throw new PickleTextError(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      }
      case 'N': stack.push(null); break;
      case 'I': {
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number(BigInt(s)));
        break;
      }
      case 'L': stack.push(Number(BigInt(line().replace(/L$/, '')))); break;
      case 'F': stack.push(Number(line())); break;
      case 'V': stack.push(unescape(line())); break;
      case 'l': stack.push(popMark()); break;
      case 't': stack.push(Object.freeze(popMark())); break;
      case 'd': {
        const items = popMark();
        const d = new Map<unknown, unknown>();
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 'a': {
        const item = pop();
        (top() as unknown[]).push(item);
        break;
      }
      case 's': {
        const v = pop();
        const k = pop();
        (top() as Map<unknown, unknown>).set(k, v);
        break;
      }
      case 'p': memo.set(Number(line()), top()); break;
      case 'g': {
        const i = Number(line());
        if (!memo.has(i)) throw new PickleTextError(`memo ${i} was never stored`);
        stack.push(memo.get(i));
        break;
      }
      default:
        throw new PickleTextError(`opcode '${op}' at ${pos - 1} is not supported`);
    }
  }
  throw new PickleTextError('truncated (no STOP)');
}
