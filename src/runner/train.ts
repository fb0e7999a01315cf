// PoseTrainingRunner: DeepLabCut's training loop (P/runners/train.py) for a bottom-up pose model.
// Epochs are numbered from 1; a resumed run trains `epochs` more epochs after the snapshot's; the
// scheduler steps after each epoch; every eval_interval epochs the test split is evaluated with the
// inference transforms (batch 1) and test.rmse / rmse_pcutoff / mAP / mAR decide the best snapshot.
// Each step runs inside tidy(); losses stay on the GPU and are read back only at display points and
// at the end of an epoch. SIGINT/SIGTERM finish the current step and write a snapshot; a non-finite
// loss stops the run (naming epoch, step and loss terms) without writing one. Each epoch's row goes to
// learning_stats.csv (and to W&B with a WandbLogger); learning_curve.png is redrawn at each evaluation and at the end.
import { join, resolve } from 'node:path';
import type { PoseConfig } from '../config/index.ts';
import { writeFileAtomic } from '../project/index.ts';
import { learningCurvePng } from '../report/learning-curve.ts';
import { AugmentationPipeline, PoseLoader, type Batch, type PoseDataset } from '../data/index.ts';
import { engine } from '../gpu/current.ts';
import { loadPretrained, PretrainedError, pretrainedHowTo } from '../models/backbones/pretrained.ts';
import { PoseModel } from '../models/pose-model.ts';
import { manualSeed } from '../ops/creation.ts';
import { concat, reshape } from '../ops/shape.ts';
import type { Optimizer } from '../optim/index.ts';
import { tidy } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { buildOptimizer } from './build-optimizer.ts';
import { readSnapshot, resolveSnapshotPath, writeSnapshot, type RecordedPlugin, type SnapshotContents } from './checkpoint.ts';
import { ConsoleLog, LearningStatsLogger, type LogSink } from './logging.ts';
import { computeMetrics } from './metrics/index.ts';
import { poseImages, type LoggedImage } from './image-log.ts';
import { predictDataset } from './inference.ts';
import { buildScheduler, loadSchedulerState, ReduceLROnPlateau, type BuiltScheduler } from './schedulers/index.ts';
import { SnapshotManager } from './snapshots.ts';
import { WandbLogger, type WandbEnvironment, type WandbSettings } from './wandb.ts';

export interface PoseTrainingOptions {
  config: PoseConfig;
  /** The train/ folder: snapshots, learning_stats.csv, train.txt. */
  trainDir: string;
  train: PoseDataset;
  test: PoseDataset;
  /** pcutoff for test.rmse_pcutoff (the project's config.yaml pcutoff). */
  pcutoff: number;
  /** Epochs to train (more epochs after a resumed snapshot's). Default train_settings.epochs. */
  epochs?: number;
  batchSize?: number;
  /** Snapshot (or train/ folder) to resume from; default config.resume_training_from. */
  snapshot?: string | null;
  /** Stop each epoch after this many steps (tests and benchmarks). */
  maxStepsPerEpoch?: number;
  /** Evaluate on at most this many test images (tests). */
  maxEvalImages?: number;
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

export class PoseTrainingRunner {
  readonly config: PoseConfig;
  readonly model: PoseModel;
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

  constructor(readonly options: PoseTrainingOptions) {
    const cfg = (this.config = options.config);
    const seed = cfg.train_settings.seed;
    // A bad snapshot path fails before any model is built.
    const from = options.snapshot === undefined ? cfg.resume_training_from : options.snapshot;
    const resumePath = from ? resolveSnapshotPath(from, cfg.runner.snapshot_prefix ?? 'snapshot') : null;
    manualSeed(seed);
    this.log = options.log ?? new ConsoleLog(join(options.trainDir, 'train.txt'));
    this.batchSize = options.batchSize ?? cfg.train_settings.batch_size;
    this.model = new PoseModel(cfg.model as ConstructorParameters<typeof PoseModel>[0], { seed });
    this.optimizer = buildOptimizer(cfg.runner.optimizer, this.model.parameters());
    this.scheduler = buildScheduler(cfg.runner.scheduler as Parameters<typeof buildScheduler>[0], this.optimizer);
    this.snapshots = new SnapshotManager({
      dir: options.trainDir,
      prefix: cfg.runner.snapshot_prefix ?? 'snapshot',
      maxSnapshots: cfg.runner.snapshots.max_snapshots,
      saveEpochs: cfg.runner.snapshots.save_epochs,
      keyMetric: cfg.runner.key_metric,
      keyMetricAsc: cfg.runner.key_metric_asc,
    });
    let start = 0;
    if (resumePath) {
      start = this.resume(resumePath);
      this.resumedFrom = resumePath;
    } else this.initBackbone();
    this.keepRandomInitTrainable();
    this.startEpoch = start;
    this.endEpoch = start + (options.epochs ?? cfg.train_settings.epochs);
    if (cfg.logger?.type === 'WandbLogger') {
      this.wandb = new WandbLogger(cfg.logger as WandbSettings, cfg as unknown as Record<string, unknown>, (m) => this.log.info(`Warning: ${m}`), options.wandb, (m) => this.log.info(m));
    }
    this.stats = new LearningStatsLogger(join(options.trainDir, 'learning_stats.csv'));
    this.stats.load(start);
  }

  /** `model.backbone.pretrained`: DeepLabCut loads ImageNet weights here; we load the file the user supplies. */
  private initBackbone(): void {
    const backbone = this.config.model.backbone as { pretrained?: boolean | string; model_name?: string };
    const name = backbone.model_name ?? 'the backbone';
    if (typeof backbone.pretrained === 'string') {
      const path = resolve(backbone.pretrained);
      const r = loadPretrained(this.model.backbone.model, path);
      const ignored = r.ignored.length ? `; ignored ${r.ignored.length} keys the backbone does not use (${r.ignored.slice(0, 4).join(', ')}${r.ignored.length > 4 ? ', ...' : ''})` : '';
      this.log.info(`Backbone weights: ${r.loaded} tensors from ${path}${ignored}`);
    } else if (backbone.pretrained === true) throw new PretrainedError(`model.backbone.pretrained is true. ${pretrainedHowTo(name)}`);
    else this.log.info(`Backbone ${name} starts from random initialisation (DeepLabCut would start from ImageNet weights; supply them with model.backbone.pretrained: <path>)`);
  }

  /**
   * DeepLabCut's defaults freeze BatchNorm statistics (HRNet's, the detectors') because DeepLabCut always
   * starts from ImageNet weights. A randomly initialised backbone's frozen statistics are its fresh ones
   * (mean 0, variance 1), under which activations grow without bound through the network (losses of
   * 1e11 from hrnet_w32). So without `model.backbone.pretrained` the statistics are trained, as with
   * freeze_bn_stats: false; the decision follows the config, so a resumed run makes the same one.
   */
  private keepRandomInitTrainable(): void {
    const backbone = this.model.backbone;
    const pretrained = (this.config.model.backbone as { pretrained?: unknown }).pretrained;
    if (typeof pretrained === 'string' || !backbone.freezeBnStats || !backbone.hasBatchNorm) return;
    backbone.freezeBnStats = false;
    this.log.info(
      'model.backbone.freeze_bn_stats is true, but the backbone has no pretrained weights: its BatchNorm statistics ' +
        'are trained in this run (as with freeze_bn_stats: false), since frozen fresh statistics make a randomly ' +
        'initialised network diverge. Supply model.backbone.pretrained: <path> to keep them frozen.',
    );
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
      metadata: { epoch, metrics: { ...this.metrics }, losses: { ...this.losses }, ...(this.options.overrides?.length ? { overrides: [...this.options.overrides] } : {}),
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
    const loader = new PoseLoader(this.options.train, new AugmentationPipeline(cfg.data.train), {
      batchSize: this.batchSize,
      seed: cfg.train_settings.seed,
      workers: cfg.train_settings.dataloader_workers,
    });
    const inference = new AugmentationPipeline(cfg.data.inference);
    const stepsPerEpoch = Math.min(loader.length, this.options.maxStepsPerEpoch ?? Infinity);
    let epoch = this.startEpoch;
    let stoppedIn = 0;
    const timing = { steps: 0, seconds: 0 };
    this.log.info(
      `Training ${this.endEpoch - this.startEpoch} epochs (${this.startEpoch + 1}-${this.endEpoch}), ${stepsPerEpoch} steps of ${this.batchSize} images each, ` +
        `${this.options.train.length} train / ${this.options.test.length} test images`,
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
        if (e % cfg.runner.eval_interval === 0 && this.options.test.length > 0) {
          const r = await predictDataset(this.model, this.options.test, inference, { batchSize: 1, withLoss: true, seed: cfg.train_settings.seed, limit: this.options.maxEvalImages });
          this.model.train();
          const m = computeMetrics(
            new Map(r.images.map((i) => [i.image, i.gt])),
            new Map(r.images.map((i) => [i.image, i.pred])),
            { singleAnimal: false, pcutoff: this.options.pcutoff },
          );
          this.metrics = { 'metrics/test.rmse': m.rmse, 'metrics/test.rmse_pcutoff': m.rmse_pcutoff, 'metrics/test.mAP': m.mAP, 'metrics/test.mAR': m.mAR };
          for (const [k, v] of Object.entries(r.losses)) this.losses[`eval.${k}`] = v;
          evalLine = `, valid loss ${fmt(r.losses.total_loss ?? NaN)}`;
          const lines = Object.entries(this.metrics).map(([k, v]) => `  ${k}: ${Number.isFinite(v) ? v.toFixed(2) : v}`);
          for (const [k, why] of Object.entries(m.reasons)) lines.push(`  (test.${k}: ${why})`);
          this.log.info(`Epoch ${e} performance:\n${lines.join('\n')}`);
          if (this.scheduler instanceof ReduceLROnPlateau) {
            const v = this.snapshots.keyValue(this.metrics);
            if (v !== null) this.scheduler.step(v);
          }
        }
        await this.snapshots.update(e, this.metrics, e === this.endEpoch, this.writer(e));
        const row = { ...Object.fromEntries(Object.entries(this.losses).map(([k, v]) => [`losses/${k}`, v])), ...this.metrics };
        this.stats.log(e, row);
        this.wandb?.log(e, row, await this.imagesToLog(e, inference));
        if (evalLine || e === this.endEpoch) this.writeLearningCurve();
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

  /** logger.image_log_interval (in epochs): DeepLabCut's train-0 / test-0 inputs, heatmaps and targets for W&B. */
  private async imagesToLog(epoch: number, inference: AugmentationPipeline): Promise<LoggedImage[]> {
    const interval = (this.config.logger as { image_log_interval?: number | null } | undefined)?.image_log_interval;
    if (!this.wandb?.enabled || !interval || epoch % interval !== 0) return [];
    const train = new AugmentationPipeline(this.config.data.train);
    const seed = this.config.train_settings.seed + epoch;
    return [...(await poseImages(this.model, this.options.train, train, 'train-0', seed)), ...(await poseImages(this.model, this.options.test, inference, 'test-0', seed))];
  }

  /** train/learning_curve.png from the learning_stats.csv rows so far. */
  private writeLearningCurve(): void {
    const png = learningCurvePng((c) => this.stats.series(c), this.config.runner.key_metric);
    writeFileAtomic(join(this.options.trainDir, 'learning_curve.png'), png);
  }

  /** One training epoch; returns the steps run and every step's loss terms. */
  private async trainEpoch(loader: PoseLoader, epoch: number, steps: number, timing: { steps: number; seconds: number }) {
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
        const batch: Batch = next.value;
        let liveBytes = 0;
        try {
          optimizer.zeroGrad();
          const vec = tidy(() => {
            const out = model.forward(batch.images);
            const targets = model.getTarget({ data: batch.keypoints, batch: batch.batchSize, individuals: batch.individuals }, out);
            const terms = model.getLoss(out, targets);
            terms.total_loss!.backward();
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
