// The labelled frames a shuffle trains and evaluates on. As in DeepLabCut (DLCLoader reads the merged
// CollectedData file create_training_dataset wrote into training-datasets/ and takes the split's rows of it),
// a shuffle with a split uses the merged file beside the split, never a fresh merge of labeled-data: the
// split's indices are rows of that file. The split's image names are checked against it, and labeled-data
// is compared with it so that labels added, removed or moved since are reported instead of silently used.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readDlcSplit } from './dlc-split.ts';
import { readLabeledData, readLabelsFile, type LabeledData } from './labeled-data.ts';
import { LabelsError } from './labels-csv.ts';
import type { ShuffleLayout } from './layout.ts';
import type { Project } from './project-config.ts';
import { checkSplitFrames, describeChanges, diffLabels, hasChanges, type LabelChanges } from './split-check.ts';
import { frameName, readSplitFile, type SplitRecord } from './split-file.ts';
import { makeSplit, type Split } from './split.ts';

export type SplitSource = 'dlc-gpu' | 'deeplabcut' | 'default';

export interface ShuffleLabels {
  labels: LabeledData;
  split: Split;
  /** Where the split came from; 'default' is the split create-dataset would make (seed 42) when none exists yet. */
  splitSource: SplitSource;
  /** What labeled-data changed since the split was made (undefined when it could not be compared). */
  changes?: LabelChanges;
  /** Things the user should know; the caller prints them (and train writes them to train.txt). */
  warnings: string[];
}

/** The command that makes a new split from the current labels. */
export function recreateHint(project: Project, shuffle: number, trainFraction: number): string {
  const fraction = trainFraction !== project.trainingFractions[0] ? ` --train-fraction ${trainFraction}` : '';
  return `run 'dlc-gpu create-dataset ${project.configPath}${shuffle !== 1 ? ` --shuffle ${shuffle}` : ''}${fraction} --overwrite' to make a new split from the current labels`;
}

function mergedLabels(project: Project, file: string): LabeledData {
  const read = readLabelsFile(project, file, { checkImages: false });
  // File order, not re-sorted: the split's indices are positions in this file.
  return { individuals: read.individuals, bodyparts: project.bodyparts, uniqueBodyparts: project.uniqueBodyparts, frames: read.frames };
}

export function loadShuffleLabels(project: Project, layout: ShuffleLayout, trainFraction: number, shuffle: number): ShuffleLabels {
  const fix = recreateHint(project, shuffle, trainFraction);
  const hasSplitFile = existsSync(layout.splitFile);
  if (!hasSplitFile && !existsSync(layout.documentationPickle)) {
    const labels = readLabeledData(project, { checkImages: false });
    return { labels, split: makeSplit(labels.frames.length, trainFraction, 42), splitSource: 'default', warnings: [] };
  }
  const splitPath = hasSplitFile ? layout.splitFile : layout.documentationPickle;
  let split: SplitRecord;
  try {
    split = hasSplitFile ? readSplitFile(layout.splitFile) : readDlcSplit(layout.documentationPickle);
  } catch (err) {
    if (err instanceof LabelsError) throw err;
    throw new LabelsError(splitPath, `${(err as Error).message.replace(`${splitPath}: `, '')}; ${fix}`);
  }
  const warnings: string[] = [];
  let labels: LabeledData;
  let framesFile = layout.mergedLabelsCsv;
  if (existsSync(layout.mergedLabelsCsv)) labels = mergedLabels(project, layout.mergedLabelsCsv);
  else if (hasSplitFile) throw new LabelsError(layout.mergedLabelsCsv, `the merged labels that ${layout.splitFile} indexes are missing; ${fix}`);
  else {
    // A DeepLabCut split whose merged labels are only in its .h5 file: the current merge is all there is.
    labels = readLabeledData(project, { checkImages: false });
    framesFile = join(project.root, 'labeled-data');
  }
  checkSplitFrames(split, labels.frames, splitPath, framesFile, fix);

  const used = [...split.train, ...split.test].map((i) => labels.frames[i]!);
  const gone = used.filter((f) => !existsSync(join(project.root, ...f.path))).map(frameName);
  if (gone.length) {
    const names = gone.slice(0, 5).join(', ') + (gone.length > 5 ? `, ... (${gone.length - 5} more)` : '');
    throw new LabelsError(splitPath, `${gone.length} image(s) of the split no longer exist (${names}); ${fix}`);
  }

  let changes: LabelChanges | undefined;
  if (framesFile === layout.mergedLabelsCsv) {
    try {
      changes = diffLabels(labels.frames, readLabeledData(project, { checkImages: false }).frames);
    } catch (err) {
      warnings.push(`cannot compare the split's labels with labeled-data: ${(err as Error).message}`);
    }
  }
  if (changes && hasChanges(changes)) {
    const keep = changes.added.length + changes.removed.length === 0 ? ' (the split is kept)' : ' (a new split)';
    warnings.push(
      `labeled-data has changed since the split of ${layout.name} was made: ${describeChanges(changes)}. ` +
        `This uses the ${labels.frames.length} frames the split was made from (${layout.mergedLabelsCsv}); ` +
        `to use the current labels ${fix.replace('to make a new split from the current labels', `to take them${keep}`)}`,
    );
  }
  return { labels, split, splitSource: hasSplitFile ? 'dlc-gpu' : 'deeplabcut', changes, warnings };
}
