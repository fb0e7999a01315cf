// `dlc-gpu config check|set`: validate a pytorch_config.yaml, or edit keys by dot-path keeping comments.
import { readFileSync } from 'node:fs';
import { parse, parseDocument } from 'yaml';
import {
  ConfigError,
  parseDotPath,
  parsePoseConfig,
  parseValue,
  setIn,
  stringifyPoseConfig,
  usesFlushSequences,
} from '../../config/index.ts';
import { writeFileAtomic } from '../../project/index.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { loadCommandPlugins } from '../plugins.ts';

const usage = `Usage:
  dlc-gpu config check <pytorch_config.yaml>
      Validate the file and print the fully resolved config (placeholders filled, defaults added);
      the plugins listed under its plugins: key are loaded first, so their types validate.
      Exit code 0 when valid, 1 when not (every problem is listed with its line and column).
  dlc-gpu config set <pytorch_config.yaml> <key.path=value> [<key.path=value> ...] [--no-validate]
      Set keys by dot-path (list items as key[0] or key.0); values are YAML (1e-3, true, [1, 2], {type: StepLR}).
      Comments and key order are kept. The edited file is validated first and only written if it is valid.`;

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** A project's config.yaml (Task, scorer, ...) is not what config check and set work on: say which file is. */
function refuseProjectConfig(file: string, text: string): void {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return; // malformed YAML: parsePoseConfig reports it with its position
  }
  if (doc && typeof doc === 'object' && 'Task' in doc && 'scorer' in doc) {
    throw new CliError(
      `${file} is a DeepLabCut project file (config.yaml), not a model config: config check and set work on a shuffle's ` +
        `pytorch_config.yaml, e.g. <project>/dlc-models-pytorch/iteration-0/<Task><date>-trainset95shuffle1/train/pytorch_config.yaml ` +
        `(made by 'dlc-gpu create-dataset ${file}')`,
      1,
    );
  }
}

async function check(args: string[]): Promise<number> {
  if (args.length !== 1) throw new CliError(`config check takes one file\n\n${usage}`, 2);
  const file = args[0]!;
  const text = readText(file);
  refuseProjectConfig(file, text);
  await loadCommandPlugins(file, []);
  try {
    const { config } = parsePoseConfig(text, file);
    process.stdout.write(stringifyPoseConfig(config));
    process.stderr.write(`${file}: valid\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 1);
    throw err;
  }
}

async function set(args: string[]): Promise<number> {
  const validateAfter = !args.includes('--no-validate');
  const [file, ...assignments] = args.filter((a) => a !== '--no-validate');
  if (!file || assignments.length === 0) throw new CliError(`config set needs a file and at least one key=value\n\n${usage}`, 2);
  const text = readText(file);
  refuseProjectConfig(file, text);
  const doc = parseDocument(text, { version: '1.2' });
  if (doc.errors.length > 0) throw new CliError(`${file}: malformed YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new CliError(`'${assignment}' is not key.path=value`, 2);
    try {
      setIn(doc, parseDotPath(assignment.slice(0, eq)), parseValue(assignment.slice(eq + 1)));
    } catch (err) {
      throw new CliError(`${file}: ${(err as Error).message}`, 2);
    }
  }
  const edited = doc.toString({ indentSeq: !usesFlushSequences(text), lineWidth: 0 });
  if (validateAfter) {
    await loadCommandPlugins(file, [], edited);
    try {
      parsePoseConfig(edited, file);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(`not written, the edit would make the file invalid:\n${err.message}`);
      throw err;
    }
  }
  writeFileAtomic(file, edited);
  process.stderr.write(`${file}: set ${assignments.length} key${assignments.length === 1 ? '' : 's'}\n`);
  return 0;
}

export const config: Command = {
  summary: 'Check a pytorch_config.yaml, or set keys in it by dot-path',
  usage,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'check') return check(rest);
    if (sub === 'set') return set(rest);
    throw new CliError(`unknown config subcommand '${sub ?? ''}'\n\n${usage}`, 2);
  },
};
