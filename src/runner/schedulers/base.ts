// Learning-rate scheduler base, mirroring torch.optim.lr_scheduler.LRScheduler (PyTorch 2.x): the
// chainable get_lr() form, the closed form used by SequentialLR at a milestone, `last_epoch`,
// `_step_count`, `_is_initial`, get_last_lr() and state dicts with PyTorch's key names (what
// DeepLabCut stores under a snapshot's `scheduler` key). DeepLabCut calls step() once per epoch,
// after the epoch: with epochs numbered from 1, epoch e trains at the LR reached after e-1 steps.

/** One optimizer parameter group as a scheduler sees it. `initial_lr` is PyTorch's key, added on
 * first construction, so an optimizer state dict holding the group round-trips with torch's. */
export interface LRParamGroup {
  lr: number;
  initial_lr?: number;
}

/** What a scheduler needs from an optimizer (src/optim's Optimizer satisfies it). */
export interface SchedulerOptimizer {
  readonly paramGroups: LRParamGroup[];
}

/** A scheduler state dict: PyTorch's `scheduler.state_dict()`, i.e. `__dict__` minus the optimizer. */
export type SchedulerStateDict = Record<string, unknown>;

/** The part every scheduler built from the config exposes to the training runner. */
export interface EpochScheduler {
  readonly optimizer: SchedulerOptimizer;
  /** The LRs the last step set, one per parameter group. */
  getLastLr(): number[];
  stateDict(): SchedulerStateDict;
  loadStateDict(state: SchedulerStateDict): void;
}

/** Epoch schedulers stepped without arguments (everything but ReduceLROnPlateau). */
export interface SteppedScheduler extends EpochScheduler {
  step(): void;
  /** PyTorch's `last_epoch`; DeepLabCut sets it directly when resuming without scheduler state. */
  lastEpoch: number;
}

export function numberList(v: unknown, key: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new Error(`scheduler state: ${key} must be a list of numbers`);
  return [...v];
}

export function num(v: unknown, key: string): number {
  if (typeof v !== 'number') throw new Error(`scheduler state: ${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * torch's LRScheduler. Subclasses set their own fields and then call `init(lastEpoch)` (TypeScript
 * cannot run subclass code before `super()`, PyTorch sets fields first and lets the base step).
 */
export abstract class LRScheduler implements SteppedScheduler {
  baseLrs: number[] = [];
  lastEpoch = -1;
  /** `_step_count` */
  stepCount = 0;
  /** `_is_initial`: true only during the step run by the constructor. */
  protected isInitial = false;
  /** `_get_lr_called_within_step` */
  protected getLrCalledWithinStep = false;
  protected lastLr: number[] = [];
  /** Keys of a loaded state dict this class does not model (e.g. torch < 2.7's `verbose`), kept for round trips. */
  protected extraState: SchedulerStateDict = {};
  /** Present in __dict__ once the first step ran (PyTorch sets them as instance attributes). */
  private stepped = false;

  constructor(readonly optimizer: SchedulerOptimizer) {}

  protected init(lastEpoch: number): void {
    if (!Number.isInteger(lastEpoch)) throw new Error(`last_epoch must be an integer, got ${lastEpoch}`);
    if (lastEpoch === -1) {
      for (const g of this.optimizer.paramGroups) if (g.initial_lr === undefined) g.initial_lr = g.lr;
    } else {
      this.optimizer.paramGroups.forEach((g, i) => {
        if (g.initial_lr === undefined) throw new Error(`param 'initial_lr' is not specified in param_groups[${i}] when resuming an optimizer`);
      });
    }
    this.baseLrs = this.optimizer.paramGroups.map((g) => g.initial_lr!);
    this.lastEpoch = lastEpoch;
    this.initialStep();
  }

  /** `_initial_step`: reset the step count and step once in "initial" mode. */
  initialStep(): void {
    this.stepCount = 0;
    this.isInitial = true;
    try {
      this.step();
    } finally {
      this.isInitial = false;
    }
  }

  /** The chainable form: LRs for `lastEpoch`, already advanced, from the groups' current LRs. */
  protected abstract getLr(): number[];
  /** The closed form, where PyTorch has one (`_get_closed_form_lr`). */
  protected closedFormLr?(): number[];

  step(): void {
    this.stepCount += 1;
    this.updateLr();
  }

  /** PyTorch's deprecated `step(epoch)`: jump to `epoch`, with the closed form where there is one. */
  stepTo(epoch: number): void {
    this.stepCount += 1;
    this.updateLr(epoch);
  }

  /** `_update_lr(epoch)`; SequentialLR calls it with 0 when a scheduler takes over at a milestone. */
  updateLr(epoch?: number): void {
    this.getLrCalledWithinStep = true;
    let values: number[];
    try {
      if (epoch === undefined) {
        this.lastEpoch += 1;
        values = this.getLr();
      } else {
        this.lastEpoch = epoch;
        values = this.closedFormLr ? this.closedFormLr() : this.getLr();
      }
    } finally {
      this.getLrCalledWithinStep = false;
    }
    this.applyLrs(values);
  }

  protected applyLrs(values: readonly number[]): void {
    const groups = this.optimizer.paramGroups;
    // zip(): a shorter list (LRListScheduler's lr_list entry) leaves the other groups alone.
    for (let i = 0; i < Math.min(groups.length, values.length); i++) groups[i]!.lr = values[i]!;
    this.lastLr = groups.map((g) => g.lr);
    this.stepped = true;
  }

  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** Scheduler-specific fields, in the order PyTorch's constructor sets them (before the base ones). */
  protected abstract ownState(): SchedulerStateDict;
  protected abstract loadOwnState(state: SchedulerStateDict): void;
  /** Names of the keys `ownState` writes, so loading can tell them from unknown ones. */
  protected abstract readonly ownKeys: readonly string[];

  stateDict(): SchedulerStateDict {
    const sd: SchedulerStateDict = {
      ...this.ownState(),
      base_lrs: [...this.baseLrs],
      last_epoch: this.lastEpoch,
      _step_count: this.stepCount,
      _is_initial: this.isInitial,
    };
    if (this.stepped) {
      sd._get_lr_called_within_step = this.getLrCalledWithinStep;
      sd._last_lr = [...this.lastLr];
    }
    return { ...sd, ...this.extraState };
  }

  /** `__dict__.update(state)`: known keys replace fields, absent ones keep their value. */
  loadStateDict(state: SchedulerStateDict): void {
    const own: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(state)) {
      switch (k) {
        case 'base_lrs': this.baseLrs = numberList(v, k); break;
        case 'last_epoch': this.lastEpoch = num(v, k); break;
        case '_step_count': this.stepCount = num(v, k); break;
        case '_is_initial': this.isInitial = Boolean(v); break;
        case '_get_lr_called_within_step': this.getLrCalledWithinStep = Boolean(v); break;
        case '_last_lr': this.lastLr = numberList(v, k); this.stepped = true; break;
        default:
          if (this.ownKeys.includes(k)) own[k] = v;
          else this.extraState[k] = v;
      }
    }
    this.loadOwnState(own);
  }
}
