// The top-level `inference` block (InferenceConfig): runtime options for analysis and evaluation.
import * as v from 'valibot';
import { positiveInt } from './common.ts';

export const InferenceSchema = v.strictObject({
  multithreading: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      queue_length: v.optional(positiveInt, 4),
      timeout: v.optional(v.pipe(v.number(), v.gtValue(0)), 30),
    }),
    {},
  ),
  compile: v.optional(
    v.strictObject({ enabled: v.optional(v.boolean(), false), backend: v.optional(v.string(), 'inductor') }),
    {},
  ),
  autocast: v.optional(v.strictObject({ enabled: v.optional(v.boolean(), false) }), {}),
  conditions: v.optional(v.unknown()),
  snapshot: v.optional(v.nullable(v.string())),
  eval: v.optional(
    v.strictObject({
      mode: v.optional(v.string(), 'all'),
      pcutoff: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.6),
      comparison_bodyparts: v.optional(v.union([v.literal('all'), v.array(v.string())]), 'all'),
      per_keypoint_evaluation: v.optional(v.boolean(), false),
      force_multi_animal: v.optional(v.boolean(), false),
    }),
    {},
  ),
  output_dir: v.optional(v.nullable(v.string())),
});

export type InferenceConfig = v.InferOutput<typeof InferenceSchema>;
