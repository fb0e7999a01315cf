// The `model` block: backbone, optional neck, and the named heads. Backbone and head blocks are forwarded
// as keyword arguments to registered constructors, so only the keys every consumer relies on are typed.
import * as v from 'valibot';
import { positiveInt } from './common.ts';

const backbone = v.looseObject({
  // Checked against the BACKBONES registry after parsing (built-in and plugin types: src/models/check-types.ts).
  type: v.string(),
  model_name: v.optional(v.string()),
  /** A weights file (dlc-gpu downloads nothing); true is refused at training time with how to supply one. */
  pretrained: v.optional(v.union([v.boolean(), v.pipe(v.string(), v.minLength(1))], 'expected a path to a weights file, or false')),
  output_stride: v.optional(v.picklist([8, 16, 32])),
  freeze_bn_stats: v.optional(v.boolean()),
  freeze_bn_weights: v.optional(v.boolean()),
  interpolate_branches: v.optional(v.boolean()),
  increased_channel_count: v.optional(v.boolean()),
});

const finalConv = v.strictObject({ out_channels: positiveInt, kernel_size: positiveInt });

/** A stack of deconvolutions: channels[i] -> channels[i+1] with kernel_size[i], strides[i]. */
const deconvStack = v.pipe(
  v.strictObject({
    channels: v.pipe(v.array(positiveInt), v.minLength(1)),
    kernel_size: v.array(positiveInt),
    strides: v.array(positiveInt),
    final_conv: v.optional(v.nullable(finalConv)),
  }),
  v.check(
    (s) => s.kernel_size.length === s.channels.length - 1 && s.strides.length === s.channels.length - 1,
    'kernel_size and strides need one entry per deconvolution (channels length minus one)',
  ),
);

const typedBlock = v.looseObject({ type: v.string() });

const weightedCriterion = v.looseObject({ type: v.string(), weight: v.optional(v.number(), 1.0) });

const criterion = v.union(
  [weightedCriterion, v.record(v.string(), weightedCriterion)],
  'expected a criterion {type, ...} or a mapping of named criteria {name: {type, weight}}',
);

const head = v.looseObject({
  type: v.string(),
  weight_init: v.optional(v.nullable(v.string())),
  predictor: typedBlock,
  target_generator: typedBlock,
  criterion,
  aggregator: v.optional(typedBlock),
  heatmap_config: v.optional(deconvStack),
  locref_config: v.optional(deconvStack),
});

export const ModelSchema = v.strictObject({
  backbone,
  backbone_output_channels: positiveInt,
  neck: v.optional(v.nullable(typedBlock)),
  heads: v.pipe(v.record(v.string(), head), v.check((h) => 'bodypart' in h, "a 'bodypart' head is required")),
  pose_model: v.optional(v.nullable(v.record(v.string(), v.unknown()))),
});

export type ModelConfig = v.InferOutput<typeof ModelSchema>;
export type HeadConfig = ModelConfig['heads'][string];
