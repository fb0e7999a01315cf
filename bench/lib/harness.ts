// The project's benches use the package's harness (src/bench/harness.ts, exported as dlc-gpu/bench), with
// their results in bench/results/ (git-ignored).
import { fileURLToPath } from 'node:url';
import { writeResults as write } from '../../src/bench/harness.ts';
import { engine } from '../../src/gpu/current.ts';

export { engineSync, formatTable, gflops, printTable, timeGpu, type Row, type TimeOptions, type Timing } from '../../src/bench/harness.ts';

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

/** Writes bench/results/<name>.json with the adapter and environment recorded. */
export function writeResults(name: string, data: unknown): string {
  return write(name, data, RESULTS);
}

export interface AsyncTiming {
  medianMs: number;
  minMs: number;
  samplesMs: number[];
  /** The first call (pipeline compiles, first-use JIT, buffer allocations). */
  firstMs: number;
  /** Pipeline compile time during the first call. */
  firstCompileMs: number;
}

/** Times an async workload end to end (readbacks included): the first call apart, `warmup - 1` more untimed, then `runs`. */
export async function timeAsync(work: () => Promise<void>, runs: number, warmup: number): Promise<AsyncTiming> {
  const once = async () => {
    const t0 = performance.now();
    await work();
    return performance.now() - t0;
  };
  const c0 = engine().compileMs;
  const firstMs = await once();
  const firstCompileMs = engine().compileMs - c0;
  for (let i = 1; i < warmup; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { medianMs: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, minMs: s[0]!, samplesMs: samples, firstMs, firstCompileMs };
}
