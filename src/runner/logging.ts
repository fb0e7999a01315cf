// Training logs as DeepLabCut keeps them: train/learning_stats.csv (CSVLogger: `step` + the sorted
// union of metric names, one row per epoch, rewritten whole on every log call, reloaded and extended on
// resume) and train/train.txt (the log lines), plus what the terminal shows: plain lines when stdout is
// not a TTY, a one-line progress bar (loss, images/s, ETA) when it is.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../project/index.ts';

export type StatsRow = Map<string, number>;

/** Python's float repr for the values pandas would write (nan, inf). */
export function formatCsvNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}

export class LearningStatsLogger {
  private readonly rows = new Map<number, StatsRow>();

  constructor(readonly path: string) {}

  /** Loads an existing file (resume), keeping rows up to `upToStep`. */
  load(upToStep = Infinity): void {
    if (!existsSync(this.path)) return;
    const lines = readFileSync(this.path, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
    if (!lines.length) return;
    const header = lines[0]!.split(',');
    if (header[0] !== 'step') throw new Error(`${this.path}: the first column is '${header[0]}', expected 'step'`);
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      const step = Number(cells[0]);
      if (!Number.isFinite(step) || step > upToStep) continue;
      const row: StatsRow = new Map();
      header.slice(1).forEach((name, i) => {
        const c = cells[i + 1];
        if (c !== undefined && c !== '') row.set(name, c === 'nan' ? NaN : c === 'inf' ? Infinity : c === '-inf' ? -Infinity : Number(c));
      });
      this.rows.set(step, row);
    }
  }

  /** Merges values into the row of `step` and rewrites the file. */
  log(step: number, values: Readonly<Record<string, number>>): void {
    let row = this.rows.get(step);
    if (!row) this.rows.set(step, (row = new Map()));
    for (const [k, v] of Object.entries(values)) row.set(k, v);
    this.write();
  }

  /** One column's values by step, in step order, skipping rows without it. */
  series(column: string): [number, number][] {
    return [...this.rows.entries()]
      .filter(([, r]) => r.has(column))
      .sort((a, b) => a[0] - b[0])
      .map(([step, r]) => [step, r.get(column)!]);
  }

  columns(): string[] {
    const names = new Set<string>();
    for (const r of this.rows.values()) for (const k of r.keys()) names.add(k);
    return [...names].sort();
  }

  text(): string {
    const cols = this.columns();
    const steps = [...this.rows.keys()].sort((a, b) => a - b);
    const lines = [['step', ...cols].join(',')];
    for (const s of steps) {
      const r = this.rows.get(s)!;
      lines.push([String(s), ...cols.map((c) => (r.has(c) ? formatCsvNumber(r.get(c)!) : ''))].join(','));
    }
    return `${lines.join('\n')}\n`;
  }

  write(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileAtomic(this.path, this.text());
  }
}

export interface LogSink {
  /** A log line: to the terminal and train.txt. */
  info(message: string): void;
  /** Step progress (a bar on a TTY, nothing otherwise: display lines carry it there). */
  progress(p: Progress): void;
  /** Ends a progress bar line. */
  endProgress(): void;
}

export interface Progress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number | null;
  imagesPerSecond: number;
  etaSeconds: number;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/** Python logging's default asctime format: 2024-01-31 12:34:56,789. */
function timestamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

export function progressBar(p: Progress, width = 24): string {
  const frac = p.steps ? p.step / p.steps : 0;
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const loss = p.loss === null ? '' : ` loss ${p.loss.toFixed(5)}`;
  return `epoch ${p.epoch}/${p.epochs} [${bar}] ${p.step}/${p.steps}${loss} ${p.imagesPerSecond.toFixed(1)} img/s ETA ${formatDuration(p.etaSeconds)}`;
}

/** Writes to train.txt and the terminal: plain lines, and on a TTY a progress bar redrawn in place. */
export class ConsoleLog implements LogSink {
  private barShown = false;
  constructor(
    readonly file: string | null,
    private readonly out: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean } = process.stdout,
    private readonly tty = !!(out as { isTTY?: boolean }).isTTY,
  ) {
    if (file) mkdirSync(dirname(file), { recursive: true });
  }

  info(message: string): void {
    if (this.barShown) this.endProgress();
    this.out.write(`${message}\n`);
    if (this.file) appendFileSync(this.file, message.split('\n').map((l) => `${timestamp()} - INFO - ${l}\n`).join(''));
  }

  /** An ERROR line in train.txt only: the command line prints the error to the terminal itself. */
  error(message: string): void {
    if (this.barShown) this.endProgress();
    if (this.file) appendFileSync(this.file, message.split('\n').map((l) => `${timestamp()} - ERROR - ${l}\n`).join(''));
  }

  /** A WARNING line: to stderr (stdout stays the log) and train.txt. */
  warn(message: string): void {
    if (this.barShown) this.endProgress();
    process.stderr.write(`Warning: ${message}\n`);
    if (this.file) appendFileSync(this.file, message.split('\n').map((l) => `${timestamp()} - WARNING - ${l}\n`).join(''));
  }

  progress(p: Progress): void {
    if (!this.tty) return;
    this.out.write(`\r${progressBar(p)}\x1b[K`);
    this.barShown = true;
  }

  endProgress(): void {
    if (this.barShown) this.out.write('\n');
    this.barShown = false;
  }
}
