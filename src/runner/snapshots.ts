// DeepLabCut's snapshot policy (P/runners/snapshots.py, TorchSnapshotManager): file names
// `<prefix>-<epoch:03>.pt` and `<prefix>-best-<epoch:03>.pt` in the model's train/ folder, a new best
// on a strictly better key metric (then no regular snapshot that epoch), the previous best renamed to a
// regular snapshot when its epoch is a save epoch (else deleted), save_epochs, and at most
// max_snapshots regular snapshots (the best is not counted). Writing the file is the caller's job.
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface SnapshotFile {
  path: string;
  name: string;
  epoch: number;
  best: boolean;
}

export interface SnapshotPolicy {
  /** The train/ folder. */
  dir: string;
  /** `runner.snapshot_prefix` or `snapshot`. */
  prefix?: string;
  maxSnapshots: number;
  saveEpochs: number;
  /** The metric name without `metrics/` (runner.key_metric), e.g. test.mAP. */
  keyMetric: string;
  /** runner.key_metric_asc: true when a larger value is better. */
  keyMetricAsc: boolean;
}

/** What `update` did, for logs and tests. */
export interface SnapshotUpdate {
  saved: string | null;
  best: boolean;
  renamed: [string, string][];
  removed: string[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `snapshot-007.pt`; epochs >= 1000 get more digits, as Python's {:03} does. */
export function snapshotName(epoch: number, best = false, prefix = 'snapshot'): string {
  return `${prefix}${best ? '-best' : ''}-${String(epoch).padStart(3, '0')}.pt`;
}

/** The snapshots in a folder, by epoch; with `bestLast`, the best one is moved to the end (DeepLabCut's snapshotindex order). */
export function listSnapshots(dir: string, prefix = 'snapshot', bestLast = true): SnapshotFile[] {
  if (!existsSync(dir)) return [];
  const re = new RegExp(`^${escape(prefix)}(-best)?-(\\d+)\\.pt$`);
  const files: SnapshotFile[] = [];
  for (const name of readdirSync(dir)) {
    const m = re.exec(name);
    if (m) files.push({ path: join(dir, name), name, epoch: Number(m[2]), best: !!m[1] });
  }
  files.sort((a, b) => a.epoch - b.epoch || Number(a.best) - Number(b.best));
  if (bestLast) {
    const best = files.filter((f) => f.best);
    return [...files.filter((f) => !f.best), ...best];
  }
  return files;
}

export class SnapshotManager {
  readonly prefix: string;
  /** Starts unset on every run, resumed or not (DeepLabCut forgets the best metric on resume). */
  bestMetric: number | null = null;

  constructor(readonly policy: SnapshotPolicy) {
    this.prefix = policy.prefix ?? 'snapshot';
  }

  path(epoch: number, best = false): string {
    return join(this.policy.dir, snapshotName(epoch, best, this.prefix));
  }

  list(): SnapshotFile[] {
    return listSnapshots(this.policy.dir, this.prefix);
  }

  /** The key metric from a metrics dict keyed `metrics/<name>`, or null when absent or NaN. */
  keyValue(metrics: Readonly<Record<string, number>>): number | null {
    const v = metrics[`metrics/${this.policy.keyMetric}`];
    return typeof v === 'number' && !Number.isNaN(v) ? v : null;
  }

  private improves(v: number | null): v is number {
    if (v === null) return false;
    if (this.bestMetric === null) return true;
    return this.policy.keyMetricAsc ? v > this.bestMetric : v < this.bestMetric;
  }

  /** What `update` would write for this epoch, without touching anything: 'best', 'regular' or null. */
  plan(epoch: number, metrics: Readonly<Record<string, number>>, last: boolean): 'best' | 'regular' | null {
    if (this.improves(this.keyValue(metrics))) return 'best';
    if (last || epoch % this.policy.saveEpochs === 0) return 'regular';
    return null;
  }

  /**
   * One epoch's snapshot step. `write(path)` must write the file atomically; it is called at most once.
   * Order as in DeepLabCut: write the new file first, then handle the old best, then prune.
   */
  async update(epoch: number, metrics: Readonly<Record<string, number>>, last: boolean, write: (path: string) => Promise<void> | void): Promise<SnapshotUpdate> {
    const out: SnapshotUpdate = { saved: null, best: false, renamed: [], removed: [] };
    const value = this.keyValue(metrics);
    if (this.improves(value)) {
      const previous = this.list().filter((f) => f.best);
      const target = this.path(epoch, true);
      await write(target);
      this.bestMetric = value;
      out.saved = target;
      out.best = true;
      for (const old of previous) {
        if (old.path === target) continue;
        if (old.epoch % this.policy.saveEpochs === 0) {
          const to = this.path(old.epoch, false);
          renameSync(old.path, to);
          out.renamed.push([old.path, to]);
        } else {
          rmSync(old.path, { force: true });
          out.removed.push(old.path);
        }
      }
    } else if (last || epoch % this.policy.saveEpochs === 0) {
      const target = this.path(epoch, false);
      await write(target);
      out.saved = target;
    }
    out.removed.push(...this.prune());
    return out;
  }

  /** Writes a regular snapshot whatever the policy says (an interrupted run), then prunes. */
  async saveNow(epoch: number, write: (path: string) => Promise<void> | void): Promise<SnapshotUpdate> {
    const target = this.path(epoch, false);
    await write(target);
    return { saved: target, best: false, renamed: [], removed: this.prune() };
  }

  /** Deletes the oldest regular snapshots beyond max_snapshots; the best is not counted. */
  prune(): string[] {
    const regular = this.list().filter((f) => !f.best);
    const extra = regular.length - this.policy.maxSnapshots;
    const removed: string[] = [];
    for (let i = 0; i < extra; i++) {
      rmSync(regular[i]!.path, { force: true });
      removed.push(regular[i]!.path);
    }
    return removed;
  }
}
