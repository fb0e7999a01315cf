// Reads the small float64 DataFrames DeepLabCut keeps its labels in (CollectedData_<scorer>.h5) in either layout
// pandas writes: the default fixed format (convertcsv2h5, napari-deeplabcut, DeepLabCut >= 2.2: MultiIndex rows
// (labeled-data, video, image)) or the table format of older projects (rows indexed by the image path as one
// string, as openfield's file). See hdf5-fixed-frame.ts for the fixed layout.
import { hasHdf5Signature, Hdf5Error, loadH5, openFrameH5 } from './hdf5-dataframe.ts';
import type { FixedFrame } from './hdf5-fixed-frame.ts';

type H5 = Awaited<ReturnType<typeof loadH5>>;
type H5Group = InstanceType<H5['Group']>;
type H5Dataset = InstanceType<H5['Dataset']>;

const text = (v: unknown): string => (v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v));

/** An image path stored as one string (either separator, as DeepLabCut's conversion accepts) -> its parts. */
const pathParts = (label: unknown): string[] => text(label).split(/[\\/]/);

function attr(node: H5Group | H5Dataset, name: string): unknown {
  return node.attrs[name]?.value;
}

/** A fixed-format Index or MultiIndex under `key` (axis0, axis1, block0_items): one label tuple per entry. */
function readIndex(group: H5Group, key: string, path: string): string[][] {
  const variety = text(attr(group, `${key}_variety`));
  const get = (name: string) => {
    const d = group.get(name);
    if (!d || !('value' in d)) throw new Hdf5Error(path, `${group.path}/${name} is missing`);
    return (d as H5Dataset).value as unknown;
  };
  if (variety === 'regular') return Array.from(get(key) as ArrayLike<unknown>, (v) => [text(v)]);
  if (variety !== 'multi') throw new Hdf5Error(path, `${group.path}: ${key}_variety is '${variety}', expected 'multi' or 'regular'`);
  const levels = Number(attr(group, `${key}_nlevels`));
  const labels = Array.from({ length: levels }, (_, i) => Array.from(get(`${key}_level${i}`) as ArrayLike<unknown>, text));
  const codes = Array.from({ length: levels }, (_, i) => Array.from(get(`${key}_label${i}`) as ArrayLike<number | bigint>, Number));
  return codes[0]!.map((_, r) => codes.map((c, l) => (c[r]! < 0 ? '' : labels[l]![c[r]!]!)));
}

function levelNames(group: H5Group, key: string, levels: number): string[] {
  return Array.from({ length: levels }, (_, i) => {
    const node = group.get(`${key}_level${i}`) as H5Dataset | null;
    const name = node ? attr(node, 'name') : undefined;
    return typeof name === 'string' && name !== 'N.' ? name : `level_${i}`;
  });
}

/**
 * The DataFrame in `path` under `key` (default: the file's only group, as pandas.read_hdf picks it). Rows are
 * returned as path parts: a MultiIndex row as its labels, a string row split at '/' or '\'.
 */
export async function readDataFrameH5(path: string, key?: string): Promise<FixedFrame> {
  const h5 = await loadH5();
  if (!hasHdf5Signature(path)) throw new Hdf5Error(path, 'not a readable HDF5 file (no HDF5 signature)');
  let file: InstanceType<H5['File']>;
  try {
    file = new h5.File(path, 'r');
  } catch (e) {
    throw new Hdf5Error(path, `not a readable HDF5 file (${(e as Error).message})`);
  }
  let name: string;
  let type: string;
  try {
    const keys = file.keys();
    name = key ?? (keys.length === 1 ? keys[0]! : '');
    if (!name) throw new Hdf5Error(path, `holds ${keys.length} keys (${keys.join(', ') || 'none'}); expected one DataFrame`);
    const group = file.get(name);
    if (!(group instanceof h5.Group)) throw new Hdf5Error(path, `no DataFrame under key '${name}' (keys: ${keys.join(', ') || 'none'})`);
    type = text(attr(group, 'pandas_type'));
    if (type === 'frame') {
      if (Number(attr(group, 'nblocks')) !== 1) throw new Hdf5Error(path, `'${name}' has ${String(attr(group, 'nblocks'))} value blocks; label files have one block of float64 values`);
      const columns = readIndex(group, 'axis0', path);
      const index = readIndex(group, 'axis1', path).map((r) => (r.length === 1 ? pathParts(r[0]) : r));
      const block = group.get('block0_values') as H5Dataset;
      const items = readIndex(group, 'block0_items', path);
      if (items.map((c) => c.join('\u0000')).join('\u0001') !== columns.map((c) => c.join('\u0000')).join('\u0001')) {
        throw new Hdf5Error(path, `'${name}': the value block's columns are not the frame's columns in order`);
      }
      const raw = block.value as Float64Array | Float32Array;
      const [a, b] = (block.shape ?? []).map(Number);
      const rows = index.length;
      const width = columns.length;
      // pandas writes the [columns][rows] block transposed to [rows][columns] (attribute transposed = True).
      const transposed = Boolean((attr(block, 'transposed') as ArrayLike<number> | undefined)?.[0] ?? attr(block, 'transposed'));
      const values = new Float64Array(rows * width);
      if (transposed && a === rows && b === width) values.set(raw);
      else if (!transposed && a === width && b === rows) for (let c = 0; c < width; c++) for (let r = 0; r < rows; r++) values[r * width + c] = raw[c * rows + r]!;
      else throw new Hdf5Error(path, `'${name}/block0_values' is ${a}x${b}, not ${rows} rows by ${width} columns`);
      const levels = Number(attr(group, 'axis0_nlevels') ?? 1);
      return { levelNames: levelNames(group, 'axis0', levels), columns, index, values };
    }
  } finally {
    file.close();
  }
  if (type !== 'frame_table') throw new Hdf5Error(path, `'${name}' is a pandas '${type}', not a DataFrame`);
  const table = await openFrameH5(path, name);
  try {
    return { levelNames: table.levelNames, columns: table.columns, index: table.indexLabels(0, table.rowCount).map(pathParts), values: table.rows(0, table.rowCount) };
  } finally {
    table.close();
  }
}
