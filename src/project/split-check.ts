// Checks that a split still names the frames it was made from, and what changed in labeled-data since.
import { LabelsError, type LabeledFrame } from './labels-csv.ts';
import { frameName, type SplitRecord } from './split-file.ts';

export interface LabelChanges {
  added: string[];
  removed: string[];
  /** Same image, different coordinates. */
  relabelled: string[];
}

const list = (names: string[], max = 5) => names.slice(0, max).join(', ') + (names.length > max ? `, ... (${names.length - max} more)` : '');

export function describeChanges(c: LabelChanges): string {
  const parts = [];
  if (c.added.length) parts.push(`${c.added.length} frame(s) added (${list(c.added)})`);
  if (c.removed.length) parts.push(`${c.removed.length} removed (${list(c.removed)})`);
  if (c.relabelled.length) parts.push(`${c.relabelled.length} relabelled (${list(c.relabelled)})`);
  return parts.join(', ');
}

export const hasChanges = (c: LabelChanges) => c.added.length + c.removed.length + c.relabelled.length > 0;

const sameNumber = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

function sameLabels(a: LabeledFrame, b: LabeledFrame): boolean {
  const flat = (f: LabeledFrame) => [...f.keypoints.flat(2), ...f.unique.flat()];
  const x = flat(a);
  const y = flat(b);
  return x.length === y.length && x.every((v, i) => sameNumber(v, y[i]!));
}

/** Frames of `current` that `then` lacks, frames of `then` gone from `current`, and frames whose labels moved. */
export function diffLabels(then: LabeledFrame[], current: LabeledFrame[]): LabelChanges {
  const before = new Map(then.map((f) => [frameName(f), f]));
  const now = new Map(current.map((f) => [frameName(f), f]));
  return {
    added: [...now.keys()].filter((n) => !before.has(n)),
    removed: [...before.keys()].filter((n) => !now.has(n)),
    relabelled: [...now.entries()].filter(([n, f]) => before.has(n) && !sameLabels(before.get(n)!, f)).map(([n]) => n),
  };
}

/**
 * Throws unless every split index is a distinct row of `frames` and, where the split recorded image names,
 * the row at each index is that image. `fix` says what to run.
 */
export function checkSplitFrames(split: SplitRecord, frames: LabeledFrame[], file: string, framesFile: string, fix: string): void {
  const all = [...split.train, ...split.test];
  const outside = all.filter((i) => i >= frames.length);
  if (outside.length) {
    throw new LabelsError(file, `the split refers to frame ${outside[0]} but ${framesFile} has ${frames.length} frames: the labels changed since the split was made; ${fix}`);
  }
  if (new Set(all).size !== all.length) throw new LabelsError(file, `an index is both in train and test, or listed twice; ${fix}`);
  const wrong: string[] = [];
  for (const [indices, names] of [[split.train, split.trainImages], [split.test, split.testImages]] as const) {
    if (!names) continue;
    indices.forEach((i, k) => {
      if (frameName(frames[i]!) !== names[k]) wrong.push(`index ${i} is ${frameName(frames[i]!)}, the split says ${names[k]}`);
    });
  }
  if (wrong.length) {
    throw new LabelsError(file, `${wrong.length} split index(es) no longer point at the frames the split was made from (${list(wrong, 3)}) in ${framesFile}; ${fix}`);
  }
}
