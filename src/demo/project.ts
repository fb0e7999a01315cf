// Writes the demo's DeepLabCut project: config.yaml as DeepLabCut's create_new_project writes it, and
// labeled-data/<video>/img*.png with CollectedData_<scorer>.csv (the labels of the rendered keypoints).
// There is no video file: DeepLabCut and dlc-gpu both train from labeled-data alone.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writePng } from '../io/image.ts';
import { labelsCsv } from '../project/index.ts';
import { DEMO_BODYPARTS, renderMouse } from './render.ts';

export interface DemoProjectOptions {
  frames: number;
  width: number;
  height: number;
  seed: number;
  trainFraction: number;
}

export const DEMO_TASK = 'demomouse';
export const DEMO_SCORER = 'synthetic';
export const DEMO_VIDEO = 'mouse';

/** DeepLabCut's project date: month abbreviation and day, e.g. Oct30. */
function dlcDate(d: Date): string {
  return `${d.toLocaleString('en-US', { month: 'short' })}${d.getDate()}`;
}

function configYaml(root: string, o: DemoProjectOptions, date: string): string {
  const video = join(root, 'videos', `${DEMO_VIDEO}.mp4`);
  return `    # Project definitions (do not edit)
Task: ${DEMO_TASK}
scorer: ${DEMO_SCORER}
date: ${date}
multianimalproject: false
identity:

    # Project path (change when moving around)
project_path: ${root}

    # Default DeepLabCut engine to use for shuffle creation (either pytorch or tensorflow)
engine: pytorch

    # Annotation data set configuration (and individual video cropping parameters)
video_sets:
  ${video}:
    crop: 0, ${o.width}, 0, ${o.height}
bodyparts:
${DEMO_BODYPARTS.map((b) => `- ${b}`).join('\n')}

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
default_net_type: resnet_50
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
  const labels = join(root, 'labeled-data', DEMO_VIDEO);
  mkdirSync(labels, { recursive: true });
  mkdirSync(join(root, 'videos'), { recursive: true });
  const digits = String(o.frames - 1).length;
  const frames = [];
  for (let i = 0; i < o.frames; i++) {
    const name = `img${String(i).padStart(digits, '0')}.png`;
    const { image, keypoints } = renderMouse(o.seed, i, o.width, o.height);
    writePng(join(labels, name), image);
    // Two decimals, as labels clicked in DeepLabCut's GUI on a zoomed frame would have.
    const rounded = keypoints.map(([x, y]) => [Math.round(x * 100) / 100, Math.round(y * 100) / 100] as [number, number]);
    frames.push({ path: ['labeled-data', DEMO_VIDEO, name], keypoints: [rounded], unique: [] });
  }
  const csv = labelsCsv(DEMO_SCORER, { individuals: ['individual_1'], bodyparts: [...DEMO_BODYPARTS], uniqueBodyparts: [], frames });
  writeFileSync(join(labels, `CollectedData_${DEMO_SCORER}.csv`), csv);
  const config = join(root, 'config.yaml');
  writeFileSync(config, configYaml(root, o, dlcDate(date)));
  return config;
}
