// A shuffle's train/test split as dlc-gpu writes it beside the merged labels in training-datasets/: indices
// into the merged CollectedData file, plus the image name at every index, so that a split can be checked
// against the frames it was made from (indices alone silently point at other frames once labels change).
import { readFileSync } from 'node:fs';
import { Document, isSeq, parse } from 'yaml';
import type { LabeledFrame } from './labels-csv.ts';
import { LabelsError } from './labels-csv.ts';
import type { Split } from './split.ts';

export interface SplitRecord extends Split {
  /** Image paths (project-relative, '/'-separated) at the train/test indices, when the file recorded them. */
  trainImages?: string[];
  testImages?: string[];
  numFrames?: number;
}

export const frameName = (f: LabeledFrame) => f.path.join('/');

function indexList(value: unknown, key: string, file: string): number[] {
  if (!Array.isArray(value) || !value.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new LabelsError(file, `${key} must be a list of non-negative integers: run 'dlc-gpu create-dataset <config.yaml> --overwrite' to write a new split`);
  }
  return value as number[];
}

function nameList(value: unknown, length: number, key: string, file: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length !== length || !value.every((x) => typeof x === 'string')) {
    throw new LabelsError(file, `${key} must list one image path per index (${length})`);
  }
  return value as string[];
}

export function readSplitFile(file: string): SplitRecord {
  let doc: Record<string, unknown> | null;
  try {
    doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
  } catch (err) {
    throw new LabelsError(file, `cannot read the split: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object') throw new LabelsError(file, 'expected train_indices and test_indices lists');
  const train = indexList(doc.train_indices, 'train_indices', file);
  const test = indexList(doc.test_indices, 'test_indices', file);
  return {
    train,
    test,
    trainImages: nameList(doc.train_images, train.length, 'train_images', file),
    testImages: nameList(doc.test_images, test.length, 'test_images', file),
    numFrames: typeof doc.num_frames === 'number' ? doc.num_frames : undefined,
  };
}

export function splitFileText(split: Split, frames: LabeledFrame[], meta: { trainFraction: number; seed: number | null; source: string }): string {
  const name = (i: number) => frameName(frames[i]!);
  const header =
    `# Train/test split for this shuffle, written by dlc-gpu create-dataset (${meta.source}).\n` +
    '# Indices are row positions in the merged CollectedData file beside this one (sorted by image path);\n' +
    '# train_images and test_images name the frame at each index, so train and evaluate can check them.\n';
  const doc = new Document({
    train_fraction: meta.trainFraction,
    seed: meta.seed,
    num_frames: frames.length,
    train_indices: split.train,
    test_indices: split.test,
    test_images: split.test.map(name),
    train_images: split.train.map(name),
  });
  for (const key of ['train_indices', 'test_indices']) {
    const node = doc.get(key, true);
    if (isSeq(node)) node.flow = true;
  }
  return header + doc.toString({ lineWidth: 100 });
}
