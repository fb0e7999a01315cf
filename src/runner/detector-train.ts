// DetectorTrainingRunner: DeepLabCut's runner for a top-down model's detector (P/runners/train.py) on the shared
// loop (training-loop.ts). It reads the config's `detector` block (model, data, runner, train_settings,
// resume_training_from), trains on one item per image whose targets are the boxes around each animal's
// keypoints (data.bbox_margin), and every eval_interval epochs detects on the test images (batch 1, the
// detector's inference transforms) and scores the boxes as DeepLabCut does (COCO bbox mAP/mAR, key metric
// test.mAP@50:95). Snapshots are snapshot-detector-NNN.pt; rows go to learning_stats_detector.csv. There is
// no validation loss (DeepLabCut leaves it NaN and does not print it).
import { resolve } from 'node:path';
import type { PoseConfig } from '../config/index.ts';
import { AugmentationPipeline, PoseLoader, toOriginal, TRAINING, type Batch, type BatchItem, type PoseDataset } from '../data/index.ts';
import '../models/builtin-types.ts';
// The built-in detectors (SSDLite, FasterRCNN) register on import; Node-only (a weights file may be read), as this runner is.
import { FASTER_RCNN_BUILT_VARIANTS } from '../models/detectors/index.ts';
import type { Detector, DetectionTarget, Detections } from '../models/detectors/detector.ts';
import { DETECTORS } from '../models/registries.ts';
import { manualSeed, tensor } from '../ops/creation.ts';
import { add as addLoss } from '../ops/elementwise.ts';
import { reshape, slice } from '../ops/shape.ts';
import { scope } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { readSnapshot, SnapshotError } from './checkpoint.ts';
import { computeBboxMetrics, type BboxImage } from './metrics/bbox.ts';
import { TrainingLoop, type BatchSource, type Evaluation, type LoopConfig, type TrainingLoopOptions } from './training-loop.ts';

export type DetectorBlock = NonNullable<PoseConfig['detector']>;

export interface DetectorTrainingOptions extends TrainingLoopOptions {
  /** The pose config; its `detector` block is what this runner trains. */
  config: PoseConfig;
  /** One item per image (bottom-up mode datasets: every animal's box in each item). */
  train: PoseDataset;
  test: PoseDataset;
  /** Evaluate on at most this many test images (tests). */
  maxEvalImages?: number;
}

/** The detector block of a top-down config, or a clear error. */
export function detectorBlock(config: PoseConfig): DetectorBlock {
  if (!config.detector) throw new Error(`this config has no detector block: net_type ${config.net_type} is ${config.method === 'td' ? 'top-down but' : ''} not a top-down model with a detector`);
  return config.detector;
}

/**
 * Fails before any work when the config's detector type is not built (DeepLabCut's types not written yet, or a
 * plugin's type whose plugin is not loaded), saying what can be done instead.
 */
export function requireDetectorType(config: PoseConfig): void {
  const model = detectorBlock(config).model;
  const type = model.type;
  const variant = (model as { variant?: string }).variant;
  // FasterRCNN is registered, but not every torchvision variant is built yet.
  if (type === 'FasterRCNN' && variant !== undefined && !FASTER_RCNN_BUILT_VARIANTS.includes(variant as never))
    throw new DetectorUnavailableError(
      `detector.model.variant: '${variant}' is not built in dlc-gpu yet (built: ${FASTER_RCNN_BUILT_VARIANTS.join(', ')}). ` +
        'Use variant: fasterrcnn_mobilenet_v3_large_fpn or type: SSDLite, or train the pose model alone with --detector-epochs 0 (evaluate then crops around the ground-truth boxes)',
    );
  if (DETECTORS.has(type)) return;
  const registered = DETECTORS.names();
  throw new DetectorUnavailableError(
    `detector.model.type: no '${type}' detector is available in dlc-gpu yet (registered detectors: ${registered.join(', ') || 'none'}). ` +
      'Train the pose model alone with --detector-epochs 0 (evaluate then crops around the ground-truth boxes), or load a plugin that registers this type',
  );
}

export class DetectorUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DetectorUnavailableError';
  }
}

function seededDetector(config: PoseConfig): Detector {
  const block = detectorBlock(config);
  manualSeed(block.train_settings.seed);
  return DETECTORS.build(block.model, { where: 'detector.model', seed: block.train_settings.seed }, 'detector.model');
}

/** Per image, its [3, H, W] tensor (a copy of the batch's slice, the caller's to dispose). */
export function detectorImages(batch: Batch): Tensor[] {
  const { batchSize: B, height: H, width: W } = batch;
  return Array.from({ length: B }, (_, b) => reshape(slice(batch.images, [[b, b + 1]]), [3, H, W]));
}

/** Per image, its boxes (x1, y1, x2, y2, batch pixels) with label 1 (animal), as DeepLabCut's get_target makes them. */
export function detectorTargets(batch: Batch): DetectionTarget[] {
  const { batchSize: B, individuals: N } = batch;
  const targets: DetectionTarget[] = [];
  for (let b = 0; b < B; b++) {
    const xyxy: number[] = [];
    for (let i = 0; i < N; i++) {
      if (batch.individualIds[b * N + i]! < 0) continue;
      const [x, y, w, h] = batch.boxes.subarray((b * N + i) * 4, (b * N + i) * 4 + 4);
      // DeepLabCut's get_target drops boxes without area.
      if (!(w! > 0 && h! > 0)) continue;
      xyxy.push(x!, y!, x! + w!, y! + h!);
    }
    const n = xyxy.length / 4;
    targets.push({ boxes: tensor(Float32Array.from(xyxy), [n, 4]), labels: new Int32Array(n).fill(1) });
  }
  return targets;
}

/** Detected xyxy boxes in batch pixels -> xywh in the original image (the inference transforms are axis-aligned). */
export function boxesToOriginal(item: BatchItem, d: Detections): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < d.scores.length; i++) {
    const [ax, ay] = toOriginal(item, d.boxes[i * 4]!, d.boxes[i * 4 + 1]!);
    const [bx, by] = toOriginal(item, d.boxes[i * 4 + 2]!, d.boxes[i * 4 + 3]!);
    const [x1, x2] = [Math.min(ax, bx), Math.max(ax, bx)];
    const [y1, y2] = [Math.min(ay, by), Math.max(ay, by)];
    out.push([x1, y1, x2 - x1, y2 - y1]);
  }
  return out;
}

/** Each image's ground-truth boxes (xywh, original pixels): the dataset's boxes around the visible keypoints. */
function groundTruthBoxes(dataset: PoseDataset, index: number): number[][] {
  const s = dataset.sample(index);
  const out: number[][] = [];
  for (let i = 0; i < s.individuals; i++) {
    const [x, y, w, h] = s.boxes.subarray(i * 4, i * 4 + 4);
    if (w! > 0 && h! > 0) out.push([x!, y!, w!, h!]);
  }
  return out;
}

export class DetectorTrainingRunner extends TrainingLoop<Detector, Batch, DetectorBlock & LoopConfig> {
  declare readonly options: DetectorTrainingOptions;
  private readonly inference: AugmentationPipeline;

  constructor(options: DetectorTrainingOptions) {
    const block = detectorBlock(options.config);
    for (const [name, d] of [['train', options.train], ['test', options.test]] as const)
      if (d.mode !== 'bottom-up') throw new Error(`the detector trains on one item per image: the ${name} dataset is in ${d.mode} mode`);
    super(block as DetectorBlock & LoopConfig, seededDetector(options.config), options, {
      prefix: 'snapshot-detector',
      statsFile: 'learning_stats_detector.csv',
      wandbConfig: options.config as unknown as Record<string, unknown>,
    });
    this.inference = new AugmentationPipeline(block.data.inference ?? {});
  }

  /**
   * As for pose backbones: DeepLabCut's detector configs freeze BatchNorm statistics because it starts from COCO
   * weights; frozen fresh statistics do not train, so without `pretrained: <path>` (and not resumed) they are
   * trained here, and the log says so.
   */
  protected override prepare(resumed: boolean): void {
    const model = this.model as Detector & { freezeBnStats?: boolean };
    // train_settings.weight_init.detector_snapshot_path (the pose config's): DeepLabCut's detector starts from that
    // snapshot's `model` weights (SuperAnimal transfer learning); a resumed run has its own.
    const fromSnapshot = this.options.config.train_settings.weight_init?.detector_snapshot_path;
    if (fromSnapshot && !resumed) {
      const path = resolve(fromSnapshot);
      try {
        model.loadStateDict(readSnapshot(path).model, true);
      } catch (e) {
        throw new SnapshotError(`train_settings.weight_init.detector_snapshot_path: ${path}: ${(e as Error).message}`);
      }
      this.log.info(`Detector weights from ${path} (train_settings.weight_init.detector_snapshot_path)`);
    }
    const pretrained = (this.config.model as { pretrained?: unknown }).pretrained;
    if (resumed || fromSnapshot || typeof pretrained === 'string' || model.freezeBnStats !== true) return;
    model.freezeBnStats = false;
    this.log.info(
      'detector.model.freeze_bn_stats is true, but the detector has no pretrained weights: its BatchNorm statistics are ' +
        'trained in this run (as with freeze_bn_stats: false). Supply detector.model.pretrained: <path> (COCO weights) to keep them frozen.',
    );
  }

  protected batches(): BatchSource<Batch> {
    const block = this.config;
    return new PoseLoader(this.options.train, new AugmentationPipeline(block.data.train, TRAINING), {
      batchSize: this.batchSize,
      seed: block.train_settings.seed,
      workers: block.train_settings.dataloader_workers,
    });
  }

  protected async lossTerms(batch: Batch): Promise<Record<string, Tensor>> {
    const { losses } = await this.model.detect(detectorImages(batch), detectorTargets(batch));
    const names = Object.keys(losses);
    if (!names.length) throw new Error('the detector returned no losses in training mode');
    // DeepLabCut: total_loss = sum(losses.values()).
    let total = losses[names[0]!]!;
    for (const n of names.slice(1)) total = addLoss(total, losses[n]!);
    return { ...losses, total_loss: total };
  }

  protected describeData(): string {
    return `${this.options.train.length} train / ${this.options.test.length} test images (detector)`;
  }

  protected async evaluate(): Promise<Evaluation | null> {
    if (this.options.test.length === 0) return null;
    const loader = new PoseLoader(this.options.test, this.inference, { batchSize: 1, seed: this.config.train_settings.seed, shuffle: false });
    const images: BboxImage[] = [];
    this.model.eval();
    try {
      for await (const batch of loader.epoch(0)) {
        try {
          const inputs = detectorImages(batch);
          let detections: Detections[];
          try {
            // Whatever the detector leaves on the GPU is released here; detections are host arrays.
            detections = await scope(async () => (await this.model.detect(inputs)).detections);
          } finally {
            for (const t of inputs) t.dispose();
          }
          batch.items.forEach((item, b) => {
            const d = detections[b]!;
            // Batch 1 without shuffling: the test items come in dataset order.
            images.push({ gt: groundTruthBoxes(this.options.test, images.length), dets: boxesToOriginal(item, d), scores: Array.from(d.scores) });
          });
        } finally {
          batch.dispose();
        }
        if (this.options.maxEvalImages !== undefined && images.length >= this.options.maxEvalImages) break;
      }
    } finally {
      await loader.close();
      this.model.train();
    }
    const m = computeBboxMetrics(images);
    return { metrics: Object.fromEntries(Object.entries(m).map(([k, v]) => [`metrics/test.${k}`, v])), losses: {}, notes: [] };
  }
}

/** The config's detector with a snapshot's weights, in eval mode. */
export function loadDetector(config: PoseConfig, snapshotPath: string): Detector {
  requireDetectorType(config);
  const snap = readSnapshot(snapshotPath);
  const detector = DETECTORS.build(detectorBlock(config).model, { where: 'detector.model', seed: 0 }, 'detector.model');
  try {
    detector.loadStateDict(snap.model, true);
  } catch (e) {
    detector.dispose();
    throw new SnapshotError(`${snapshotPath}: ${(e as Error).message}`);
  }
  detector.eval();
  return detector;
}
