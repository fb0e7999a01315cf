// Reads the train/test indices of a split DeepLabCut made (Documentation_data-*.pickle), so a shuffle
// created by DeepLabCut keeps exactly its split when trained here.
import { readFileSync } from 'node:fs';
import { NumpyArray, unpickle } from '../io/pickle.ts';
import type { Split } from './split.ts';

function indices(value: unknown, what: string, file: string): number[] {
  const list = value instanceof NumpyArray ? value.values : value;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
    throw new Error(`${file}: ${what} is not a list of non-negative integers`);
  }
  return [...(list as number[])].sort((a, b) => a - b);
}

export function readDlcSplit(file: string): Split & { trainFraction: number } {
  const doc = unpickle(readFileSync(file));
  if (!Array.isArray(doc) || doc.length < 4) throw new Error(`${file}: expected [data, trainIndices, testIndices, trainFraction]`);
  const trainFraction = doc[3];
  if (typeof trainFraction !== 'number') throw new Error(`${file}: the fourth entry (train fraction) is not a number`);
  return { train: indices(doc[1], 'trainIndices', file), test: indices(doc[2], 'testIndices', file), trainFraction };
}
