// `dlc-gpu train`: DeepLabCut's train_network for one shuffle, from a project config.yaml or a
// shuffle's pytorch_config.yaml. Overrides (--epochs, --batch-size, --device, --set) apply to this run only
// (src/cli/overrides.ts); they are recorded in train.txt and in every snapshot, and written to
// pytorch_config.yaml only with --save-overrides. One run per shuffle: train/train.lock holds the process id.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../../config/index.ts';
import { openProjectData } from '../../data/index.ts';
import { init } from '../../index.ts';
import { ImageError } from '../../io/image.ts';
import { PretrainedError } from '../../models/backbones/pretrained.ts';
import { UnknownTypeError } from '../../models/registry.ts';
import { StateDictError } from '../../nn/module.ts';
import { LabelsError, readProject, shuffleLayout, writeFileAtomic } from '../../project/index.ts';
import { acquireRunLock, LockedError, type RunLock } from '../../project/run-lock.ts';
import { readSnapshot, resolveSnapshotPath, SnapshotError } from '../../runner/checkpoint.ts';
import { ConsoleLog } from '../../runner/logging.ts';
import type { PoseTrainingRunner } from '../../runner/train.ts';
import { CliError } from '../cli-error.ts';
import { gpuAdvice } from '../gpu-advice.ts';
import type { Command } from '../command.ts';
import { applyOverrides, override, parseSet, type Override } from '../overrides.ts';
import { loadCommandPlugins } from '../plugins.ts';
import { checkSnapshotPlugins, PluginError } from '../../plugins/check.ts';
import { snapshotMismatch } from '../snapshot-mismatch.ts';

const usage = `Usage: dlc-gpu train <project>/config.yaml [options]
       dlc-gpu train <model folder>/train/pytorch_config.yaml [options]
  --shuffle N            shuffle number, with a project config.yaml (default 1)
  --epochs E             epochs to train (train_settings.epochs); when resuming, epochs *after* the snapshot's;
                         0 skips the pose model (a top-down shuffle then trains its detector only)
  --batch-size B         train_settings.batch_size
  --device D             auto | cpu | cuda | mps | gpu (the config's device key)
  --snapshot PATH        resume from this snapshot (.pt) or train/ folder (its latest snapshot);
                         default: the config's resume_training_from
  --set key.path=value   set any pytorch_config.yaml key (repeatable), e.g. --set runner.optimizer.params.lr=1e-4
  --save-overrides       also write --epochs/--batch-size/--device/--set into pytorch_config.yaml; without it they
                         apply to this run only (recorded in train.txt and in each snapshot's metadata)
  --steps-per-epoch N    stop each epoch after N steps (quick runs, tests)
  --eval-images N        evaluate on at most N test images (quick runs, tests)
  --detector-epochs E    top-down shuffles: detector epochs (detector.train_settings.epochs); 0 skips the detector
  --detector-batch-size B  detector.train_settings.batch_size
  --detector-snapshot PATH resume the detector from this snapshot-detector-*.pt (or train/ folder); default the
                         detector block's resume_training_from
A top-down shuffle (net type top_down_*) trains its detector first, then the pose model, as DeepLabCut does.
  --plugin PATH          load a plugin module that registers types (repeatable; also the config's plugins: list,
                         relative to pytorch_config.yaml); snapshots record the plugins their model needs
Writes snapshot-NNN.pt / snapshot-best-NNN.pt, learning_stats.csv and train.txt in the model's train/ folder.
One run per shuffle: a second train on a shuffle in use refuses, naming the running process (train/train.lock).
Ctrl-C (SIGINT) or SIGTERM finishes the current step, writes a snapshot and exits with 130.
Exit codes: 0 done, 1 failure (bad config, data or a non-finite loss), 2 bad usage, 130 interrupted.`;

const VALUE_FLAGS = ['--shuffle', '--epochs', '--batch-size', '--device', '--snapshot', '--set', '--steps-per-epoch', '--eval-images', '--plugin', '--detector-epochs', '--detector-batch-size', '--detector-snapshot'];

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string>;
  sets: string[];
  /** Every --plugin PATH, in order (the flag repeats). */
  plugins: string[];
}

export function parseArgs(args: string[], valueFlags: readonly string[], usageText: string, boolFlags: readonly string[] = []): ParsedArgs {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  const sets: string[] = [];
  const plugins: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (boolFlags.includes(name)) flags.set(name, 'true');
    else if (valueFlags.includes(name)) {
      const value = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new CliError(`${name} needs a value\n\n${usageText}`, 2);
      if (name === '--set') sets.push(value);
      else if (name === '--plugin') plugins.push(value);
      else flags.set(name, value);
    } else if (arg.startsWith('--')) throw new CliError(`unknown option ${arg}\n\n${usageText}`, 2);
    else positional.push(arg);
  }
  return { positional, flags, sets, plugins };
}

export function intFlag(flags: Map<string, string>, name: string, min: number): number | undefined {
  const text = flags.get(name);
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new CliError(`${name} must be an integer >= ${min}, got '${text}'`, 2);
  return v;
}

export function isProjectConfig(path: string): boolean {
  try {
    const doc = parse(readFileSync(path, 'utf8')) as Record<string, unknown> | null;
    return !!doc && typeof doc === 'object' && 'Task' in doc && 'scorer' in doc;
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message.split('\n')[0]}`, 1);
  }
}

/** The pytorch_config.yaml of a project's shuffle, or the given one. */
export function poseConfigPath(input: string, shuffle: number | undefined): string {
  const path = resolve(input);
  if (!existsSync(path)) throw new CliError(`${path}: file does not exist`, 1);
  if (!isProjectConfig(path)) {
    if (shuffle !== undefined) throw new CliError('--shuffle applies to a project config.yaml, not to a pytorch_config.yaml', 2);
    return path;
  }
  let project;
  try {
    project = readProject(path);
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
  const layout = shuffleLayout(project, project.trainingFractions[0]!, shuffle ?? 1);
  if (!existsSync(layout.poseConfig)) {
    throw new CliError(`${layout.poseConfig} does not exist: run 'dlc-gpu create-dataset ${input}${shuffle ? ` --shuffle ${shuffle}` : ''}' first`, 1);
  }
  return layout.poseConfig;
}

/** Library errors about the user's files as CLI errors (exit 1, no stack); anything else as it is. */
export function asUserError(err: unknown): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof ConfigError || err instanceof LabelsError || err instanceof ImageError || err instanceof SnapshotError || err instanceof StateDictError || err instanceof PretrainedError || err instanceof PluginError || err instanceof UnknownTypeError || (err instanceof Error && err.name === 'DetectorUnavailableError')) {
    return new CliError(err.message, 1);
  }
  return err;
}

/** Turns library errors about the user's files into CLI errors (exit 1, no stack). */
export function userError(err: unknown): never {
  throw asUserError(err);
}

/** Prints what the user should know, e.g. labeled-data changed since the split was made. */
export function printWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`Warning: ${w}\n`);
}

/** The model.* overrides recorded in a snapshot (or a train/ folder's latest), as the snapshot's model needs them. */
function recordedModelOverrides(path: string, configFile: string): Override[] {
  let recorded: string[];
  try {
    const snapshot = resolveSnapshotPath(path);
    const metadata = readSnapshot(snapshot).metadata;
    checkSnapshotPlugins(snapshot, metadata.plugins, configFile);
    recorded = metadata.overrides ?? [];
  } catch (err) {
    throw asUserError(err);
  }
  return recorded.filter((t) => t.startsWith('model.')).map((t) => parseSet(t, `${path}: recorded override`));
}

export const trainCommand: Command = {
  summary: 'Train a pose model for one shuffle (writes snapshots and learning_stats.csv)',
  usage,
  async run(args) {
    const { positional, flags, sets, plugins: pluginFlags } = parseArgs(args, VALUE_FLAGS, usage, ['--save-overrides']);
    if (positional.length !== 1) throw new CliError(`expected one config file (project config.yaml or pytorch_config.yaml)\n\n${usage}`, 2);
    const shuffle = intFlag(flags, '--shuffle', 0);
    const epochs = intFlag(flags, '--epochs', 0);
    const detectorEpochs = intFlag(flags, '--detector-epochs', 0);
    const detectorBatchSize = intFlag(flags, '--detector-batch-size', 1);
    const batchSize = intFlag(flags, '--batch-size', 1);
    const stepsPerEpoch = intFlag(flags, '--steps-per-epoch', 1);
    const evalImages = intFlag(flags, '--eval-images', 1);
    const overrides: Override[] = [];
    // 0 epochs skips a part (DeepLabCut's train_network); it is not a value the config can hold.
    if (epochs) overrides.push(override('train_settings.epochs', String(epochs)));
    if (detectorEpochs) overrides.push(override('detector.train_settings.epochs', String(detectorEpochs)));
    if (detectorBatchSize !== undefined) overrides.push(override('detector.train_settings.batch_size', String(detectorBatchSize)));
    if (batchSize !== undefined) overrides.push(override('train_settings.batch_size', String(batchSize)));
    if (flags.has('--device')) overrides.push(override('device', flags.get('--device')!));
    for (const s of sets) overrides.push(parseSet(s));
    const file = poseConfigPath(positional[0]!, shuffle);
    for (const flag of ['--detector-epochs', '--detector-batch-size', '--detector-snapshot']) {
      if (!flags.has(flag)) continue;
      const raw = parse(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
      if (!raw?.detector) throw new CliError(`${flag} is for top-down shuffles, whose pytorch_config.yaml has a detector block; ${file} has none (net_type ${String(raw?.net_type)})`, 2);
    }
    // Before the config is validated: plugin types and their keys must be registered.
    const plugins = await loadCommandPlugins(file, pluginFlags);
    // Resuming a snapshot trained with model overrides (e.g. --set model.backbone.model_name=resnet18) needs
    // that model again: its recorded model.* overrides come first, this run's on top.
    const resumed = flags.has('--snapshot') ? recordedModelOverrides(resolve(flags.get('--snapshot')!), file) : [];
    // Validated in memory first: a bad override stops here, with nothing written and no lock taken.
    const overridden = applyOverrides(file, [...resumed, ...overrides]);
    const trainDir = dirname(file);
    let lock: RunLock;
    try {
      lock = acquireRunLock(trainDir, ['dlc-gpu', 'train', ...args].join(' '));
    } catch (err) {
      if (err instanceof LockedError) throw new CliError(err.message, 1);
      throw err;
    }
    const log = new ConsoleLog(join(trainDir, 'train.txt'));
    let runner: PoseTrainingRunner | undefined;
    let detectorRunner: { snapshotsWritten: readonly string[] } | undefined;
    const config: Parameters<typeof gpuAdvice>[1] = overridden.config;
    try {
      if (lock.cleared) log.info(`Cleared a stale lock left by process ${lock.cleared.pid} (started ${lock.cleared.started}; it is no longer running)`);
      if (plugins.length) log.info(`Plugins: ${plugins.map((p) => `${p.path} (${p.types.join(', ')})`).join('; ')}`);
      if (resumed.length) log.info(`Model overrides recorded in the snapshot resumed from: ${resumed.map((o) => o.text).join(', ')}`);
      const texts = [...resumed, ...overrides].map((o) => o.text);
      if (flags.has('--save-overrides') && overrides.length) {
        writeFileAtomic(file, overridden.text);
        log.info(`Overrides saved to ${file}: ${texts.join(', ')}`);
      } else if (overrides.length) {
        log.info(`Overrides for this run (${file} is unchanged; --save-overrides writes them): ${texts.join(', ')}`);
      }
      const data = openProjectData(file, { config: overridden.config });
      for (const w of data.warnings) log.warn(w);
      if (data.train.length === 0) throw new CliError(`${data.layout.splitFile}: the train split has no images`, 1);
      await init({ device: data.config.device ?? 'auto' }).catch((e: Error) => {
        throw new CliError(e.message, 1);
      });
      const cfg = data.config;
      if (cfg.method === 'td' && cfg.detector && detectorEpochs !== 0) {
        const { DetectorTrainingRunner, requireDetectorType } = await import('../../runner/detector-train.ts');
        requireDetectorType(cfg);
        // The detector sees whole images: one item per image with every animal's box.
        const images = openProjectData(file, { config: cfg, mode: 'bottom-up' });
        const detectorSnapshot = flags.get('--detector-snapshot');
        log.info(`Top-down model: training the detector (${cfg.detector.model.type}) first, then the pose model`);
        const detector = new DetectorTrainingRunner({
          config: cfg,
          trainDir,
          train: images.train,
          test: images.test,
          snapshot: detectorSnapshot === undefined ? undefined : resolve(detectorSnapshot),
          maxStepsPerEpoch: stepsPerEpoch,
          maxEvalImages: evalImages,
          overrides: texts,
          plugins,
          log,
        });
        detectorRunner = detector;
        try {
          const result = await detector.fit();
          if (result.status === 'interrupted') return 130;
          if (result.status === 'diverged') {
            process.stderr.write(`dlc-gpu train: the detector: ${result.message}\n`);
            return 1;
          }
        } finally {
          detector.dispose();
        }
      }
      if (epochs === 0) {
        log.info('--epochs 0: the pose model is not trained');
        return 0;
      }
      const snapshot = flags.get('--snapshot');
      // Loaded on demand: the model code is only needed by the commands that run a model.
      const { PoseTrainingRunner } = await import('../../runner/train.ts');
      runner = new PoseTrainingRunner({
        config: data.config,
        trainDir,
        train: data.train,
        test: data.test,
        pcutoff: data.project.pcutoff,
        snapshot: snapshot === undefined ? undefined : resolve(snapshot),
        maxStepsPerEpoch: stepsPerEpoch,
        maxEvalImages: evalImages,
        overrides: texts,
        plugins,
        log,
      });
      const result = await runner.fit();
      if (result.status === 'interrupted') return 130;
      if (result.status === 'diverged') {
        process.stderr.write(`dlc-gpu train: ${result.message}\n`);
        return 1;
      }
      return 0;
    } catch (err) {
      const e = asUserError(snapshotMismatch(gpuAdvice(err, config, [...(detectorRunner?.snapshotsWritten ?? []), ...(runner?.snapshotsWritten ?? [])]), flags.get('--snapshot') ?? undefined, overridden.config.net_type));
      // train.txt says how the run ended, not only the terminal.
      log.error(`Training ended with an error: ${(e as Error).message ?? String(e)}`);
      throw e;
    } finally {
      lock.release();
    }
  },
};
