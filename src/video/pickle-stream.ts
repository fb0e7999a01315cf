// Pickles written a piece at a time, for files that grow with the video (_full.pickle, _assemblies.pickle):
// a protocol-2 dict whose entries are appended in MARK ... SETITEMS batches, each key and value pickled on
// its own by the project's writer (src/io/pickle-writer.ts) with its PROTO header and STOP cut off. The
// writer's only memo entries are the globals each value names (numpy's _reconstruct, dtype, ...): every
// value puts them before getting them, so a later value overwriting memo slot i never changes what an
// earlier one meant, and the spliced stream unpickles to the same dict as one big pickle. numpy arrays are
// written as numpy pickles them (ndarray.__reduce__: _reconstruct, then BUILD with the raw data).
import { closeSync, openSync, writeSync } from 'node:fs';
import { pickle } from '../io/pickle-writer.ts';
import { PyGlobal, PyReduce, tuple } from '../io/py-values.ts';

const OP = { PROTO: 0x80, EMPTY_DICT: 0x7d, MARK: 0x28, SETITEMS: 0x75, STOP: 0x2e } as const;
const BATCH = 1000; // entries per SETITEMS, as CPython batches them

export type NumpyDtype = 'f4' | 'f8' | 'i8';

/** A C-ordered numpy array of `shape` holding `values` (little endian). */
export function ndarray(dtype: NumpyDtype, shape: readonly number[], values: ArrayLike<number>): PyReduce {
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new Error(`ndarray: ${values.length} values for shape [${shape.join(', ')}]`);
  let bytes: Uint8Array;
  if (dtype === 'f4') bytes = new Uint8Array(Float32Array.from(values).buffer);
  else if (dtype === 'f8') bytes = new Uint8Array(Float64Array.from(values).buffer);
  else bytes = new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
  const npDtype = new PyReduce(new PyGlobal('numpy', 'dtype'), [dtype, false, true], tuple(3, '<', null, null, null, -1, -1, 0));
  return new PyReduce(
    new PyGlobal('numpy.core.multiarray', '_reconstruct'),
    [new PyGlobal('numpy', 'ndarray'), tuple(0), new Uint8Array([0x62])],
    tuple(1, tuple(...shape), npDtype, false, bytes),
  );
}

/** `value` pickled without the PROTO header and the STOP: a piece to splice into a stream. */
export function pickleFragment(value: unknown): Uint8Array {
  const full = pickle(value);
  return full.subarray(2, full.length - 1);
}

/** A pickled dict written entry by entry to a file. */
export class PickleDictFile {
  private fd: number;
  private batch: Uint8Array[] = [];
  private entries = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, Uint8Array.of(OP.PROTO, 2, OP.EMPTY_DICT));
  }

  /** Appends key: value. */
  set(key: unknown, value: unknown): void {
    this.setRaw(pickleFragment(key), pickleFragment(value));
  }

  /** Appends an entry whose key and value are already fragments (pickleFragment). */
  setRaw(key: Uint8Array, value: Uint8Array): void {
    this.batch.push(key, value);
    if (++this.entries % BATCH === 0) this.flush();
  }

  private flush(): void {
    if (!this.batch.length) return;
    writeSync(this.fd, Uint8Array.of(OP.MARK));
    for (const b of this.batch) writeSync(this.fd, b);
    writeSync(this.fd, Uint8Array.of(OP.SETITEMS));
    this.batch = [];
  }

  close(): void {
    this.flush();
    writeSync(this.fd, Uint8Array.of(OP.STOP));
    closeSync(this.fd);
    this.fd = -1;
  }

  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
