// Keypoints for a stream of frames, batch by batch, with the GPU kept busy: batch k+1 is preprocessed
// (the data.inference transforms on the GPU), run and submitted before batch k's keypoints are read back,
// and ffmpeg decodes further frames in its own process meanwhile. Only the keypoints [B, K, 3] come back
// from the GPU; each batch's rows go to `onRows` and are not kept, so memory is flat for any length.
import type { AugmentationPipeline } from '../data/index.ts';
import { engine } from '../gpu/current.ts';
import type { RgbImage } from '../io/image.ts';
import type { PoseModel } from '../models/pose-model.ts';
import { batchPoses, unlabeledSample } from '../runner/inference.ts';
import { predictAhead, QueueTimeline } from './readback.ts';

export interface PoseStreamOptions {
  model: PoseModel;
  pipeline: AugmentationPipeline;
  bodyparts: number;
  batchSize: number;
  /** Names the frames in errors (the video's path). */
  label: string;
  timeline?: QueueTimeline;
  /** Called with the frames done so far after each batch. */
  onProgress?: (frames: number) => void;
}

/**
 * Runs the model over frames from `next(n)` (up to n frames; none at the end) and hands each batch's
 * rows to `onRows`: per frame, per bodypart, x, y, likelihood in the frames' pixels (float64, DeepLabCut's
 * column order). Returns the number of frames.
 */
export async function streamPoses(next: (n: number) => Promise<RgbImage[]>, onRows: (rows: Float64Array, count: number) => void, o: PoseStreamOptions): Promise<number> {
  const K = o.bodyparts;
  const width = K * 3;
  let done = 0;
  let pending: { result: Promise<Float32Array>; items: ReturnType<AugmentationPipeline['run']>['items'] } | null = null;

  const drain = async () => {
    const p = pending!;
    pending = null;
    const data = await p.result;
    const poses = batchPoses({ items: p.items }, data, K);
    const rows = new Float64Array(poses.length * width);
    poses.forEach((pose, b) => pose.forEach(([x, y, s], k) => rows.set([x!, y!, s!], b * width + k * 3)));
    onRows(rows, poses.length);
    done += poses.length;
    o.onProgress?.(done);
  };

  try {
    let index = 0;
    for (;;) {
      const frames = await next(o.batchSize);
      if (!frames.length) break;
      const samples = frames.map((img, i) => unlabeledSample(`${o.label} frame ${index + i}`, img, K, 0, index + i));
      const batch = o.pipeline.run(samples, frames, samples.map(() => 0));
      const result = predictAhead(o.model, batch, o.timeline);
      if (pending) await drain();
      pending = { result, items: batch.items };
      index += frames.length;
    }
    if (pending) await drain();
  } finally {
    // Settle a batch still in flight (after an error) so its staging buffer is released.
    if (pending) await (pending as { result: Promise<Float32Array> }).result.catch(() => undefined);
  }
  await engine().sync();
  return done;
}
