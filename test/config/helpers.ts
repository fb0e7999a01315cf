// Shared test helpers: a valid generated config for the openfield bodyparts, and a way to mutate it.
import { parseDocument } from 'yaml';
import { makePoseConfig, parseDotPath, parseValue, setIn, stringifyPoseConfig } from '../../src/config/index.ts';

export const OPENFIELD_BODYPARTS = ['snout', 'leftear', 'rightear', 'tailbase'];

export function generated(netType = 'resnet_50', detector?: string, bodyparts = OPENFIELD_BODYPARTS): Record<string, unknown> {
  return makePoseConfig({
    netType,
    detector,
    multiAnimal: false,
    metadata: {
      project_path: '/data/openfield',
      pose_config_path: '/data/openfield/pytorch_config.yaml',
      bodyparts,
      unique_bodyparts: [],
      individuals: ['individual_1'],
      with_identity: null,
    },
  });
}

export function generatedText(netType = 'resnet_50'): string {
  return stringifyPoseConfig(generated(netType));
}

/** The generated resnet_50 text with `edits` applied (dot-path -> YAML value). */
export function edited(edits: Record<string, string>, netType = 'resnet_50'): string {
  const doc = parseDocument(generatedText(netType), { version: '1.2' });
  for (const [path, value] of Object.entries(edits)) setIn(doc, parseDotPath(path), parseValue(value));
  return doc.toString();
}

/** The generated text with the line holding `key:` (first match) removed along with its block. */
export function withoutKey(text: string, key: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith(`${key}:`));
  const indent = lines[start]!.length - lines[start]!.trimStart().length;
  let end = start + 1;
  while (end < lines.length && (lines[end]!.trim() === '' || lines[end]!.length - lines[end]!.trimStart().length > indent)) end++;
  return [...lines.slice(0, start), ...lines.slice(end)].join('\n');
}
