// `dlc-gpu demo`: a first run with nothing downloaded. Renders a small synthetic DeepLabCut project
// (top-view mice with exactly known keypoints), then runs create-dataset, train (a ResNet-18 sized for a
// few minutes on a CPU adapter) and evaluate --plot on it in this process, through the same command code
// as `dlc-gpu create-dataset|train|evaluate`, and ends with where everything is and the test RMSE.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { readProject, shuffleLayout } from '../../project/index.ts';
import { writeDemoProject } from '../../demo/project.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { createDatasetCommand } from './create-dataset.ts';
import { chooseSnapshot, evaluateCommand } from './evaluate.ts';
import { intFlag, parseArgs, trainCommand } from './train.ts';

const DEFAULTS = { frames: 60, size: 128, epochs: 8, batchSize: 4, seed: 1 };

const usage = `Usage: dlc-gpu demo [options]
  --out DIR            where to create the demo project (default ./dlc-gpu-demo; must not exist or be empty)
  --frames N           labelled frames to render (default ${DEFAULTS.frames})
  --size PX            frame width and height in pixels (default ${DEFAULTS.size})
  --epochs E           training epochs (default ${DEFAULTS.epochs}: a few minutes on a CPU adapter)
  --batch-size B       training batch size (default ${DEFAULTS.batchSize})
  --seed S             seed for the rendered frames (default ${DEFAULTS.seed}); the same seed gives the same project
  --device D           auto | cpu | cuda | mps | gpu
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

export const demoCommand: Command = {
  summary: 'First run: make a synthetic DeepLabCut project, train a small model on it, evaluate and plot',
  usage,
  async run(args) {
    const { positional, flags } = parseArgs(args, VALUE_FLAGS, usage);
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
    const evalDir = join(project.root, 'evaluation-results-pytorch', `iteration-${project.iteration}`, layout.name);
    const results = readdirSync(evalDir).filter((f) => f.endsWith('-results.csv'));
    const [header, row] = readFileSync(join(evalDir, results[0]!), 'utf8').trim().split('\n').map((l) => l.split(','));
    const rmse = (split: string) => row![header!.indexOf(`${split} rmse`)] || 'n/a';
    const plots = readdirSync(evalDir).find((f) => f.startsWith('LabeledImages_'));
    // Paths under the working directory are shown relative to it, others in full.
    const rel = (p: string) => {
      const r = relative(process.cwd(), p);
      return r && !r.startsWith('..') ? r : p;
    };
    process.stdout.write(
      `\nDemo finished in ${((Date.now() - started) / 1000).toFixed(0)} s.\n` +
        `  project:         ${rel(config)}\n` +
        `  snapshot:        ${rel(chooseSnapshot(trainDir, undefined))}\n` +
        `  learning curve:  ${rel(join(trainDir, 'learning_curve.png'))}\n` +
        `  test RMSE:       ${rmse('test')} px (train ${rmse('train')} px) on ${size}x${size} frames\n` +
        `  labeled images:  ${plots ? rel(join(evalDir, plots)) : 'none'}\n` +
        `Next: the same commands on a real project, e.g. npx dlc-gpu train ${rel(config)} --epochs 50\n`,
    );
    return 0;
  },
};
