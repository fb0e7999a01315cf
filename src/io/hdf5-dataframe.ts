// A float64 pandas DataFrame with MultiIndex columns and an integer index in HDF5, laid out as
// `df.to_hdf(path, key, format="table")` writes it through PyTables (what DeepLabCut's analyze_videos
// writes, and what pandas.read_hdf reads back): a group `/<key>` with pandas' attributes, holding a table
// `/<key>/table` of rows {index: int64, values_block_0: float64[ncols]}. PyTables keeps the attributes
// that are Python objects (column tuples, level names) as protocol-0 pickles in ASCII strings
// (pickle-text.ts). Rows are appended in batches to a chunked, extendable table, so a long video's
// results never sit in memory. One thing pandas writes is left out: PyTables' optional search index on the
// `index` column (the `_i_table` group), which only speeds up `where=` queries.
//
// HDF5 itself is the HDF Group's library compiled to WebAssembly (h5wasm, NODERAWFS: it reads and writes
// host files directly). h5wasm's high-level writer cannot fill compound members that are arrays, so
// table rows are packed here and handed to its module's create/write calls, which do support them.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { pickleText, unpickleText } from './pickle-text.ts';
import { isTuple, tuple } from './py-values.ts';

type H5 = typeof import('h5wasm/node');
type H5File = InstanceType<H5['File']>;
type H5Group = InstanceType<H5['Group']>;
type H5Dataset = InstanceType<H5['Dataset']>;

let h5: Promise<H5> | null = null;
/** The WebAssembly module, instantiated once per process. */
export async function loadH5(): Promise<H5> {
  h5 ??= import('h5wasm/node').then(async (m) => {
    await m.ready;
    return m;
  });
  return h5;
}

export class Hdf5Error extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'Hdf5Error';
  }
}

/** Column labels as pandas tuples: each column one label per level. */
export interface FrameColumns {
  levelNames: readonly string[];
  columns: readonly (readonly string[])[];
}

/** pandas' MultiIndex.from_product. */
export function productColumns(levelNames: readonly string[], levels: readonly (readonly string[])[]): FrameColumns {
  let columns: string[][] = [[]];
  for (const level of levels) columns = columns.flatMap((c) => level.map((v) => [...c, v]));
  return { levelNames, columns };
}

export const PANDAS_VERSION = '0.15.2'; // what pandas (every version since 0.15.2) stamps on table-format groups
const CHUNK_BYTES = 65536; // PyTables' chunks for such tables hold about 64 KiB of rows
const H5S_UNLIMITED = 2n ** 64n - 1n; // HDF5's unlimited extent (h5wasm does not export it)

export function setString(node: H5Group | H5Dataset, name: string, value: string): void {
  // Fixed-length, NUL-terminated ASCII strings, as PyTables' H5ATTRset_attribute_string; an empty string
  // still takes one byte.
  const bytes = new TextEncoder().encode(value).length;
  node.create_attribute(name, value, null, `A${Math.max(1, bytes)}`);
}

export function setI64(node: H5Group | H5Dataset, name: string, value: number): void {
  node.create_attribute(name, BigInt64Array.of(BigInt(value)), [], '<q');
}

function setF64(node: H5Group | H5Dataset, name: string, value: number): void {
  node.create_attribute(name, Float64Array.of(value), [], '<d');
}

/**
 * A new HDF5 file as PyTables lays it out for pandas (root and `/<key>` group attributes), after checking that
 * `frame` has columns with one label per level. The caller closes the file.
 */
export function createPandasFile(h5: H5, path: string, key: string, frame: FrameColumns): { file: H5File; group: H5Group } {
  if (!frame.columns.length) throw new Hdf5Error(path, 'a DataFrame needs at least one column');
  for (const c of frame.columns) if (c.length !== frame.levelNames.length) throw new Hdf5Error(path, `column (${c.join(', ')}) does not have one label per level (${frame.levelNames.join(', ')})`);
  let file: H5File;
  try {
    file = new h5.File(path, 'w');
  } catch (e) {
    throw new Hdf5Error(path, `cannot create the file (${(e as Error).message})`);
  }
  try {
    const root = file.get('/') as H5Group;
    setString(root, 'CLASS', 'GROUP');
    setString(root, 'PYTABLES_FORMAT_VERSION', '2.1');
    setString(root, 'TITLE', '');
    setString(root, 'VERSION', '1.0');
    const group = file.create_group(key);
    setString(group, 'CLASS', 'GROUP');
    setString(group, 'TITLE', '');
    setString(group, 'VERSION', '1.0');
    return { file, group };
  } catch (e) {
    file.close();
    throw e instanceof Hdf5Error ? e : new Hdf5Error(path, (e as Error).message);
  }
}

/** Streams rows of a float64 DataFrame into a new HDF5 file in pandas' table format. */
export class DataFrameH5Writer {
  private rows = 0;
  private closed = false;

  private constructor(
    private readonly h5: H5,
    private readonly file: H5File,
    private readonly table: H5Dataset,
    readonly path: string,
    readonly width: number,
  ) {}

  /** Creates (truncates) `path` with an empty table under `key`. */
  static async create(path: string, key: string, frame: FrameColumns): Promise<DataFrameH5Writer> {
    const h5 = await loadH5();
    const width = frame.columns.length;
    if (frame.levelNames.length < 2) throw new Hdf5Error(path, 'only MultiIndex columns (two or more levels) are written');
    const { file, group } = createPandasFile(h5, path, key, frame);
    try {
      const labels = frame.columns.map((c) => tuple(...c));
      setString(group, 'data_columns', pickleText([]));
      setString(group, 'encoding', 'UTF-8');
      setString(group, 'errors', 'strict');
      setString(group, 'index_cols', pickleText([tuple(0, 'index')]));
      const axisInfo = { names: [...frame.levelNames], type: 'MultiIndex' };
      const blockInfo = labels.map((_, i): [string, object] => [`values_block_${i}`, {}]);
      setString(group, 'info', pickleText(new Map<unknown, unknown>([[1, axisInfo], ['index', {}], ...blockInfo])));
      setI64(group, 'levels', 1);
      setString(group, 'nan_rep', 'nan');
      setString(group, 'non_index_axes', pickleText([tuple(1, labels)]));
      setString(group, 'pandas_type', 'frame_table');
      setString(group, 'pandas_version', PANDAS_VERSION);
      setString(group, 'table_type', 'appendable_frame');

      // One float64 field per column (values_block_<i>, a block of one column each): pandas reads such a
      // table back to the same DataFrame as its own single [ncols] block, and h5wasm can create it.
      const blocks = labels.map((_, i) => `values_block_${i}`);
      setString(group, 'values_cols', pickleText(blocks));
      const metadata = h5.dtype_to_metadata([['index', '<q'], ...blocks.map((b): [string, string] => [b, '<d'])]);
      const chunk = Math.max(1, Math.floor(CHUNK_BYTES / (8 + 8 * width)));
      h5.Module.create_dataset(file.file_id, `/${key}/table`, 0n, {
        ...metadata,
        shape: [0n],
        maxshape: [H5S_UNLIMITED],
        chunks: [BigInt(chunk)],
        compression: 0,
        compression_opts: [],
        track_order: false,
      } as never);
      const table = file.get(`${key}/table`) as H5Dataset;
      setString(table, 'CLASS', 'TABLE');
      setI64(table, 'FIELD_0_FILL', 0);
      setString(table, 'FIELD_0_NAME', 'index');
      blocks.forEach((b, i) => {
        setF64(table, `FIELD_${i + 1}_FILL`, 0);
        setString(table, `FIELD_${i + 1}_NAME`, b);
      });
      setI64(table, 'NROWS', 0);
      setString(table, 'TITLE', '');
      setString(table, 'VERSION', '2.7');
      setString(table, 'index_kind', 'integer');
      blocks.forEach((b, i) => {
        setString(table, `${b}_dtype`, 'float64');
        setString(table, `${b}_kind`, pickleText([labels[i]]));
        setString(table, `${b}_meta`, pickleText(null));
      });
      file.flush();
      return new DataFrameH5Writer(h5, file, table, path, width);
    } catch (e) {
      file.close();
      throw e instanceof Hdf5Error ? e : new Hdf5Error(path, (e as Error).message);
    }
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Appends rows with the next index values (0, 1, ...): `values` holds `count` rows of `width` cells. */
  append(values: Float64Array, count = values.length / this.width): void {
    if (this.closed) throw new Hdf5Error(this.path, 'append after close');
    if (!Number.isInteger(count) || values.length < count * this.width) throw new Hdf5Error(this.path, `append: ${values.length} values are not ${count} rows of ${this.width}`);
    if (count === 0) return;
    const rowBytes = 8 + 8 * this.width;
    const packed = new ArrayBuffer(count * rowBytes);
    const view = new DataView(packed);
    for (let r = 0; r < count; r++) {
      const o = r * rowBytes;
      view.setBigInt64(o, BigInt(this.rows + r), true);
      for (let c = 0; c < this.width; c++) view.setFloat64(o + 8 + 8 * c, values[r * this.width + c]!, true);
    }
    const M = this.h5.Module;
    this.table.resize([this.rows + count]);
    const ptr = M._malloc(packed.byteLength);
    if (!ptr) throw new Hdf5Error(this.path, `out of WebAssembly memory for ${count} rows`);
    try {
      M.HEAPU8.set(new Uint8Array(packed), ptr);
      M.set_dataset_data(this.table.file_id, this.table.path, [BigInt(count)], [BigInt(this.rows)], [1n], BigInt(ptr));
    } finally {
      M._free(ptr);
    }
    this.rows += count;
  }

  /** Records the row count and closes the file. */
  close(): void {
    if (this.closed) return;
    this.table.delete_attribute('NROWS');
    setI64(this.table, 'NROWS', this.rows);
    this.closed = true;
    this.file.close();
  }

  /** Closes without finishing (the caller removes the file). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.file.close();
    } catch {
      // the file is being thrown away
    }
  }
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5's superblock signature, at 0 or after a user block of 512 * 2^n bytes (h5wasm opens anything). */
export function hasHdf5Signature(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Hdf5Error(path, `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(8);
    for (let at = 0; at + 8 <= size; at = at ? at * 2 : 512) {
      readSync(fd, buf, 0, 8, at);
      if (SIGNATURE.every((b, i) => buf[i] === b)) return true;
      if (at > 1 << 20) break;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** A table-format DataFrame read back: columns, index and row-major values. */
export interface H5Frame extends FrameColumns {
  index: number[];
  values: Float64Array;
}

export function stringAttr(node: H5Group | H5Dataset, name: string, file: string): string {
  const a = node.attrs[name];
  if (!a) throw new Hdf5Error(file, `${node.path} has no '${name}' attribute (not a pandas table-format DataFrame)`);
  const v = a.value;
  if (typeof v !== 'string') throw new Hdf5Error(file, `${node.path}: attribute '${name}' is not a string`);
  return v;
}

/**
 * Opens a pandas table-format DataFrame of float64 values (DeepLabCut's analyze_videos .h5) and reads
 * its rows in slices: `rows(start, end)` gives [end - start][width] row-major values.
 */
export async function openFrameH5(
  path: string,
  key: string,
): Promise<FrameColumns & { rowCount: number; rows(start: number, end: number): Float64Array; index(start: number, end: number): number[]; indexLabels(start: number, end: number): (number | string)[]; close(): void }> {
  const h5 = await loadH5();
  if (!hasHdf5Signature(path)) throw new Hdf5Error(path, 'not a readable HDF5 file (no HDF5 signature)');
  let file: H5File;
  try {
    file = new h5.File(path, 'r');
  } catch (e) {
    throw new Hdf5Error(path, `not a readable HDF5 file (${(e as Error).message})`);
  }
  try {
    const group = file.get(key);
    if (!(group instanceof h5.Group)) throw new Hdf5Error(path, `no DataFrame under key '${key}' (keys: ${file.keys().join(', ') || 'none'})`);
    const table = group.get('table');
    if (!(table instanceof h5.Dataset)) throw new Hdf5Error(path, `'${key}' is not in pandas' table format (no ${key}/table)`);
    // Columns are the blocks' labels in order: DeepLabCut's files have one block of all columns, ours one
    // block per column.
    const blocks = unpickleText(stringAttr(group, 'values_cols', path));
    if (!Array.isArray(blocks) || !blocks.length) throw new Hdf5Error(path, 'values_cols is not a list of value blocks');
    const columns: string[][] = [];
    for (const b of blocks) {
      const kind = unpickleText(stringAttr(table, `${String(b)}_kind`, path));
      if (!Array.isArray(kind)) throw new Hdf5Error(path, `${String(b)}_kind is not a list of column labels`);
      for (const c of kind) columns.push(isTuple(c) ? c.map(String) : [String(c)]);
    }
    const info = unpickleText(stringAttr(group, 'info', path));
    const axis = info instanceof Map ? info.get(1) : undefined;
    const names = axis instanceof Map ? axis.get('names') : undefined;
    const levelNames = Array.isArray(names) ? names.map(String) : columns[0]!.map((_, i) => `level_${i}`);
    const members = table.metadata.compound_type?.members ?? [];
    if (members[0]?.name !== 'index' || members.slice(1).map((m) => m.name).join() !== blocks.join())
      throw new Hdf5Error(path, `${key}/table has fields ${members.map((m) => m.name).join(', ')}, expected index, ${blocks.join(', ')}`);
    const width = columns.length;
    const rowCount = Number(table.shape![0]);
    const slice = (start: number, end: number) => {
      const s = Math.max(0, start);
      const e = Math.min(rowCount, end);
      return e > s ? (table.slice([[s, e]]) as unknown as (bigint | number | ArrayLike<number>)[][]) : [];
    };
    return {
      levelNames,
      columns,
      rowCount,
      rows(start, end) {
        const got = slice(start, end);
        const out = new Float64Array(got.length * width);
        got.forEach((row, r) => {
          let o = r * width;
          for (const cell of row.slice(1)) {
            if (typeof cell === 'number') out[o++] = cell;
            else {
              out.set(cell as ArrayLike<number>, o);
              o += (cell as ArrayLike<number>).length;
            }
          }
          if (o !== (r + 1) * width) throw new Hdf5Error(path, `row ${r} holds ${o - r * width} values, expected ${width}`);
        });
        return out;
      },
      index(start, end) {
        return slice(start, end).map((row) => Number(row[0] as bigint | number));
      },
      indexLabels(start, end) {
        return slice(start, end).map((row) => (typeof row[0] === 'string' ? row[0] : Number(row[0] as bigint | number)));
      },
      close: () => file.close(),
    };
  } catch (e) {
    file.close();
    throw e instanceof Hdf5Error ? e : new Hdf5Error(path, (e as Error).message);
  }
}

/** Reads a whole table-format DataFrame (small files; tests). */
export async function readFrameH5(path: string, key: string): Promise<H5Frame> {
  const f = await openFrameH5(path, key);
  try {
    return { levelNames: f.levelNames, columns: f.columns, index: f.index(0, f.rowCount), values: f.rows(0, f.rowCount) };
  } finally {
    f.close();
  }
}
