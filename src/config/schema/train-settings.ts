// The `train_settings` block (TrainSettingsConfig) and its SuperAnimal `weight_init`.
import * as v from 'valibot';
import { int, nonNegativeInt, positiveInt } from './common.ts';

const weightInit = v.strictObject({
  dataset: v.string(),
  snapshot_path: v.optional(v.nullable(v.string())),
  detector_snapshot_path: v.optional(v.nullable(v.string())),
  with_decoder: v.optional(v.boolean(), false),
  memory_replay: v.optional(v.boolean(), false),
  conversion_array: v.optional(v.nullable(v.array(nonNegativeInt))),
  bodyparts: v.optional(v.nullable(v.array(v.string()))),
});

export function trainSettingsSchema(defaults: { batchSize: number; epochs: number }) {
  return v.strictObject({
    batch_size: v.optional(positiveInt, defaults.batchSize),
    dataloader_workers: v.optional(nonNegativeInt, 0),
    dataloader_pin_memory: v.optional(v.boolean(), false),
    display_iters: v.optional(positiveInt, 500),
    epochs: v.optional(positiveInt, defaults.epochs),
    seed: v.optional(int, 42),
    weight_init: v.optional(v.nullable(weightInit)),
  });
}

export const TrainSettingsSchema = trainSettingsSchema({ batchSize: 8, epochs: 200 });
export const DetectorTrainSettingsSchema = trainSettingsSchema({ batchSize: 1, epochs: 250 });
export type TrainSettings = v.InferOutput<typeof TrainSettingsSchema>;
