// One video through a bottom-up single-animal model, with DeepLabCut's outputs (apis/videos.py):
// <prefix>.h5 (key df_with_missing; columns scorer / bodyparts / coords; index = frame number),
// <prefix>.csv with saveAsCsv, and <prefix>_meta.pickle. The .h5 and .csv are streamed into partial files
// renamed into place only when the whole video went through, so a failure leaves no half-written result
// (and an existing result is never touched before the new one is complete).
import { renameSync, rmSync } from 'node:fs';
import { DataFrameH5Writer, productColumns, type FrameColumns } from '../io/hdf5-dataframe.ts';
import { pickle } from '../io/pickle-writer.ts';
import { PyFloat, tuple } from '../io/py-values.ts';
import type { AugmentationPipeline } from '../data/index.ts';
import type { PoseModel } from '../models/pose-model.ts';
import { writeFileAtomic } from '../project/index.ts';
import { CsvStream } from './csv-stream.ts';
import { VideoError, type VideoInfo } from './ffmpeg.ts';
import { FrameReader, type Crop } from './frame-reader.ts';
import type { VideoOutputs } from './outputs.ts';
import { partialPath } from './outputs.ts';
import { streamPoses } from './pose-stream.ts';
import { QueueTimeline } from './readback.ts';
import type { ProgressOut } from './progress.ts';
import { VideoProgress } from './progress.ts';

export interface AnalyzeVideoOptions {
  model: PoseModel;
  pipeline: AugmentationPipeline;
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

/** DeepLabCut's single-animal columns: MultiIndex.from_product([[scorer], bodyparts, [x, y, likelihood]]). */
export function singleAnimalColumns(scorer: string, bodyparts: readonly string[]): FrameColumns {
  return productColumns(['scorer', 'bodyparts', 'coords'], [[scorer], bodyparts, ['x', 'y', 'likelihood']]);
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
  const columns = singleAnimalColumns(o.scorer, o.bodyparts);
  const h5Temp = partialPath(outputs.h5);
  const reader = new FrameReader(info, { crop: o.crop, maxFrames: o.maxFrames, prefetch: 2 * o.batchSize });
  let h5: DataFrameH5Writer | null = null;
  let csv: CsvStream | null = null;
  const expected = o.maxFrames !== undefined && info.frames > 0 ? Math.min(o.maxFrames, info.frames) : o.maxFrames ?? info.frames;
  const progress = new VideoProgress(info.path, expected, o.progress);
  const timeline = new QueueTimeline();
  try {
    partials.add(h5Temp);
    h5 = await DataFrameH5Writer.create(h5Temp, 'df_with_missing', columns);
    if (o.saveAsCsv) {
      csv = new CsvStream(outputs.csv, columns);
      partials.add(csv.temp);
    }
    const frames = await streamPoses(
      (n) => reader.read(n),
      (rows, count) => {
        h5!.append(rows, count);
        csv?.append(rows, count);
      },
      { model: o.model, pipeline: o.pipeline, bodyparts: o.bodyparts.length, batchSize: o.batchSize, label: info.path, timeline, onProgress: (n) => (progress.update(n), o.onFrames?.(n)) },
    );
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
    const warning =
      expected > 0 && frames !== expected
        ? `${info.path}: ${frames} frames were decoded but the video's metadata says ${expected}`
        : null;
    return { frames, seconds: (performance.now() - t0) / 1000, gpuIdle, warning };
  } finally {
    partials.delete(h5Temp);
    if (csv) partials.delete(csv.temp);
    reader.close();
    if (h5) {
      h5.abort();
      rmSync(h5Temp, { force: true });
    }
    csv?.abort();
  }
}
