// One video through a trained model, with DeepLabCut's outputs (apis/videos.py): <prefix>.h5 (key
// df_with_missing; columns scorer / [individuals] / bodyparts / coords; index = frame number), <prefix>.csv
// with saveAsCsv, <prefix>_meta.pickle, <prefix>_full.pickle and, for multi-animal projects,
// <prefix>_assemblies.pickle. Bottom-up single-animal models run frame batches (pose-stream.ts); top-down
// models the detector and the pose model on its crops (top-down-stream.ts). Every file is streamed into a
// partial file renamed into place only when the whole video went through, so a failure leaves no
// half-written result (and an existing result is never touched before the new one is complete).
import { renameSync, rmSync } from 'node:fs';
import { DataFrameH5Writer, productColumns, type FrameColumns } from '../io/hdf5-dataframe.ts';
import { pickle } from '../io/pickle-writer.ts';
import { PyFloat, tuple } from '../io/py-values.ts';
import type { AugmentationPipeline } from '../data/index.ts';
import type { Detector } from '../models/detectors/detector.ts';
import type { PoseModel } from '../models/pose-model.ts';
import type { TopDownPrediction } from '../runner/top-down.ts';
import { writeFileAtomic } from '../project/index.ts';
import { CsvStream } from './csv-stream.ts';
import { VideoError, type VideoInfo } from './ffmpeg.ts';
import { FrameReader, type Crop } from './frame-reader.ts';
import type { VideoOutputs } from './outputs.ts';
import { partialPath } from './outputs.ts';
import { AssembliesWriter, FullPickleWriter, fullMetadata, type FramePrediction, type FullMetadata } from './full-pickle.ts';
import { streamPoses } from './pose-stream.ts';
import { streamTopDown } from './top-down-stream.ts';
import { QueueTimeline } from './readback.ts';
import type { ProgressOut } from './progress.ts';
import { VideoProgress } from './progress.ts';

/** A top-down model's detector, run on the whole frames before the pose model on its boxes. */
export interface TopDownAnalysis {
  detector: Detector;
  /** detector.data.inference. */
  pipeline: AugmentationPipeline;
  /** Frames per detector call (DeepLabCut's detector_batch_size). */
  batchSize: number;
}

export interface AnalyzeVideoOptions {
  model: PoseModel;
  /** data.inference (a top-down model's has its top_down_crop). */
  pipeline: AugmentationPipeline;
  /** Set for top-down models: `batchSize` then counts crops, as DeepLabCut's pose batch does. */
  topDown?: TopDownAnalysis;
  /** A multi-animal project's columns (scorer / individuals / bodyparts / coords) and _assemblies.pickle. */
  multiAnimal?: boolean;
  /** _full.pickle's metadata (from the shuffle's test/pose_cfg.yaml); default: from the bodyparts. */
  fullMetadata?: FullMetadata;
  scorer: string;
  bodyparts: readonly string[];
  batchSize: number;
  crop: Crop | null;
  maxFrames?: number;
  saveAsCsv: boolean;
  /** What _meta.pickle records besides the video's own facts. */
  meta: {
    pytorchConfig: unknown;
    iteration: number;
    trainingFraction: number;
    individuals: readonly string[];
    uniqueBodyparts: readonly string[];
  };
  progress?: ProgressOut;
  /** Called with the frames done after each batch (tests sample memory there). */
  onFrames?: (frames: number) => void;
}

export interface AnalyzeVideoResult {
  frames: number;
  seconds: number;
  /** Fraction of the run the GPU queue had nothing to do. */
  gpuIdle: number;
  /** Set when the decoded frame count differs from the container's (DeepLabCut warns too). */
  warning: string | null;
}

const COORDS = ['x', 'y', 'likelihood'];

/** DeepLabCut's single-animal columns: MultiIndex.from_product([[scorer], bodyparts, [x, y, likelihood]]). */
export function singleAnimalColumns(scorer: string, bodyparts: readonly string[]): FrameColumns {
  return productColumns(['scorer', 'bodyparts', 'coords'], [[scorer], bodyparts, COORDS]);
}

/**
 * A multi-animal project's columns (create_df_from_prediction): [[scorer], individuals, bodyparts, coords],
 * then unique bodyparts as individual "single" (joined after).
 */
export function multiAnimalColumns(scorer: string, individuals: readonly string[], bodyparts: readonly string[], uniqueBodyparts: readonly string[] = []): FrameColumns {
  const main = productColumns(['scorer', 'individuals', 'bodyparts', 'coords'], [[scorer], individuals, bodyparts, COORDS]);
  const single = uniqueBodyparts.length ? productColumns(main.levelNames, [[scorer], ['single'], uniqueBodyparts, COORDS]).columns : [];
  return { levelNames: main.levelNames, columns: [...main.columns, ...single] };
}

/** The .h5 row of a top-down frame: the first `individuals` poses (DeepLabCut's pred[:, :n_individuals]), -1 padding kept. */
function topDownRow(p: TopDownPrediction, individuals: number, out: Float64Array, at: number): void {
  let o = at;
  for (const pose of p.poses.slice(0, individuals)) for (const [x, y, s] of pose) (out[o++] = x!), (out[o++] = y!), (out[o++] = s!);
}

/** The _meta.pickle DeepLabCut writes ({"data": {...}}, apis/videos.py _generate_metadata). */
export function metaPickle(info: VideoInfo, o: AnalyzeVideoOptions, start: number, stop: number): Uint8Array {
  const crop = o.crop ?? [0, info.width, 0, info.height];
  return pickle({
    data: {
      start: new PyFloat(start),
      stop: new PyFloat(stop),
      run_duration: new PyFloat(stop - start),
      Scorer: o.scorer,
      'pytorch-config': o.meta.pytorchConfig,
      fps: new PyFloat(info.fps),
      batch_size: o.batchSize,
      frame_dimensions: tuple(info.width, info.height),
      nframes: info.frames,
      'iteration (active-learning)': o.meta.iteration,
      'training set fraction': new PyFloat(o.meta.trainingFraction),
      cropping: o.crop !== null,
      cropping_parameters: [...crop],
      individuals: [...o.meta.individuals],
      bodyparts: [...o.bodyparts],
      unique_bodyparts: [...o.meta.uniqueBodyparts],
    },
  });
}

/** Partial files being written right now, removed if the process is interrupted (see removePartials). */
const partials = new Set<string>();

/** Removes the partial files of the video being analysed (on SIGINT/SIGTERM, before exiting). */
export function removePartials(): string[] {
  const removed = [...partials];
  for (const p of removed) rmSync(p, { force: true });
  partials.clear();
  return removed;
}

export async function analyzeVideo(info: VideoInfo, outputs: VideoOutputs, o: AnalyzeVideoOptions): Promise<AnalyzeVideoResult> {
  const start = Date.now() / 1000;
  const t0 = performance.now();
  const individuals = o.multiAnimal ? o.meta.individuals : o.meta.individuals.slice(0, 1);
  if (o.topDown && o.meta.uniqueBodyparts.length) throw new VideoError(info.path, `top-down models have no unique bodyparts (${o.meta.uniqueBodyparts.join(', ')})`);
  const columns = o.multiAnimal ? multiAnimalColumns(o.scorer, individuals, o.bodyparts) : singleAnimalColumns(o.scorer, o.bodyparts);
  const width = columns.columns.length;
  const h5Temp = partialPath(outputs.h5);
  const reader = new FrameReader(info, { crop: o.crop, maxFrames: o.maxFrames, prefetch: 2 * (o.topDown?.batchSize ?? o.batchSize) });
  let h5: DataFrameH5Writer | null = null;
  let csv: CsvStream | null = null;
  let full: FullPickleWriter | null = null;
  let assemblies: AssembliesWriter | null = null;
  const expected = o.maxFrames !== undefined && info.frames > 0 ? Math.min(o.maxFrames, info.frames) : o.maxFrames ?? info.frames;
  const progress = new VideoProgress(info.path, expected, o.progress);
  const timeline = new QueueTimeline();
  const owned: string[] = [];
  const own = (...paths: string[]) => paths.forEach((p) => (owned.push(p), partials.add(p)));
  try {
    own(h5Temp);
    h5 = await DataFrameH5Writer.create(h5Temp, 'df_with_missing', columns);
    if (o.saveAsCsv) {
      csv = new CsvStream(outputs.csv, columns);
      own(csv.temp);
    }
    full = new FullPickleWriter(outputs.full, o.fullMetadata ?? fullMetadata(null, o.bodyparts));
    own(full.temp, full.side);
    if (o.multiAnimal) {
      assemblies = new AssembliesWriter(outputs.assemblies);
      own(assemblies.temp);
    }
    const write = (rows: Float64Array, count: number, frames: FramePrediction[]) => {
      h5!.append(rows, count);
      csv?.append(rows, count);
      for (const f of frames) {
        full!.append(f);
        assemblies?.append(f);
      }
    };
    const onProgress = (n: number) => (progress.update(n), o.onFrames?.(n));
    let frames: number;
    if (o.topDown) {
      frames = await streamTopDown(
        (n) => reader.read(n),
        (preds) => {
          const rows = new Float64Array(preds.length * width);
          preds.forEach((p, f) => topDownRow(p, individuals.length, rows, f * width));
          write(rows, preds.length, preds);
        },
        {
          detector: o.topDown.detector,
          detectorPipeline: o.topDown.pipeline,
          detectorBatchSize: o.topDown.batchSize,
          model: o.model,
          posePipeline: o.pipeline,
          batchSize: o.batchSize,
          maxIndividuals: o.meta.individuals.length,
          bodyparts: o.bodyparts.length,
          label: info.path,
          timeline,
          onProgress,
        },
      );
    } else {
      const K = o.bodyparts.length;
      frames = await streamPoses(
        (n) => reader.read(n),
        (rows, count) => {
          const poses = Array.from({ length: count }, (_, f) => ({ poses: [Array.from({ length: K }, (_, k) => Array.from(rows.subarray(f * width + 3 * k, f * width + 3 * k + 3)))] }));
          write(rows, count, poses);
        },
        { model: o.model, pipeline: o.pipeline, bodyparts: K, batchSize: o.batchSize, label: info.path, timeline, onProgress },
      );
    }
    progress.end(frames);
    const said = reader.messages ? ` (ffmpeg: ${reader.messages.split('\n').pop()})` : '';
    if (frames === 0) throw new VideoError(info.path, `no frame could be decoded${said}`);
    // Fewer frames than the container promises, with decoding errors: a truncated or damaged file.
    if (expected > 0 && frames < expected && said) throw new VideoError(info.path, `truncated or damaged: ${frames} of ${expected} frames decoded${said}`);
    const gpuIdle = timeline.idleFraction();
    h5.close();
    renameSync(h5Temp, outputs.h5);
    h5 = null;
    csv?.close();
    csv = null;
    const stop = Date.now() / 1000;
    writeFileAtomic(outputs.meta, metaPickle(info, o, start, stop));
    full.close();
    full = null;
    assemblies?.close();
    assemblies = null;
    const warning =
      expected > 0 && frames !== expected
        ? `${info.path}: ${frames} frames were decoded but the video's metadata says ${expected}`
        : null;
    return { frames, seconds: (performance.now() - t0) / 1000, gpuIdle, warning };
  } finally {
    for (const p of owned) partials.delete(p);
    reader.close();
    if (h5) {
      h5.abort();
      rmSync(h5Temp, { force: true });
    }
    csv?.abort();
    full?.abort();
    assemblies?.abort();
  }
}
