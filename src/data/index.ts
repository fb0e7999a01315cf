// Public API of the data module: dataset, augmentation, collation and loading for training.
export { PoseDataset, bboxFromKeypoints, visibility, type DatasetMode, type PoseSample, type PoseDatasetOptions } from './dataset.ts';
export { openProjectData, type ProjectData, type OpenOptions, type SplitSource } from './project-data.ts';
export { planSample, planBatch, affineMatrix, hflipParams, unsupportedTransforms, topDownCropBox, collateTarget, collateResize, collateSeed, type CollateTarget, type SamplePlan } from './plan.ts';
export { augmentBatch, type PixelOptions } from './augment.ts';
export { AugmentationPipeline, collate, toOriginal, TRAINING, type Batch, type BatchItem, type PipelineOptions } from './pipeline.ts';
export { PoseLoader, sampleSeed, type LoaderOptions } from './loader.ts';
export { Rng, hash32 } from './random.ts';
export { compose, invert, apply as applyAffine, type Affine } from './affine.ts';
