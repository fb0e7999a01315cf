// The `data.train` / `data.inference` transform block (DataTransformationConfig plus build_transforms' own reading).
// Defaults are the ones build_transforms applies when a key is absent, so the parsed value means what DeepLabCut does.
import * as v from 'valibot';
import { nonNegative, nonNegativeInt, numberPair, positiveInt, probability } from './common.ts';

const affine = v.strictObject({
  p: v.optional(probability, 0.9),
  // Absent rotation/scaling/translation stay absent: albumentations then uses its own ranges.
  rotation: v.optional(nonNegative),
  scaling: v.optional(v.union([numberPair, v.number()], 'expected [min, max] or a single number')),
  translation: v.optional(nonNegative),
});

const autoPadding = v.pipe(
  v.strictObject({
    min_height: v.optional(v.nullable(positiveInt)),
    min_width: v.optional(v.nullable(positiveInt)),
    pad_height_divisor: v.optional(v.nullable(positiveInt)),
    pad_width_divisor: v.optional(v.nullable(positiveInt)),
    position: v.optional(
      v.picklist(['random', 'center', 'top_left', 'top_right', 'bottom_left', 'bottom_right']),
      'random',
    ),
    border_mode: v.optional(v.picklist(['reflect_101', 'constant']), 'reflect_101'),
    border_value: v.optional(v.nullable(v.union([v.number(), v.array(v.number())]))),
    border_mask_value: v.optional(v.nullable(v.union([v.number(), v.array(v.number())]))),
  }),
  // albumentations' PadIfNeeded raises when both a minimum and a divisor are given for one side.
  v.check(
    (a) => a.min_height == null || a.pad_height_divisor == null,
    'set only one of min_height and pad_height_divisor (the other must be null)',
  ),
  v.check(
    (a) => a.min_width == null || a.pad_width_divisor == null,
    'set only one of min_width and pad_width_divisor (the other must be null)',
  ),
);

const cropSampling = v.strictObject({
  width: positiveInt,
  height: positiveInt,
  max_shift: v.optional(probability, 0.4),
  method: v.optional(v.picklist(['uniform', 'keypoints', 'density', 'hybrid']), 'hybrid'),
});

const resizeCollateCommon = {
  max_shift: v.optional(nonNegativeInt, 10),
  max_size: v.optional(positiveInt, 2048),
  seed: v.optional(nonNegativeInt, 0),
};

const collate = v.variant('type', [
  v.strictObject({
    type: v.literal('ResizeFromDataSizeCollate'),
    min_scale: v.pipe(v.number(), v.gtValue(0)),
    max_scale: v.pipe(v.number(), v.gtValue(0)),
    min_short_side: v.optional(positiveInt, 128),
    max_short_side: v.optional(positiveInt, 1152),
    max_ratio: v.optional(v.pipe(v.number(), v.gtValue(0)), 2.0),
    multiple_of: v.optional(v.nullable(positiveInt), null),
    to_square: v.optional(v.boolean(), false),
    ...resizeCollateCommon,
  }),
  v.strictObject({
    type: v.literal('ResizeFromListCollate'),
    scales: v.pipe(v.array(v.union([positiveInt, v.tuple([positiveInt, positiveInt])])), v.minLength(1)),
    ...resizeCollateCommon,
  }),
]);

const hflip = v.union(
  [
    v.boolean(),
    probability,
    v.strictObject({
      p: v.optional(probability, 0.5),
      symmetries: v.optional(v.array(v.tuple([nonNegativeInt, nonNegativeInt])), []),
    }),
  ],
  'expected true/false, a probability, or a mapping {p, symmetries}',
);

const randomBboxTransform = v.strictObject({
  shift_factor: v.optional(nonNegative, 0.1),
  shift_prob: v.optional(probability, 0.25),
  scale_factor: v.optional(numberPair, [0.75, 1.25]),
  scale_prob: v.optional(probability, 1.0),
  p: v.optional(probability, 1.0),
});

const resize = v.strictObject({
  height: positiveInt,
  width: positiveInt,
  keep_ratio: v.optional(v.boolean(), true),
});

const topDownCrop = v.strictObject({
  width: v.optional(positiveInt, 256),
  height: v.optional(positiveInt, 256),
  margin: v.optional(nonNegativeInt, 0),
  crop_with_context: v.optional(v.boolean()),
});

export const TransformsSchema = v.strictObject({
  resize: v.optional(v.nullable(resize)),
  longest_max_size: v.optional(v.nullable(positiveInt)),
  hflip: v.optional(v.nullable(hflip)),
  affine: v.optional(v.nullable(affine)),
  random_bbox_transform: v.optional(v.nullable(randomBboxTransform)),
  crop_sampling: v.optional(v.nullable(cropSampling)),
  hist_eq: v.optional(v.boolean(), false),
  motion_blur: v.optional(v.boolean(), false),
  covering: v.optional(v.boolean(), false),
  elastic_transform: v.optional(v.boolean(), false),
  grayscale: v.optional(v.boolean(), false),
  // `true` is Python's int 1 in DeepLabCut, i.e. variance up to 1; a number is the noise standard deviation.
  gaussian_noise: v.optional(v.union([v.boolean(), nonNegative], 'expected true/false or a standard deviation'), false),
  auto_padding: v.optional(v.nullable(autoPadding)),
  normalize_images: v.optional(v.boolean(), true),
  scale_to_unit_range: v.optional(v.boolean(), false),
  top_down_crop: v.optional(v.nullable(topDownCrop)),
  collate: v.optional(v.nullable(collate)),
});

export type Transforms = v.InferOutput<typeof TransformsSchema>;
