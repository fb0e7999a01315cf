// torch's SequentialLR and ChainedScheduler (PyTorch 2.x semantics), whose children come from the
// config's nested `schedulers` list. State dicts nest the children's under `_schedulers`.
import { LRScheduler, num, numberList, type SchedulerOptimizer, type SchedulerStateDict, type SteppedScheduler } from './base.ts';
import { bisectRight } from './lr-schedulers.ts';

/** A child of SequentialLR / ChainedScheduler: a plain scheduler or another composite. */
export type ChildScheduler = LRScheduler | SequentialLR | ChainedScheduler;

function isComposite(s: ChildScheduler): s is SequentialLR | ChainedScheduler {
  return s instanceof SequentialLR || s instanceof ChainedScheduler;
}

/** SequentialLR.recursive_undo: step every leaf back once (composites recurse, they are not touched). */
function recursiveUndo(s: ChildScheduler): void {
  if (s instanceof ChainedScheduler || s instanceof SequentialLR) for (const c of s.schedulers) recursiveUndo(c);
  else s.lastEpoch -= 1;
}

export class SequentialLR extends LRScheduler {
  protected readonly ownKeys = ['_milestones'] as const;
  readonly schedulers: ChildScheduler[];
  milestones: number[];

  constructor(optimizer: SchedulerOptimizer, opts: { schedulers: ChildScheduler[]; milestones: number[]; last_epoch?: number }) {
    super(optimizer);
    const { schedulers, milestones } = opts;
    if (schedulers.length < 1) throw new Error('SequentialLR expects at least one scheduler, but got no scheduler.');
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new Error(`SequentialLR expects all schedulers to belong to the same optimizer, but the scheduler at index ${i} does not.`);
    });
    if (milestones.length !== schedulers.length - 1) {
      throw new Error(
        `Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers ${schedulers.length} and the number of milestones to be equal to ${milestones.length}`,
      );
    }
    // PyTorch would fail at the milestone (a composite has no closed form and no get_lr); fail now.
    schedulers.forEach((s, i) => {
      if (i > 0 && isComposite(s)) throw new Error(`SequentialLR cannot start the ${s.constructor.name} at index ${i} at a milestone: PyTorch restarts it with _update_lr(0), which composite schedulers do not support`);
    });
    this.schedulers = schedulers;
    this.milestones = [...milestones];
    this.lastEpoch = (opts.last_epoch ?? -1) + 1;
    for (const g of optimizer.paramGroups) {
      if (g.initial_lr === undefined) throw new Error('SequentialLR: a parameter group has no initial_lr');
      g.lr = g.initial_lr;
    }
    recursiveUndo(this);
    schedulers[0]!.initialStep();
    this.lastLr = schedulers[0]!.getLastLr();
  }

  protected getLr(): number[] {
    throw new Error('SequentialLR has no get_lr(); step() delegates to its schedulers');
  }

  override step(): void {
    this.lastEpoch += 1;
    const idx = bisectRight(this.milestones, this.lastEpoch);
    const s = this.schedulers[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) (s as LRScheduler).updateLr(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }

  override initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Own keys in PyTorch's order (`__dict__` minus optimizer and `_schedulers`), then the children. */
  override stateDict(): SchedulerStateDict {
    return {
      _milestones: [...this.milestones],
      last_epoch: this.lastEpoch,
      _last_lr: [...this.lastLr],
      ...this.extraState,
      _schedulers: this.schedulers.map((s) => s.stateDict()),
    };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    const { _schedulers, ...rest } = state;
    super.loadStateDict(rest);
    if (!Array.isArray(_schedulers) || _schedulers.length !== this.schedulers.length)
      throw new Error(`scheduler state: SequentialLR expects ${this.schedulers.length} entries in _schedulers`);
    _schedulers.forEach((s, i) => this.schedulers[i]!.loadStateDict(s as SchedulerStateDict));
  }

  protected ownState(): SchedulerStateDict {
    return { _milestones: [...this.milestones] };
  }

  protected loadOwnState(s: SchedulerStateDict): void {
    if ('_milestones' in s) this.milestones = numberList(s._milestones, '_milestones');
  }
}

/** ChainedScheduler: every step() steps each child in order; the LRs compound. */
export class ChainedScheduler implements SteppedScheduler {
  readonly optimizer: SchedulerOptimizer;
  readonly schedulers: ChildScheduler[];
  private lastLr: number[];
  /** Not a ChainedScheduler attribute in PyTorch: it only exists (and is saved) once someone sets it,
   * as DeepLabCut's runner does when resuming without scheduler state. It changes nothing. */
  private setLastEpoch: number | undefined;
  private extraState: SchedulerStateDict = {};

  constructor(schedulers: ChildScheduler[], optimizer?: SchedulerOptimizer) {
    if (schedulers.length < 1) throw new Error('ChainedScheduler expects at least one scheduler to be chained, but got no scheduler.');
    const opt = optimizer ?? schedulers[0]!.optimizer;
    schedulers.forEach((s, i) => {
      if (s.optimizer !== opt) throw new Error(`ChainedScheduler expects all schedulers to belong to the same optimizer, but the scheduler at index ${i} does not.`);
    });
    this.optimizer = opt;
    this.schedulers = schedulers;
    this.lastLr = schedulers.at(-1)!.optimizer.paramGroups.map((g) => g.lr);
  }

  get lastEpoch(): number {
    if (this.setLastEpoch === undefined) throw new Error("'ChainedScheduler' object has no attribute 'last_epoch'");
    return this.setLastEpoch;
  }

  set lastEpoch(v: number) {
    this.setLastEpoch = v;
  }

  step(): void {
    for (const s of this.schedulers) s.step();
    this.lastLr = this.schedulers.at(-1)!.optimizer.paramGroups.map((g) => g.lr);
  }

  /** `_initial_step` as inherited from LRScheduler (reached when a ChainedScheduler is SequentialLR's first child). */
  initialStep(): void {
    // LRScheduler._initial_step sets `_step_count` and `_is_initial` on the instance, so they get saved.
    this.extraState._step_count = 0;
    this.step();
    this.extraState._is_initial = false;
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    const sd: SchedulerStateDict = { _last_lr: [...this.lastLr] };
    if (this.setLastEpoch !== undefined) sd.last_epoch = this.setLastEpoch;
    return { ...sd, ...this.extraState, _schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  loadStateDict(state: SchedulerStateDict): void {
    for (const [k, v] of Object.entries(state)) {
      if (k === '_schedulers') continue;
      if (k === '_last_lr') this.lastLr = numberList(v, k);
      else if (k === 'last_epoch') this.setLastEpoch = num(v, k);
      else this.extraState[k] = v;
    }
    const children = state._schedulers;
    if (!Array.isArray(children) || children.length !== this.schedulers.length)
      throw new Error(`scheduler state: ChainedScheduler expects ${this.schedulers.length} entries in _schedulers`);
    children.forEach((s, i) => this.schedulers[i]!.loadStateDict(s as SchedulerStateDict));
  }
}
