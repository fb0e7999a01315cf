// A top-down model over a stream of frames in one pass. DeepLabCut runs the detector over the whole video
// first and then reads the video again for the pose model, crops of successive frames flattened into
// batches of batch_size (apis/videos.py video_inference, runners/inference.py). Each crop's pose depends
// only on its frame and its box, so the same results come from one pass here: frames are detected
// detector_batch_size at a time, their crops queued, and a pose batch recorded whenever batch_size crops
// are waiting. A pose batch's keypoints are read back only after the next GPU work is queued (the next
// detector call or pose batch), so the queue does not run dry, and ffmpeg decodes ahead in its own
// process. A frame is handed on (and dropped) as soon as all its crops are done, so memory holds at most
// a detector batch plus a pose batch of frames, whatever the video's length.
import type { AugmentationPipeline } from '../data/index.ts';
import { engine } from '../gpu/current.ts';
import type { RgbImage } from '../io/image.ts';
import type { Detector } from '../models/detectors/detector.ts';
import type { PoseModel } from '../models/pose-model.ts';
import { batchPoses, type Pose } from '../runner/inference.ts';
import { cropSample, detectBatch, padOutputs, type Frame, type TopDownPrediction } from '../runner/top-down.ts';
import { predictAhead, QueueTimeline } from './readback.ts';

export interface TopDownStreamOptions {
  detector: Detector;
  /** detector.data.inference. */
  detectorPipeline: AugmentationPipeline;
  detectorBatchSize: number;
  model: PoseModel;
  /** data.inference, with its top_down_crop. */
  posePipeline: AugmentationPipeline;
  /** Crops per pose batch. */
  batchSize: number;
  maxIndividuals: number;
  bodyparts: number;
  /** Names the frames in errors (the video's path). */
  label: string;
  timeline?: QueueTimeline;
  onProgress?: (frames: number) => void;
}

interface PendingFrame {
  frame: Frame;
  boxes: { boxes: number[][]; scores: number[] };
  poses: Pose[];
  waiting: number;
}

interface Crop {
  owner: PendingFrame;
  slot: number;
}

/**
 * Runs detector and pose model over frames from `next(n)` and hands the finished frames, in order, to
 * `onFrames`: per frame the poses, boxes and box scores padded to maxIndividuals with -1 (DeepLabCut's
 * PadOutputs). Returns the number of frames.
 */
export async function streamTopDown(next: (n: number) => Promise<RgbImage[]>, onFrames: (frames: TopDownPrediction[]) => void, o: TopDownStreamOptions): Promise<number> {
  if (!o.posePipeline.transforms.top_down_crop) throw new Error('top-down inference needs data.inference.top_down_crop in the pose config');
  o.model.eval();
  const K = o.bodyparts;
  const order: PendingFrame[] = []; // frames not yet handed on, in video order
  let queued: Crop[] = []; // crops waiting for a pose batch
  let pending: { result: Promise<Float32Array>; items: ReturnType<AugmentationPipeline['run']>['items']; crops: Crop[] } | null = null;
  let done = 0;
  let index = 0;

  const handOn = () => {
    const ready: TopDownPrediction[] = [];
    while (order.length && order[0]!.waiting === 0) {
      const f = order.shift()!;
      ready.push(padOutputs(f.poses, f.boxes, o.maxIndividuals, K));
    }
    if (!ready.length) return;
    onFrames(ready);
    done += ready.length;
    o.onProgress?.(done);
  };

  const drain = async () => {
    const p = pending!;
    pending = null;
    const data = await p.result;
    batchPoses({ items: p.items }, data, K).forEach((pose, i) => {
      const c = p.crops[i]!;
      c.owner.poses[c.slot] = pose;
      c.owner.waiting--;
    });
    handOn();
  };

  /** Records a pose batch of the first `batchSize` queued crops (all of them with `all`), then reads the previous one. */
  const runCrops = async (all: boolean) => {
    while (queued.length >= o.batchSize || (all && queued.length)) {
      const crops = queued.slice(0, o.batchSize);
      queued = queued.slice(crops.length);
      const batch = o.posePipeline.run(
        crops.map((c) => cropSample(c.owner.frame, c.owner.boxes.boxes[c.slot]!, K, 0)),
        crops.map((c) => c.owner.frame.image),
        crops.map(() => 0),
      );
      const result = predictAhead(o.model, batch, o.timeline);
      if (pending) await drain();
      pending = { result, items: batch.items, crops };
    }
  };

  try {
    for (;;) {
      const images = await next(o.detectorBatchSize);
      if (!images.length) break;
      const frames = images.map((image, i) => ({ path: `${o.label} frame ${index + i}`, image }));
      index += images.length;
      // The detector's call reads its boxes back (score-sorted, NMS on the host); the pose batch submitted
      // before it keeps the GPU busy meanwhile. Counted busy as a whole: the idle figure is a lower bound.
      const submitted = performance.now();
      const found = await detectBatch(o.detector, o.detectorPipeline, frames, o.maxIndividuals);
      o.timeline?.record(submitted, performance.now());
      frames.forEach((frame, f) => {
        const boxes = found[f]!;
        const entry: PendingFrame = { frame, boxes, poses: [], waiting: boxes.boxes.length };
        order.push(entry);
        boxes.boxes.forEach((_, slot) => queued.push({ owner: entry, slot }));
      });
      await runCrops(false);
      // Frames without detections (and any whose crops are all done) need not wait for the next batch.
      if (!pending) handOn();
    }
    await runCrops(true);
    if (pending) await drain();
    handOn();
  } finally {
    // Settle a batch still in flight (after an error) so its staging buffer is released.
    if (pending) await (pending as { result: Promise<Float32Array> }).result.catch(() => undefined);
  }
  await engine().sync();
  return done;
}
