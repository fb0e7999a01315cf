// `dlc-gpu predict`: runs a trained snapshot on an image or a folder of images, as DeepLabCut's analyze_images:
// image_predictions_<scorer>.h5 (key "predictions", rows indexed by the image paths, columns scorer / individuals /
// bodyparts / coords) and a CSV in DeepLabCut's layout, one row per image. A top-down model runs its detector
// on each image and the pose model on a crop around each of its first max_individuals boxes.
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { AugmentationPipeline } from '../../data/index.ts';
import { init } from '../../index.ts';
import { writeFixedFrameH5 } from '../../io/hdf5-fixed-frame.ts';
import { ImageError, readImage } from '../../io/image.ts';
import { writeFileAtomic } from '../../project/index.ts';
import { predictionsCsv, predictionsTable, type PredictionRow } from '../../runner/predictions-csv.ts';
import { dlcScorer } from '../../runner/scorer.ts';
import { listSnapshots } from '../../runner/snapshots.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { snapshotConfig } from '../overrides.ts';
import { loadCommandPlugins } from '../plugins.ts';
import { snapshotMismatch } from '../snapshot-mismatch.ts';
import { checkWritable } from '../writable.ts';
import { chooseDetectorSnapshot } from './evaluate.ts';
import { parseArgs, userError } from './train.ts';

const usage = `Usage: dlc-gpu predict <snapshot.pt | model train/ folder> <image | folder of images> [options]
  --out DIR        where to write the predictions (default: the image's folder, or the folder given)
  --detector-snapshot best|last|PATH   a top-down model's detector (default: its train folder's best, else last)
  --device D       auto | cpu | cuda | mps | gpu
  --plugin PATH    load a plugin module (repeatable; also the model config's plugins: list)
The model's pytorch_config.yaml must be in the snapshot's folder. A train/ folder uses its best snapshot
if there is one, else its last. Images: .png, .jpg, .jpeg (8-bit); other files are skipped (and counted). An image that cannot be read is
listed at the end and the exit code is 1; the others still get their rows. Writes image_predictions_<scorer>.h5
(DeepLabCut's analyze_images file: key "predictions", rows the image paths) and .csv with DeepLabCut's header rows
(scorer, [individuals,] bodyparts, coords x/y/likelihood), coordinates in image pixels. A top-down model's rows
hold max_individuals poses, -1 past its detections as in DeepLabCut; its scorer names the detector snapshot.`;

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

function skippedText(names: string[]): string {
  const types = [...new Set(names.map((n) => extname(n).toLowerCase() || '(no extension)'))].sort();
  return `${names.length} file${names.length === 1 ? '' : 's'} of unsupported types (${types.join(', ')})`;
}

export const predictCommand: Command = {
  summary: 'Predict keypoints on images with a trained snapshot (CSV in DeepLabCut layout)',
  usage,
  async run(args) {
    const { positional, flags, plugins } = parseArgs(args, ['--out', '--device', '--plugin', '--detector-snapshot'], usage);
    if (positional.length !== 2) throw new CliError(`expected a snapshot (or train folder) and an image (or folder)\n\n${usage}`, 2);
    let snapshot = resolve(positional[0]!);
    const input = resolve(positional[1]!);
    if (!existsSync(snapshot)) throw new CliError(`${snapshot}: does not exist`, 1);
    if (statSync(snapshot).isDirectory()) {
      const all = listSnapshots(snapshot);
      if (!all.length) throw new CliError(`${snapshot}: no snapshot-*.pt files in this folder`, 1);
      snapshot = all[all.length - 1]!.path;
    }
    const configPath = join(dirname(snapshot), 'pytorch_config.yaml');
    if (!existsSync(configPath)) throw new CliError(`${configPath}: not found (the model's pytorch_config.yaml must be beside the snapshot)`, 1);
    if (!existsSync(input)) throw new CliError(`${input}: does not exist`, 1);
    const isDir = statSync(input).isDirectory();
    const files = isDir ? readdirSync(input, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name) : [];
    const images = isDir ? files.filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort().map((f) => join(input, f)) : [input];
    const skipped = files.filter((f) => !IMAGE_EXT.has(extname(f).toLowerCase()));
    if (!images.length) throw new CliError(`${input}: no .png/.jpg/.jpeg images in this folder${skipped.length ? ` (${skippedText(skipped)})` : ''}`, 1);
    if (skipped.length) process.stderr.write(`Skipping ${skippedText(skipped)} in ${input}\n`);
    const outDir = resolve(flags.get('--out') ?? (isDir ? input : dirname(input)));
    // Before any work: a folder that cannot be written would otherwise fail after every image was predicted.
    checkWritable(outDir, 'predictions', 'pass --out with a folder you can write');
    let netType: string | undefined;
    try {
      // The model as the snapshot was trained: pytorch_config.yaml plus the run's recorded overrides.
      await loadCommandPlugins(configPath, plugins);
      const trained = snapshotConfig(configPath, snapshot);
      if (trained.applied.length) process.stdout.write(`Using the overrides ${snapshot} was trained with: ${trained.applied.join(', ')}\n`);
      const cfg = trained.config;
      netType = cfg.net_type;
      await init({ device: flags.get('--device') ?? cfg.device ?? 'auto' }).catch((e: Error) => {
        throw new CliError(e.message, 1);
      });
      if (cfg.method !== 'td' && flags.has('--detector-snapshot')) {
        throw new CliError(`--detector-snapshot: ${configPath} is a bottom-up model (method ${cfg.method ?? 'bu'}), which has no detector`, 2);
      }
      const detectorSnapshot = cfg.method === 'td' ? chooseDetectorSnapshot(dirname(snapshot), flags.get('--detector-snapshot')) : null;
      if (cfg.method === 'td' && !detectorSnapshot) {
        throw new CliError(`${dirname(snapshot)}: a top-down model needs its detector, and there is no snapshot-detector-*.pt: train it ('dlc-gpu train') or pass --detector-snapshot`, 1);
      }
      const { loadPoseModel, predictImage } = await import('../../runner/inference.ts');
      const { model } = loadPoseModel(cfg, snapshot);
      const pipeline = new AugmentationPipeline(cfg.data.inference);
      const topDown = detectorSnapshot ? await topDownPredictor(cfg, model, detectorSnapshot) : null;
      const individuals = cfg.metadata.individuals;
      const rows: PredictionRow[] = [];
      const paths: string[] = [];
      const failed: string[] = [];
      const inference = cfg.data.inference as Record<string, unknown>;
      const resizes = ['resize', 'top_down_crop'].some((k) => inference[k] != null);
      for (const path of images) {
        let image;
        try {
          image = readImage(path);
        } catch (err) {
          // One unreadable image does not cost the others: it is listed at the end and the exit code is 1.
          if (!(err instanceof ImageError)) throw err;
          failed.push(err.message);
          process.stderr.write(`${err.message} (skipped)\n`);
          continue;
        }
        // Without a resize in data.inference the image goes in as it is: smaller than the stride, it has no heatmap cell.
        const stride = model.backbone.stride;
        if (!resizes && (image.width < stride || image.height < stride)) {
          process.stderr.write(`Warning: ${path}: ${image.width}x${image.height} is smaller than the model's stride (${stride} px); its predictions are not meaningful\n`);
        }
        const poses = topDown ? await topDown.predict(path, image) : await predictImage(model, pipeline, path, image, cfg.metadata.bodyparts.length, cfg.metadata.unique_bodyparts.length);
        rows.push({ index: [isDir ? relative(input, path) : basename(path)], poses });
        paths.push(path);
        process.stdout.write(`${path}\n`);
      }
      model.dispose();
      topDown?.dispose();
      if (!rows.length) throw new CliError(`no image could be read:\n  ${failed.join('\n  ')}`, 1);
      const scorer = dlcScorer(cfg.net_type ?? 'model', snapshot, cfg.runner.snapshot_prefix ?? 'snapshot', detectorSnapshot ?? undefined);
      mkdirSync(outDir, { recursive: true });
      const out = join(outDir, `image_predictions_${scorer}.csv`);
      writeFileAtomic(out, predictionsCsv(scorer, cfg.metadata.bodyparts, topDown ? individuals : null, rows));
      // DeepLabCut's analyze_images file: every individual of the model's metadata, rows the image paths.
      const h5 = join(outDir, `image_predictions_${scorer}.h5`);
      const byPath = new Map(paths.map((p, i) => [p, rows[i]!.poses]));
      await writeFixedFrameH5(`${h5}.partial`, 'predictions', predictionsTable(scorer, cfg.metadata.bodyparts, individuals, paths.map((p) => [p]), byPath));
      renameSync(`${h5}.partial`, h5);
      process.stdout.write(`Predictions for ${rows.length} image${rows.length === 1 ? '' : 's'}: ${h5} (and .csv)\n`);
      if (failed.length) {
        process.stderr.write(`dlc-gpu predict: ${failed.length} of ${images.length} images could not be read and have no row:\n  ${failed.join('\n  ')}\n`);
        return 1;
      }
      return 0;
    } catch (err) {
      if (err instanceof ImageError) throw new CliError(err.message, 1);
      userError(snapshotMismatch(err, snapshot, netType));
    }
  },
};

/** A top-down model's detector and crops for one image at a time (predictTopDown): max_individuals poses, -1 padded. */
async function topDownPredictor(cfg: ReturnType<typeof snapshotConfig>['config'], model: import('../../models/pose-model.ts').PoseModel, detectorSnapshot: string) {
  const { loadDetector } = await import('../../runner/detector-train.ts');
  const { predictTopDown, topDownOptions } = await import('../../runner/top-down.ts');
  const detector = loadDetector(cfg, detectorSnapshot);
  const options = topDownOptions(cfg);
  process.stdout.write(`Top-down model: detections from ${detectorSnapshot}\n`);
  return {
    predict: async (path: string, image: import('../../io/image.ts').RgbImage) => (await predictTopDown(detector, model, [{ path, image }], options))[0]!.poses,
    dispose: () => detector.dispose(),
  };
}
