// Public API of the config module: what the training runner and the CLI use.
export * from './schema/index.ts';
export { loadPoseConfig, parsePoseConfig, stringifyPoseConfig } from './load.ts';
export { makePoseConfig, parseNetType, AVAILABLE_NET_TYPES, type MakePoseConfigOptions, type DetectorType } from './defaults.ts';
export { resolvePlaceholders, PlaceholderError, PLACEHOLDER_NAMES, type PlaceholderValues } from './placeholders.ts';
export { updateConfig } from './merge.ts';
export { parseDotPath, parseValue, setIn, usesFlushSequences } from './dot-path.ts';
export { ConfigError, formatIssue, formatPath, type ConfigIssue, type KeyPath } from './errors.ts';
export { parseYamlSource, positionOf, type YamlSource } from './yaml-source.ts';
