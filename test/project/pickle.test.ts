import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NumpyArray, PickleObject, unpickle } from '../../src/io/pickle.ts';
import { readDlcSplit } from '../../src/project/index.ts';

// Fixtures come from test/project/fixtures/make-split-pickles.py (numpy 2, Python 3).
const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);

describe('pickle reader', () => {
  it.each([2, 4, 5])('reads Python values and numpy arrays (protocol %i)', (protocol) => {
    const misc = unpickle(readFileSync(fixture(`misc-protocol${protocol}.pickle`))) as Map<string, unknown>;
    expect(misc.get('ints')).toEqual([0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31, 2n ** 62n, -(2n ** 70n)]);
    expect(misc.get('floats')).toEqual([0.5, -1e-5, Infinity]);
    expect(misc.get('text')).toEqual(['', 'snout', 'é🐭']);
    expect(misc.get('bytes')).toEqual(new Uint8Array([0, 1, 255]));
    expect(misc.get('tuple')).toEqual([1, [2, 3], []]);
    const nested = misc.get('nested') as Map<unknown, unknown>;
    expect(nested.get('a')).toEqual([1, new Map([['b', null]])]);
    expect(nested.get(3)).toBe(true);
    expect([...nested.keys()][2]).toEqual([1, 2]);
    expect(misc.get('set')).toEqual(new Set([1, 2]));
    const f32 = misc.get('f32') as NumpyArray;
    expect([f32.dtype, f32.shape, f32.values]).toEqual(['f4', [2, 3], [0, 1, 2, 3, 4, 5]]);
    expect((misc.get('big_endian') as NumpyArray).values).toEqual([1, 2, 3]);
    expect((misc.get('fortran') as NumpyArray).values).toEqual([0, 1, 2, 3, 4, 5]);
    expect(misc.get('scalar')).toBe(2.5);
    const [a, b] = misc.get('shared') as unknown[][];
    expect(a).toBe(b);
  });

  it('lets a caller resolve globals and persistent ids (what the .pt reader needs)', () => {
    // pickle.dumps of an object with persistent id ('storage', 7) inside torch._utils._rebuild_tensor_v2(pid, 0, (2,), (1,))
    const bytes = new Uint8Array([
      0x80, 0x02, 0x63, ...new TextEncoder().encode('torch._utils\n_rebuild_tensor_v2\n'), 0x28, 0x55, 7, ...new TextEncoder().encode('storage'),
      0x4b, 7, 0x86, 0x51, 0x4b, 0, 0x4b, 2, 0x85, 0x4b, 1, 0x85, 0x74, 0x52, 0x2e,
    ]);
    const seen: unknown[] = [];
    const out = unpickle(bytes, {
      persistentLoad: (pid) => (seen.push(pid), 'STORAGE'),
      resolveGlobal: (module, name) => (module === 'torch._utils' && name === '_rebuild_tensor_v2' ? (...args) => ({ rebuilt: args }) : undefined),
    });
    expect(seen).toEqual([['storage', 7]]);
    expect(out).toEqual({ rebuilt: ['STORAGE', 0, [2], [1]] });
    // Without the callbacks nothing is executed: the global becomes an inert record and a persistent id is an error.
    expect(() => unpickle(bytes)).toThrow(/persistent id found but no persistentLoad callback/);
    const inert = unpickle(new Uint8Array([0x80, 0x02, 0x63, ...new TextEncoder().encode('os\nsystem\n'), 0x55, 2, 0x6c, 0x73, 0x85, 0x52, 0x2e]));
    expect(inert).toEqual(Object.assign(new PickleObject('os', 'system', ['ls']), { state: undefined }));
  });

  it('fails clearly on truncated or unknown data', () => {
    const good = readFileSync(fixture('misc-protocol5.pickle'));
    expect(() => unpickle(good.subarray(0, 100))).toThrow(/pickle: unexpected end of data|pickle: .* at byte/);
    expect(() => unpickle(new Uint8Array([0x80, 0x02, 0xff]))).toThrow('pickle: unsupported opcode 0xff at byte 3');
  });

  it("reads DeepLabCut's Documentation_data pickle split", () => {
    const split = readDlcSplit(fixture('Documentation_data-openfield_95shuffle1.pickle'));
    expect(split.trainFraction).toBe(0.95);
    expect(split.test).toEqual([23, 25, 47, 67, 68, 83]);
    expect(split.train).toHaveLength(110);
  });

  it("pairs DeepLabCut's data records with the train indices, when it holds one per index, to name the train images", () => {
    const split = readDlcSplit(fixture('Documentation_data-openfield_95shuffle1-named.pickle'));
    expect(split.trainImages).toHaveLength(110);
    split.train.forEach((i, k) => expect(split.trainImages![k]).toBe(`labeled-data/m4s1/img${String(i).padStart(4, '0')}.png`));
    // The other fixture's three records are not one per train index: no names rather than wrong ones.
    expect(readDlcSplit(fixture('Documentation_data-openfield_95shuffle1.pickle')).trainImages).toBeUndefined();
  });
});
