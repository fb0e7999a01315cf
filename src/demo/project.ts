// Writes the demo's DeepLabCut project: config.yaml as DeepLabCut's create_new_project writes it, and
// labeled-data/<video>/img*.png with CollectedData_<scorer>.csv (the labels of the rendered keypoints).
// There is no video file: DeepLabCut and dlc-gpu both train from labeled-data alone. With `animals` > 1 it is
// a multi-animal project (multianimalproject: true, individuals mouse1..N, the 4-row CSV header), whose frames
// include some with one animal only and some with an animal in view but not labeled, as real projects have.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writePng } from '../io/image.ts';
import { labelsCsv } from '../project/index.ts';
import { DEMO_BODYPARTS, renderMice, renderMouse } from './render.ts';

export interface DemoProjectOptions {
  frames: number;
  width: number;
  height: number;
  seed: number;
  trainFraction: number;
  /** Animals per frame (default 1: a single-animal project). */
  animals?: number;
}

export const DEMO_TASK = 'demomouse';
export const DEMO_SCORER = 'synthetic';
export const DEMO_VIDEO = 'mouse';
export const DEMO_MULTI_TASK = 'demomice';
export const DEMO_MULTI_VIDEO = 'mice';

/** The individuals of a multi-animal demo project. */
export const demoIndividuals = (n: number): string[] => Array.from({ length: n }, (_, i) => `mouse${i + 1}`);

/**
 * Which animals of a multi-animal frame are in view and which are labeled: every sixth frame shows mouse1 only;
 * every seventh leaves its last animal in view but unlabeled (an annotator skipped it).
 */
export function demoFrameContents(index: number, animals: number): { present: boolean[]; labeled: boolean[] } {
  const present = Array.from({ length: animals }, (_, i) => i === 0 || index % 6 !== 5);
  const last = present.lastIndexOf(true);
  const labeled = present.map((p, i) => p && !(index % 7 === 3 && i === last && last > 0));
  return { present, labeled };
}

/** DeepLabCut's project date: month abbreviation and day, e.g. Oct30. */
function dlcDate(d: Date): string {
  return `${d.toLocaleString('en-US', { month: 'short' })}${d.getDate()}`;
}

function configYaml(root: string, o: DemoProjectOptions, date: string): string {
  const multi = (o.animals ?? 1) > 1;
  const video = join(root, 'videos', `${multi ? DEMO_MULTI_VIDEO : DEMO_VIDEO}.mp4`);
  const list = (names: readonly string[]) => names.map((b) => `- ${b}`).join('\n');
  const parts = multi
    ? `individuals:\n${list(demoIndividuals(o.animals!))}\nuniquebodyparts: []\nmultianimalbodyparts:\n${list(DEMO_BODYPARTS)}\nbodyparts: MULTI!`
    : `bodyparts:\n${list(DEMO_BODYPARTS)}`;
  return `    # Project definitions (do not edit)
Task: ${multi ? DEMO_MULTI_TASK : DEMO_TASK}
scorer: ${DEMO_SCORER}
date: ${date}
multianimalproject: ${multi}
identity:${multi ? ' false' : ''}

    # Project path (change when moving around)
project_path: ${root}

    # Default DeepLabCut engine to use for shuffle creation (either pytorch or tensorflow)
engine: pytorch

    # Annotation data set configuration (and individual video cropping parameters)
video_sets:
  ${video}:
    crop: 0, ${o.width}, 0, ${o.height}
${parts}

    # Fraction of video to start/stop when extracting frames for labeling/refinement
start: 0
stop: 1
numframes2pick: ${o.frames}

    # Plotting configuration
skeleton:
- - snout
  - leftear
- - snout
  - rightear
- - leftear
  - tailbase
- - rightear
  - tailbase
skeleton_color: black
pcutoff: 0.6
dotsize: 4
alphavalue: 0.7
colormap: rainbow

    # Training,Evaluation and Analysis configuration
TrainingFraction:
- ${o.trainFraction}
iteration: 0
default_net_type: ${multi ? 'top_down_resnet_50' : 'resnet_50'}
default_augmenter: default
snapshotindex: -1
detector_snapshotindex: -1
batch_size: 8
detector_batch_size: 1

    # Cropping Parameters (for analysis and outlier frame detection)
cropping: false
    #if cropping is true for analysis, then set the values here:
x1: 0
x2: ${o.width}
y1: 0
y2: ${o.height}

    # Refinement configuration (parameters from annotation dataset configuration also relevant in this stage)
corner2move2:
- 50
- 50
move2corner: true

    # Conversion tables to fine-tune SuperAnimal weights
SuperAnimalConversionTables:
  superanimal_topviewmouse:
    snout: nose
    leftear: left_ear
    rightear: right_ear
    tailbase: tail_base
`;
}

/** Renders the frames and writes the project into `dir` (which must be empty or absent); returns config.yaml's path. */
export function writeDemoProject(dir: string, o: DemoProjectOptions, date = new Date()): string {
  const root = resolve(dir);
  const animals = o.animals ?? 1;
  const video = animals > 1 ? DEMO_MULTI_VIDEO : DEMO_VIDEO;
  const labels = join(root, 'labeled-data', video);
  mkdirSync(labels, { recursive: true });
  mkdirSync(join(root, 'videos'), { recursive: true });
  const digits = String(o.frames - 1).length;
  // Two decimals, as labels clicked in DeepLabCut's GUI on a zoomed frame would have.
  const round = (points: [number, number][]) => points.map(([x, y]) => [Math.round(x * 100) / 100, Math.round(y * 100) / 100] as [number, number]);
  const unlabeled = DEMO_BODYPARTS.map(() => [NaN, NaN] as [number, number]);
  const frames = [];
  for (let i = 0; i < o.frames; i++) {
    const name = `img${String(i).padStart(digits, '0')}.png`;
    if (animals === 1) {
      const { image, keypoints } = renderMouse(o.seed, i, o.width, o.height);
      writePng(join(labels, name), image);
      frames.push({ path: ['labeled-data', video, name], keypoints: [round(keypoints)], unique: [] });
      continue;
    }
    const { present, labeled } = demoFrameContents(i, animals);
    const { image, animals: drawn } = renderMice(o.seed, i, o.width, o.height, present);
    writePng(join(labels, name), image);
    frames.push({ path: ['labeled-data', video, name], keypoints: drawn.map((k, a) => (k && labeled[a] ? round(k) : unlabeled)), unique: [] });
  }
  const individuals = animals > 1 ? demoIndividuals(animals) : ['individual_1'];
  const csv = labelsCsv(DEMO_SCORER, { individuals, bodyparts: [...DEMO_BODYPARTS], uniqueBodyparts: [], frames });
  writeFileSync(join(labels, `CollectedData_${DEMO_SCORER}.csv`), csv);
  const config = join(root, 'config.yaml');
  writeFileSync(config, configYaml(root, o, dlcDate(date)));
  return config;
}
