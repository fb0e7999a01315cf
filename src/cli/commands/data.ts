// `dlc-gpu data preview`: writes augmented training samples as PNGs with their keypoints, plus a contact sheet.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../config/index.ts';
import { AugmentationPipeline, openProjectData, PoseLoader, TRAINING } from '../../data/index.ts';
import { batchItemToRgb, bodypartColors, contactSheet, drawKeypoint } from '../../data/preview.ts';
import { init } from '../../index.ts';
import { ImageError, writePng, type RgbImage } from '../../io/image.ts';
import { LabelsError } from '../../project/index.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';

const usage = `Usage: dlc-gpu data preview <pytorch_config.yaml | project config.yaml> [options]
  --n N              samples to write (default 16)
  --split S          train (data.train augmentation) or test (data.inference transforms); default train
  --out DIR          output folder (default ./data-preview)
  --seed S           augmentation seed (default: train_settings.seed)
  --epoch E          which epoch's augmentation to show (default 0)
  --shuffle N        shuffle number when given a project config.yaml (default 1)
Writes sample_NNN.png (keypoints drawn in per-bodypart colours; rings are invisible keypoints)
and contact_sheet.png. Without create-dataset, the split create-dataset would make is used.`;

const VALUE_FLAGS = ['--n', '--split', '--out', '--seed', '--epoch', '--shuffle'];

function parse(args: string[]): { positional: string[]; flags: Map<string, string> } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (VALUE_FLAGS.includes(name)) {
      const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new CliError(`${name} needs a value\n\n${usage}`, 2);
      flags.set(name, value);
    } else if (arg.startsWith('--')) throw new CliError(`unknown option ${arg}\n\n${usage}`, 2);
    else positional.push(arg);
  }
  return { positional, flags };
}

function int(flags: Map<string, string>, name: string, fallback: number, min: number): number {
  const text = flags.get(name);
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new CliError(`${name} must be an integer >= ${min}, got '${text}'`, 2);
  return v;
}

async function preview(args: string[]): Promise<number> {
  const { positional, flags } = parse(args);
  if (positional.length !== 1) throw new CliError(`expected one config file\n\n${usage}`, 2);
  const split = flags.get('--split') ?? 'train';
  if (split !== 'train' && split !== 'test') throw new CliError(`--split must be train or test, got '${split}'`, 2);
  const n = int(flags, '--n', 16, 1);
  const epoch = int(flags, '--epoch', 0, 0);
  const out = resolve(flags.get('--out') ?? 'data-preview');
  let data;
  try {
    data = openProjectData(positional[0]!, { shuffle: int(flags, '--shuffle', 1, 0) });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof LabelsError || err instanceof ImageError) throw new CliError(err.message, 1);
    throw new CliError((err as Error).message, 1);
  }
  for (const w of data.warnings) process.stderr.write(`Warning: ${w}\n`);
  const seed = int(flags, '--seed', data.config.train_settings.seed, -(2 ** 31));
  const dataset = split === 'train' ? data.train : data.test;
  if (dataset.length === 0) throw new CliError(`the ${split} split has no images`, 1);
  const transforms = split === 'train' ? data.config.data.train : data.config.data.inference;
  let pipeline: AugmentationPipeline;
  try {
    pipeline = new AugmentationPipeline(transforms, split === 'train' ? TRAINING : {});
  } catch (err) {
    throw new CliError((err as Error).message, 1);
  }
  try {
    await init({ device: 'auto' });
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
  mkdirSync(out, { recursive: true });
  // Batch size 1: inference transforms may keep images of different sizes.
  const loader = new PoseLoader(dataset, pipeline, { batchSize: 1, seed, shuffle: split === 'train' });
  const colors = bodypartColors(dataset.bodyparts.length);
  const uniqueColors = bodypartColors(Math.max(1, dataset.uniqueBodyparts.length)).map((c) => [255 - c[0], 255 - c[1], 255 - c[2]]);
  const pictures: RgbImage[] = [];
  const pixels = { normalize: transforms.normalize_images !== false, scaleToUnit: transforms.scale_to_unit_range === true };
  try {
    for (let e = epoch; pictures.length < n; e++) {
      for await (const batch of loader.epoch(e)) {
        const values = await batch.images.toArray();
        batch.dispose();
        const img = batchItemToRgb(values, 0, batch.height, batch.width, pixels);
        const K = batch.bodyparts;
        for (let i = 0; i < batch.individuals; i++) {
          if (batch.individualIds[i]! < 0) continue;
          for (let k = 0; k < K; k++) {
            const o = (i * K + k) * 3;
            const [x, y, v] = [batch.keypoints[o]!, batch.keypoints[o + 1]!, batch.keypoints[o + 2]!];
            if (v > 0) drawKeypoint(img, x, y, colors[k]!);
          }
        }
        for (let u = 0; u < batch.uniqueBodyparts; u++) {
          const [x, y, v] = [batch.unique[u * 3]!, batch.unique[u * 3 + 1]!, batch.unique[u * 3 + 2]!];
          if (v > 0) drawKeypoint(img, x, y, uniqueColors[u]!);
        }
        const file = join(out, `sample_${String(pictures.length).padStart(3, '0')}.png`);
        writePng(file, img);
        process.stdout.write(`${file}  <- ${batch.items[0]!.relPath} (epoch ${e})\n`);
        pictures.push(img);
        if (pictures.length >= n) break;
      }
    }
  } catch (err) {
    if (err instanceof ImageError) throw new CliError(err.message, 1);
    throw err;
  } finally {
    await loader.close();
  }
  const sheet = join(out, 'contact_sheet.png');
  writePng(sheet, contactSheet(pictures));
  const legend = dataset.bodyparts.map((b, k) => `${b} rgb(${colors[k]!.join(',')})`).join(', ');
  process.stdout.write(`${sheet}\n${split} split (${data.splitSource === 'default' ? 'no create-dataset split found; default seed-42 split' : `${data.splitSource} split`}), seed ${seed}; colours: ${legend}\n`);
  return 0;
}

export const data: Command = {
  summary: 'Inspect the training data: write augmented samples with their keypoints (data preview)',
  usage,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'preview') return preview(rest);
    throw new CliError(sub === undefined ? usage : `unknown data command '${sub}'\n\n${usage}`, 2);
  },
};
