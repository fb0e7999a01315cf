// Opens the training data of one shuffle: from its pytorch_config.yaml (the project is found from the
// DeepLabCut folder layout) or from a project's config.yaml (shuffle 1 of the first TrainingFraction).
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadPoseConfig, makePoseConfig, parsePoseConfig, stringifyPoseConfig, type PoseConfig } from '../config/index.ts';
import { loadShuffleLabels, poseMetadata, readProject, shuffleLayout, trainingPercent, type LabelChanges, type LabeledData, type Project, type ShuffleLayout, type Split, type SplitSource } from '../project/index.ts';
import { PoseDataset, type DatasetMode } from './dataset.ts';

export type { SplitSource };

export interface ProjectData {
  project: Project;
  labels: LabeledData;
  config: PoseConfig;
  /** The pytorch_config.yaml used, or undefined when defaults were built (no create-dataset yet). */
  configPath: string | undefined;
  layout: ShuffleLayout;
  split: Split;
  /** Where the split came from; 'default' is the split create-dataset would make (seed 42) when none exists yet. */
  splitSource: SplitSource;
  /** What labeled-data changed since the split was made; the frames used are always the split's. */
  changes?: LabelChanges;
  /** For the user: e.g. labeled-data changed since the split was made. */
  warnings: string[];
  train: PoseDataset;
  test: PoseDataset;
}

export interface OpenOptions {
  /** Shuffle number when opening from a project config.yaml (default 1). */
  shuffle?: number;
  cacheImages?: boolean;
  /** One item per image or per annotation; by default 'top-down' when the config's method is 'td'. */
  mode?: DatasetMode;
  /** The shuffle's pytorch_config.yaml as this run uses it (with run overrides); default: read from the file. */
  config?: PoseConfig;
}

function isProjectConfig(path: string): boolean {
  const doc = parse(readFileSync(path, 'utf8')) as Record<string, unknown> | null;
  return !!doc && typeof doc === 'object' && 'Task' in doc && 'scorer' in doc;
}

/** The project root of a pose config at <root>/dlc-models-pytorch/iteration-N/<shuffle>/train/pytorch_config.yaml. */
function projectRootOf(posePath: string, config: PoseConfig): string {
  let dir = dirname(resolve(posePath));
  while (dir !== dirname(dir)) {
    if (basename(dir) === 'dlc-models-pytorch' && existsSync(join(dirname(dir), 'config.yaml'))) return dirname(dir);
    dir = dirname(dir);
  }
  if (existsSync(join(config.metadata.project_path, 'config.yaml'))) return config.metadata.project_path;
  throw new Error(
    `${posePath}: cannot find the project: it is not inside <project>/dlc-models-pytorch/ and metadata.project_path (${config.metadata.project_path}) has no config.yaml`,
  );
}

function shuffleOf(posePath: string, project: Project): { trainFraction: number; shuffle: number } {
  const name = basename(dirname(dirname(resolve(posePath))));
  const m = /trainset(\d+)shuffle(\d+)$/.exec(name);
  if (!m) throw new Error(`${posePath}: the model folder '${name}' does not end in trainset<pct>shuffle<n>`);
  const pct = Number(m[1]);
  const trainFraction = project.trainingFractions.find((f) => trainingPercent(f) === pct) ?? pct / 100;
  return { trainFraction, shuffle: Number(m[2]) };
}

/** Opens a shuffle's data from a pytorch_config.yaml or a project config.yaml. */
export function openProjectData(configPath: string, options: OpenOptions = {}): ProjectData {
  const path = resolve(configPath);
  if (!existsSync(path)) throw new Error(`${path}: file does not exist`);
  let project: Project;
  let config: PoseConfig;
  let posePath: string | undefined;
  let trainFraction: number;
  let shuffle: number;
  if (isProjectConfig(path)) {
    project = readProject(path);
    trainFraction = project.trainingFractions[0]!;
    shuffle = options.shuffle ?? 1;
    const layout = shuffleLayout(project, trainFraction, shuffle);
    if (existsSync(layout.poseConfig)) {
      posePath = layout.poseConfig;
      config = options.config ?? loadPoseConfig(posePath);
    } else {
      const text = stringifyPoseConfig(
        makePoseConfig({
          netType: project.defaultNetType && !project.multiAnimal ? project.defaultNetType : project.multiAnimal ? 'top_down_resnet_50' : 'resnet_50',
          multiAnimal: project.multiAnimal,
          // Without identity heads: dlc-gpu has no identity model to train.
          metadata: { ...poseMetadata(project, layout), with_identity: null },
        }),
      );
      config = parsePoseConfig(text, layout.poseConfig).config;
    }
  } else {
    posePath = path;
    config = options.config ?? loadPoseConfig(path);
    project = readProject(join(projectRootOf(path, config), 'config.yaml'));
    ({ trainFraction, shuffle } = shuffleOf(path, project));
  }
  const layout = shuffleLayout(project, trainFraction, shuffle);
  // The split's own frames (training-datasets/), checked against the split and compared with labeled-data.
  const { labels, split, splitSource: source, changes, warnings } = loadShuffleLabels(project, layout, trainFraction, shuffle);
  const mode = options.mode ?? (config.method === 'td' ? 'top-down' : 'bottom-up');
  const common = { root: project.root, labels, bboxMargin: config.data.bbox_margin, cacheImages: options.cacheImages, mode };
  return {
    project,
    labels,
    config,
    configPath: posePath,
    layout,
    split,
    splitSource: source,
    changes,
    warnings,
    train: new PoseDataset({ ...common, indices: split.train }),
    test: new PoseDataset({ ...common, indices: split.test }),
  };
}
