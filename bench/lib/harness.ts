// The project's benches use the package's harness (src/bench/harness.ts, exported as dlc-gpu/bench), with
// their results in bench/results/ (git-ignored).
import { fileURLToPath } from 'node:url';
import { writeResults as write } from '../../src/bench/harness.ts';

export { engineSync, formatTable, gflops, printTable, timeGpu, type Row, type TimeOptions, type Timing } from '../../src/bench/harness.ts';

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

/** Writes bench/results/<name>.json with the adapter and environment recorded. */
export function writeResults(name: string, data: unknown): string {
  return write(name, data, RESULTS);
}
