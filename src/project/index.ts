// Public API of the project module: what the training runner and the CLI use.
export { readProject, ProjectConfigSchema, type Project } from './project-config.ts';
export { convertCsvToH5, readLabeledData, readLabelsFile, type LabeledData } from './labeled-data.ts';
export { parseLabelsCsv, LabelsError, type LabeledFrame, type LabelsTable } from './labels-csv.ts';
export { labelsCsv, labelsTable, writeLabelsH5 } from './labels-writer.ts';
export { makeSplit, type Split } from './split.ts';
export { readDlcSplit } from './dlc-split.ts';
export { shuffleLayout, trainingPercent, type ShuffleLayout } from './layout.ts';
export { createDataset, poseMetadata, writeMergedLabelsH5, type CreateDatasetOptions, type CreatedDataset } from './dataset.ts';
export { writeFileAtomic } from './atomic-write.ts';
export { loadShuffleLabels, recreateHint, type ShuffleLabels, type SplitSource } from './shuffle-labels.ts';
export { diffLabels, describeChanges, hasChanges, checkSplitFrames, type LabelChanges } from './split-check.ts';
export { readSplitFile, splitFileText, frameName, type SplitRecord } from './split-file.ts';
export { reconcileLabelFiles, type LabelFilesReport } from './label-files.ts';
