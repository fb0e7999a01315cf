// Snapshot files as DeepLabCut writes them with torch.save: {metadata: {epoch, metrics, losses}, model
// (an OrderedDict state dict), optimizer (when runner.snapshots.save_optimizer_state), scheduler}.
// Floats are written as Python floats (torch.load(weights_only=True) accepts them), tensors as
// torch tensors with their dtype (num_batches_tracked is int64), and read back from either tool.
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StateDict, StateEntry } from '../nn/module.ts';
import type { OptimizerStateDict } from '../optim/optimizer.ts';
import { fromNumbers, HostTensor, isHostTensor, PyFloat, PyOrderedDict, readTorchFile, toFloat32, tuple, writeTorchFile } from '../io/index.ts';
import { listSnapshots } from './snapshots.ts';

export interface SnapshotMetadata {
  epoch: number;
  /** `metrics/test.rmse`, ... */
  metrics: Record<string, number>;
  /** `train.total_loss`, `eval.bodypart_heatmap`, ... */
  losses: Record<string, number>;
  /**
   * dlc-gpu only: the `key.path=value` overrides the run trained with (pytorch_config.yaml does not hold
   * them), so evaluate and predict rebuild the model the snapshot was trained as. DeepLabCut ignores the key.
   */
  overrides?: string[];
  /**
   * dlc-gpu only: the plugins whose types the model was built with (`REGISTRY:Type`), so loading the
   * snapshot without them fails naming the plugin rather than an unknown type.
   */
  plugins?: RecordedPlugin[];
}

export interface RecordedPlugin {
  /** The plugin module's absolute path when the snapshot was written. */
  path: string;
  /** What it registered: `HEADS:CoordConvHead`, ... */
  types: string[];
}

export interface SnapshotContents {
  metadata: SnapshotMetadata;
  model: StateDict;
  optimizer?: OptimizerStateDict;
  scheduler?: Record<string, unknown>;
}

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

const pyFloat = (v: number) => new PyFloat(v);

function hostTensor(e: StateEntry): HostTensor {
  return e.dtype === 'int64' ? fromNumbers(e.data, e.shape, 'int64') : new HostTensor('float32', e.shape, e.data);
}

const FLOAT_HYPER = new Set(['lr', 'initial_lr', 'eps', 'weight_decay', 'momentum', 'dampening', 'alpha', 'lr_decay', 'initial_accumulator_value']);

/** Scheduler state values that PyTorch keeps as floats (learning rates, factors), so they pickle as floats. */
function schedulerValue(key: string, v: unknown): unknown {
  const floaty = /lr|lrs|factor|gamma|eta_min|best|eps|threshold|power/.test(key);
  if (typeof v === 'number' && floaty && Number.isFinite(v)) return pyFloat(v);
  if (Array.isArray(v)) return v.map((x) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? schedulerState(x as Record<string, unknown>) : schedulerValue(key, x)));
  if (v instanceof Map) return v;
  if (v !== null && typeof v === 'object') return schedulerState(v as Record<string, unknown>);
  return v;
}

function schedulerState(s: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) out[k] = schedulerValue(k, v);
  return out;
}

function optimizerState(sd: OptimizerStateDict): Record<string, unknown> {
  const state = new Map<number, Record<string, unknown>>();
  for (const [i, entry] of sd.state) {
    const e: Record<string, unknown> = {};
    // torch keeps Adam's step as a float32 scalar tensor; SGD keeps none.
    for (const [k, v] of Object.entries(entry)) e[k] = typeof v === 'number' ? new HostTensor('float32', [], Float32Array.of(v)) : hostTensor(v);
    state.set(i, e);
  }
  const groups = sd.param_groups.map((g) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(g)) {
      if (k === 'params') out[k] = [...(v as number[])];
      else if (k === 'betas' && Array.isArray(v)) out[k] = tuple(...v.map(pyFloat));
      else if (typeof v === 'number' && FLOAT_HYPER.has(k)) out[k] = pyFloat(v);
      else out[k] = v;
    }
    return out;
  });
  return { state, param_groups: groups };
}

/** The value torch.save would get from DeepLabCut's TrainingRunner.state_dict(). */
export function snapshotObject(c: SnapshotContents): Record<string, unknown> {
  const model = new PyOrderedDict<string, HostTensor>();
  for (const [k, e] of c.model) model.set(k, hostTensor(e));
  const floats = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, pyFloat(v)]));
  const obj: Record<string, unknown> = {
    metadata: {
      epoch: c.metadata.epoch,
      metrics: floats(c.metadata.metrics),
      losses: floats(c.metadata.losses),
      ...(c.metadata.overrides?.length ? { overrides: [...c.metadata.overrides] } : {}),
      ...(c.metadata.plugins?.length ? { plugins: c.metadata.plugins.map((p) => ({ path: p.path, types: [...p.types] })) } : {}),
    },
    model,
  };
  if (c.optimizer) obj.optimizer = optimizerState(c.optimizer);
  if (c.scheduler) obj.scheduler = schedulerState(c.scheduler);
  return obj;
}

/** Writes a snapshot atomically (temporary file, fsync, rename); a failure names the file and its folder. */
export function writeSnapshot(path: string, c: SnapshotContents): void {
  try {
    writeTorchFile(path, snapshotObject(c));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (!e.code) throw err;
    const full = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? ': the disk is full; free space on it (or move the project) and resume from the last snapshot' : '';
    throw new SnapshotError(`cannot write the snapshot ${path} in the folder ${dirname(path)} (${e.code}: ${e.message})${full}. Snapshots written before are intact`);
  }
}

// ---- reading ----

function get(obj: unknown, key: string | number): unknown {
  if (obj instanceof Map) return obj.get(key);
  if (obj !== null && typeof obj === 'object') return (obj as Record<string, unknown>)[String(key)];
  return undefined;
}

function entriesOf(obj: unknown): [unknown, unknown][] {
  if (obj instanceof Map) return [...obj.entries()];
  if (obj !== null && typeof obj === 'object') return Object.entries(obj);
  return [];
}

function numberRecord(obj: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of entriesOf(obj)) {
    const n = typeof v === 'number' ? v : v instanceof PyFloat ? v.value : typeof v === 'bigint' ? Number(v) : isHostTensor(v) && v.numel === 1 ? toFloat32(v)[0]! : NaN;
    out[String(k)] = n;
  }
  return out;
}

function stateEntry(t: HostTensor): StateEntry {
  return { shape: [...t.shape], data: toFloat32(t), dtype: t.dtype === 'int64' ? 'int64' : 'float32' };
}

function plain(v: unknown): unknown {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'bigint') return Number(v);
  if (isHostTensor(v)) return v.numel === 1 ? toFloat32(v)[0]! : Array.from(toFloat32(v));
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), plain(x)]));
  return v;
}

/** Reads a snapshot written by dlc-gpu or DeepLabCut. */
export function readSnapshot(path: string): SnapshotContents {
  let raw: unknown;
  try {
    raw = readTorchFile(path);
  } catch (e) {
    throw new SnapshotError(`${path}: cannot read the snapshot: ${(e as Error).message}`);
  }
  const modelRaw = get(raw, 'model');
  if (modelRaw === undefined) throw new SnapshotError(`${path}: not a DeepLabCut snapshot (no 'model' key)`);
  const model: StateDict = new Map();
  for (const [k, v] of entriesOf(modelRaw)) {
    if (!isHostTensor(v)) throw new SnapshotError(`${path}: model.${String(k)} is not a tensor`);
    model.set(String(k), stateEntry(v));
  }
  const meta = get(raw, 'metadata');
  const epochRaw = get(meta, 'epoch');
  const metadata: SnapshotMetadata = {
    epoch: typeof epochRaw === 'number' ? epochRaw : typeof epochRaw === 'bigint' ? Number(epochRaw) : 0,
    metrics: numberRecord(get(meta, 'metrics')),
    losses: numberRecord(get(meta, 'losses')),
  };
  const overrides = get(meta, 'overrides');
  if (Array.isArray(overrides) && overrides.every((o) => typeof o === 'string')) metadata.overrides = overrides as string[];
  const plugins = get(meta, 'plugins');
  if (Array.isArray(plugins)) {
    metadata.plugins = plugins.flatMap((p) => {
      const path = get(p, 'path');
      const types = get(p, 'types');
      return typeof path === 'string' && Array.isArray(types) ? [{ path, types: types.filter((t): t is string => typeof t === 'string') }] : [];
    });
  }
  const out: SnapshotContents = { metadata, model };
  const opt = get(raw, 'optimizer');
  if (opt !== undefined && opt !== null) {
    const state = new Map<number, Record<string, StateEntry | number>>();
    for (const [k, entry] of entriesOf(get(opt, 'state'))) {
      const e: Record<string, StateEntry | number> = {};
      for (const [name, v] of entriesOf(entry)) {
        if (isHostTensor(v)) e[String(name)] = v.numel === 1 && v.shape.length === 0 ? toFloat32(v)[0]! : stateEntry(v);
        else if (typeof v === 'number') e[String(name)] = v;
      }
      state.set(Number(k), e);
    }
    const groups = (get(opt, 'param_groups') as unknown[] | undefined) ?? [];
    out.optimizer = {
      state,
      param_groups: groups.map((g) => plain(g) as Record<string, never>),
    };
  }
  const sched = get(raw, 'scheduler');
  if (sched !== undefined && sched !== null) out.scheduler = plain(sched) as Record<string, unknown>;
  return out;
}

/**
 * A snapshot path from `resume_training_from` / `--snapshot`: a .pt file, or a train/ folder (its
 * latest snapshot by epoch).
 */
export function resolveSnapshotPath(path: string, prefix = 'snapshot'): string {
  if (!existsSync(path)) throw new SnapshotError(`${path}: snapshot does not exist`);
  if (statSync(path).isDirectory()) {
    const all = listSnapshots(path, prefix, false);
    if (!all.length) throw new SnapshotError(`${path}: no ${prefix}-*.pt snapshots in this folder`);
    return all[all.length - 1]!.path;
  }
  return path;
}
