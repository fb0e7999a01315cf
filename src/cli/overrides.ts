// Run overrides (--epochs, --batch-size, --device, --set key.path=value). They apply to one run: the config is
// edited in memory and validated, and pytorch_config.yaml is rewritten only on an explicit --save-overrides
// (DeepLabCut's train_network writes them into the file; a quick trial run should not replace the user's
// settings for good). Each snapshot records its run's overrides, so evaluate and predict rebuild the model
// the snapshot was trained as.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, parseDotPath, parsePoseConfig, parseValue, setIn, usesFlushSequences, type PoseConfig } from '../config/index.ts';
import { checkSnapshotPlugins } from '../plugins/check.ts';
import { readSnapshot } from '../runner/checkpoint.ts';
import { CliError } from './cli-error.ts';

export interface Override {
  key: string;
  value: unknown;
  /** As the run records it: key.path=value. */
  text: string;
}

export function override(key: string, valueText: string): Override {
  return { key, value: parseValue(valueText), text: `${key}=${valueText}` };
}

/** `key.path=value` from --set (usage error, exit 2, when it is not one). */
export function parseSet(text: string, flag = '--set'): Override {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new CliError(`${flag} '${text}' is not key.path=value`, 2);
  return override(text.slice(0, eq), text.slice(eq + 1));
}

export interface OverriddenConfig {
  config: PoseConfig;
  /** The file's text with the overrides applied (comments and order kept), for --save-overrides. */
  text: string;
}

/** The file's config with the overrides applied, validated; nothing is written. */
export function applyOverrides(file: string, overrides: readonly Override[], from = 'the overrides'): OverriddenConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, 1);
  }
  const doc = parseDocument(text, { version: '1.2' });
  if (doc.errors.length > 0) throw new CliError(`${file}: malformed YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  for (const o of overrides) {
    try {
      setIn(doc, parseDotPath(o.key), o.value);
    } catch (err) {
      throw new CliError(`${file}: ${o.key}: ${(err as Error).message}`, 2);
    }
  }
  const edited = overrides.length ? doc.toString({ indentSeq: !usesFlushSequences(text), lineWidth: 0 }) : text;
  try {
    return { config: parsePoseConfig(edited, file).config, text: edited };
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new CliError(overrides.length ? `${from} would make the config invalid (nothing was written):\n${err.message}` : err.message, 1);
    }
    throw err;
  }
}

/**
 * The config a snapshot was trained with: the file plus the overrides recorded in the snapshot's metadata
 * (a run with `--set model.backbone.model_name=resnet18` keeps pytorch_config.yaml's resnet_50). `foreign`: the
 * snapshot is not from this config's train/ folder.
 */
export function snapshotConfig(file: string, snapshot: string, foreign = false): OverriddenConfig & { applied: string[] } {
  let recorded: string[];
  try {
    const metadata = readSnapshot(snapshot).metadata;
    // Before the config is validated: a missing plugin is named, not reported as an unknown type.
    checkSnapshotPlugins(snapshot, metadata.plugins, file);
    recorded = metadata.overrides ?? [];
  } catch (err) {
    throw new CliError((err as Error).message, 1);
  }
  // Another shuffle's snapshot: its overrides were relative to that shuffle's config, not this one.
  if (foreign) return { ...applyOverrides(file, []), applied: [] };
  const overrides = recorded.map((t) => parseSet(t, `${snapshot}: recorded override`));
  return { ...applyOverrides(file, overrides, `the overrides recorded in ${snapshot}`), applied: recorded };
}
