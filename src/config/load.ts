// Reading a pytorch_config.yaml into a typed PoseConfig, collecting every problem before failing.
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { stringify } from 'yaml';
import { checkRegisteredTypes } from '../models/check-types.ts';
import { checkConsistency } from './consistency.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { PlaceholderError, resolvePlaceholders } from './placeholders.ts';
import { METADATA_ALIASES } from './schema/metadata.ts';
import { PoseConfigSchema, type PoseConfig } from './schema/pose-config.ts';
import { toConfigIssues } from './validate.ts';
import { issueAt, parseYamlSource, type YamlSource } from './yaml-source.ts';

type Mapping = Record<string, unknown>;
const isMapping = (x: unknown): x is Mapping => x !== null && typeof x === 'object' && !Array.isArray(x);

function renameAliases(raw: Mapping): void {
  const metadata = raw['metadata'];
  if (!isMapping(metadata)) return;
  for (const [alias, name] of Object.entries(METADATA_ALIASES)) {
    if (alias in metadata && !(name in metadata)) {
      metadata[name] = metadata[alias];
      delete metadata[alias];
    }
  }
}

function placeholderValues(raw: Mapping) {
  const metadata = isMapping(raw['metadata']) ? raw['metadata'] : {};
  const model = isMapping(raw['model']) ? raw['model'] : {};
  const count = (x: unknown) => (Array.isArray(x) ? x.length : undefined);
  const channels = model['backbone_output_channels'];
  return {
    num_bodyparts: count(metadata['bodyparts']),
    num_individuals: count(metadata['individuals']) ?? 1,
    backbone_output_channels: typeof channels === 'number' ? channels : undefined,
  };
}

const byPosition = (issues: ConfigIssue[]) =>
  [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));

/** Parses the text of a pose config; `file` is only used in messages. Throws ConfigError listing every problem. */
export function parsePoseConfig(text: string, file: string): { config: PoseConfig; source: YamlSource } {
  const source = parseYamlSource(text, file);
  const raw = source.doc.toJS() as unknown;
  if (!isMapping(raw)) {
    throw new ConfigError([issueAt(source, [], `expected a mapping of config keys, got ${raw === null ? 'an empty file' : typeof raw}`)]);
  }
  renameAliases(raw);

  const issues: ConfigIssue[] = [];
  let input: Mapping = raw;
  try {
    input = resolvePlaceholders(raw, placeholderValues(raw));
  } catch (err) {
    if (!(err instanceof PlaceholderError)) throw err;
    issues.push(issueAt(source, err.path, err.message));
  }
  const result = v.safeParse(PoseConfigSchema, input);
  if (!result.success) {
    const seen = new Set(issues.map((i) => i.path.join('\0')));
    issues.push(...toConfigIssues(result.issues, source, PoseConfigSchema, input).filter((i) => !seen.has(i.path.join('\0'))));
    throw new ConfigError(byPosition(issues));
  }
  issues.push(...checkRegisteredTypes(result.output.model as Mapping, source, result.output.detector));
  issues.push(...checkConsistency(result.output, source));
  if (issues.length > 0) throw new ConfigError(byPosition(issues));
  return { config: result.output, source };
}

/** Reads and validates a pytorch_config.yaml; placeholders are resolved and schema defaults filled in. */
export function loadPoseConfig(path: string): PoseConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file: path, path: [], message: `cannot read file: ${(err as Error).message}` }]);
  }
  return parsePoseConfig(text, path).config;
}

/** YAML text for a config; parsing it again gives an equal config. */
export function stringifyPoseConfig(config: PoseConfig | Mapping): string {
  return stringify(config, { lineWidth: 0, aliasDuplicateObjects: false });
}
