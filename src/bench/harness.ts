// The benchmark harness, for the project's benches and for users' kernels alike: time a GPU workload
// (warm-up runs, then the median of N runs, each ending when the GPU queue is idle), print an aligned
// table, and write the results as JSON with the adapter and environment recorded. Node only (it writes
// files), so it is the package's `dlc-gpu/bench` entry, not part of the engine core.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { engine } from '../gpu/current.ts';

export interface TimeOptions {
  /** Untimed runs first (pipeline compiles, buffer-pool fill, lavapipe thread start). Default 2. */
  warmup?: number;
  /** Timed runs; the median is reported. Default 7. */
  runs?: number;
  /** Waits until the work recorded by `work` has finished. Default: `engine().sync()`. */
  sync?: () => Promise<void>;
}

export interface Timing {
  /** Median milliseconds per run. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
  samplesMs: number[];
}

/** Awaits the dlc-gpu engine's queue: flushes recorded work and waits for onSubmittedWorkDone. */
export const engineSync = (): Promise<void> => engine().sync();

const dispose = (out: unknown) => {
  if (out && typeof (out as { dispose?: unknown }).dispose === 'function') (out as { dispose(): void }).dispose();
};

/**
 * Times `work` (which records GPU work and may return something to dispose) followed by `sync`.
 * Returns the median and spread in milliseconds. `name` labels errors.
 */
export async function timeGpu(name: string, work: () => unknown, options: TimeOptions = {}): Promise<Timing> {
  const { warmup = 2, runs = 7, sync = engineSync } = options;
  if (!(runs >= 1)) throw new Error(`benchmark ${name}: runs must be at least 1`);
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const out = work();
    await sync();
    const ms = performance.now() - t0;
    dispose(out);
    return ms;
  };
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianMs, minMs: sorted[0]!, maxMs: sorted[sorted.length - 1]!, runs, samplesMs: samples };
}

export type Row = Record<string, string | number | null>;

function fmt(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : a >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

/** Rows as an aligned text table (numbers right-aligned); `columns` fixes the order (default: first seen). */
export function formatTable(rows: readonly Row[], columns?: readonly string[]): string {
  if (!rows.length) return '';
  const cols = columns ? [...columns] : [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'number' ? fmt(v) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const numeric = cols.map((c) => rows.every((r) => typeof r[c] === 'number' || r[c] == null));
  const line = (vals: string[]) => vals.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  return [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

/** Prints rows as an aligned text table, under `title` if given. */
export function printTable(rows: readonly Row[], title?: string, columns?: readonly string[]): void {
  if (title) console.log(`\n${title}`);
  if (rows.length) console.log(formatTable(rows, columns));
}

/** Writes `<dir>/<name>.json` (default dir: ./bench-results) with the adapter and environment recorded; returns its path. */
export function writeResults(name: string, data: unknown, dir = 'bench-results'): string {
  const folder = resolve(dir);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${name}.json`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('LP_') || k.startsWith('DLC_GPU')));
  let adapter: string | undefined;
  let robust: boolean | undefined;
  try {
    const info = engine().adapter.info;
    adapter = `${info.vendor} ${info.architecture} ${info.description}`.trim();
    robust = engine().robust;
  } catch {
    adapter = undefined;
  }
  writeFileSync(file, JSON.stringify({ name, date: new Date().toISOString(), adapter, robust, env, node: process.version, data }, null, 2));
  return file;
}

/** GFLOP/s from a FLOP count and milliseconds. */
export const gflops = (flop: number, ms: number): number => flop / ms / 1e6;
