// The optional `logger` block. A CSV log is always written; this adds Weights & Biases or moves the CSV.
import * as v from 'valibot';
import { positiveInt } from './common.ts';

export const LoggerSchema = v.variant('type', [
  // Extra keys are passed on to wandb.init (tags, group, ...), so this block stays open.
  v.looseObject({
    type: v.literal('WandbLogger'),
    project_name: v.optional(v.string(), 'deeplabcut'),
    run_name: v.optional(v.string(), 'tmp'),
    image_log_interval: v.optional(v.nullable(positiveInt)),
    wandb_kwargs: v.optional(v.record(v.string(), v.unknown())),
  }),
  v.strictObject({
    type: v.literal('CSVLogger'),
    train_folder: v.optional(v.string()),
    log_filename: v.optional(v.string(), 'learning_stats.csv'),
  }),
]);

export type LoggerConfig = v.InferOutput<typeof LoggerSchema>;
