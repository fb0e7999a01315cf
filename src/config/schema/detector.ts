// The `detector` block of a top-down config: a whole training setup of its own.
import * as v from 'valibot';
import { DataSchema } from './data.ts';
import { InferenceSchema } from './inference.ts';
import { DetectorRunnerSchema } from './runner.ts';
import { DetectorTrainSettingsSchema } from './train-settings.ts';

export const DETECTOR_TYPES = ['ssdlite', 'fasterrcnn_mobilenet_v3_large_fpn', 'fasterrcnn_resnet50_fpn_v2'] as const;

const detectorModel = v.variant('type', [
  v.strictObject({
    type: v.literal('SSDLite'),
    /** A COCO (or ImageNet-backbone) weights file; true is refused at build time with how to supply one. */
    pretrained: v.optional(v.union([v.boolean(), v.pipe(v.string(), v.minLength(1))], 'expected a path to a weights file, or false')),
    freeze_bn_stats: v.optional(v.boolean()),
    freeze_bn_weights: v.optional(v.boolean()),
    box_score_thresh: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  }),
  v.strictObject({
    type: v.literal('FasterRCNN'),
    variant: v.picklist([
      'fasterrcnn_mobilenet_v3_large_fpn',
      'fasterrcnn_mobilenet_v3_large_320_fpn',
      'fasterrcnn_resnet50_fpn',
      'fasterrcnn_resnet50_fpn_v2',
    ]),
    pretrained: v.optional(v.union([v.boolean(), v.pipe(v.string(), v.minLength(1))], 'expected a path to a weights file, or false')),
    freeze_bn_stats: v.optional(v.boolean()),
    freeze_bn_weights: v.optional(v.boolean()),
    box_score_thresh: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  }),
  // A plugin's detector (the DETECTORS registry): its keys are checked by the schema it registers
  // (src/models/check-types.ts).
  v.looseObject({ type: v.string() }),
]);

/** The detector types DeepLabCut defines, whose keys the schema above checks itself. */
export const DLC_DETECTOR_MODELS = ['SSDLite', 'FasterRCNN'] as const;

export const DetectorSchema = v.strictObject({
  model: detectorModel,
  device: v.optional(v.string()),
  data: DataSchema,
  runner: DetectorRunnerSchema,
  train_settings: DetectorTrainSettingsSchema,
  inference: v.optional(InferenceSchema),
  resume_training_from: v.optional(v.nullable(v.string()), null),
});

export type DetectorConfig = v.InferOutput<typeof DetectorSchema>;
