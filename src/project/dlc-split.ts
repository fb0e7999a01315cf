// Reads the train/test indices of a split DeepLabCut made (Documentation_data-*.pickle), so a shuffle
// created by DeepLabCut keeps exactly its split when trained here.
import { readFileSync } from 'node:fs';
import { NumpyArray, unpickle } from '../io/pickle.ts';
import type { SplitRecord } from './split-file.ts';

function indices(value: unknown, what: string, file: string): number[] {
  const list = value instanceof NumpyArray ? value.values : value;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
    throw new Error(`${file}: ${what} is not a list of non-negative integers`);
  }
  return [...(list as number[])];
}

/**
 * DeepLabCut's `data` entry holds one record per train index, in the order of trainIndices, with the image
 * path as a tuple: those names let the split be checked against the merged labels. Undefined when absent.
 */
function trainImageNames(data: unknown, count: number): string[] | undefined {
  if (!Array.isArray(data) || data.length !== count) return undefined;
  const names: string[] = [];
  for (const entry of data) {
    const image = entry instanceof Map ? entry.get('image') : undefined;
    const parts = typeof image === 'string' ? image.split(/[\\/]/) : image;
    if (!Array.isArray(parts) || !parts.every((p) => typeof p === 'string')) return undefined;
    names.push(parts.join('/'));
  }
  return names;
}

export function readDlcSplit(file: string): SplitRecord & { trainFraction: number } {
  const doc = unpickle(readFileSync(file));
  if (!Array.isArray(doc) || doc.length < 4) throw new Error(`${file}: expected [data, trainIndices, testIndices, trainFraction]`);
  const trainFraction = doc[3];
  if (typeof trainFraction !== 'number') throw new Error(`${file}: the fourth entry (train fraction) is not a number`);
  const train = indices(doc[1], 'trainIndices', file);
  const names = trainImageNames(doc[0], train.length);
  const order = train.map((_, k) => k).sort((a, b) => train[a]! - train[b]!);
  return {
    train: order.map((k) => train[k]!),
    test: indices(doc[2], 'testIndices', file).sort((a, b) => a - b),
    trainImages: names && order.map((k) => names[k]!),
    trainFraction,
  };
}
