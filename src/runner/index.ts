// The training runner and what it is built from: snapshots, logs, inference, optimizer construction.
export { PoseTrainingRunner, NonFiniteLossError, type PoseTrainingOptions, type StepInfo, type TrainResult, type TrainStatus } from './train.ts';
export { TrainingLoop, type TrainingLoopOptions, type BatchSource, type Evaluation, type TrainBatch } from './training-loop.ts';
export { SnapshotManager, listSnapshots, snapshotName, type SnapshotFile, type SnapshotPolicy, type SnapshotUpdate } from './snapshots.ts';
export { readSnapshot, writeSnapshot, snapshotObject, resolveSnapshotPath, SnapshotError, type SnapshotContents, type SnapshotMetadata } from './checkpoint.ts';
export { LearningStatsLogger, ConsoleLog, progressBar, formatCsvNumber, type LogSink, type Progress } from './logging.ts';
export { predictDataset, predictBatch, predictImage, unlabeledSample, type ImagePrediction, type InferenceResult, type Pose } from './inference.ts';
export { buildOptimizer } from './build-optimizer.ts';
export { predictionsCsv, dlcNetName, snapshotUid, type PredictionRow } from './predictions-csv.ts';
export { loadPoseModel } from './inference.ts';
