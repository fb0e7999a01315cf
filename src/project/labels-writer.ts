// Writes merged labels as DeepLabCut's CollectedData files: the CSV (three index columns, as pandas writes a
// MultiIndex) and the HDF5 file DeepLabCut itself reads (pandas' fixed format under "df_with_missing", as
// convertcsv2h5 and create_training_dataset write it). Both come from one table.
import { renameSync, rmSync } from 'node:fs';
import { writeFixedFrameH5, type FixedFrame } from '../io/hdf5-fixed-frame.ts';
import { formatCsvField } from './csv.ts';
import type { LabeledData } from './labeled-data.ts';

const num = (x: number) => (Number.isNaN(x) ? '' : String(x));

/** The labels as DeepLabCut's DataFrame: columns scorer / [individuals] / bodyparts / coords (x, y), rows
 * indexed by the image path's last three parts (labeled-data, video, image). */
export function labelsTable(scorer: string, data: LabeledData, multiAnimal?: boolean): FixedFrame {
  // A multi-animal project has the individuals level even with one individual; otherwise guess from the data.
  const multi = multiAnimal ?? (data.individuals.length > 1 || data.uniqueBodyparts.length > 0);
  const pairs: { individual: string; bodypart: string }[] = [];
  for (const individual of multi ? data.individuals : [data.individuals[0]!]) {
    for (const bodypart of data.bodyparts) pairs.push({ individual, bodypart });
  }
  for (const bodypart of data.uniqueBodyparts) pairs.push({ individual: 'single', bodypart });
  const columns = pairs.flatMap(({ individual, bodypart }) =>
    ['x', 'y'].map((c) => (multi ? [scorer, individual, bodypart, c] : [scorer, bodypart, c])),
  );
  const values = new Float64Array(data.frames.length * columns.length);
  const index = data.frames.map((frame, r) => {
    const points = multi ? [...frame.keypoints.flat(), ...frame.unique] : frame.keypoints[0]!;
    points.forEach(([x, y], k) => values.set([x, y], r * columns.length + 2 * k));
    const cells = [...frame.path.slice(-3)];
    while (cells.length < 3) cells.unshift('');
    return cells;
  });
  return { levelNames: multi ? ['scorer', 'individuals', 'bodyparts', 'coords'] : ['scorer', 'bodyparts', 'coords'], columns, index, values };
}

export function labelsCsv(scorer: string, data: LabeledData, multiAnimal?: boolean): string {
  return frameCsv(labelsTable(scorer, data, multiAnimal));
}

/** A labels DataFrame as pandas' to_csv writes it: one header row per column level, three index columns. */
export function frameCsv(table: FixedFrame): string {
  const pad = ['', ''];
  const lines = table.levelNames.map((name, level) => [name, ...pad, ...table.columns.map((c) => c[level]!)].map(formatCsvField).join(','));
  const width = table.columns.length;
  table.index.forEach((cells, r) => {
    const row = Array.from(table.values.subarray(r * width, (r + 1) * width), num);
    lines.push([...cells.map(formatCsvField), ...row].join(','));
  });
  return `${lines.join('\n')}\n`;
}

/** Writes `path` (CollectedData_<scorer>.h5) through a temporary name, so a failed write leaves no half file. */
export async function writeLabelsH5(path: string, scorer: string, data: LabeledData, multiAnimal?: boolean): Promise<void> {
  const partial = `${path}.partial`;
  try {
    await writeFixedFrameH5(partial, 'df_with_missing', labelsTable(scorer, data, multiAnimal));
    renameSync(partial, path);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
}
