// DeepLabCut's folder and file names for a shuffle, so a project stays usable by both tools.
import { join } from 'node:path';
import type { Project } from './project-config.ts';

/** DeepLabCut writes int(100 * fraction), truncating (0.95 -> 95). */
export function trainingPercent(fraction: number): number {
  return Math.trunc(100 * fraction);
}

export interface ShuffleLayout {
  name: string;
  trainingDatasetDir: string;
  documentationPickle: string;
  mergedLabelsCsv: string;
  splitFile: string;
  datasetMetadata: string;
  modelDir: string;
  poseConfig: string;
  testPoseCfg: string;
}

export function shuffleLayout(project: Project, trainFraction: number, shuffle: number): ShuffleLayout {
  const pct = trainingPercent(trainFraction);
  const name = `${project.task}${project.date}-trainset${pct}shuffle${shuffle}`;
  const iteration = `iteration-${project.iteration}`;
  const trainingDatasetDir = join(project.root, 'training-datasets', iteration, `UnaugmentedDataSet_${project.task}${project.date}`);
  const modelDir = join(project.root, 'dlc-models-pytorch', iteration, name);
  return {
    name,
    trainingDatasetDir,
    documentationPickle: join(trainingDatasetDir, `Documentation_data-${project.task}_${pct}shuffle${shuffle}.pickle`),
    mergedLabelsCsv: join(trainingDatasetDir, `CollectedData_${project.scorer}.csv`),
    splitFile: join(trainingDatasetDir, `split-${project.task}_${pct}shuffle${shuffle}.yaml`),
    datasetMetadata: join(trainingDatasetDir, 'metadata.yaml'),
    modelDir,
    poseConfig: join(modelDir, 'train', 'pytorch_config.yaml'),
    testPoseCfg: join(modelDir, 'test', 'pose_cfg.yaml'),
  };
}
