// A snapshot that does not fit the config's model (another net type, another shuffle's snapshot): the engine
// lists every missing and unexpected key, hundreds of them. The user needs the two architectures and a few keys.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { CliError } from './cli-error.ts';

const SHOWN = 4;

function shorten(list: string, separator: string): string {
  const items = list.split(separator);
  return items.length <= SHOWN ? list : `${items.slice(0, SHOWN).join(separator)}${separator}... (${items.length - SHOWN} more)`;
}

/** net_type (and backbone) of the pytorch_config.yaml beside a snapshot (or in a train/ folder), when there is one. */
function netTypeBeside(snapshot: string): string | undefined {
  const folder = existsSync(snapshot) && statSync(snapshot).isDirectory() ? snapshot : dirname(snapshot);
  const file = join(folder, 'pytorch_config.yaml');
  if (!existsSync(file)) return undefined;
  try {
    const cfg = parse(readFileSync(file, 'utf8')) as { net_type?: string; model?: { backbone?: { model_name?: string } } } | null;
    if (!cfg?.net_type) return undefined;
    const backbone = cfg.model?.backbone?.model_name;
    return `${cfg.net_type}${backbone ? ` (backbone ${backbone} in its pytorch_config.yaml)` : ''}`;
  } catch {
    return undefined;
  }
}

/** A short CliError for a state-dict mismatch; any other error is returned as it is. */
export function snapshotMismatch(err: unknown, snapshot: string | undefined, netType: string | undefined): unknown {
  if (!(err instanceof Error) || !err.message.includes('state dict does not match')) return err;
  const details = err.message
    .split('\n')
    .slice(1)
    .map((line) => {
      const m = /^(\s*)(missing keys|unexpected keys|wrong shapes) \((\d+)\): (.*)$/.exec(line);
      return m ? `${m[1]}${m[2]} (${m[3]}): ${shorten(m[4]!, m[2] === 'wrong shapes' ? '; ' : ', ')}` : line;
    });
  const theirs = snapshot ? netTypeBeside(snapshot) : undefined;
  const where = snapshot ?? 'the snapshot';
  return new CliError(
    `${where} was not trained as this config's model (net_type ${netType ?? 'unknown'})` +
      `${theirs ? `; the shuffle it comes from has net_type ${theirs}` : ''}: its weights do not fit:\n${details.join('\n')}\n` +
      'Use a snapshot of this shuffle, or the pytorch_config.yaml of the shuffle the snapshot was trained in.',
    1,
  );
}
