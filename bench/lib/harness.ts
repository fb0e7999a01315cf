// Small benchmark harness shared by bench/*.ts: time a GPU workload (warm-up, then the median of N runs,
// each run ending when the GPU queue is idle), print a table, and write bench/results/<name>.json.
// Timing is done by tinybench 6 (sequential mode, async task: each sample awaits the whole run).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { engine } from '../../src/index.ts';

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

/**
 * Times `work` (which records GPU work and may return something to dispose) followed by `sync`.
 * Returns the median and spread in milliseconds.
 */
export async function timeGpu(name: string, work: () => unknown, options: TimeOptions = {}): Promise<Timing> {
  const { warmup = 2, runs = 7, sync = engineSync } = options;
  const run = async () => {
    const out = work();
    await sync();
    if (out && typeof (out as { dispose?: unknown }).dispose === 'function') (out as { dispose(): void }).dispose();
  };
  // Iteration counts only: time budgets of 0 so slow workloads (seconds per run) are not repeated for a second.
  const bench = new Bench({ name, iterations: runs, time: 0, warmup: warmup > 0, warmupIterations: warmup, warmupTime: 0, retainSamples: true, throws: true });
  bench.add(name, run, { async: true });
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state !== 'completed') throw new Error(`benchmark ${name}: ${result.state}`);
  const lat = result.latency;
  return { medianMs: lat.p50, minMs: lat.min, maxMs: lat.max, runs: lat.samplesCount, samplesMs: [...(lat.samples ?? [])] };
}

export type Row = Record<string, string | number | null>;

/** Prints rows as an aligned text table (numbers right-aligned); `columns` fixes the order (default: first seen). */
export function printTable(rows: readonly Row[], title?: string, columns?: readonly string[]): void {
  if (title) console.log(`\n${title}`);
  if (!rows.length) return;
  const cols = columns ? [...columns] : [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'number' ? fmt(v) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[], right: boolean[]) => vals.map((v, i) => (right[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  const numeric = cols.map((c) => rows.every((r) => typeof r[c] === 'number' || r[c] == null));
  console.log(line(cols, numeric));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c])), numeric));
}

function fmt(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : a >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

/** Writes bench/results/<name>.json (the folder is git-ignored) with the adapter and environment recorded. */
export function writeResults(name: string, data: unknown): string {
  const dir = new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('LP_') || k.startsWith('DLC_GPU')));
  let adapter: string | undefined;
  try {
    const info = engine().adapter.info;
    adapter = `${info.vendor} ${info.architecture} ${info.description}`.trim();
  } catch {
    adapter = undefined;
  }
  writeFileSync(file, JSON.stringify({ name, date: new Date().toISOString(), adapter, env, node: process.version, data }, null, 2));
  return file.pathname;
}

/** GFLOP/s from a FLOP count and milliseconds. */
export const gflops = (flop: number, ms: number): number => flop / ms / 1e6;
