// PoseTrainingRunner: DeepLabCut's training runner for a pose model (P/runners/train.py) on the shared loop
// (training-loop.ts): the pose model and its augmented batches, DeepLabCut's loss terms, and every
// eval_interval epochs the test split predicted with the inference transforms (batch 1), whose test.rmse /
// rmse_pcutoff / mAP / mAR decide the best snapshot. Rows go to learning_stats.csv, learning_curve.png.
import { resolve } from 'node:path';
import type { PoseConfig } from '../config/index.ts';
import { AugmentationPipeline, PoseLoader, TRAINING, type Batch, type PoseDataset } from '../data/index.ts';
import { loadPretrained, PretrainedError, pretrainedHowTo } from '../models/backbones/pretrained.ts';
import { PoseModel } from '../models/pose-model.ts';
import { manualSeed } from '../ops/creation.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { poseImages, type LoggedImage } from './image-log.ts';
import { predictDataset } from './inference.ts';
import { computeMetrics } from './metrics/index.ts';
import { TrainingLoop, type BatchSource, type Evaluation, type TrainingLoopOptions } from './training-loop.ts';

export { NonFiniteLossError, type StepInfo, type TrainResult, type TrainStatus } from './training-loop.ts';

export interface PoseTrainingOptions extends TrainingLoopOptions {
  config: PoseConfig;
  train: PoseDataset;
  test: PoseDataset;
  /** pcutoff for test.rmse_pcutoff (the project's config.yaml pcutoff). */
  pcutoff: number;
  /** Evaluate on at most this many test images (tests). */
  maxEvalImages?: number;
}

/** The pose model with its initial weights from train_settings.seed. */
function seededModel(cfg: PoseConfig): PoseModel {
  manualSeed(cfg.train_settings.seed);
  return new PoseModel(cfg.model as ConstructorParameters<typeof PoseModel>[0], { seed: cfg.train_settings.seed });
}

export class PoseTrainingRunner extends TrainingLoop<PoseModel, Batch, PoseConfig> {
  declare readonly options: PoseTrainingOptions;
  private readonly inference: AugmentationPipeline;

  constructor(options: PoseTrainingOptions) {
    const cfg = options.config;
    super(cfg, seededModel(cfg), options, { prefix: cfg.runner.snapshot_prefix ?? 'snapshot', statsFile: 'learning_stats.csv', wandbConfig: cfg as unknown as Record<string, unknown> });
    this.inference = new AugmentationPipeline(cfg.data.inference);
  }

  protected override prepare(resumed: boolean): void {
    if (!resumed) this.initBackbone();
    this.keepRandomInitTrainable();
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

  protected batches(): BatchSource<Batch> {
    const cfg = this.config;
    return new PoseLoader(this.options.train, new AugmentationPipeline(cfg.data.train, TRAINING), {
      batchSize: this.batchSize,
      seed: cfg.train_settings.seed,
      workers: cfg.train_settings.dataloader_workers,
    });
  }

  protected lossTerms(batch: Batch): Record<string, Tensor> {
    const out = this.model.forward(batch.images);
    const targets = this.model.getTarget({ data: batch.keypoints, batch: batch.batchSize, individuals: batch.individuals }, out);
    return this.model.getLoss(out, targets);
  }

  protected describeData(): string {
    return `${this.options.train.length} train / ${this.options.test.length} test images`;
  }

  protected async evaluate(): Promise<Evaluation | null> {
    if (this.options.test.length === 0) return null;
    const cfg = this.config;
    const r = await predictDataset(this.model, this.options.test, this.inference, { batchSize: 1, withLoss: true, seed: cfg.train_settings.seed, limit: this.options.maxEvalImages });
    this.model.train();
    const m = computeMetrics(new Map(r.images.map((i) => [i.image, i.gt])), new Map(r.images.map((i) => [i.image, i.pred])), { singleAnimal: false, pcutoff: this.options.pcutoff });
    return {
      metrics: { 'metrics/test.rmse': m.rmse, 'metrics/test.rmse_pcutoff': m.rmse_pcutoff, 'metrics/test.mAP': m.mAP, 'metrics/test.mAR': m.mAR },
      losses: r.losses,
      notes: Object.entries(m.reasons).map(([k, why]) => `test.${k}: ${why}`),
    };
  }

  /** logger.image_log_interval (in epochs): DeepLabCut's train-0 / test-0 inputs, heatmaps and targets for W&B. */
  protected override async imagesToLog(epoch: number): Promise<LoggedImage[]> {
    const interval = (this.config.logger as { image_log_interval?: number | null } | undefined)?.image_log_interval;
    if (!this.wandb?.enabled || !interval || epoch % interval !== 0) return [];
    const train = new AugmentationPipeline(this.config.data.train, TRAINING);
    const seed = this.config.train_settings.seed + epoch;
    return [...(await poseImages(this.model, this.options.train, train, 'train-0', seed)), ...(await poseImages(this.model, this.options.test, this.inference, 'test-0', seed))];
  }
}
