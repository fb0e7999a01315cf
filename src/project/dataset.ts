// create-dataset: merged labels, a reproducible split and a pytorch_config.yaml for one shuffle, written
// in DeepLabCut's layout. Every file is written atomically and an existing pose config is never overwritten.
import { existsSync, readFileSync } from 'node:fs';
import { Document, isSeq, parse, stringify } from 'yaml';
import { makePoseConfig } from '../config/defaults.ts';
import { parsePoseConfig, stringifyPoseConfig } from '../config/load.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { readDlcSplit } from './dlc-split.ts';
import { readLabeledData, type LabeledData } from './labeled-data.ts';
import { labelsCsv } from './labels-writer.ts';
import { shuffleLayout, type ShuffleLayout } from './layout.ts';
import type { Project } from './project-config.ts';
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
}

function existingSplit(layout: ShuffleLayout): { split: Split; source: CreatedDataset['splitSource'] } | undefined {
  if (existsSync(layout.documentationPickle)) {
    return { split: readDlcSplit(layout.documentationPickle), source: 'deeplabcut' };
  }
  if (existsSync(layout.splitFile)) {
    const saved = parse(readFileSync(layout.splitFile, 'utf8')) as { train_indices: number[]; test_indices: number[] };
    return { split: { train: saved.train_indices, test: saved.test_indices }, source: 'dlc-gpu' };
  }
  return undefined;
}

function checkSplit(split: Split, frames: number, from: string): void {
  const all = [...split.train, ...split.test];
  if (all.some((i) => i >= frames) || new Set(all).size !== all.length) {
    throw new Error(`${from}: the split refers to ${all.length} distinct frames 0..${Math.max(...all)}, but the project has ${frames} labelled frames`);
  }
}

function splitFileText(split: Split, data: LabeledData, options: CreateDatasetOptions, source: string): string {
  const name = (i: number) => data.frames[i]!.path.join('/');
  const header =
    `# Train/test split for this shuffle, written by dlc-gpu create-dataset (${source}).\n` +
    '# Indices are row positions in the merged CollectedData file beside this one (sorted by image path).\n';
  const doc = new Document({
    train_fraction: options.trainFraction,
    seed: source === 'new seeded split' ? options.seed : null,
    num_frames: data.frames.length,
    train_indices: split.train,
    test_indices: split.test,
    test_images: split.test.map(name),
  });
  for (const key of ['train_indices', 'test_indices']) {
    const node = doc.get(key, true);
    if (isSeq(node)) node.flow = true;
  }
  return header + doc.toString({ lineWidth: 100 });
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
  const data = readLabeledData(project);
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
  const split = found?.split ?? makeSplit(data.frames.length, options.trainFraction, options.seed);
  const source = found?.source ?? 'new';
  checkSplit(split, data.frames.length, found ? (source === 'deeplabcut' ? layout.documentationPickle : layout.splitFile) : 'split');

  writeFileAtomic(layout.mergedLabelsCsv, labelsCsv(project.scorer, data));
  const sourceText = { deeplabcut: 'indices reused from DeepLabCut', 'dlc-gpu': 'indices reused from an earlier run', new: 'new seeded split' }[source];
  writeFileAtomic(layout.splitFile, splitFileText(split, data, options, sourceText));
  updateDatasetMetadata(layout, options);
  writeFileAtomic(layout.testPoseCfg, testPoseCfg(project, options.netType, layout));
  writeFileAtomic(layout.poseConfig, configText);
  return { layout, split, splitSource: source, frames: data.frames.length };
}
