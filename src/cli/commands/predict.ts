// `dlc-gpu predict`: runs a trained snapshot on an image or a folder of images and writes the
// predictions as a CSV in DeepLabCut's layout (scorer / bodyparts / x, y, likelihood), one row per image.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { loadPoseConfig } from '../../config/index.ts';
import { AugmentationPipeline } from '../../data/index.ts';
import { init } from '../../index.ts';
import { ImageError, readImage } from '../../io/image.ts';
import { writeFileAtomic } from '../../project/index.ts';
import { dlcNetName, predictionsCsv, snapshotUid, type PredictionRow } from '../../runner/predictions-csv.ts';
import { listSnapshots } from '../../runner/snapshots.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { parseArgs, userError } from './train.ts';

const usage = `Usage: dlc-gpu predict <snapshot.pt | model train/ folder> <image | folder of images> [options]
  --out DIR        where to write the CSV (default: the image's folder, or the folder given)
  --device D       auto | cpu | cuda | mps | gpu
The model's pytorch_config.yaml must be in the snapshot's folder. A train/ folder uses its best snapshot
if there is one, else its last. Images: .png, .jpg, .jpeg (8-bit). Writes image_predictions_<scorer>.csv
with DeepLabCut's header rows (scorer, bodyparts, coords x/y/likelihood), coordinates in image pixels.`;

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

export const predictCommand: Command = {
  summary: 'Predict keypoints on images with a trained snapshot (CSV in DeepLabCut layout)',
  usage,
  async run(args) {
    const { positional, flags } = parseArgs(args, ['--out', '--device'], usage);
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
    const images = isDir
      ? readdirSync(input).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort().map((f) => join(input, f))
      : [input];
    if (!images.length) throw new CliError(`${input}: no .png/.jpg/.jpeg images in this folder`, 1);
    const outDir = resolve(flags.get('--out') ?? (isDir ? input : dirname(input)));
    try {
      const cfg = loadPoseConfig(configPath);
      await init({ device: flags.get('--device') ?? cfg.device ?? 'auto' }).catch((e: Error) => {
        throw new CliError(e.message, 1);
      });
      const { loadPoseModel, predictImage } = await import('../../runner/inference.ts');
      const { model } = loadPoseModel(cfg, snapshot);
      const pipeline = new AugmentationPipeline(cfg.data.inference);
      const rows: PredictionRow[] = [];
      for (const path of images) {
        const image = readImage(path);
        const poses = await predictImage(model, pipeline, path, image, cfg.metadata.bodyparts.length, cfg.metadata.unique_bodyparts.length);
        rows.push({ index: [isDir ? relative(input, path) : basename(path)], poses });
        process.stdout.write(`${path}\n`);
      }
      model.dispose();
      const modelFolder = basename(dirname(dirname(snapshot)));
      const m = /^(.*)-trainset\d+shuffle(\d+)$/.exec(modelFolder);
      const scorer = `DLC_${dlcNetName(cfg.net_type ?? 'model')}_${m ? `${m[1]}shuffle${m[2]}_` : ''}snapshot_${snapshotUid(snapshot, cfg.runner.snapshot_prefix ?? 'snapshot')}`;
      mkdirSync(outDir, { recursive: true });
      const out = join(outDir, `image_predictions_${scorer}.csv`);
      writeFileAtomic(out, predictionsCsv(scorer, cfg.metadata.bodyparts, null, rows));
      process.stdout.write(`Predictions for ${rows.length} image${rows.length === 1 ? '' : 's'}: ${out}\n`);
      return 0;
    } catch (err) {
      if (err instanceof ImageError) throw new CliError(err.message, 1);
      userError(err);
    }
  },
};
