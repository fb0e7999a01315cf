import { describe, expect, it } from 'vitest';
import { unpickle } from '../../src/io/pickle.ts';
import { pickle } from '../../src/io/pickle-writer.ts';
import { PyFloat, PyGlobal, PyOrderedDict, PyReduce, tuple } from '../../src/io/py-values.ts';

const bytesOf = (v: unknown) => Array.from(pickle(v));
const roundTrip = (v: unknown) => unpickle(pickle(v));

describe('pickle writer (protocol 2)', () => {
  it('writes ints with the smallest opcode', () => {
    expect(bytesOf(255)).toEqual([0x80, 2, 0x4b, 0xff, 0x2e]);
    expect(bytesOf(256)).toEqual([0x80, 2, 0x4d, 0x00, 0x01, 0x2e]);
    expect(bytesOf(-1)).toEqual([0x80, 2, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x2e]);
    expect(bytesOf(2 ** 31)).toEqual([0x80, 2, 0x8a, 5, 0, 0, 0, 0x80, 0, 0x2e]); // LONG1, sign byte
    expect(bytesOf(-(2 ** 31) - 1)).toEqual([0x80, 2, 0x8a, 5, 0xff, 0xff, 0xff, 0x7f, 0xff, 0x2e]);
    expect(bytesOf(-128n * 2n ** 56n)).toEqual([0x80, 2, 0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x2e]);
  });

  it('round-trips through the reader', () => {
    const ints = [0, 1, 255, 256, 65535, 65536, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    expect(roundTrip(ints)).toEqual(ints);
    expect(roundTrip([2n ** 70n, -(2n ** 70n), 2n ** 3000n])).toEqual([2n ** 70n, -(2n ** 70n), 2n ** 3000n]);
    expect(roundTrip([0.5, 1e-300, Infinity, -Infinity, 2 ** 60])).toEqual([0.5, 1e-300, Infinity, -Infinity, 2 ** 60]);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(roundTrip(NaN)).toBeNaN();
    expect(roundTrip(['', 'Maus 🐭', 'a\nb', null, true, false])).toEqual(['', 'Maus 🐭', 'a\nb', null, true, false]);
    expect(roundTrip(new Uint8Array([0, 255, 10]))).toEqual(new Uint8Array([0, 255, 10]));
    expect(roundTrip(new Set([1, 2]))).toEqual(new Set([1, 2]));
    const long = Array.from({ length: 2345 }, (_, i) => i);
    expect(roundTrip(long)).toEqual(long);
    const bigMap = new Map(long.map((i) => [i, `v${i}`]));
    expect(roundTrip(bigMap)).toEqual(bigMap);
  });

  it('keeps tuples (frozen arrays) apart from lists', () => {
    const v = roundTrip([tuple(), tuple(1), tuple(1, 2), tuple(1, 2, 3), tuple(1, 2, 3, 4), [1]]) as unknown[][];
    expect(v.map((x) => Object.isFrozen(x))).toEqual([true, true, true, true, true, false]);
    expect(v[4]).toEqual([1, 2, 3, 4]);
  });

  it('writes dicts from Maps and plain objects, OrderedDicts with their attributes', () => {
    expect(roundTrip({ a: 1, b: { c: [2] } })).toEqual(new Map<unknown, unknown>([['a', 1], ['b', new Map([['c', [2]]])]]));
    const keys = new Map<unknown, unknown>([[1, 'one'], [tuple(1, 'a'), 'tuple'], [2n ** 80n, 'big']]);
    expect([...(roundTrip(keys) as Map<unknown, unknown>).values()]).toEqual(['one', 'tuple', 'big']);
    const od = new PyOrderedDict<unknown, unknown>([['z', 1], ['a', 2]]);
    od.attributes = new Map([['_metadata', new Map([['', new Map([['version', 1]])]])]]);
    const back = unpickle(pickle(od), { resolveGlobal: (m, n) => (m === 'collections' && n === 'OrderedDict' ? () => new PyOrderedDict() : undefined) });
    expect(back).toBeInstanceOf(PyOrderedDict);
    expect([...(back as PyOrderedDict).keys()]).toEqual(['z', 'a']);
    expect((back as PyOrderedDict).attributes).toEqual(od.attributes);
  });

  it('writes integer-valued floats as ints unless wrapped in PyFloat', () => {
    expect(bytesOf(3)[2]).toBe(0x4b);
    expect(bytesOf(new PyFloat(3))[2]).toBe(0x47);
    const back = unpickle(pickle([new PyFloat(3), 0.5]), { float: (v) => new PyFloat(v) }) as PyFloat[];
    expect(back.map((f) => f.value)).toEqual([3, 0.5]);
  });

  it('writes globals, reduce and transform hooks', () => {
    const v = new PyReduce(new PyGlobal('mod.sub', 'fn'), [1, 'x']);
    const seen: unknown[] = [];
    unpickle(pickle([v, v]), { resolveGlobal: (m, n) => (...args: unknown[]) => (seen.push([m, n, ...args]), 0) });
    expect(seen).toEqual([['mod.sub', 'fn', 1, 'x'], ['mod.sub', 'fn', 1, 'x']]);
    expect(unpickle(pickle([5, 6], { transform: (x) => (x === 5 ? 'five' : undefined) }))).toEqual(['five', 6]);
  });

  it('refuses cycles and values Python has no type for, naming where', () => {
    const cyc: unknown[] = [];
    cyc.push(cyc);
    expect(() => pickle(cyc)).toThrow(/cycle/);
    expect(() => pickle({ a: [1, () => 0] })).toThrow(/function \(at \["a"\]\[1\]\)/);
    expect(() => pickle({ when: new Date(0) })).toThrow(/type Date \(at \["when"\]\)/);
    expect(() => pickle(Symbol('s'))).toThrow(/symbol/);
  });
});
