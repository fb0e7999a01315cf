// torch's ReduceLROnPlateau (PyTorch 2.x): stepped with a metric after each evaluation. Not a
// chainable scheduler, so SequentialLR and ChainedScheduler reject it, as PyTorch does.
import { num, numberList, type EpochScheduler, type SchedulerOptimizer, type SchedulerStateDict } from './base.ts';

export interface ReduceLROnPlateauOptions {
  mode?: 'min' | 'max';
  factor?: number;
  patience?: number;
  threshold?: number;
  threshold_mode?: 'rel' | 'abs';
  cooldown?: number;
  min_lr?: number | number[];
  eps?: number;
}

export class ReduceLROnPlateau implements EpochScheduler {
  factor: number;
  /** null when min_lr was given as a list (PyTorch's `default_min_lr`). */
  defaultMinLr: number | null;
  minLrs: number[];
  patience: number;
  cooldown: number;
  eps: number;
  lastEpoch = 0;
  private lastLr: number[];
  modeWorse = Infinity;
  mode: 'min' | 'max' = 'min';
  threshold = 1e-4;
  thresholdMode: 'rel' | 'abs' = 'rel';
  best = Infinity;
  cooldownCounter = 0;
  numBadEpochs = 0;
  private extraState: SchedulerStateDict = {};

  constructor(readonly optimizer: SchedulerOptimizer, opts: ReduceLROnPlateauOptions = {}) {
    const factor = opts.factor ?? 0.1;
    if (factor >= 1) throw new Error('Factor should be < 1.0.');
    this.factor = factor;
    const minLr = opts.min_lr ?? 0;
    const n = optimizer.paramGroups.length;
    if (Array.isArray(minLr)) {
      if (minLr.length !== n) throw new Error(`expected ${n} min_lrs, got ${minLr.length}`);
      this.defaultMinLr = null;
      this.minLrs = [...minLr];
    } else {
      this.defaultMinLr = minLr;
      this.minLrs = Array<number>(n).fill(minLr);
    }
    this.patience = opts.patience ?? 10;
    this.cooldown = opts.cooldown ?? 0;
    this.eps = opts.eps ?? 1e-8;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
    this.initIsBetter(opts.mode ?? 'min', opts.threshold ?? 1e-4, opts.threshold_mode ?? 'rel');
    this.reset();
  }

  private reset(): void {
    this.best = this.modeWorse;
    this.cooldownCounter = 0;
    this.numBadEpochs = 0;
  }

  private initIsBetter(mode: string, threshold: number, thresholdMode: string): void {
    if (mode !== 'min' && mode !== 'max') throw new Error(`mode ${mode} is unknown!`);
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') throw new Error(`threshold mode ${thresholdMode} is unknown!`);
    this.modeWorse = mode === 'min' ? Infinity : -Infinity;
    this.mode = mode;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /** One epoch's metric (e.g. the key metric or the eval loss). A NaN metric never counts as better. */
  step(metric: number, epoch?: number): void {
    const current = metric;
    const e = epoch ?? this.lastEpoch + 1;
    this.lastEpoch = e;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduceLr(): void {
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.minLrs.length) {
      if (this.defaultMinLr === null)
        throw new Error(`The number of param groups in the optimizer (${groups.length}) differs from when ReduceLROnPlateau was initialized (${this.minLrs.length})`);
      this.minLrs = Array<number>(groups.length).fill(this.defaultMinLr);
    }
    groups.forEach((g, i) => {
      const oldLr = g.lr;
      const newLr = Math.max(oldLr * this.factor, this.minLrs[i]!);
      if (oldLr - newLr > this.eps) g.lr = newLr;
    });
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** PyTorch 2.x's `__dict__` order. `best`/`mode_worse` may be ±Infinity (pickle keeps them). */
  stateDict(): SchedulerStateDict {
    return {
      factor: this.factor,
      default_min_lr: this.defaultMinLr,
      min_lrs: [...this.minLrs],
      patience: this.patience,
      cooldown: this.cooldown,
      eps: this.eps,
      last_epoch: this.lastEpoch,
      _last_lr: [...this.lastLr],
      mode_worse: this.modeWorse,
      mode: this.mode,
      threshold: this.threshold,
      threshold_mode: this.thresholdMode,
      best: this.best,
      cooldown_counter: this.cooldownCounter,
      num_bad_epochs: this.numBadEpochs,
      ...this.extraState,
    };
  }

  loadStateDict(state: SchedulerStateDict): void {
    for (const [k, v] of Object.entries(state)) {
      switch (k) {
        case 'factor': this.factor = num(v, k); break;
        case 'default_min_lr': this.defaultMinLr = v === null ? null : num(v, k); break;
        case 'min_lrs': this.minLrs = numberList(v, k); break;
        case 'patience': this.patience = num(v, k); break;
        case 'cooldown': this.cooldown = num(v, k); break;
        case 'eps': this.eps = num(v, k); break;
        case 'last_epoch': this.lastEpoch = num(v, k); break;
        case '_last_lr': this.lastLr = numberList(v, k); break;
        case 'mode_worse': this.modeWorse = num(v, k); break;
        case 'mode': this.mode = v as 'min' | 'max'; break;
        case 'threshold': this.threshold = num(v, k); break;
        case 'threshold_mode': this.thresholdMode = v as 'rel' | 'abs'; break;
        case 'best': this.best = num(v, k); break;
        case 'cooldown_counter': this.cooldownCounter = num(v, k); break;
        case 'num_bad_epochs': this.numBadEpochs = num(v, k); break;
        default: this.extraState[k] = v;
      }
    }
    this.initIsBetter(this.mode, this.threshold, this.thresholdMode);
  }
}
