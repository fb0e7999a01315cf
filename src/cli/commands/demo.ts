// `dlc-gpu demo`: a first run with nothing downloaded. Renders a small synthetic DeepLabCut project
// (top-view mice with exactly known keypoints), then runs create-dataset, train (a ResNet-18 sized for a
// few minutes on a CPU adapter) and evaluate --plot on it in this process, through the same command code
// as `dlc-gpu create-dataset|train|evaluate`, and ends with where everything is and the test RMSE.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { convertCsvToH5, readProject, shuffleLayout } from '../../project/index.ts';
import { writeDemoProject } from '../../demo/project.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { createDatasetCommand } from './create-dataset.ts';
import { chooseSnapshot, evaluateCommand } from './evaluate.ts';
import { intFlag, parseArgs, trainCommand } from './train.ts';

const DEFAULTS = { frames: 60, size: 128, epochs: 8, batchSize: 4, seed: 1 };
/** --multi-animal: three mice per 192x160 frame, a top-down ResNet-18 behind DeepLabCut's SSDLite detector. */
const MULTI = { frames: 40, width: 192, height: 160, animals: 3, epochs: 6, detectorEpochs: 4, detectorBatchSize: 4, crop: 96 };

const usage = `Usage: dlc-gpu demo [options]
  --out DIR            where to create the demo project (default ./dlc-gpu-demo; must not exist or be empty)
  --frames N           labelled frames to render (default ${DEFAULTS.frames})
  --size PX            frame width and height in pixels (default ${DEFAULTS.size})
  --epochs E           training epochs (default ${DEFAULTS.epochs}: a few minutes on a CPU adapter)
  --batch-size B       training batch size (default ${DEFAULTS.batchSize})
  --seed S             seed for the rendered frames (default ${DEFAULTS.seed}); the same seed gives the same project
  --device D           auto | cpu | cuda | mps | gpu
  --multi-animal       a multi-animal project instead (${MULTI.animals} mice per ${MULTI.width}x${MULTI.height} frame, ${MULTI.frames} frames, some with one
                       mouse or an unlabeled one): top_down_resnet_18, whose SSDLite detector trains first
                       (${MULTI.detectorEpochs} epochs), then the pose model on ${MULTI.crop}x${MULTI.crop} crops; evaluate uses the detections
Writes a DeepLabCut project (config.yaml, labeled-data/mouse/ with CollectedData_synthetic.csv), trains
a resnet_18 from scratch (dlc-gpu's small net type: resnet_50's recipe on a ResNet-18), evaluates it
(RMSE, mAP) and writes the test and train images with ground truth and predictions drawn on them. The
project works with every other command, and with DeepLabCut.`;

const VALUE_FLAGS = ['--out', '--frames', '--size', '--epochs', '--batch-size', '--seed', '--device'];

/**
 * The pytorch_config.yaml edits for small frames and a short run, saved into the demo's own config (so
 * the file says how its model was trained).
 */
function trainSettings(size: number, epochs: number): string[] {
  return [
    `data.train.crop_sampling.width=${size}`,
    `data.train.crop_sampling.height=${size}`,
    `runner.eval_interval=${Math.max(1, Math.floor(epochs / 4))}`,
    `runner.snapshots.save_epochs=${epochs}`,
    // From scratch and for a few epochs, twice the default AdamW rate ends lower (8.3 vs 9.4 px test RMSE at 8 epochs).
    'runner.optimizer.params.lr=1e-3',
    'train_settings.display_iters=5',
  ].flatMap((s) => ['--set', s]).concat('--save-overrides');
}

function step(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

/** Paths under the working directory are shown relative to it, others in full. */
function shown(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

/** What evaluate wrote for the shuffle: a value of its results row by column name, and its plots folder. */
function evaluationResults(project: ReturnType<typeof readProject>, layout: ReturnType<typeof shuffleLayout>) {
  const evalDir = join(project.root, 'evaluation-results-pytorch', `iteration-${project.iteration}`, layout.name);
  const results = readdirSync(evalDir).filter((f) => f.endsWith('-results.csv'));
  const [header, row] = readFileSync(join(evalDir, results[0]!), 'utf8').trim().split('\n').map((l) => l.split(','));
  const plots = readdirSync(evalDir).find((f) => f.startsWith('LabeledImages_'));
  return { value: (column: string) => row![header!.indexOf(column)] || 'n/a', plots: plots ? join(evalDir, plots) : null };
}

export const demoCommand: Command = {
  summary: 'First run: make a synthetic DeepLabCut project, train a small model on it, evaluate and plot',
  usage,
  async run(args) {
    const { positional, flags } = parseArgs(args, VALUE_FLAGS, usage, ['--multi-animal']);
    if (flags.has('--multi-animal')) return multiAnimalDemo(flags);
    if (positional.length) throw new CliError(`unexpected argument '${positional[0]}'\n\n${usage}`, 2);
    const frames = intFlag(flags, '--frames', 5) ?? DEFAULTS.frames;
    const size = intFlag(flags, '--size', 48) ?? DEFAULTS.size;
    const epochs = intFlag(flags, '--epochs', 1) ?? DEFAULTS.epochs;
    const batchSize = intFlag(flags, '--batch-size', 1) ?? DEFAULTS.batchSize;
    const seed = intFlag(flags, '--seed', 0) ?? DEFAULTS.seed;
    const device = flags.get('--device');
    const out = resolve(flags.get('--out') ?? 'dlc-gpu-demo');
    if (existsSync(out) && readdirSync(out).length > 0) {
      throw new CliError(`${out} already exists and is not empty: remove it, or pass --out with a new folder`, 1);
    }
    const started = Date.now();

    step(`Rendering ${frames} frames of ${size}x${size} (synthetic mice, keypoints known exactly) into ${out}`);
    const config = writeDemoProject(out, { frames, width: size, height: size, seed, trainFraction: 0.8 });
    const project = readProject(config);
    // DeepLabCut reads labels from the .h5 (its create_training_dataset ignores the CSV): write both.
    await convertCsvToH5(project);
    const layout = shuffleLayout(project, project.trainingFractions[0]!, 1);

    step('dlc-gpu create-dataset');
    let code = await createDatasetCommand.run([config, '--net-type', 'resnet_18']);
    if (code !== 0) return code;

    step(`dlc-gpu train (ResNet-18 from scratch, ${epochs} epochs, batch ${batchSize})`);
    const deviceArgs = device ? ['--device', device] : [];
    code = await trainCommand.run([config, '--epochs', String(epochs), '--batch-size', String(batchSize), ...deviceArgs, ...trainSettings(size, epochs)]);
    if (code !== 0) return code;

    step('dlc-gpu evaluate --plot');
    code = await evaluateCommand.run([config, '--plot', ...deviceArgs]);
    if (code !== 0) return code;

    const trainDir = join(layout.modelDir, 'train');
    const { value, plots } = evaluationResults(project, layout);
    const rmse = (split: string) => value(`${split} rmse`);
    const rel = shown;
    process.stdout.write(
      `\nDemo finished in ${((Date.now() - started) / 1000).toFixed(0)} s.\n` +
        `  project:         ${rel(config)}\n` +
        `  snapshot:        ${rel(chooseSnapshot(trainDir, undefined))}\n` +
        `  learning curve:  ${rel(join(trainDir, 'learning_curve.png'))}\n` +
        `  test RMSE:       ${rmse('test')} px (train ${rmse('train')} px) on ${size}x${size} frames\n` +
        `  labeled images:  ${plots ? rel(plots) : 'none'}\n` +
        `Next: the same commands on a real project, e.g. npx dlc-gpu train ${rel(config)} --epochs 50\n`,
    );
    return 0;
  },
};

/** The multi-animal demo: the same steps on a top-down shuffle (detector, then pose model), evaluated with detections. */
async function multiAnimalDemo(flags: Map<string, string>): Promise<number> {
  const frames = intFlag(flags, '--frames', 5) ?? MULTI.frames;
  if (flags.has('--size')) throw new CliError('--size is for the single-animal demo; the multi-animal one renders 192x160 frames', 2);
  const epochs = intFlag(flags, '--epochs', 1) ?? MULTI.epochs;
  const batchSize = intFlag(flags, '--batch-size', 1) ?? DEFAULTS.batchSize;
  const seed = intFlag(flags, '--seed', 0) ?? DEFAULTS.seed;
  const device = flags.get('--device');
  const out = resolve(flags.get('--out') ?? 'dlc-gpu-demo-multi');
  if (existsSync(out) && readdirSync(out).length > 0) throw new CliError(`${out} already exists and is not empty: remove it, or pass --out with a new folder`, 1);
  const started = Date.now();
  step(`Rendering ${frames} frames of ${MULTI.width}x${MULTI.height} with ${MULTI.animals} mice each (keypoints known exactly) into ${out}`);
  const config = writeDemoProject(out, { frames, width: MULTI.width, height: MULTI.height, seed, trainFraction: 0.8, animals: MULTI.animals });
  const project = readProject(config);
  await convertCsvToH5(project);
  const layout = shuffleLayout(project, project.trainingFractions[0]!, 1);

  step('dlc-gpu create-dataset --net-type top_down_resnet_18');
  let code = await createDatasetCommand.run([config, '--net-type', 'top_down_resnet_18']);
  if (code !== 0) return code;

  const detectorEpochs = Math.max(1, Math.round((epochs * MULTI.detectorEpochs) / MULTI.epochs));
  step(`dlc-gpu train (SSDLite detector ${detectorEpochs} epochs, batch ${MULTI.detectorBatchSize}; then ResNet-18 pose model ${epochs} epochs, batch ${batchSize})`);
  const deviceArgs = device ? ['--device', device] : [];
  const settings = [
    `data.train.top_down_crop.width=${MULTI.crop}`,
    `data.train.top_down_crop.height=${MULTI.crop}`,
    `data.inference.top_down_crop.width=${MULTI.crop}`,
    `data.inference.top_down_crop.height=${MULTI.crop}`,
    `runner.eval_interval=${Math.max(1, Math.floor(epochs / 3))}`,
    `runner.snapshots.save_epochs=${epochs}`,
    'runner.optimizer.params.lr=1e-3',
    `detector.runner.eval_interval=${detectorEpochs}`,
    `detector.runner.snapshots.save_epochs=${detectorEpochs}`,
    // From scratch and for a few epochs, ten times DeepLabCut's fine-tuning rate.
    'detector.runner.optimizer.params.lr=1e-3',
    'train_settings.display_iters=5',
    'detector.train_settings.display_iters=5',
  ].flatMap((s) => ['--set', s]);
  code = await trainCommand.run([
    config,
    '--epochs', String(epochs),
    '--batch-size', String(batchSize),
    '--detector-epochs', String(detectorEpochs),
    '--detector-batch-size', String(MULTI.detectorBatchSize),
    ...deviceArgs, ...settings, '--save-overrides',
  ]);
  if (code !== 0) return code;

  step('dlc-gpu evaluate --plot (crops around the detections)');
  code = await evaluateCommand.run([config, '--plot', ...deviceArgs]);
  if (code !== 0) return code;

  const trainDir = join(layout.modelDir, 'train');
  const { value, plots } = evaluationResults(project, layout);
  const stats = readFileSync(join(trainDir, 'learning_stats_detector.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const map = Number(stats[stats.length - 1]![stats[0]!.indexOf('metrics/test.mAP@50:95')]);
  // The pose model's own evaluations during training crop around the ground-truth boxes: the gap to the
  // detections' RMSE is the detector's share of the error.
  const poseStats = readFileSync(join(trainDir, 'learning_stats.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const gtRmse = Number(poseStats[poseStats.length - 1]![poseStats[0]!.indexOf('metrics/test.rmse')]);
  const fixed = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
  const rel = shown;
  process.stdout.write(
    `\nMulti-animal demo finished in ${((Date.now() - started) / 1000).toFixed(0)} s.\n` +
      `  project:         ${rel(config)}\n` +
      `  detector:        bbox mAP@50:95 ${fixed(map)} on the test frames (learning_stats_detector.csv)\n` +
      `  pose snapshot:   ${rel(chooseSnapshot(trainDir, undefined))}\n` +
      `  test RMSE:       ${value('test rmse')} px, mAP ${value('test mAP')} (train ${value('train rmse')} px) on ${MULTI.width}x${MULTI.height} frames, in crops around the detections\n` +
      `                   ${fixed(gtRmse)} px in crops around the ground-truth boxes (learning_stats.csv): the rest is the detector's, trained\n` +
      `                   from scratch for ${detectorEpochs} epochs (DeepLabCut trains 250 from COCO weights: detector.model.pretrained)\n` +
      `  labeled images:  ${plots ? rel(plots) : 'none'}\n`,
  );
  return 0;
}
