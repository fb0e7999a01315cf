// DeepLabCut reads labels from CollectedData_<scorer>.h5 (merge_annotateddatasets, DLCLoader), not from the CSV:
// the .h5 we write must be what pandas.read_hdf reads back to the DataFrame DeepLabCut gets from the CSV
// (pd.read_csv(header=[0..levels-1], index_col=[0, 1, 2])), for single- and multi-animal labels, NaN included.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDemoProject } from '../../src/demo/project.ts';
import { loadH5 } from '../../src/io/hdf5-dataframe.ts';
import { convertCsvToH5, labelsCsv, labelsTable, readProject, writeLabelsH5, type LabeledData } from '../../src/project/index.ts';
import { HAS_PANDAS, python } from '../video/python.ts';

const N = NaN;
const multi: LabeledData = {
  individuals: ['mouse1', 'mouse2'],
  bodyparts: ['snout', 'leftear', 'tailbase'],
  uniqueBodyparts: ['light'],
  frames: [
    { path: ['labeled-data', 'v1', 'img0002.png'], keypoints: [[[10.5, 20.25], [N, N], [30, 40]], [[N, N], [N, N], [N, N]]], unique: [[5, 6]] },
    { path: ['labeled-data', 'v1', 'img0010.png'], keypoints: [[[1, 2], [3, 4], [5, 6]], [[7.125, 8], [9, 10], [11, 12]]], unique: [[N, N]] },
  ],
};
const single: LabeledData = {
  individuals: ['individual_1'],
  bodyparts: ['snout', 'tailbase'],
  uniqueBodyparts: [],
  frames: [
    { path: ['labeled-data', 'v', 'a.png'], keypoints: [[[1.5, 2.5], [N, N]]], unique: [] },
    { path: ['labeled-data', 'v', 'b.png'], keypoints: [[[3, 4], [5, 6]]], unique: [] },
  ],
};

const COMPARE = `
import sys, pandas as pd
h5, csv, levels = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = pd.read_hdf(h5)
b = pd.read_csv(csv, header=list(range(levels)), index_col=[0, 1, 2])
assert list(a.columns) == list(b.columns), (list(a.columns), list(b.columns))
assert list(a.columns.names) == list(b.columns.names), (a.columns.names, b.columns.names)
assert list(a.index) == list(b.index), (list(a.index), list(b.index))
pd.testing.assert_frame_equal(a, b.astype("float64"), check_names=False)
print(len(a), len(a.columns), a.isna().sum().sum())
`;

describe("CollectedData .h5 in pandas' fixed format (what DeepLabCut reads)", () => {
  it('lays the table out as pandas does: sorted levels, codes, [columns][rows] values, unnamed row levels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-labels-h5-'));
    const path = join(dir, 'CollectedData_me.h5');
    await writeLabelsH5(path, 'me', multi, true);
    expect(readdirSync(dir)).toEqual(['CollectedData_me.h5']);
    const h5 = await loadH5();
    const f = new h5.File(path, 'r');
    try {
      const g = f.get('df_with_missing') as InstanceType<typeof h5.Group>;
      expect(g.attrs.pandas_type!.value).toBe('frame');
      expect(Number(g.attrs.axis0_nlevels!.value)).toBe(4);
      expect(Number(g.attrs.axis1_nlevels!.value)).toBe(3);
      const level = (k: string) => (f.get(`df_with_missing/${k}`) as InstanceType<typeof h5.Dataset>).value;
      expect(level('axis0_level1')).toEqual(['mouse1', 'mouse2', 'single']);
      expect(level('axis0_level2')).toEqual(['leftear', 'light', 'snout', 'tailbase']);
      expect([...(level('axis0_label2') as Int8Array)].slice(0, 6)).toEqual([2, 2, 0, 0, 3, 3]);
      expect(level('axis1_level2')).toEqual(['img0002.png', 'img0010.png']);
      const values = f.get('df_with_missing/block0_values') as InstanceType<typeof h5.Dataset>;
      expect(values.shape).toEqual([14, 2]);
      const v = values.value as Float64Array;
      expect([v[0], v[1], v[2], v[3]]).toEqual([10.5, 1, 20.25, 2]);
      expect(Number.isNaN(v[4]!)).toBe(true);
    } finally {
      f.close();
    }
    const table = labelsTable('me', multi, true);
    expect(table.columns.at(-1)).toEqual(['me', 'single', 'light', 'y']);
  });

  it.skipIf(!HAS_PANDAS)('pandas.read_hdf gives the DataFrame pandas reads from our CSV: multi-animal with unique bodyparts, and single-animal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-labels-h5-'));
    for (const [name, data, levels, multiAnimal] of [['multi', multi, 4, true], ['single', single, 3, false]] as const) {
      const h5 = join(dir, `${name}.h5`);
      const csv = join(dir, `${name}.csv`);
      writeFileSync(csv, labelsCsv('me', data, multiAnimal));
      await writeLabelsH5(h5, 'me', data, multiAnimal);
      const [rows, cols, nans] = python(COMPARE, h5, csv, String(levels)).trim().split(' ').map(Number);
      expect([rows, cols]).toEqual([2, multiAnimal ? 14 : 4]);
      expect(nans).toBe(multiAnimal ? 10 : 2);
    }
  });

  it('convertCsvToH5 writes the .h5 beside each labeled-data CSV of a project (the demo project, 4-row header)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-labels-h5-'));
    const config = writeDemoProject(join(dir, 'p'), { frames: 4, width: 64, height: 64, seed: 1, trainFraction: 0.75, animals: 2 });
    const project = readProject(config);
    const written = await convertCsvToH5(project);
    expect(written).toHaveLength(1);
    expect(written[0]!.endsWith(`CollectedData_${project.scorer}.h5`)).toBe(true);
    if (HAS_PANDAS) {
      const out = python(COMPARE, written[0]!, written[0]!.replace(/\.h5$/, '.csv'), '4');
      expect(out.trim().split(' ').slice(0, 2).map(Number)).toEqual([4, 2 * project.individuals.length * project.bodyparts.length]);
    }
  });
});
