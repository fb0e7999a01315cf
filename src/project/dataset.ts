// create-dataset: merged labels, a reproducible split and a pytorch_config.yaml for one shuffle, written
// in DeepLabCut's layout. Every file is written atomically and an existing pose config is never overwritten.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { makePoseConfig } from '../config/defaults.ts';
import { parsePoseConfig, stringifyPoseConfig } from '../config/load.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { readDlcSplit } from './dlc-split.ts';
import { checkLabelledImages } from './image-check.ts';
import { readLabeledData, readLabelsFile, type LabeledData } from './labeled-data.ts';
import { LabelsError, type LabeledFrame } from './labels-csv.ts';
import { labelsCsv, writeLabelsH5 } from './labels-writer.ts';
import { shuffleLayout, type ShuffleLayout } from './layout.ts';
import type { Project } from './project-config.ts';
import { LOCK_NAME, LockedError, runningTrain } from './run-lock.ts';
import { recreateHint } from './shuffle-labels.ts';
import { checkSplitFrames, describeChanges, diffLabels, hasChanges, type LabelChanges } from './split-check.ts';
import { frameName, readSplitFile, splitFileText, type SplitRecord } from './split-file.ts';
import { makeSplit, type Split } from './split.ts';

/** The `metadata` block of a shuffle's pytorch_config.yaml, from the project. */
export function poseMetadata(project: Project, layout: ShuffleLayout) {
  return {
    project_path: project.root,
    pose_config_path: layout.poseConfig,
    bodyparts: project.bodyparts,
    unique_bodyparts: project.uniqueBodyparts,
    individuals: project.individuals,
    with_identity: project.multiAnimal ? project.withIdentity : null,
  };
}

export interface CreateDatasetOptions {
  shuffle: number;
  netType: string;
  detector?: string;
  trainFraction: number;
  seed: number;
  /** Replace an existing pytorch_config.yaml for this shuffle. */
  overwrite?: boolean;
}

export interface CreatedDataset {
  layout: ShuffleLayout;
  split: Split;
  /** Where the split came from: a DeepLabCut pickle, an earlier dlc-gpu split file, or a new seeded split. */
  splitSource: 'deeplabcut' | 'dlc-gpu' | 'new';
  frames: number;
  /** What changed in labeled-data since the earlier split was made (when there was one to compare with). */
  changes?: LabelChanges;
  /** An earlier split whose frames are no longer the labelled ones was replaced by a new split (--overwrite). */
  replacedSplit?: { file: string; why: string };
  /** For the user: labels far outside their image. */
  warnings: string[];
  /** The merged labels written to layout.mergedLabelsCsv (writeMergedLabelsH5 writes them as DeepLabCut's .h5). */
  labels: LabeledData;
}

interface FoundSplit {
  split: SplitRecord;
  source: 'deeplabcut' | 'dlc-gpu';
  file: string;
}

/** The split an earlier create-dataset (ours, preferred: it may have replaced DeepLabCut's) or DeepLabCut made. */
function existingSplit(layout: ShuffleLayout): FoundSplit | undefined {
  if (existsSync(layout.splitFile)) return { split: readSplitFile(layout.splitFile), source: 'dlc-gpu', file: layout.splitFile };
  if (existsSync(layout.documentationPickle)) {
    return { split: readDlcSplit(layout.documentationPickle), source: 'deeplabcut', file: layout.documentationPickle };
  }
  return undefined;
}

/** The frames an earlier split indexes: the merged labels written with it, when they are still there and readable. */
function earlierFrames(project: Project, layout: ShuffleLayout): LabeledFrame[] | undefined {
  if (!existsSync(layout.mergedLabelsCsv)) return undefined;
  try {
    return readLabelsFile(project, layout.mergedLabelsCsv, { checkImages: false }).frames;
  } catch {
    return undefined;
  }
}

interface Reuse {
  split: Split;
  changes?: LabelChanges;
  /** Set when the earlier split cannot be kept: it names frames that are no longer the labelled ones. */
  drift?: string;
}

/**
 * Keeps an earlier split by image name, so its train and test frames stay train and test even when rows
 * move; when frames were added or removed since, the split no longer covers the labelled frames.
 */
function reuseSplit(found: FoundSplit, then: LabeledFrame[] | undefined, data: LabeledData, fix: string): Reuse {
  const { split } = found;
  let trainNames = split.trainImages;
  let testNames = split.testImages;
  // A split that does not fit its frames cannot be kept; with --overwrite it is replaced, like any drift.
  const fits = (frames: LabeledFrame[], what: string): string | undefined => {
    try {
      checkSplitFrames(split, frames, found.file, what, fix);
      return undefined;
    } catch (err) {
      if (!(err instanceof LabelsError)) throw err;
      return err.message.slice(found.file.length + 2).replace(`; ${fix}`, '');
    }
  };
  if (then) {
    const wrong = fits(then, 'the merged labels beside it');
    if (wrong) return { split, drift: wrong };
    trainNames ??= split.train.map((i) => frameName(then[i]!));
    testNames ??= split.test.map((i) => frameName(then[i]!));
  }
  const index = new Map(data.frames.map((f, i) => [frameName(f), i]));
  if (!trainNames || !testNames) {
    // Not every name is known (a DeepLabCut pickle without its merged CSV): check the indices and the train names.
    const wrong = fits(data.frames, 'labeled-data');
    return wrong ? { split, drift: wrong } : { split: { train: split.train, test: split.test } };
  }
  const named = new Set([...trainNames, ...testNames]);
  const changes = then
    ? diffLabels(then, data.frames)
    : { added: [...index.keys()].filter((n) => !named.has(n)), removed: [...named].filter((n) => !index.has(n)), relabelled: [] };
  if (changes.added.length || changes.removed.length) return { split, changes, drift: describeChanges(changes) };
  const byValue = (a: number, b: number) => a - b;
  return {
    split: { train: trainNames.map((n) => index.get(n)!).sort(byValue), test: testNames.map((n) => index.get(n)!).sort(byValue) },
    changes: hasChanges(changes) ? changes : undefined,
  };
}

function updateDatasetMetadata(layout: ShuffleLayout, options: CreateDatasetOptions): void {
  const current = existsSync(layout.datasetMetadata)
    ? ((parse(readFileSync(layout.datasetMetadata, 'utf8')) ?? {}) as { shuffles?: Record<string, unknown> })
    : {};
  const shuffles = { ...(current.shuffles ?? {}) };
  shuffles[layout.name] = { train_fraction: options.trainFraction, index: options.shuffle, split: options.shuffle, engine: 'pytorch' };
  writeFileAtomic(layout.datasetMetadata, stringify({ ...current, shuffles }));
}

function testPoseCfg(project: Project, netType: string, layout: ShuffleLayout): string {
  return stringify({
    dataset: layout.mergedLabelsCsv,
    num_joints: project.bodyparts.length,
    all_joints: project.bodyparts.map((_, i) => [i]),
    all_joints_names: project.bodyparts,
    net_type: netType,
    dataset_type: 'multi-animal-imgaug',
    global_scale: 1.0,
    scoremap_dir: 'test',
  });
}

export function createDataset(project: Project, options: CreateDatasetOptions): CreatedDataset {
  const layout = shuffleLayout(project, options.trainFraction, options.shuffle);
  if (existsSync(layout.poseConfig) && !options.overwrite) {
    throw new Error(`${layout.poseConfig} already exists; pass --overwrite to replace it`);
  }
  // Replacing the split and config under a running train would change its data mid-run.
  const running = runningTrain(dirname(layout.poseConfig));
  if (running) throw new LockedError(join(dirname(layout.poseConfig), LOCK_NAME), running);
  const data = readLabeledData(project);
  // Every labelled image read once now: a corrupt frame is named here, not at the first batch that samples it.
  const warnings = checkLabelledImages(project, data);
  // Build and validate everything before the first write, so a bad input leaves the project untouched.
  const config = makePoseConfig({
    netType: options.netType,
    detector: options.detector,
    multiAnimal: project.multiAnimal,
    metadata: poseMetadata(project, layout),
  });
  const configText = stringifyPoseConfig(config);
  parsePoseConfig(configText, layout.poseConfig);

  const found = existingSplit(layout);
  let split: Split | undefined;
  let source: CreatedDataset['splitSource'] = 'new';
  let changes: LabelChanges | undefined;
  let replacedSplit: CreatedDataset['replacedSplit'];
  if (found) {
    const reuse = reuseSplit(found, earlierFrames(project, layout), data, recreateHint(project, options.shuffle, options.trainFraction));
    changes = reuse.changes;
    if (!reuse.drift) [split, source] = [reuse.split, found.source];
    else if (!options.overwrite) {
      throw new LabelsError(found.file, `labeled-data has changed since this split was made: ${reuse.drift}; pass --overwrite to make a new split from the current labels (or --shuffle N for a new shuffle)`);
    } else replacedSplit = { file: found.file, why: reuse.drift };
  }
  split ??= makeSplit(data.frames.length, options.trainFraction, options.seed);
  if (split.train.length === 0 || split.test.length === 0) {
    const n = data.frames.length;
    const which = split.train.length === 0 ? 'no train frame' : 'no test frame';
    const range = n < 2 ? 'label at least 2 frames' : `choose --train-fraction of at least ${(Math.ceil((1000 * 1) / n) / 1000).toFixed(3)} and at most ${(Math.floor((1000 * (n - 1)) / n) / 1000).toFixed(3)}`;
    throw new LabelsError(project.configPath, `a train fraction of ${options.trainFraction} leaves ${which} of the ${n} labelled frames: ${range}`);
  }

  writeFileAtomic(layout.mergedLabelsCsv, labelsCsv(project.scorer, data, project.multiAnimal));
  const sourceText = { deeplabcut: 'indices reused from DeepLabCut', 'dlc-gpu': 'indices reused from an earlier run', new: 'new seeded split' }[source];
  writeFileAtomic(layout.splitFile, splitFileText(split, data.frames, { trainFraction: options.trainFraction, seed: source === 'new' ? options.seed : null, source: sourceText }));
  updateDatasetMetadata(layout, options);
  writeFileAtomic(layout.testPoseCfg, testPoseCfg(project, options.netType, layout));
  writeFileAtomic(layout.poseConfig, configText);
  return { layout, split, splitSource: source, frames: data.frames.length, changes, replacedSplit, warnings, labels: data };
}

/** The merged labels of a created dataset as training-datasets/.../CollectedData_<scorer>.h5, which DeepLabCut's
 * create_training_dataset writes beside the CSV and its data loader reads. */
export async function writeMergedLabelsH5(project: Project, created: CreatedDataset): Promise<string> {
  const path = created.layout.mergedLabelsCsv.replace(/\.csv$/, '.h5');
  await writeLabelsH5(path, project.scorer, created.labels, project.multiAnimal);
  return path;
}
