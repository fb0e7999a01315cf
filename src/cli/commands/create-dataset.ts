// `dlc-gpu create-dataset`: a shuffle's split and pytorch_config.yaml from a DeepLabCut project.
import { AVAILABLE_NET_TYPES, ConfigError, DETECTOR_TYPES } from '../../config/index.ts';
import { Hdf5Error } from '../../io/hdf5-dataframe.ts';
import { createDataset, describeChanges, LabelsError, readProject, reconcileLabelFiles, writeMergedLabelsH5 } from '../../project/index.ts';
import { LockedError } from '../../project/run-lock.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';

const usage = `Usage: dlc-gpu create-dataset <project>/config.yaml [options]
  --shuffle N          shuffle number (default 1)
  --net-type T         ${AVAILABLE_NET_TYPES.join(', ')}
                       (default: config.yaml's default_net_type, else resnet_50)
  --detector D         for top_down_* net types: ${DETECTOR_TYPES.join(', ')} (default ssdlite)
  --train-fraction F   fraction of frames to train on (default: config.yaml's first TrainingFraction)
  --seed S             seed for the split (default 42); the same seed gives the same split
  --overwrite          replace an existing pytorch_config.yaml for this shuffle
If DeepLabCut already made a split for this shuffle (Documentation_data-*.pickle), its indices are reused.`;

const VALUE_FLAGS = ['--shuffle', '--net-type', '--detector', '--train-fraction', '--seed'] as const;

function parseArgs(args: string[]): { configPath: string; flags: Map<string, string>; overwrite: boolean } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  let overwrite = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--overwrite') overwrite = true;
    else if ((VALUE_FLAGS as readonly string[]).includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined) throw new CliError(`${name} needs a value\n\n${usage}`, 2);
      flags.set(name, value);
    } else if (arg.startsWith('--')) throw new CliError(`unknown option ${arg}\n\n${usage}`, 2);
    else positional.push(arg);
  }
  if (positional.length !== 1) throw new CliError(`expected one project config.yaml\n\n${usage}`, 2);
  return { configPath: positional[0]!, flags, overwrite };
}

function integer(flags: Map<string, string>, name: string, fallback: number, min: number): number {
  const text = flags.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new CliError(`${name} must be an integer >= ${min}, got '${text}'`, 2);
  return value;
}

export const createDatasetCommand: Command = {
  summary: 'Make a train/test split and a pytorch_config.yaml for a DeepLabCut project',
  usage,
  async run(args) {
    const { configPath, flags, overwrite } = parseArgs(args);
    try {
      const project = readProject(configPath);
      const fractionText = flags.get('--train-fraction');
      const trainFraction = fractionText === undefined ? project.trainingFractions[0]! : Number(fractionText);
      if (!(trainFraction > 0 && trainFraction < 1)) throw new CliError(`--train-fraction must be between 0 and 1, got '${fractionText}'`, 2);
      const netType = flags.get('--net-type') ?? project.defaultNetType ?? 'resnet_50';
      if (!(AVAILABLE_NET_TYPES as readonly string[]).includes(netType)) {
        const from = flags.has('--net-type') ? '--net-type' : `${project.configPath}: default_net_type`;
        throw new CliError(`${from}: unknown net type '${netType}'; available: ${AVAILABLE_NET_TYPES.join(', ')}`, 2);
      }
      const detector = flags.get('--detector');
      if (detector !== undefined && !(DETECTOR_TYPES as readonly string[]).includes(detector.toLowerCase())) {
        throw new CliError(`--detector: unknown detector '${detector}'; available: ${DETECTOR_TYPES.join(', ')}`, 2);
      }
      // DeepLabCut trains from the .h5 label files, dlc-gpu from the CSVs: write a missing CSV, warn where they differ.
      const labelFiles = await reconcileLabelFiles(project);
      for (const f of labelFiles.written) process.stderr.write(`Wrote ${f} from the .h5 beside it (DeepLabCut keeps both; dlc-gpu reads the CSV)\n`);
      for (const w of labelFiles.warnings) process.stderr.write(`Warning: ${w}\n`);
      const result = createDataset(project, {
        shuffle: integer(flags, '--shuffle', 1, 0),
        seed: integer(flags, '--seed', 42, 0),
        netType,
        detector,
        trainFraction,
        overwrite,
      });
      // DeepLabCut's create_training_dataset writes the merged labels as .h5 beside the .csv (its loader reads the .h5).
      await writeMergedLabelsH5(project, result);
      for (const w of result.warnings) process.stderr.write(`Warning: ${w}\n`);
      const origin = { deeplabcut: 'reused from DeepLabCut', 'dlc-gpu': 'reused from an earlier run', new: 'new' }[result.splitSource];
      if (result.replacedSplit) {
        process.stderr.write(`labeled-data has changed since the earlier split (${result.replacedSplit.file}) was made: ${result.replacedSplit.why}; made a new split\n`);
      } else if (result.changes) {
        process.stderr.write(`the split is kept; labels changed since it was made: ${describeChanges(result.changes)}\n`);
      }
      process.stdout.write(
        `${result.layout.name}: ${result.frames} frames, ${result.split.train.length} train / ${result.split.test.length} test (split ${origin})\n` +
          `  split:  ${result.layout.splitFile}\n  config: ${result.layout.poseConfig}\n`,
      );
      return 0;
    } catch (err) {
      if (err instanceof ConfigError || err instanceof LabelsError || err instanceof LockedError || err instanceof Hdf5Error) throw new CliError(err.message, 1);
      throw err;
    }
  },
};
