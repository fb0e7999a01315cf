// DeepLabCut's .h5 (a pandas DataFrame in PyTables' table format): the protocol-0 pickles PyTables keeps
// its attributes in, Python's float repr, and files our writer makes read back by h5wasm and by pandas
// (equal to the DataFrame DeepLabCut builds), and DeepLabCut-style files pandas wrote read by us.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFrameH5Writer, Hdf5Error, productColumns, readFrameH5 } from '../../src/io/hdf5-dataframe.ts';
import { pickleText, unpickleText } from '../../src/io/pickle-text.ts';
import { PyFloat, tuple } from '../../src/io/py-values.ts';
import { pyFloatRepr } from '../../src/io/py-repr.ts';
import { HAS_PANDAS, python } from './python.ts';

const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-h5-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCORER = 'DLC_Resnet50_openfieldOct30shuffle1_snapshot_best-200';
const FRAME = productColumns(['scorer', 'bodyparts', 'coords'], [[SCORER], ['snout', 'leftear'], ['x', 'y', 'likelihood']]);

describe('protocol-0 pickles (PyTables attributes)', () => {
  it('writes what CPython writes for pandas attributes', () => {
    // Expected strings are CPython 3.11's pickle.dumps(value, 0), as found in a pandas-written .h5.
    expect(pickleText([])).toBe('(lp0\n.');
    expect(pickleText([tuple(0, 'index')])).toBe('(lp0\n(I0\nVindex\np1\ntp2\na.');
    expect(pickleText(['values_block_0'])).toBe('(lp0\nVvalues_block_0\np1\na.');
    expect(pickleText(null)).toBe('N.');
    expect(pickleText(tuple())).toBe('(t.');
    expect(pickleText(new Map<unknown, unknown>([[1, { names: ['scorer', 'bodyparts', 'coords'], type: 'MultiIndex' }], ['index', {}], ['values_block_0', {}]]))).toBe(
      '(dp0\nI1\n(dp1\nVnames\np2\n(lp3\nVscorer\np4\naVbodyparts\np5\naVcoords\np6\nasVtype\np7\nVMultiIndex\np8\nssVindex\np9\n(dp10\nsVvalues_block_0\np11\n(dp12\ns.',
    );
    // Repeated strings are memo GETs, as CPython's pickler does for the same string object.
    expect(pickleText([tuple('S', 'snout', 'x'), tuple('S', 'snout', 'y')])).toBe('(lp0\n(VS\np1\nVsnout\np2\nVx\np3\ntp4\na(g1\ng2\nVy\np5\ntp6\na.');
    expect(pickleText([true, 2 ** 40, new PyFloat(2), 0.5])).toBe('(lp0\nI01\naL1099511627776L\naF2.0\naF0.5\na.');
  });

  it('escapes to pure ASCII and reads its own output back', () => {
    const value = [tuple('é\u1234\n\\ 😀', 1, null), new Map<unknown, unknown>([['k', [1.5, -2]]])];
    const text = pickleText(value);
    expect(/^[\x20-\x7e\n]*$/.test(text)).toBe(true);
    const back = unpickleText(text) as unknown[];
    expect(back[0]).toEqual(['é\u1234\n\\ 😀', 1, null]);
    expect(Object.isFrozen(back[0])).toBe(true);
    expect(back[1]).toEqual(new Map([['k', [1.5, -2]]]));
    expect(() => unpickleText('(lp0\n')).toThrow(/truncated/);
  });

  it('formats floats as Python repr', () => {
    const cases: [number, string][] = [[0, '0.0'], [1, '1.0'], [1e-5, '1e-05'], [1e-4, '0.0001'], [1e16, '1e+16'], [1e15, '1000000000000000.0'], [-3.25e-7, '-3.25e-07'], [123.45600128173828, '123.45600128173828'], [NaN, 'nan']];
    for (const [v, s] of cases) expect(pyFloatRepr(v)).toBe(s);
  });
});

describe('DataFrameH5Writer', () => {
  const values = Float64Array.from({ length: 5 * 6 }, (_, i) => (i % 3 === 2 ? 1 / (i + 1) : 100 + i * 1.25));

  it('appends rows in batches; h5wasm reads columns, index and values back', async () => {
    const path = join(dir, 'ours.h5');
    const w = await DataFrameH5Writer.create(path, 'df_with_missing', FRAME);
    w.append(values.subarray(0, 12));
    w.append(values.subarray(12), 3);
    expect(w.rowCount).toBe(5);
    w.close();
    const back = await readFrameH5(path, 'df_with_missing');
    expect(back.levelNames).toEqual(['scorer', 'bodyparts', 'coords']);
    expect(back.columns).toEqual(FRAME.columns);
    expect(back.index).toEqual([0, 1, 2, 3, 4]);
    expect([...back.values]).toEqual([...values]);
  });

  it('refuses bad shapes and files that are not DataFrames', async () => {
    await expect(DataFrameH5Writer.create(join(dir, 'x.h5'), 'k', { levelNames: ['a'], columns: [['x']] })).rejects.toThrow(Hdf5Error);
    const w = await DataFrameH5Writer.create(join(dir, 'y.h5'), 'k', FRAME);
    expect(() => w.append(new Float64Array(7), 2)).toThrow(/7 values are not 2 rows of 6/);
    w.close();
    await expect(readFrameH5(join(dir, 'y.h5'), 'df_with_missing')).rejects.toThrow(/no DataFrame under key 'df_with_missing' \(keys: k\)/);
    await expect(readFrameH5(join(import.meta.dirname, 'hdf5-dataframe.test.ts'), 'k')).rejects.toThrow(/hdf5-dataframe\.test\.ts: not a readable HDF5 file/);
  });

  describe.skipIf(!HAS_PANDAS)('with pandas', () => {
    it('pandas.read_hdf gives the DataFrame DeepLabCut builds, and HDFStore sees a frame_table', async () => {
      const path = join(dir, 'pandas-reads.h5');
      const w = await DataFrameH5Writer.create(path, 'df_with_missing', FRAME);
      w.append(values);
      w.close();
      const out = python(
        `
import sys, json, numpy as np, pandas as pd
path, scorer, vals = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
df = pd.read_hdf(path)
cols = pd.MultiIndex.from_product([[scorer], ["snout", "leftear"], ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"])
ref = pd.DataFrame(np.array(vals, dtype=np.float64).reshape(5, 6), columns=cols, index=range(5))
assert df.equals(ref), (df, ref)
assert list(df.columns.names) == ["scorer", "bodyparts", "coords"]
assert (df.dtypes == np.float64).all()
assert list(df.index) == [0, 1, 2, 3, 4]
with pd.HDFStore(path, "r") as s:
    st = s.get_storer("df_with_missing")
    print(s.keys(), st.pandas_type, st.nrows, s.select("df_with_missing", start=3, stop=4).index[0])
`,
        path,
        SCORER,
        JSON.stringify([...values]),
      );
      expect(out.trim()).toBe("['/df_with_missing'] frame_table 5 3");
    });

    it('reads a DataFrame pandas wrote as DeepLabCut does (to_hdf format="table")', async () => {
      const path = join(dir, 'pandas-wrote.h5');
      python(
        `
import sys, numpy as np, pandas as pd
cols = pd.MultiIndex.from_product([[sys.argv[2]], ["snout", "leftear"], ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"])
pd.DataFrame(np.arange(24, dtype=np.float64).reshape(4, 6) / 7, columns=cols, index=range(4)).to_hdf(sys.argv[1], key="df_with_missing", format="table", mode="w")
`,
        path,
        SCORER,
      );
      const back = await readFrameH5(path, 'df_with_missing');
      expect(back.columns).toEqual(FRAME.columns);
      expect(back.levelNames).toEqual(['scorer', 'bodyparts', 'coords']);
      expect(back.index).toEqual([0, 1, 2, 3]);
      expect([...back.values]).toEqual(Array.from({ length: 24 }, (_, i) => i / 7));
    });
  });
});
