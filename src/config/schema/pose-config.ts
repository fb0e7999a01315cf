// The whole pytorch_config.yaml. Blocks live in their own files; this file only assembles them.
import * as v from 'valibot';
import { int } from './common.ts';
import { DataSchema } from './data.ts';
import { DetectorSchema } from './detector.ts';
import { InferenceSchema } from './inference.ts';
import { LoggerSchema } from './logger.ts';
import { MetadataSchema } from './metadata.ts';
import { ModelSchema } from './model.ts';
import { PoseRunnerSchema } from './runner.ts';
import { TrainSettingsSchema } from './train-settings.ts';

// DeepLabCut 3.0.1's, plus resnet_18 (dlc-gpu's: a small model for CPU adapters and the demo).
export const BACKBONE_NET_TYPES = ['resnet_18', 'resnet_50', 'resnet_101', 'hrnet_w18', 'hrnet_w32', 'hrnet_w48'] as const;
export const NET_TYPES = [...BACKBONE_NET_TYPES, ...BACKBONE_NET_TYPES.map((n) => `top_down_${n}` as const)] as const;
export type NetType = (typeof NET_TYPES)[number];
export type BackboneNetType = (typeof BACKBONE_NET_TYPES)[number];

export const PoseConfigSchema = v.strictObject({
  config_version: v.optional(int),
  net_type: v.picklist(NET_TYPES),
  method: v.optional(v.picklist(['bu', 'td']), 'bu'),
  device: v.optional(
    v.pipe(v.string(), v.regex(/^(auto|cpu|mps|cuda(:\d+)?)$/, 'expected auto, cpu, cuda, cuda:<n> or mps')),
    'auto',
  ),
  metadata: MetadataSchema,
  data: DataSchema,
  model: ModelSchema,
  runner: PoseRunnerSchema,
  train_settings: TrainSettingsSchema,
  inference: v.optional(InferenceSchema, {}),
  logger: v.optional(v.nullable(LoggerSchema), null),
  with_center_keypoints: v.optional(v.boolean(), false),
  detector: v.optional(v.nullable(DetectorSchema), null),
  resume_training_from: v.optional(v.nullable(v.string()), null),
  /** dlc-gpu: plugin modules (paths relative to this file) that register types this config uses. */
  plugins: v.optional(v.array(v.pipe(v.string(), v.minLength(1, 'expected a path to a plugin module')))),
});

export type PoseConfig = v.InferOutput<typeof PoseConfigSchema>;
