// A float64 pandas DataFrame with MultiIndex columns and a MultiIndex (string) index in HDF5, laid out as
// `df.to_hdf(path, key, mode="w")` writes it in pandas' default "fixed" format through PyTables: what
// DeepLabCut writes for its label files (CollectedData_<scorer>.h5 in labeled-data/ and training-datasets/,
// by convertcsv2h5, the labelling GUIs and create_training_dataset), and what its create_training_dataset and
// training read back with pandas.read_hdf.
//
// The layout (pandas io/pytables.py FrameFixed / GenericFixed, checked against files pandas 1.5 writes):
//   /<key> group: pandas_type "frame", pandas_version, encoding, errors, ndim 2, nblocks 1,
//     axis0_* (columns), axis1_* (index) and block0_items_* (the block's columns) as MultiIndexes:
//     <axis>_variety "multi", <axis>_nlevels, then per level i:
//       <axis>_level<i>: the level's sorted unique labels as fixed-length byte strings (kind "string", name),
//       <axis>_label<i>: each entry's code into that level (int8/int16/int32, the smallest that fits);
//   /<key>/block0_values: the values, [columns][rows] on disk, which pandas reads back transposed.
// PyTables keeps non-string attributes (a level name of None) as protocol-0 pickles ("N.").
// Everything is written in one call: label files are small.
import { createPandasFile, Hdf5Error, loadH5, PANDAS_VERSION, setI64, setString } from './hdf5-dataframe.ts';
import { pickleText } from './pickle-text.ts';

type H5 = Awaited<ReturnType<typeof loadH5>>;
type H5Group = InstanceType<H5['Group']>;
type H5Dataset = InstanceType<H5['Dataset']>;

export interface FixedFrame {
  /** Column level names (scorer, [individuals,] bodyparts, coords). */
  levelNames: readonly string[];
  /** One label per level for each column. */
  columns: readonly (readonly string[])[];
  /** One label per index level for each row (DeepLabCut: labeled-data, video, image; one label: a plain Index);
   * index levels are unnamed. */
  index: readonly (readonly string[])[];
  /** rows x columns, row-major; NaN for a missing value. */
  values: Float64Array;
}

const utf8 = new TextEncoder();

/** A UTF-8 string attribute (PyTables reads it back as str; an ASCII one comes back as bytes, which pandas'
 * fixed-format reader does not decode for `encoding`). */
function setText(node: H5Group | H5Dataset, name: string, value: string): void {
  node.create_attribute(name, value, null, `S${Math.max(1, utf8.encode(value).length)}`);
}

function arrayAttributes(node: H5Dataset): void {
  setString(node, 'CLASS', 'ARRAY');
  setString(node, 'FLAVOR', 'numpy');
  setString(node, 'TITLE', '');
  setString(node, 'VERSION', '2.4');
}

/** pandas' MultiIndex of `tuples`: per level, the sorted unique labels and each tuple's code. */
function factorize(tuples: readonly (readonly string[])[], levels: number): { labels: string[]; codes: number[] }[] {
  return Array.from({ length: levels }, (_, l) => {
    const labels = [...new Set(tuples.map((t) => t[l]!))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const at = new Map(labels.map((v, i) => [v, i]));
    return { labels, codes: tuples.map((t) => at.get(t[l]!)!) };
  });
}

function codesDtype(n: number): { dtype: string; array: (codes: number[]) => Int8Array | Int16Array | Int32Array } {
  if (n <= 127) return { dtype: '<b', array: (c) => Int8Array.from(c) };
  if (n <= 32767) return { dtype: '<h', array: (c) => Int16Array.from(c) };
  return { dtype: '<i', array: (c) => Int32Array.from(c) };
}

/** A one-level index of strings (pandas' "regular" variety), unnamed: e.g. analyze_images' image paths. */
function writeRegularIndex(group: H5Group, key: string, labels: readonly string[]): void {
  setText(group, `${key}_variety`, 'regular');
  const width = Math.max(1, ...labels.map((v) => utf8.encode(v).length));
  const node = group.create_dataset({ name: key, data: [...labels], shape: [labels.length], dtype: `A${width}` });
  arrayAttributes(node);
  setText(node, 'kind', 'string');
  setString(node, 'name', pickleText(null));
}

function writeMultiIndex(group: H5Group, key: string, tuples: readonly (readonly string[])[], names: readonly (string | null)[]): void {
  setText(group, `${key}_variety`, 'multi');
  setI64(group, `${key}_nlevels`, names.length);
  factorize(tuples, names.length).forEach(({ labels, codes }, i) => {
    const width = Math.max(1, ...labels.map((v) => utf8.encode(v).length));
    const level = group.create_dataset({ name: `${key}_level${i}`, data: labels, shape: [labels.length], dtype: `A${width}` });
    arrayAttributes(level);
    const name = names[i] ?? null;
    setText(level, 'kind', 'string');
    if (name === null) setString(level, 'name', pickleText(null));
    else setText(level, 'name', name);
    if (name === null) setString(level, `${key}_nameNone`, pickleText(null));
    else setText(level, `${key}_name${name}`, name);
    const { dtype, array } = codesDtype(labels.length);
    const codeSet = group.create_dataset({ name: `${key}_label${i}`, data: array(codes), shape: [codes.length], dtype });
    arrayAttributes(codeSet);
  });
}

/** Writes (replaces) `path` holding `frame` under `key`, in pandas' fixed format. */
export async function writeFixedFrameH5(path: string, key: string, frame: FixedFrame): Promise<void> {
  const h5 = await loadH5();
  const width = frame.columns.length;
  const rows = frame.index.length;
  if (frame.values.length !== rows * width) throw new Hdf5Error(path, `${frame.values.length} values are not ${rows} rows of ${width} columns`);
  const indexLevels = frame.index[0]?.length ?? 1;
  for (const r of frame.index) if (r.length !== indexLevels) throw new Hdf5Error(path, `index entry (${r.join(', ')}) does not have ${indexLevels} levels`);
  const seen = new Set(frame.columns.map((c) => c.join('\u0000')));
  if (seen.size !== width) throw new Hdf5Error(path, 'the columns must be unique (pandas\' fixed format requires it)');
  const { file, group } = createPandasFile(h5, path, key, frame);
  try {
    setText(group, 'pandas_type', 'frame');
    setText(group, 'pandas_version', PANDAS_VERSION);
    setText(group, 'encoding', 'UTF-8');
    setText(group, 'errors', 'strict');
    setI64(group, 'ndim', 2);
    writeMultiIndex(group, 'axis0', frame.columns, frame.levelNames);
    // One label per row: a regular Index (pandas reads a one-level MultiIndex back as a MultiIndex).
    if (indexLevels === 1) writeRegularIndex(group, 'axis1', frame.index.map((r) => r[0]!));
    else writeMultiIndex(group, 'axis1', frame.index, Array.from({ length: indexLevels }, () => null));
    setI64(group, 'nblocks', 1);
    // pandas keeps a block as [columns][rows] and writes it transposed (with a `transposed` flag): storing the
    // [columns][rows] array itself reads back to the same DataFrame.
    const block = new Float64Array(rows * width);
    for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) block[c * rows + r] = frame.values[r * width + c]!;
    const values = group.create_dataset({ name: 'block0_values', data: block, shape: [width, rows], dtype: '<d' });
    arrayAttributes(values);
    writeMultiIndex(group, 'block0_items', frame.columns, frame.levelNames);
    file.flush();
  } catch (e) {
    throw e instanceof Hdf5Error ? e : new Hdf5Error(path, (e as Error).message);
  } finally {
    file.close();
  }
}
