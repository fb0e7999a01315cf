// `dlc-gpu evaluate`: DeepLabCut's evaluate_network for one shuffle and snapshot: predictions on the
// train and test images with the inference transforms, RMSE / RMSE(pcutoff) / mAP / mAR for each split
// (rounded to 2 decimals), written to evaluation-results-pytorch/iteration-<i>/<shuffle folder>/ as
// <scorer>-results.csv and <scorer>.csv (predictions per labelled image), and the cumulative
// ../CombinedEvaluation-results.csv.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { openProjectData, type PoseDataset } from '../../data/index.ts';
import { AugmentationPipeline } from '../../data/index.ts';
import { init } from '../../index.ts';
import { readImage, writePng } from '../../io/image.ts';
import { writeFileAtomic } from '../../project/index.ts';
import { drawPredictions } from '../../report/labeled-image.ts';
import { computeMetrics } from '../../runner/metrics/index.ts';
import type { ImagePrediction } from '../../runner/inference.ts';
import { dlcNetName, predictionsCsv, predictionsTable, snapshotUid } from '../../runner/predictions-csv.ts';
import { writeFixedFrameH5 } from '../../io/hdf5-fixed-frame.ts';
import { listSnapshots } from '../../runner/snapshots.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { snapshotConfig } from '../overrides.ts';
import { loadCommandPlugins } from '../plugins.ts';
import { snapshotMismatch } from '../snapshot-mismatch.ts';
import { checkWritable } from '../writable.ts';
import { intFlag, parseArgs, poseConfigPath, printWarnings, userError } from './train.ts';

const usage = `Usage: dlc-gpu evaluate <project>/config.yaml [options]
       dlc-gpu evaluate <model folder>/train/pytorch_config.yaml [options]
  --shuffle N          shuffle number (default 1)
  --snapshot S         best | last | PATH to a .pt (default: the best snapshot if there is one, else the last,
                       as DeepLabCut's snapshotindex -1)
  --pcutoff P          likelihood cutoff for "rmse_pcutoff" (default: config.yaml's pcutoff)
  --device D           auto | cpu | cuda | mps | gpu
  --plugin PATH        load a plugin module (repeatable; also the config's plugins: list)
  --max-images N       evaluate at most N images per split (quick checks)
  --detector-snapshot S  top-down models: best | last | PATH to a snapshot-detector-*.pt (default: the best detector
                       snapshot if there is one, else the last, as DeepLabCut's detector_snapshotindex -1)
  --gt-boxes           top-down models: crop around the ground-truth boxes instead of the detector's (this separates
                       pose errors from detection errors; also what happens when no detector is trained)
  --plot               also write each image with ground truth (+) and predictions (dots; rings below pcutoff)
                       to LabeledImages_<scorer>/ beside the results
Writes evaluation-results-pytorch/iteration-<i>/<Task><date>-trainset<pct>shuffle<n>/<scorer>-results.csv,
<scorer>.csv (predictions for every labelled image) and updates CombinedEvaluation-results.csv beside it.
"rmse" is DeepLabCut's: the mean Euclidean distance in pixels.`;

const VALUE_FLAGS = ['--shuffle', '--snapshot', '--pcutoff', '--device', '--max-images', '--plugin', '--detector-snapshot'];

// DeepLabCut 3.0.1's results index (apis/evaluation.py evaluate_snapshot): the train fraction (0.95), the shuffle,
// the pose snapshot's epochs, the detector snapshot's epochs (-1 without a detector), pcutoff.
export const INDEX_COLUMNS = ['%Training dataset', 'Shuffle number', 'Training epochs', 'Detector epochs (TD only)', 'pcutoff'];
const DETECTOR_EPOCHS = INDEX_COLUMNS.indexOf('Detector epochs (TD only)');
export const SCORE_COLUMNS = ['train rmse', 'train rmse_pcutoff', 'train mAP', 'train mAR', 'test rmse', 'test rmse_pcutoff', 'test mAP', 'test mAR'];

/**
 * A top-down model's detector snapshot: --detector-snapshot (best, last, a path), else the best detector snapshot
 * in the train folder, else its last; null when the folder has none and none was named.
 */
export function chooseDetectorSnapshot(trainDir: string, which: string | undefined): string | null {
  if (which && which !== 'best' && which !== 'last') {
    const p = resolve(which);
    if (!existsSync(p)) throw new CliError(`${p}: detector snapshot does not exist`, 1);
    return p;
  }
  const all = listSnapshots(trainDir, 'snapshot-detector');
  if (!all.length) {
    if (which) throw new CliError(`${trainDir}: no snapshot-detector-*.pt files: train the detector first ('dlc-gpu train')`, 1);
    return null;
  }
  if (which === 'last') return [...all].sort((a, b) => a.epoch - b.epoch || Number(a.best) - Number(b.best)).pop()!.path;
  const best = all.filter((f) => f.best);
  if (which === 'best' && !best.length) throw new CliError(`${trainDir}: there is no snapshot-detector-best-*.pt`, 1);
  return (best.length ? best : all)[(best.length ? best : all).length - 1]!.path;
}

/** The snapshot named by --snapshot (best, last, a path) or DeepLabCut's snapshotindex -1. */
export function chooseSnapshot(trainDir: string, which: string | undefined): string {
  if (which && which !== 'best' && which !== 'last') {
    const p = resolve(which);
    if (!existsSync(p)) throw new CliError(`${p}: snapshot does not exist`, 1);
    // A folder (a train/ folder) means its snapshot as predict takes it: the best if there is one, else the last.
    if (statSync(p).isDirectory()) return chooseSnapshot(p, undefined);
    return p;
  }
  const all = listSnapshots(trainDir);
  if (!all.length) throw new CliError(`${trainDir}: no snapshots yet: train the model first ('dlc-gpu train')`, 1);
  if (which === 'best') {
    const best = all.filter((s) => s.best);
    if (!best.length) throw new CliError(`${trainDir}: there is no snapshot-best-*.pt (no evaluation improved the key metric yet)`, 1);
    return best[best.length - 1]!.path;
  }
  if (which === 'last') return [...all].sort((a, b) => a.epoch - b.epoch || Number(a.best) - Number(b.best)).pop()!.path;
  return all[all.length - 1]!.path;
}

const round2 = (v: number) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : v);
const csvNum = (v: number) => (Number.isNaN(v) ? '' : String(v));

/**
 * CombinedEvaluation-results.csv: this row replaces the one with the same index (DeepLabCut's combine_first), the
 * others are kept. Rows of an earlier layout (dlc-gpu's before the detector-epochs column, 95 for 0.95) are carried
 * over by column name, so no earlier result is lost.
 */
export function updateCombined(path: string, header: string[], row: string[]): void {
  let rows: string[][] = [];
  if (existsSync(path)) {
    const [head, ...rest] = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l).map((l) => l.split(','));
    if (head?.join(',') === header.join(',')) rows = rest;
    else if (head) {
      const at = header.map((name) => head.indexOf(name));
      rows = rest.map((old) =>
        header.map((name, i) => {
          if (at[i]! >= 0) {
            const v = old[at[i]!] ?? '';
            return name === '%Training dataset' && Number(v) > 1 ? String(Number(v) / 100) : v;
          }
          return i === DETECTOR_EPOCHS ? '-1' : '';
        }),
      );
    }
  }
  const key = (r: string[]) => r.slice(0, INDEX_COLUMNS.length).join(',');
  rows = rows.filter((r) => key(r) !== key(row));
  rows.push(row);
  rows.sort((a, b) => INDEX_COLUMNS.reduce((c, _, i) => c || Number(a[i]) - Number(b[i]) || (a[i]! < b[i]! ? -1 : a[i]! > b[i]! ? 1 : 0), 0));
  writeFileAtomic(path, `${[header, ...rows].map((r) => r.join(',')).join('\n')}\n`);
}

export const evaluateCommand: Command = {
  summary: 'Evaluate a trained snapshot on the train and test images (RMSE, mAP) as DeepLabCut does',
  usage,
  async run(args) {
    const { positional, flags, plugins } = parseArgs(args, VALUE_FLAGS, usage, ['--plot', '--gt-boxes']);
    if (positional.length !== 1) throw new CliError(`expected one config file\n\n${usage}`, 2);
    const shuffle = intFlag(flags, '--shuffle', 0);
    const maxImages = intFlag(flags, '--max-images', 1);
    const pcText = flags.get('--pcutoff');
    const pcArg = pcText === undefined ? undefined : Number(pcText);
    if (pcArg !== undefined && !(pcArg >= 0 && pcArg <= 1)) throw new CliError(`--pcutoff must be between 0 and 1, got '${pcText}'`, 2);
    const file = poseConfigPath(positional[0]!, shuffle);
    let snapshotUsed: string | undefined;
    let netType: string | undefined;
    try {
      const trainDir = dirname(file);
      const snapshot = chooseSnapshot(trainDir, flags.get('--snapshot'));
      snapshotUsed = snapshot;
      // The model as the snapshot was trained: pytorch_config.yaml plus the run's recorded overrides.
      await loadCommandPlugins(file, plugins);
      const trained = snapshotConfig(file, snapshot, dirname(snapshot) !== trainDir);
      if (trained.applied.length) process.stdout.write(`Using the overrides ${snapshot} was trained with: ${trained.applied.join(', ')}\n`);
      const data = openProjectData(file, { config: trained.config });
      printWarnings(data.warnings);
      const cfg = data.config;
      netType = cfg.net_type;
      const outDir = join(data.project.root, 'evaluation-results-pytorch', `iteration-${data.project.iteration}`, data.layout.name);
      checkWritable(outDir, 'evaluation results', 'make the project folder writable, or evaluate a copy of the project');
      await init({ device: flags.get('--device') ?? cfg.device ?? 'auto' }).catch((e: Error) => {
        throw new CliError(e.message, 1);
      });
      const { loadPoseModel, predictDataset } = await import('../../runner/inference.ts');
      const { model, metadata } = loadPoseModel(cfg, snapshot);
      // A top-down model: the detector's boxes when it is trained (or named), else the ground-truth boxes.
      const detectorSnapshot = cfg.method === 'td' && cfg.detector && !flags.has('--gt-boxes') ? chooseDetectorSnapshot(trainDir, flags.get('--detector-snapshot')) : null;
      let topDown: ((dataset: PoseDataset, split: 'train' | 'test') => Promise<ImagePrediction[]>) | null = null;
      let detector: { dispose(): void } | null = null;
      if (detectorSnapshot) {
        const { loadDetector } = await import('../../runner/detector-train.ts');
        const { predictDatasetTopDown, topDownOptions } = await import('../../runner/top-down.ts');
        const d = loadDetector(cfg, detectorSnapshot);
        detector = d;
        const images = openProjectData(file, { config: cfg, mode: 'bottom-up' });
        const options = topDownOptions(cfg);
        topDown = (_, split) => predictDatasetTopDown(d, model, split === 'train' ? images.train : images.test, options, maxImages);
        process.stdout.write(`Top-down model: detections from ${detectorSnapshot}\n`);
      } else if (cfg.method === 'td') {
        process.stdout.write(
          flags.has('--gt-boxes')
            ? 'Top-down model: --gt-boxes, so poses are predicted in crops around the ground-truth boxes\n'
            : `Top-down model: no detector snapshot in ${trainDir}, so poses are predicted in crops around the ground-truth boxes (train the detector for detections)\n`,
        );
      }
      const pcutoff = pcArg ?? data.project.pcutoff;
      const pipeline = new AugmentationPipeline(cfg.data.inference);
      const singleAnimal = cfg.metadata.individuals.length === 1 && !cfg.inference.eval.force_multi_animal;
      const scores: Record<string, number> = {};
      const predictions: ImagePrediction[] = [];
      const splitOf = new Map<ImagePrediction, string>();
      for (const [split, dataset] of [['train', data.train], ['test', data.test]] as const) {
        process.stdout.write(`Predicting ${Math.min(dataset.length, maxImages ?? Infinity)} ${split} images with ${snapshot}\n`);
        const r = !dataset.length
          ? { images: [], losses: {} }
          : topDown
            ? { images: await topDown(dataset, split), losses: {} }
            : await predictDataset(model, dataset, pipeline, { batchSize: 1, limit: maxImages });
        predictions.push(...r.images);
        for (const i of r.images) splitOf.set(i, split === 'train' ? 'Training' : 'Test');
        const m = r.images.length
          ? computeMetrics(new Map(r.images.map((i) => [i.image, i.gt])), new Map(r.images.map((i) => [i.image, i.pred])), { singleAnimal, pcutoff })
          : { rmse: NaN, rmse_pcutoff: NaN, mAP: NaN, mAR: NaN, reasons: { rmse: `no ${split} images` } as Record<string, string> };
        for (const k of ['rmse', 'rmse_pcutoff', 'mAP', 'mAR'] as const) scores[`${split} ${k}`] = round2(m[k]);
        for (const [k, why] of Object.entries(m.reasons)) process.stdout.write(`  ${split} ${k}: ${why}\n`);
      }
      model.dispose();
      detector?.dispose();

      const { project, layout } = data;
      const shuffleNumber = Number(/shuffle(\d+)$/.exec(layout.name)?.[1] ?? shuffle ?? 1);
      const pct = Number(/trainset(\d+)shuffle/.exec(layout.name)?.[1] ?? 0);
      const detectorPart = detectorSnapshot ? `detector_${snapshotUid(detectorSnapshot, 'snapshot-detector')}_` : '';
      const scorer = `DLC_${dlcNetName(cfg.net_type ?? 'resnet_50')}_${project.task}${project.date}shuffle${shuffleNumber}_${detectorPart}snapshot_${snapshotUid(snapshot, cfg.runner.snapshot_prefix ?? 'snapshot')}`;
      const header = [...INDEX_COLUMNS, ...SCORE_COLUMNS];
      const detectorEpochs = detectorSnapshot ? Number(/(\d+)\.pt$/.exec(detectorSnapshot)?.[1] ?? -1) : -1;
      const row = [String(pct / 100), String(shuffleNumber), String(metadata.epoch), String(detectorEpochs), String(pcutoff), ...SCORE_COLUMNS.map((c) => csvNum(scores[c]!))];
      writeFileAtomic(join(outDir, `${scorer}-results.csv`), `${header.join(',')}\n${row.join(',')}\n`);
      updateCombined(join(dirname(outDir), 'CombinedEvaluation-results.csv'), header, row);
      const order = new Map(data.labels.frames.map((f, i) => [i, f]));
      predictions.sort((a, b) => a.imageId - b.imageId);
      const csv = predictionsCsv(
        scorer,
        cfg.metadata.bodyparts,
        cfg.metadata.individuals,
        predictions.map((p) => ({ index: order.get(p.imageId)?.path ?? p.image.split('/'), poses: p.pred })),
      );
      writeFileAtomic(join(outDir, `${scorer}.csv`), csv);
      // DeepLabCut's own output: <scorer>.h5 (key df_with_missing) over every labelled image.
      const h5 = join(outDir, `${scorer}.h5`);
      const posesByPath = new Map(predictions.map((p) => [(order.get(p.imageId)?.path ?? p.image.split('/')).join('/'), p.pred]));
      await writeFixedFrameH5(`${h5}.partial`, 'df_with_missing', predictionsTable(scorer, cfg.metadata.bodyparts, cfg.metadata.individuals, data.labels.frames.map((f) => f.path), posesByPath, cfg.method === 'td' ? -1 : Number.NaN));
      renameSync(`${h5}.partial`, h5);

      const w = Math.max(...SCORE_COLUMNS.map((c) => c.length));
      process.stdout.write(`\nEvaluation of ${layout.name}, epoch ${metadata.epoch} (pcutoff ${pcutoff}):\n`);
      for (const c of SCORE_COLUMNS) process.stdout.write(`  ${c.padEnd(w)}  ${scores[c]}\n`);
      process.stdout.write(`Results: ${join(outDir, `${scorer}-results.csv`)}\nPredictions: ${h5} (and ${scorer}.csv)\n`);
      if (flags.has('--plot')) {
        const plotDir = join(outDir, `LabeledImages_${scorer}`);
        mkdirSync(plotDir, { recursive: true });
        for (const p of predictions) {
          const path = order.get(p.imageId)?.path ?? p.image.split('/');
          // DeepLabCut's names: <Training|Test>-<video folder>-<image>.
          const name = `${splitOf.get(p)}-${path.length > 1 ? `${path[path.length - 2]}-` : ''}${basename(path[path.length - 1]!).replace(/\.[^.]+$/, '')}.png`;
          writePng(join(plotDir, name), drawPredictions(readImage(join(project.root, ...path)), p.gt, p.pred, pcutoff, p.boxes));
        }
        process.stdout.write(`Labeled images: ${plotDir}\n`);
      }
      return 0;
    } catch (err) {
      userError(snapshotMismatch(err, snapshotUsed, netType));
    }
  },
};
