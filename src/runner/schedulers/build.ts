// buildScheduler: the `runner.scheduler` config block -> a scheduler, as DeepLabCut's
// build_scheduler does (LRListScheduler, or the torch.optim.lr_scheduler class named by `type`,
// with nested `{type, params}` blocks in `params.schedulers` built recursively). Every bad type or
// parameter is reported with its key path, all at once.
import { ConfigError, type ConfigIssue, type KeyPath, type Scheduler } from '../../config/index.ts';
import type { EpochScheduler, SchedulerOptimizer, SchedulerStateDict, SteppedScheduler } from './base.ts';
import { ChainedScheduler, SequentialLR, type ChildScheduler } from './composite.ts';
import {
  ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, ExponentialLR, LinearLR, LRListScheduler, MultiStepLR, PolynomialLR, StepLR,
} from './lr-schedulers.ts';
import { ReduceLROnPlateau } from './plateau.ts';

/** A scheduler block: the validated config type, or ReduceLROnPlateau (which the 3.0.1 schema's type list lacks). */
export type SchedulerConfig = Scheduler | { type: 'ReduceLROnPlateau'; params?: Record<string, unknown> };
export type BuiltScheduler = SteppedScheduler | ReduceLROnPlateau;

export interface BuildSchedulerOptions {
  /** Key path of the block, for error messages. Default `runner.scheduler`. */
  path?: KeyPath;
  /** File named in error messages. Default `pytorch_config.yaml`. */
  file?: string;
}

export const SUPPORTED_SCHEDULERS = [
  'LRListScheduler', 'StepLR', 'MultiStepLR', 'ConstantLR', 'LinearLR', 'ExponentialLR', 'PolynomialLR', 'CosineAnnealingLR',
  'CosineAnnealingWarmRestarts', 'SequentialLR', 'ChainedScheduler', 'ReduceLROnPlateau',
] as const;

const UNSUPPORTED: Record<string, string> = {
  MultiplicativeLR: 'it needs a Python callable (lr_lambda), which a YAML config cannot give',
  LambdaLR: 'it needs a Python callable (lr_lambda), which a YAML config cannot give',
  OneCycleLR: 'it is stepped per batch and cycles momentum; DeepLabCut steps schedulers once per epoch',
  CyclicLR: 'it is stepped per batch and cycles momentum; DeepLabCut steps schedulers once per epoch',
};

export function buildScheduler(config: null | undefined, optimizer: SchedulerOptimizer, options?: BuildSchedulerOptions): null;
export function buildScheduler(config: SchedulerConfig, optimizer: SchedulerOptimizer, options?: BuildSchedulerOptions): BuiltScheduler;
export function buildScheduler(config: SchedulerConfig | null | undefined, optimizer: SchedulerOptimizer, options?: BuildSchedulerOptions): BuiltScheduler | null;
export function buildScheduler(config: SchedulerConfig | null | undefined, optimizer: SchedulerOptimizer, options: BuildSchedulerOptions = {}): BuiltScheduler | null {
  if (config === null || config === undefined) return null;
  const file = options.file ?? 'pytorch_config.yaml';
  const issues: ConfigIssue[] = [];
  const built = build(config as unknown, optimizer, options.path ?? ['runner', 'scheduler'], file, issues);
  if (issues.length || !built) throw new ConfigError(issues.length ? issues : [{ file, path: options.path ?? ['runner', 'scheduler'], message: 'invalid scheduler' }]);
  return built;
}

function build(raw: unknown, optimizer: SchedulerOptimizer, path: KeyPath, file: string, issues: ConfigIssue[]): BuiltScheduler | undefined {
  const fail = (p: KeyPath, message: string): undefined => {
    issues.push({ file, path: p, message });
    return undefined;
  };
  if (!isRecord(raw)) return fail(path, 'a scheduler must be a mapping with `type` and `params`');
  for (const k of Object.keys(raw)) if (k !== 'type' && k !== 'params') fail([...path, k], `unknown key (a scheduler block has only \`type\` and \`params\`)`);
  const type = raw.type;
  if (typeof type !== 'string') return fail([...path, 'type'], 'missing scheduler type');
  if (type in UNSUPPORTED) return fail([...path, 'type'], `${type} is not supported: ${UNSUPPORTED[type]}`);
  if (!(SUPPORTED_SCHEDULERS as readonly string[]).includes(type))
    return fail([...path, 'type'], `unknown scheduler type "${type}"; expected one of ${SUPPORTED_SCHEDULERS.join(', ')}`);
  const rawParams = raw.params ?? {};
  if (!isRecord(rawParams)) return fail([...path, 'params'], 'params must be a mapping');
  const before = issues.length;
  const p = new Params(rawParams, [...path, 'params'], file, issues);

  let make: (() => BuiltScheduler) | undefined;
  switch (type) {
    case 'LRListScheduler': {
      const milestones = p.intList('milestones', { required: true, increasing: true, min: 0 });
      const lrList = p.lrList('lr_list');
      const lastEpoch = p.lastEpoch();
      if (milestones && lrList && milestones.length !== lrList.length) p.issue('lr_list', `lr_list needs one entry per milestone (${milestones.length}), got ${lrList.length}`);
      make = () => new LRListScheduler(optimizer, { milestones: milestones!, lr_list: lrList!, last_epoch: lastEpoch });
      break;
    }
    case 'StepLR': {
      const o = { step_size: p.int('step_size', { required: true, min: 1 })!, gamma: p.number('gamma'), last_epoch: p.lastEpoch() };
      make = () => new StepLR(optimizer, o);
      break;
    }
    case 'MultiStepLR': {
      const o = { milestones: p.intList('milestones', { required: true, min: 0 })!, gamma: p.number('gamma'), last_epoch: p.lastEpoch() };
      make = () => new MultiStepLR(optimizer, o);
      break;
    }
    case 'ConstantLR': {
      const o = { factor: p.number('factor', { min: 0, max: 1 }), total_iters: p.int('total_iters', { min: 0 }), last_epoch: p.lastEpoch() };
      make = () => new ConstantLR(optimizer, o);
      break;
    }
    case 'LinearLR': {
      const o = {
        start_factor: p.number('start_factor', { gt: 0, max: 1 }),
        end_factor: p.number('end_factor', { min: 0, max: 1 }),
        total_iters: p.int('total_iters', { min: 1 }),
        last_epoch: p.lastEpoch(),
      };
      make = () => new LinearLR(optimizer, o);
      break;
    }
    case 'ExponentialLR': {
      const o = { gamma: p.number('gamma', { required: true })!, last_epoch: p.lastEpoch() };
      make = () => new ExponentialLR(optimizer, o);
      break;
    }
    case 'PolynomialLR': {
      const o = { total_iters: p.int('total_iters', { min: 1 }), power: p.number('power'), last_epoch: p.lastEpoch() };
      make = () => new PolynomialLR(optimizer, o);
      break;
    }
    case 'CosineAnnealingLR': {
      const o = { T_max: p.number('T_max', { required: true, gt: 0 })!, eta_min: p.number('eta_min', { min: 0 }), last_epoch: p.lastEpoch() };
      make = () => new CosineAnnealingLR(optimizer, o);
      break;
    }
    case 'CosineAnnealingWarmRestarts': {
      const o = { T_0: p.int('T_0', { required: true, min: 1 })!, T_mult: p.int('T_mult', { min: 1 }), eta_min: p.number('eta_min', { min: 0 }), last_epoch: p.lastEpoch() };
      make = () => new CosineAnnealingWarmRestarts(optimizer, o);
      break;
    }
    case 'ReduceLROnPlateau': {
      const o = {
        mode: p.choice('mode', ['min', 'max'] as const),
        factor: p.number('factor', { lt: 1 }),
        patience: p.int('patience', { min: 0 }),
        threshold: p.number('threshold'),
        threshold_mode: p.choice('threshold_mode', ['rel', 'abs'] as const),
        cooldown: p.int('cooldown', { min: 0 }),
        min_lr: p.numberOrList('min_lr', optimizer.paramGroups.length),
        eps: p.number('eps', { min: 0 }),
      };
      make = () => new ReduceLROnPlateau(optimizer, o);
      break;
    }
    case 'SequentialLR':
    case 'ChainedScheduler': {
      // Children are built first, as DeepLabCut does (each one steps the optimizer's LR on construction).
      const children = p.children((child, childPath) => build(child, optimizer, childPath, file, issues));
      const milestones = type === 'SequentialLR' ? p.intList('milestones', { required: true, increasing: true, min: 0 }) : undefined;
      const lastEpoch = type === 'SequentialLR' ? p.lastEpoch() : undefined;
      if (children) {
        children.forEach((c, i) => {
          if (c instanceof ReduceLROnPlateau) p.issue(['schedulers', i, 'type'], `${type} does not support ReduceLROnPlateau: it needs a metric at every step`);
          else if (type === 'SequentialLR' && i > 0 && (c instanceof SequentialLR || c instanceof ChainedScheduler))
            p.issue(['schedulers', i, 'type'], `SequentialLR cannot switch to a ${c.constructor.name} at a milestone (PyTorch restarts the next scheduler with its closed form, which composite schedulers lack)`);
        });
        if (milestones && milestones.length !== children.length - 1)
          p.issue('milestones', `SequentialLR needs one milestone fewer than schedulers: ${children.length} schedulers, ${milestones.length} milestones`);
      }
      make = () =>
        type === 'SequentialLR'
          ? new SequentialLR(optimizer, { schedulers: children as ChildScheduler[], milestones: milestones!, last_epoch: lastEpoch })
          : new ChainedScheduler(children as ChildScheduler[], optimizer);
      break;
    }
  }
  p.rejectUnknown();
  if (issues.length > before || !make) return undefined;
  try {
    return make();
  } catch (e) {
    return fail([...path, 'params'], (e as Error).message);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface NumRule { required?: boolean; min?: number; max?: number; gt?: number; lt?: number }

/** Reads one block's params, recording an issue (with its key path) for each bad or unknown one. */
class Params {
  private readonly used = new Set<string>();

  constructor(
    private readonly raw: Record<string, unknown>,
    private readonly path: KeyPath,
    private readonly file: string,
    private readonly issues: ConfigIssue[],
  ) {}

  issue(key: string | KeyPath, message: string): undefined {
    this.issues.push({ file: this.file, path: [...this.path, ...(typeof key === 'string' ? [key] : key)], message });
    return undefined;
  }

  private get(key: string, required: boolean | undefined): unknown {
    this.used.add(key);
    const v = this.raw[key];
    if (v === undefined && required) this.issue(key, 'required parameter is missing');
    return v;
  }

  number(key: string, rule: NumRule = {}): number | undefined {
    const v = this.get(key, rule.required);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.issue(key, `expected a number, got ${JSON.stringify(v)}`);
    return this.check(key, v, rule);
  }

  int(key: string, rule: NumRule = {}): number | undefined {
    const v = this.number(key, rule);
    if (v !== undefined && !Number.isInteger(v)) return this.issue(key, `expected an integer, got ${v}`);
    return v;
  }

  private check(key: string | KeyPath, v: number, r: NumRule): number | undefined {
    if (r.min !== undefined && v < r.min) return this.issue(key, `must be >= ${r.min}, got ${v}`);
    if (r.max !== undefined && v > r.max) return this.issue(key, `must be <= ${r.max}, got ${v}`);
    if (r.gt !== undefined && v <= r.gt) return this.issue(key, `must be > ${r.gt}, got ${v}`);
    if (r.lt !== undefined && v >= r.lt) return this.issue(key, `must be < ${r.lt}, got ${v}`);
    return v;
  }

  lastEpoch(): number | undefined {
    return this.int('last_epoch', { min: -1 });
  }

  intList(key: string, rule: NumRule & { increasing?: boolean }): number[] | undefined {
    const v = this.get(key, rule.required);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.issue(key, `expected a list of integers, got ${JSON.stringify(v)}`);
    let ok = true;
    v.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isInteger(x)) ok = this.issue([key, i], `expected an integer, got ${JSON.stringify(x)}`) ?? false;
      else if (this.check([key, i], x, rule) === undefined) ok = false;
      else if (rule.increasing && i > 0 && x <= (v[i - 1] as number)) ok = this.issue([key, i], 'milestones must increase') ?? false;
    });
    return ok ? (v as number[]) : undefined;
  }

  lrList(key: string): number[][] | undefined {
    const v = this.get(key, true);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.issue(key, 'expected a list of lists of learning rates, e.g. [[1e-5], [1e-6]]');
    let ok = true;
    v.forEach((row, i) => {
      if (!Array.isArray(row)) ok = this.issue([key, i], `expected a list of learning rates (one per parameter group), got ${JSON.stringify(row)}`) ?? false;
      else row.forEach((x, j) => {
        if (typeof x !== 'number' || !(x >= 0)) ok = this.issue([key, i, j], `expected a learning rate >= 0, got ${JSON.stringify(x)}`) ?? false;
      });
    });
    return ok ? (v as number[][]) : undefined;
  }

  choice<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.get(key, false);
    if (v === undefined) return undefined;
    if (!values.includes(v as T)) return this.issue(key, `expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  numberOrList(key: string, groups: number): number | number[] | undefined {
    const v = this.get(key, false);
    if (v === undefined) return undefined;
    if (typeof v === 'number' && v >= 0) return v;
    if (Array.isArray(v) && v.every((x) => typeof x === 'number' && x >= 0)) {
      if (v.length !== groups) return this.issue(key, `expected ${groups} values (one per parameter group), got ${v.length}`);
      return v as number[];
    }
    return this.issue(key, `expected a number >= 0 or a list of them, got ${JSON.stringify(v)}`);
  }

  children<T>(buildOne: (raw: unknown, path: KeyPath) => T | undefined): T[] | undefined {
    const v = this.get('schedulers', true);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0) return this.issue('schedulers', 'expected a non-empty list of scheduler blocks ({type, params})');
    const out = v.map((c, i) => buildOne(c, [...this.path, 'schedulers', i]));
    return out.every((c) => c !== undefined) ? (out as T[]) : undefined;
  }

  rejectUnknown(): void {
    for (const k of Object.keys(this.raw)) {
      if (k === 'verbose' && typeof this.raw[k] === 'boolean') continue; // accepted (and ignored) by torch < 2.7
      if (!this.used.has(k)) this.issue(k, `unknown parameter${this.used.size ? `; expected ${[...this.used].join(', ')}` : ''}`);
    }
  }
}

/**
 * DeepLabCut's load_scheduler_state: load the state, then set each group's LR to get_last_lr()
 * (a fresh optimizer starts from the config's LR).
 */
export function loadSchedulerState(scheduler: EpochScheduler, state: SchedulerStateDict): void {
  try {
    scheduler.loadStateDict(state);
  } catch (e) {
    throw new Error(`Failed to load state dict: ${(e as Error).message}`);
  }
  const groups = scheduler.optimizer.paramGroups;
  const lrs = scheduler.getLastLr();
  if (groups.length !== lrs.length)
    throw new Error(`Number of optimizer parameter groups (${groups.length}) did not match number of learning rates to resume from (${lrs.length}).`);
  groups.forEach((g, i) => (g.lr = lrs[i]!));
}
