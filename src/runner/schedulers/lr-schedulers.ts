// The single (non-composite) epoch schedulers: DeepLabCut's LRListScheduler and torch's StepLR,
// MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, CosineAnnealingLR and
// CosineAnnealingWarmRestarts, each with PyTorch 2.x's chainable and closed forms.
import { LRScheduler, num, numberList, type SchedulerOptimizer, type SchedulerStateDict } from './base.ts';

/** bisect.bisect_right */
export function bisectRight(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < sorted[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * DeepLabCut's LRListScheduler (runners/schedulers.py): at a milestone epoch the LRs become the
 * matching `lr_list` entry (absolute values, one per group); otherwise they stay as they are.
 */
export class LRListScheduler extends LRScheduler {
  protected readonly ownKeys = ['milestones', 'lr_list'] as const;
  milestones: number[];
  lrList: number[][];

  constructor(optimizer: SchedulerOptimizer, opts: { milestones: number[]; lr_list: number[][]; last_epoch?: number }) {
    super(optimizer);
    this.milestones = [...opts.milestones];
    this.lrList = opts.lr_list.map((l) => [...l]);
    this.init(opts.last_epoch ?? -1);
  }

  protected getLr(): number[] {
    const i = this.milestones.indexOf(this.lastEpoch);
    return i < 0 ? this.groupLrs() : [...this.lrList[i]!];
  }

  protected ownState(): SchedulerStateDict {
    return { milestones: [...this.milestones], lr_list: this.lrList.map((l) => [...l]) };
  }

  protected loadOwnState(s: SchedulerStateDict): void {
    if ('milestones' in s) this.milestones = numberList(s.milestones, 'milestones');
    if ('lr_list' in s) {
      if (!Array.isArray(s.lr_list)) throw new Error('scheduler state: lr_list must be a list of lists');
      this.lrList = s.lr_list.map((l, i) => numberList(l, `lr_list[${i}]`));
    }
  }
}

export class StepLR extends LRScheduler {
  protected readonly ownKeys = ['step_size', 'gamma'] as const;
  stepSize: number;
  gamma: number;

  constructor(optimizer: SchedulerOptimizer, opts: { step_size: number; gamma?: number; last_epoch?: number }) {
    super(optimizer);
    this.stepSize = opts.step_size;
    this.gamma = opts.gamma ?? 0.1;
    this.init(opts.last_epoch ?? -1);
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0 || pyMod(this.lastEpoch, this.stepSize) !== 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }

  protected ownState(): SchedulerStateDict {
    return { step_size: this.stepSize, gamma: this.gamma };
  }

  protected loadOwnState(s: SchedulerStateDict): void {
    if ('step_size' in s) this.stepSize = num(s.step_size, 'step_size');
    if ('gamma' in s) this.gamma = num(s.gamma, 'gamma');
  }
}

/** Python's `%` (sign of the divisor). */
function pyMod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

export class MultiStepLR extends LRScheduler {
  protected readonly ownKeys = ['milestones', 'gamma'] as const;
  /** A collections.Counter in PyTorch: milestone -> how many times it was given. */
  milestones: Map<number, number>;
  gamma: number;

  constructor(optimizer: SchedulerOptimizer, opts: { milestones: number[]; gamma?: number; last_epoch?: number }) {
    super(optimizer);
    this.milestones = counter(opts.milestones);
    this.gamma = opts.gamma ?? 0.1;
    this.init(opts.last_epoch ?? -1);
  }

  protected getLr(): number[] {
    const count = this.milestones.get(this.lastEpoch);
    if (count === undefined) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma ** count);
  }

  protected override closedFormLr(): number[] {
    const sorted = [...this.milestones].flatMap(([m, c]) => Array<number>(c).fill(m)).sort((a, b) => a - b);
    return this.baseLrs.map((b) => b * this.gamma ** bisectRight(sorted, this.lastEpoch));
  }

  /** The Counter as a plain {milestone: count} mapping (how a pickled Counter reads back). */
  protected ownState(): SchedulerStateDict {
    return { milestones: Object.fromEntries([...this.milestones].map(([m, c]) => [String(m), c])), gamma: this.gamma };
  }

  protected loadOwnState(s: SchedulerStateDict): void {
    if ('milestones' in s) {
      const m = s.milestones;
      if (Array.isArray(m)) this.milestones = counter(numberList(m, 'milestones'));
      else if (m instanceof Map) this.milestones = new Map([...m].map(([k, c]) => [Number(k), num(c, 'milestones count')]));
      else if (m && typeof m === 'object') this.milestones = new Map(Object.entries(m).map(([k, c]) => [Number(k), num(c, 'milestones count')]));
      else throw new Error('scheduler state: milestones must be a mapping or a list');
    }
    if ('gamma' in s) this.gamma = num(s.gamma, 'gamma');
  }
}

function counter(xs: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

export class ConstantLR extends LRScheduler {
  protected readonly ownKeys = ['factor', 'total_iters'] as const;
  factor: number;
  totalIters: number;

  constructor(optimizer: SchedulerOptimizer, opts: { factor?: number; total_iters?: number; last_epoch?: number } = {}) {
    super(optimizer);
    const factor = opts.factor ?? 1 / 3;
    if (factor > 1 || factor < 0) throw new Error('Constant multiplicative factor expected to be between 0 and 1.');
    this.factor = factor;
    this.totalIters = opts.total_iters ?? 5;
    this.init(opts.last_epoch ?? -1);
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groupLrs().map((lr) => lr * this.factor);
    if (this.lastEpoch !== this.totalIters) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * (1 / this.factor));
  }

  protected override closedFormLr(): number[] {
    const past = this.lastEpoch >= this.totalIters ? 1 : 0;
    return this.baseLrs.map((b) => b * (this.factor + past * (1 - this.factor)));
  }

  protected ownState(): SchedulerStateDict {
    return { factor: this.factor, total_iters: this.totalIters };
  }

  protected loadOwnState(s: SchedulerStateDict): void {
    if ('factor' in s) this.factor = num(s.factor, 'factor');
    if ('total_iters' in s) this.totalIters = num(s.total_iters, 'total_iters');
  }
}

export class LinearLR extends LRScheduler {
  protected readonly ownKeys = ['start_factor', 'end_factor', 'total_iters'] as const;
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: SchedulerOptimizer, opts: { start_factor?: number; end_factor?: number; total_iters?: number; last_epoch?: number } = {}) {
    super(optimizer);
    const start = opts.start_factor ?? 1 / 3;
    const end = opts.end_factor ?? 1;
    if (start > 1 || start <= 0) throw new Error('Starting multiplicative factor expected to be greater than 0 and less or equal to 1.');
    if (end > 1 || end < 0) throw new Error('Ending multiplicative factor expected to be between 0 and 1.');
    this.startFactor = start;
    this.endFactor = end;
    this.totalIters = opts.total_iters ?? 5;
    this.init(opts.last_epoch ?? -1);
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groupLrs().map((lr) => lr * this.startFactor);
    if (this.isInitial || this.lastEpoch > this.totalIters) return this.groupLrs();
    const d = this.endFactor - this.startFactor;
    return this.groupLrs().map((lr) => lr * (1 + d / (this.totalIters * this.startFactor + (this.lastEpoch - 1) * d)));
  }

  protected override closedFormLr(): number[] {
    const d = this.endFactor - this.startFactor;
    return this.baseLrs.map((b) => b * (this.startFactor + (d * Math.min(this.totalIters, this.lastEpoch)) / this.totalIters));
  }

  protected ownState(): SchedulerStateDict {
    return { start_factor: this.startFactor, end_factor: this.endFactor, total_iters: this.totalIters };
  }

  protected loadOwnState(s: SchedulerStateDict): void {
    if ('start_factor' in s) this.startFactor = num(s.start_factor, 'start_factor');
    if ('end_factor' in s) this.endFactor = num(s.end_factor, 'end_factor');
    if ('total_iters' in s) this.totalIters = num(s.total_iters, 'total_iters');
  }
}

export class ExponentialLR extends LRScheduler {
  protected readonly ownKeys = ['gamma'] as const;
  gamma: number;

  constructor(optimizer: SchedulerOptimizer, opts: { gamma: number; last_epoch?: number }) {
    super(optimizer);
    this.gamma = opts.gamma;
    this.init(opts.last_epoch ?? -1);
  }

  protected getLr(): number[] {
    // PyTorch >= 2.x: the constructor's step does not move a resumed schedule one step ahead.
    if (this.isInitial) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }

  protected ownState(): SchedulerStateDict {
    return { gamma: this.gamma };
  }

  protected loadOwnState(s: SchedulerStateDict): void {
    if ('gamma' in s) this.gamma = num(s.gamma, 'gamma');
  }
}

export class PolynomialLR extends LRScheduler {
  protected readonly ownKeys = ['total_iters', 'power'] as const;
  totalIters: number;
  power: number;

  constructor(optimizer: SchedulerOptimizer, opts: { total_iters?: number; power?: number; last_epoch?: number } = {}) {
    super(optimizer);
    this.totalIters = opts.total_iters ?? 5;
    this.power = opts.power ?? 1;
    this.init(opts.last_epoch ?? -1);
  }

  protected getLr(): number[] {
    if (this.isInitial || this.lastEpoch > this.totalIters) return this.groupLrs();
    const f = ((1 - this.lastEpoch / this.totalIters) / (1 - (this.lastEpoch - 1) / this.totalIters)) ** this.power;
    return this.groupLrs().map((lr) => lr * f);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * (1 - Math.min(this.totalIters, this.lastEpoch) / this.totalIters) ** this.power);
  }

  protected ownState(): SchedulerStateDict {
    return { total_iters: this.totalIters, power: this.power };
  }

  protected loadOwnState(s: SchedulerStateDict): void {
    if ('total_iters' in s) this.totalIters = num(s.total_iters, 'total_iters');
    if ('power' in s) this.power = num(s.power, 'power');
  }
}

export class CosineAnnealingLR extends LRScheduler {
  protected readonly ownKeys = ['T_max', 'eta_min'] as const;
  tMax: number;
  etaMin: number;

  constructor(optimizer: SchedulerOptimizer, opts: { T_max: number; eta_min?: number; last_epoch?: number }) {
    super(optimizer);
    this.tMax = opts.T_max;
    this.etaMin = opts.eta_min ?? 0;
    this.init(opts.last_epoch ?? -1);
  }

  protected getLr(): number[] {
    const { tMax: T, etaMin: eta, lastEpoch: e } = this;
    if (this.isInitial) return this.groupLrs();
    if (this.stepCount === 1 && e > 0) return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    if (pyMod(e - 1 - T, 2 * T) === 0) {
      return this.groupLrs().map((lr, i) => lr + ((this.baseLrs[i]! - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return this.groupLrs().map((lr) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - eta) + eta);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }

  protected ownState(): SchedulerStateDict {
    return { T_max: this.tMax, eta_min: this.etaMin };
  }

  protected loadOwnState(s: SchedulerStateDict): void {
    if ('T_max' in s) this.tMax = num(s.T_max, 'T_max');
    if ('eta_min' in s) this.etaMin = num(s.eta_min, 'eta_min');
  }
}

/** torch's CosineAnnealingWarmRestarts, stepped per epoch (integer epochs only). */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  protected readonly ownKeys = ['T_0', 'T_i', 'T_mult', 'eta_min', 'T_cur'] as const;
  t0: number;
  tI: number;
  tMult: number;
  etaMin: number;
  tCur: number;

  constructor(optimizer: SchedulerOptimizer, opts: { T_0: number; T_mult?: number; eta_min?: number; last_epoch?: number }) {
    super(optimizer);
    const tMult = opts.T_mult ?? 1;
    if (opts.T_0 <= 0 || !Number.isInteger(opts.T_0)) throw new Error(`Expected positive integer T_0, but got ${opts.T_0}`);
    if (tMult < 1 || !Number.isInteger(tMult)) throw new Error(`Expected integer T_mult >= 1, but got ${tMult}`);
    this.t0 = opts.T_0;
    this.tI = opts.T_0;
    this.tMult = tMult;
    this.etaMin = opts.eta_min ?? 0;
    this.tCur = opts.last_epoch ?? -1;
    this.init(opts.last_epoch ?? -1);
  }

  protected getLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2);
  }

  override step(): void {
    this.stepCount += 1;
    if (this.lastEpoch < 0) this.restartAt(0);
    else {
      const epoch = this.lastEpoch + 1;
      this.tCur += 1;
      if (this.tCur >= this.tI) {
        this.tCur -= this.tI;
        this.tI *= this.tMult;
      }
      this.finish(epoch);
    }
  }

  override stepTo(epoch: number): void {
    this.stepCount += 1;
    this.restartAt(epoch);
  }

  private restartAt(epoch: number): void {
    if (epoch < 0) throw new Error(`Expected non-negative epoch, but got ${epoch}`);
    if (epoch >= this.t0) {
      if (this.tMult === 1) this.tCur = pyMod(epoch, this.t0);
      else {
        const n = Math.trunc(Math.log((epoch / this.t0) * (this.tMult - 1) + 1) / Math.log(this.tMult));
        this.tCur = epoch - (this.t0 * (this.tMult ** n - 1)) / (this.tMult - 1);
        this.tI = this.t0 * this.tMult ** n;
      }
    } else {
      this.tI = this.t0;
      this.tCur = epoch;
    }
    this.finish(epoch);
  }

  private finish(epoch: number): void {
    this.lastEpoch = Math.floor(epoch);
    this.getLrCalledWithinStep = true;
    const values = this.getLr();
    this.getLrCalledWithinStep = false;
    this.applyLrs(values);
  }

  protected ownState(): SchedulerStateDict {
    return { T_0: this.t0, T_i: this.tI, T_mult: this.tMult, eta_min: this.etaMin, T_cur: this.tCur };
  }

  protected loadOwnState(s: SchedulerStateDict): void {
    if ('T_0' in s) this.t0 = num(s.T_0, 'T_0');
    if ('T_i' in s) this.tI = num(s.T_i, 'T_i');
    if ('T_mult' in s) this.tMult = num(s.T_mult, 'T_mult');
    if ('eta_min' in s) this.etaMin = num(s.eta_min, 'eta_min');
    if ('T_cur' in s) this.tCur = num(s.T_cur, 'T_cur');
  }
}
