// The plugins a command loads: the config's `plugins:` (paths relative to that pytorch_config.yaml), then
// each `--plugin PATH` (relative to the working directory). Loaded before the config is validated, so
// their types and their keys are known to the validator.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { RecordedPlugin } from '../runner/checkpoint.ts';
import { CliError } from './cli-error.ts';

/** The `plugins:` list of a pytorch_config.yaml as written (the schema reports a malformed one). */
function configPlugins(configFile: string, text?: string): { path: string; from: string }[] {
  let doc: unknown;
  try {
    doc = parse(text ?? readFileSync(configFile, 'utf8'));
  } catch {
    return []; // unreadable or malformed: the config loader reports it with its position
  }
  const list = doc && typeof doc === 'object' ? (doc as Record<string, unknown>).plugins : undefined;
  if (!Array.isArray(list)) return [];
  return list.flatMap((p, i) => (typeof p === 'string' && p ? [{ path: resolve(dirname(configFile), p), from: `${configFile}: plugins[${i}]` }] : []));
}

/**
 * Loads the config's and the command line's plugins; a failure is a CLI error naming the file and entry.
 * `text`: the config's text when it is not (yet) the file's (dlc-gpu config set validates an edit).
 */
export async function loadCommandPlugins(configFile: string | null, flagPaths: readonly string[], text?: string): Promise<RecordedPlugin[]> {
  const requests = [...(configFile ? configPlugins(configFile, text) : []), ...flagPaths.map((p) => ({ path: resolve(p), from: `--plugin ${p}` }))];
  if (!requests.length) return [];
  const { loadPlugins, PluginError } = await import('../plugins/load.ts');
  try {
    return await loadPlugins(requests);
  } catch (err) {
    if (err instanceof PluginError) throw new CliError(err.message, 1);
    throw err;
  }
}
