// The training loop DeepLabCut's runners share (P/runners/train.py: TrainingRunner.fit, with PoseTrainingRunner
// and DetectorTrainingRunner supplying the model's steps): epochs numbered from 1, a resumed run training
// `epochs` more after the snapshot's, the scheduler stepping after each epoch, an evaluation every
// eval_interval epochs whose key metric picks the best snapshot, snapshots and learning-stats rows, W&B,
// SIGINT/SIGTERM finishing the current step and saving, a non-finite loss stopping the run without a snapshot.
// Each step runs inside tidy(); losses stay on the GPU and are read back only at display points and at the
// end of an epoch. A subclass gives the model, its batches, the loss terms of a batch and the evaluation.
import { join } from 'node:path';
import type { RunnerConfig } from '../config/schema/runner.ts';
import type { TrainSettings } from '../config/schema/train-settings.ts';
import { engine } from '../gpu/current.ts';
import type { Module } from '../nn/module.ts';
import { concat, reshape } from '../ops/shape.ts';
import type { Optimizer } from '../optim/index.ts';
import { writeFileAtomic } from '../project/index.ts';
import { learningCurvePng } from '../report/learning-curve.ts';
import { scope, tidy } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { buildOptimizer } from './build-optimizer.ts';
import { readSnapshot, resolveSnapshotPath, writeSnapshot, type RecordedPlugin, type SnapshotContents } from './checkpoint.ts';
import type { LoggedImage } from './image-log.ts';
import { ConsoleLog, LearningStatsLogger, type LogSink } from './logging.ts';
import { buildScheduler, loadSchedulerState, ReduceLROnPlateau, type BuiltScheduler } from './schedulers/index.ts';
import { SnapshotManager } from './snapshots.ts';
import { WandbLogger, type WandbEnvironment, type WandbSettings } from './wandb.ts';

/** What every runner takes, whatever it trains. */
export interface TrainingLoopOptions {
  /** The train/ folder: snapshots, learning stats, train.txt. */
  trainDir: string;
  /** Epochs to train (more epochs after a resumed snapshot's). Default train_settings.epochs. */
  epochs?: number;
  batchSize?: number;
  /** Snapshot (or train/ folder) to resume from; default the config's resume_training_from. */
  snapshot?: string | null;
  /** Stop each epoch after this many steps (tests and benchmarks). */
  maxStepsPerEpoch?: number;
  /** The run's config overrides (`key.path=value`), recorded in every snapshot's metadata. */
  overrides?: readonly string[];
  /** The plugins loaded for this run (their types), recorded in every snapshot's metadata. */
  plugins?: readonly RecordedPlugin[];
  log?: LogSink;
  /** Install SIGINT/SIGTERM handlers for the run (default true). */
  handleSignals?: boolean;
  /** Called with every step's loss terms when they are read back (tests, benchmarks). */
  onLosses?: (epoch: number, step: number, losses: Record<string, number>) => void;
  /** Called after every step with host-side timing and live GPU bytes (benchmarks). */
  onStep?: (info: StepInfo) => void;
  /** Where a `logger: {type: WandbLogger}` sends its run (tests); default: the environment. */
  wandb?: WandbEnvironment;
}

/** The parts of a config the loop reads: the pose config's top level, or its `detector` block. */
export interface LoopConfig {
  runner: RunnerConfig;
  train_settings: TrainSettings;
  resume_training_from?: string | null;
  logger?: { type?: string; [k: string]: unknown } | null;
}

export interface LoopSettings {
  /** Snapshot file prefix: runner.snapshot_prefix, `snapshot` or `snapshot-detector`. */
  prefix: string;
  /** learning_stats.csv or learning_stats_detector.csv. */
  statsFile: string;
  /** The whole config, as W&B records it. */
  wandbConfig: Record<string, unknown>;
}

export interface StepInfo {
  epoch: number;
  step: number;
  images: number;
  /** Wall time of the step (recording and whatever GPU waits it caused). */
  seconds: number;
  /** Live GPU bytes sampled after the backward pass, before the step's temporaries were released. */
  liveBytes: number;
}

export type TrainStatus = 'completed' | 'interrupted' | 'diverged';

export interface TrainResult {
  status: TrainStatus;
  /** The last epoch trained (partially, when interrupted). */
  epoch: number;
  startEpoch: number;
  endEpoch: number;
  /** Snapshots written during the run, in order. */
  snapshots: string[];
  message?: string;
}

export class NonFiniteLossError extends Error {
  constructor(
    readonly epoch: number,
    readonly step: number,
    readonly losses: Record<string, number>,
  ) {
    const terms = Object.entries(losses).map(([k, v]) => `${k}=${v}`).join(', ');
    super(`non-finite loss at epoch ${epoch}, step ${step}: ${terms}`);
    this.name = 'NonFiniteLossError';
  }
}

/** A training batch: its size, and the GPU memory it owns. */
export interface TrainBatch {
  readonly batchSize: number;
  dispose(): void;
}

/** The batches of each epoch (a loader). */
export interface BatchSource<B> {
  readonly length: number;
  epoch(epoch: number): AsyncGenerator<B>;
  close(): Promise<void>;
}

/** An evaluation's results: `metrics/test.*` values, `eval.*` loss terms, and lines explaining undefined metrics. */
export interface Evaluation {
  metrics: Record<string, number>;
  losses: Record<string, number>;
  notes: string[];
}

const mean = (a: number[]) => {
  const v = a.filter((x) => !Number.isNaN(x));
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN;
};

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(5) : String(v);
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const p = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${p(m)}:${p(t % 60)}` : `${p(m)}:${p(t % 60)}`;
}

export abstract class TrainingLoop<M extends Module, B extends TrainBatch, C extends LoopConfig = LoopConfig> {
  readonly optimizer: Optimizer;
  readonly scheduler: BuiltScheduler | null;
  readonly snapshots: SnapshotManager;
  readonly stats: LearningStatsLogger;
  readonly wandb: WandbLogger | null = null;
  readonly log: LogSink;
  readonly startEpoch: number;
  readonly endEpoch: number;
  readonly batchSize: number;
  /** The latest evaluation metrics (`metrics/test.*`); they persist over epochs without evaluation, as in DeepLabCut. */
  metrics: Record<string, number> = {};
  losses: Record<string, number> = {};
  private stopSignal: string | null = null;
  private resumedFrom: string | undefined;
  private readonly written: string[] = [];
  /** Snapshot files this run has written, oldest first. */
  get snapshotsWritten(): readonly string[] {
    return this.written;
  }
  private disposed = false;
  /** The exit code W&B records for the run (the CLI's: 1 diverged, 130 interrupted). */
  private wandbExitCode = 0;

  /**
   * `model` is built by the subclass (after seeding, so its initial weights follow train_settings.seed);
   * `prepare(resumed)` runs once the snapshot, if any, is loaded.
   */
  constructor(
    readonly config: C,
    readonly model: M,
    readonly options: TrainingLoopOptions,
    readonly settings: LoopSettings,
  ) {
    // A bad snapshot path fails before anything is written.
    const from = options.snapshot === undefined ? config.resume_training_from : options.snapshot;
    const resumePath = from ? resolveSnapshotPath(from, settings.prefix) : null;
    this.log = options.log ?? new ConsoleLog(join(options.trainDir, 'train.txt'));
    this.batchSize = options.batchSize ?? config.train_settings.batch_size;
    this.optimizer = buildOptimizer(config.runner.optimizer, model.parameters());
    this.scheduler = buildScheduler(config.runner.scheduler as Parameters<typeof buildScheduler>[0], this.optimizer);
    this.snapshots = new SnapshotManager({
      dir: options.trainDir,
      prefix: settings.prefix,
      maxSnapshots: config.runner.snapshots.max_snapshots,
      saveEpochs: config.runner.snapshots.save_epochs,
      keyMetric: config.runner.key_metric,
      keyMetricAsc: config.runner.key_metric_asc,
    });
    let start = 0;
    if (resumePath) {
      start = this.resume(resumePath);
      this.resumedFrom = resumePath;
    }
    this.prepare(resumePath !== null);
    this.startEpoch = start;
    this.endEpoch = start + (options.epochs ?? config.train_settings.epochs);
    if (config.logger?.type === 'WandbLogger') {
      this.wandb = new WandbLogger(config.logger as WandbSettings, settings.wandbConfig, (m) => this.log.info(`Warning: ${m}`), options.wandb, (m) => this.log.info(m));
    }
    this.stats = new LearningStatsLogger(join(options.trainDir, settings.statsFile));
    this.stats.load(start);
  }

  /** After loading a snapshot (resumed) or not: weights the subclass starts from, and its notices. */
  protected prepare(_resumed: boolean): void {}

  /** The training batches. */
  protected abstract batches(): BatchSource<B>;

  /** The loss terms of one batch, total_loss among them (recorded inside the step's scope, backward follows). */
  protected abstract lossTerms(batch: B): Record<string, Tensor> | Promise<Record<string, Tensor>>;

  /** Evaluates the model on the test split (or returns null when there is nothing to evaluate). */
  protected abstract evaluate(epoch: number): Promise<Evaluation | null>;

  /** "110 train / 6 test images": what the run trains on, for its first line. */
  protected abstract describeData(): string;

  /** Images for W&B at this epoch (logger.image_log_interval). */
  protected async imagesToLog(_epoch: number): Promise<LoggedImage[]> {
    return [];
  }

  /** Loads model, optimizer (when saved) and scheduler state; returns the snapshot's epoch. */
  private resume(path: string): number {
    const snap = readSnapshot(path);
    try {
      this.model.loadStateDict(snap.model, true);
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
    const epoch = snap.metadata.epoch;
    if (snap.optimizer) this.optimizer.loadStateDict(snap.optimizer);
    if (this.scheduler) {
      if (snap.scheduler && this.config.runner.load_scheduler_state_dict) loadSchedulerState(this.scheduler, snap.scheduler);
      else if (!(this.scheduler instanceof ReduceLROnPlateau)) this.scheduler.lastEpoch = epoch;
    }
    this.log.info(`Resuming from ${path} (epoch ${epoch}${snap.optimizer ? ', with optimizer state' : ''})`);
    return epoch;
  }

  get lr(): number {
    return this.optimizer.paramGroups[0]!.lr;
  }

  /** Asks the loop to stop after the current step (what the signal handlers call). */
  requestStop(reason = 'stop requested'): void {
    this.stopSignal ??= reason;
  }

  private async contents(epoch: number): Promise<SnapshotContents> {
    return {
      metadata: {
        epoch,
        metrics: { ...this.metrics },
        losses: { ...this.losses },
        ...(this.options.overrides?.length ? { overrides: [...this.options.overrides] } : {}),
        ...(this.options.plugins?.length ? { plugins: this.options.plugins.map((p) => ({ path: p.path, types: [...p.types] })) } : {}),
      },
      model: await this.model.stateDict(),
      optimizer: this.config.runner.snapshots.save_optimizer_state ? await this.optimizer.stateDict() : undefined,
      scheduler: this.scheduler ? this.scheduler.stateDict() : undefined,
    };
  }

  private writer(epoch: number) {
    return async (path: string) => {
      writeSnapshot(path, await this.contents(epoch));
      this.written.push(path);
    };
  }

  async fit(): Promise<TrainResult> {
    const handlers: [NodeJS.Signals, () => void][] = [];
    if (this.options.handleSignals !== false) {
      for (const sig of ['SIGINT', 'SIGTERM'] as NodeJS.Signals[]) {
        const h = () => {
          if (this.stopSignal) {
            process.stderr.write(`\n${sig} again: exiting without a snapshot\n`);
            process.exit(130);
          }
          this.requestStop(sig);
        };
        process.on(sig, h);
        handlers.push([sig, h]);
      }
    }
    const cfg = this.config;
    const loader = this.batches();
    const stepsPerEpoch = Math.min(loader.length, this.options.maxStepsPerEpoch ?? Infinity);
    let epoch = this.startEpoch;
    let stoppedIn = 0;
    const timing = { steps: 0, seconds: 0 };
    this.log.info(
      `Training ${this.endEpoch - this.startEpoch} epochs (${this.startEpoch + 1}-${this.endEpoch}), ${stepsPerEpoch} steps of ${this.batchSize} images each, ` +
        this.describeData(),
    );
    try {
      for (let e = this.startEpoch + 1; e <= this.endEpoch; e++) {
        if (this.stopSignal) break;
        epoch = e;
        const lr = this.lr;
        const { steps, losses } = await this.trainEpoch(loader, e, stepsPerEpoch, timing);
        if (this.stopSignal && steps < stepsPerEpoch) {
          // A partly trained epoch is saved as done (a resumed run goes on with the next one, at the LR
          // the scheduler gives after it); with no step run, the state is the previous epoch's.
          stoppedIn = e;
          if (steps === 0) epoch = e - 1;
          else {
            this.losses = Object.fromEntries(Object.entries(losses).map(([k, v]) => [`train.${k}`, mean(v)]));
            if (this.scheduler && !(this.scheduler instanceof ReduceLROnPlateau)) this.scheduler.step();
          }
          break;
        }
        const train = Object.fromEntries(Object.entries(losses).map(([k, v]) => [`train.${k}`, mean(v)]));
        this.losses = { ...train };
        if (this.scheduler && !(this.scheduler instanceof ReduceLROnPlateau)) this.scheduler.step();
        let evalLine = '';
        const evaluation = e % cfg.runner.eval_interval === 0 ? await this.evaluate(e) : null;
        if (evaluation) {
          this.metrics = evaluation.metrics;
          for (const [k, v] of Object.entries(evaluation.losses)) this.losses[`eval.${k}`] = v;
          if (Object.keys(evaluation.losses).length) evalLine = `, valid loss ${fmt(evaluation.losses.total_loss ?? NaN)}`;
          const lines = Object.entries(this.metrics).map(([k, v]) => `  ${k}: ${Number.isFinite(v) ? v.toFixed(2) : v}`);
          lines.push(...evaluation.notes.map((n) => `  (${n})`));
          this.log.info(`Epoch ${e} performance:\n${lines.join('\n')}`);
          if (this.scheduler instanceof ReduceLROnPlateau) {
            const v = this.snapshots.keyValue(this.metrics);
            if (v !== null) this.scheduler.step(v);
          }
        }
        await this.snapshots.update(e, this.metrics, e === this.endEpoch, this.writer(e));
        const row = { ...Object.fromEntries(Object.entries(this.losses).map(([k, v]) => [`losses/${k}`, v])), ...this.metrics };
        this.stats.log(e, row);
        this.wandb?.log(e, row, await this.imagesToLog(e));
        if (evaluation || e === this.endEpoch) this.writeLearningCurve();
        this.log.info(`Epoch ${e}/${this.endEpoch} (lr=${lr}), train loss ${fmt(train['train.total_loss'] ?? NaN)}${evalLine}`);
      }
      if (this.stopSignal) {
        const u = await this.snapshots.saveNow(epoch, this.writer(epoch));
        const where = stoppedIn ? `during epoch ${stoppedIn}` : `after epoch ${epoch}`;
        this.log.info(`Training stopped by ${this.stopSignal} ${where}; saved ${u.saved} (epoch ${epoch})`);
        return { status: 'interrupted', epoch, startEpoch: this.startEpoch, endEpoch: this.endEpoch, snapshots: [...this.written], message: `stopped by ${this.stopSignal}` };
      }
      return { status: 'completed', epoch, startEpoch: this.startEpoch, endEpoch: this.endEpoch, snapshots: [...this.written] };
    } catch (err) {
      if (err instanceof NonFiniteLossError) {
        const last = this.written[this.written.length - 1] ?? this.snapshots.list().sort((a, b) => a.epoch - b.epoch).pop()?.path ?? this.resumedFrom;
        const message = `${err.message}. Training stopped; ${last ? `the last good snapshot is ${last}` : 'no snapshot was written'} (try a lower learning rate)`;
        this.log.info(message);
        this.wandbExitCode = 1;
        return { status: 'diverged', epoch: err.epoch, startEpoch: this.startEpoch, endEpoch: this.endEpoch, snapshots: [...this.written], message };
      }
      throw err;
    } finally {
      this.log.endProgress();
      for (const [sig, h] of handlers) process.off(sig, h);
      await loader.close();
      await this.wandb?.finish(this.stopSignal ? 130 : this.wandbExitCode);
    }
  }

  /** train/learning_curve.png from the learning_stats.csv rows so far. */
  private writeLearningCurve(): void {
    const png = learningCurvePng((c) => this.stats.series(c), this.config.runner.key_metric);
    writeFileAtomic(join(this.options.trainDir, this.settings.statsFile === 'learning_stats.csv' ? 'learning_curve.png' : this.settings.statsFile.replace(/^learning_stats/, 'learning_curve').replace(/\.csv$/, '.png')), png);
  }

  /** One training epoch; returns the steps run and every step's loss terms. */
  private async trainEpoch(loader: BatchSource<B>, epoch: number, steps: number, timing: { steps: number; seconds: number }) {
    const model = this.model;
    const optimizer = this.optimizer;
    const display = this.config.train_settings.display_iters;
    model.train();
    let names: string[] = [];
    const pending: Tensor[] = [];
    const losses: Record<string, number[]> = {};
    let firstPending = 1;
    let lastLoss: number | null = null;
    let step = 0;
    const totalSteps = (this.endEpoch - this.startEpoch) * steps;
    const flush = async () => {
      if (!pending.length) return;
      const all = tidy(() => concat(pending, 0));
      let values: Float32Array;
      try {
        values = await all.toArray();
      } finally {
        all.dispose();
        for (const t of pending) t.dispose();
        pending.length = 0;
      }
      const n = values.length / names.length;
      const T = names.length;
      for (let i = 0; i < n; i++) {
        const row = Object.fromEntries(names.map((k, j) => [k, values[i * T + j]!]));
        if (!Object.values(row).every(Number.isFinite)) throw new NonFiniteLossError(epoch, firstPending + i, row);
        for (const k of names) (losses[k] ??= []).push(row[k]!);
        this.options.onLosses?.(epoch, firstPending + i, row);
      }
      firstPending += n;
      lastLoss = mean((losses.total_loss ?? []).slice(-display));
    };
    const iter = loader.epoch(epoch);
    try {
      while (step < steps) {
        const t0 = performance.now();
        const next = await iter.next();
        if (next.done) break;
        const batch: B = next.value;
        let liveBytes = 0;
        try {
          optimizer.zeroGrad();
          // scope, not tidy: a detector's step reads back (matching) between recording; the loader makes the next
          // batch's tensors only when asked for it, so nothing else allocates meanwhile.
          const vec = await scope(async () => {
            const terms = await this.lossTerms(batch);
            if (!terms.total_loss) throw new Error(`the loss terms of a step have no total_loss (${Object.keys(terms).join(', ')})`);
            terms.total_loss.backward();
            optimizer.step();
            liveBytes = engine().stats().liveBytes;
            if (!names.length) names = Object.keys(terms);
            return concat(names.map((n) => reshape(terms[n]!, [1])), 0);
          });
          pending.push(vec);
        } finally {
          batch.dispose();
        }
        // Keeps recording at most one step ahead of the device (see Engine.pace).
        await engine().pace();
        step++;
        if (step % display === 0 || step === steps) await flush();
        const seconds = (performance.now() - t0) / 1000;
        timing.steps++;
        timing.seconds += seconds;
        const perStep = timing.seconds / timing.steps;
        const done = (epoch - this.startEpoch - 1) * steps + step;
        const ips = batch.batchSize / perStep;
        this.options.onStep?.({ epoch, step, images: batch.batchSize, seconds, liveBytes });
        this.log.progress({ epoch, epochs: this.endEpoch, step, steps, loss: lastLoss, imagesPerSecond: ips, etaSeconds: (totalSteps - done) * perStep });
        if (step % display === 0) {
          this.log.info(
            `Number of iterations: ${step}, loss: ${fmt(lastLoss ?? NaN)}, lr: ${this.lr} (epoch ${epoch}/${this.endEpoch}, ${ips.toFixed(1)} images/s, ETA ${duration((totalSteps - done) * perStep)})`,
          );
        }
        if (this.stopSignal) break;
      }
      await flush();
    } finally {
      for (const t of pending) t.dispose();
      await iter.return(undefined);
    }
    return { steps: step, losses };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
    this.model.dispose();
  }
}
