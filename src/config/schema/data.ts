// The `data` block of a pose or detector config (DataConfig).
import * as v from 'valibot';
import { nonNegativeInt } from './common.ts';
import { TransformsSchema } from './transforms.ts';

export const DataSchema = v.strictObject({
  // DeepLabCut only ever feeds RGB; any other value would be silently wrong.
  colormode: v.optional(v.picklist(['RGB']), 'RGB'),
  // DLCLoader reads this with a fallback of 20, which is what a missing key means in practice.
  bbox_margin: v.optional(nonNegativeInt, 20),
  train: v.optional(TransformsSchema, {}),
  inference: v.optional(TransformsSchema, {}),
});

export type DataConfig = v.InferOutput<typeof DataSchema>;
