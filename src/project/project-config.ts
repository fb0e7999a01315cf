// A DeepLabCut project's config.yaml: the facts dlc-gpu needs, validated with positioned errors.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as v from 'valibot';
import { ConfigError } from '../config/errors.ts';
import { validate } from '../config/validate.ts';
import { parseYamlSource } from '../config/yaml-source.ts';

const names = v.array(v.pipe(v.string(), v.minLength(1)));
// An empty YAML value (`multianimalproject:`) is null; DeepLabCut reads it as false.
const flag = v.optional(v.nullable(v.boolean()));

// Open schema: config.yaml holds many keys for other tools (plotting, refinement, SuperAnimal tables).
export const ProjectConfigSchema = v.looseObject({
  Task: v.pipe(v.string(), v.minLength(1)),
  scorer: v.pipe(v.string(), v.minLength(1)),
  date: v.pipe(v.string(), v.minLength(1)),
  project_path: v.optional(v.nullable(v.string())),
  multianimalproject: flag,
  identity: flag,
  bodyparts: v.union([names, v.literal('MULTI!')], 'expected a list of bodypart names'),
  multianimalbodyparts: v.optional(v.nullable(names)),
  individuals: v.optional(v.nullable(names)),
  uniquebodyparts: v.optional(v.nullable(names)),
  TrainingFraction: v.pipe(
    v.array(v.pipe(v.number(), v.gtValue(0), v.ltValue(1))),
    v.minLength(1),
  ),
  iteration: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 0),
  pcutoff: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.6),
  default_net_type: v.optional(v.nullable(v.string())),
  video_sets: v.optional(v.nullable(v.record(v.string(), v.unknown()))),
});

export interface Project {
  /** Absolute path of config.yaml. */
  configPath: string;
  /** The folder holding config.yaml (DeepLabCut's stored project_path is often stale, so it is not trusted). */
  root: string;
  task: string;
  scorer: string;
  date: string;
  multiAnimal: boolean;
  withIdentity: boolean;
  bodyparts: string[];
  uniqueBodyparts: string[];
  individuals: string[];
  trainingFractions: number[];
  iteration: number;
  pcutoff: number;
  defaultNetType: string | undefined;
  /** Video file names from video_sets; their stems name the labeled-data folders. */
  videos: string[];
  raw: v.InferOutput<typeof ProjectConfigSchema>;
}

export function readProject(configPath: string): Project {
  const file = resolve(configPath);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, path: [], message: `cannot read project config: ${(err as Error).message}` }]);
  }
  const source = parseYamlSource(text, file);
  const result = validate(ProjectConfigSchema, source.doc.toJS(), source);
  if (!result.ok) throw new ConfigError(result.issues);
  const c = result.value;
  const multiAnimal = c.multianimalproject ?? false;
  const bodyparts = multiAnimal ? c.multianimalbodyparts ?? [] : c.bodyparts === 'MULTI!' ? [] : c.bodyparts;
  if (bodyparts.length === 0) {
    const key = multiAnimal ? 'multianimalbodyparts' : 'bodyparts';
    throw new ConfigError([{ file, path: [key], message: `${key} must list at least one bodypart` }]);
  }
  return {
    configPath: file,
    root: dirname(file),
    task: c.Task,
    scorer: c.scorer,
    date: c.date,
    multiAnimal,
    withIdentity: c.identity ?? false,
    bodyparts,
    uniqueBodyparts: c.uniquebodyparts ?? [],
    individuals: multiAnimal ? c.individuals ?? [] : ['individual_1'],
    trainingFractions: c.TrainingFraction,
    iteration: c.iteration,
    pcutoff: c.pcutoff,
    defaultNetType: c.default_net_type ?? undefined,
    videos: Object.keys(c.video_sets ?? {}),
    raw: c,
  };
}
