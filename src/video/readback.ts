// Reading a batch's keypoints back without waiting for the whole queue. The engine's own readback ends
// with a queue sync (it waits for everything submitted, including the next batch already queued behind),
// which would serialise the pipeline; here the recorded work is submitted, a copy into a staging buffer
// is queued behind it, and only that buffer is awaited. The next batch can be recorded and submitted in
// the meantime, so the GPU queue never runs dry while the CPU maps results and decodes frames. Device
// errors are still caught by the engine's per-submit scopes; `engine().sync()` at the end of a video
// surfaces them.
import type { Batch } from '../data/index.ts';
import { engine } from '../gpu/current.ts';
import type { PoseModel } from '../models/pose-model.ts';
import { recordPredictions } from '../runner/inference.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** Time the GPU queue had work, from each submit to its result being mapped (FIFO queue). */
export class QueueTimeline {
  private busyMs = 0;
  private lastDone = -Infinity;
  readonly started = performance.now();

  /** Records one submit (at `submitted`) whose results were mapped at `done`. */
  record(submitted: number, done: number): void {
    const start = Math.max(submitted, this.lastDone);
    if (done > start) this.busyMs += done - start;
    this.lastDone = Math.max(this.lastDone, done);
  }

  /** Fraction of the wall time since construction (or up to `now`) the queue was empty. */
  idleFraction(now = performance.now()): number {
    const wall = now - this.started;
    return wall > 0 ? Math.max(0, 1 - this.busyMs / wall) : 0;
  }

  get busy(): number {
    return this.busyMs;
  }
}

const MAP_READ = 0x0001; // GPUBufferUsage.MAP_READ
const COPY_DST = 0x0008; // GPUBufferUsage.COPY_DST
const READ = 0x0001; // GPUMapMode.READ

/**
 * Submits everything recorded so far plus a copy of `tensor` and returns a promise of its values. The
 * tensor may be disposed as soon as this returns: later work is queued after the copy.
 */
export function startReadback(tensor: Tensor, timeline?: QueueTimeline): Promise<Float32Array> {
  const e = engine();
  const bytes = tensor.size * 4;
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  e.flush();
  const submitted = performance.now();
  const staging = e.device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  const encoder = e.device.createCommandEncoder();
  encoder.copyBufferToBuffer(tensor.buffer, 0, staging, 0, size);
  e.device.queue.submit([encoder.finish()]);
  return staging.mapAsync(READ, 0, size).then(
    () => {
      timeline?.record(submitted, performance.now());
      const out = new Float32Array(staging.getMappedRange(0, size).slice(0, bytes));
      staging.unmap();
      staging.destroy();
      return out;
    },
    async (err: Error) => {
      staging.destroy();
      await e.sync(); // the engine's error for the failed submit is the useful one
      throw err;
    },
  );
}

/**
 * Records `model` on `batch` (whose GPU tensors it then frees; its items stay usable) and starts reading the
 * predictions back. The streams await the result only after queueing the next batch, so it is marked handled
 * meanwhile: a failure surfaces when awaited, not as an unhandled rejection.
 */
export function predictAhead(model: PoseModel, batch: Batch, timeline?: QueueTimeline): Promise<Float32Array> {
  let pred: Tensor;
  try {
    pred = recordPredictions(model, batch.images);
  } finally {
    batch.dispose();
  }
  let result: Promise<Float32Array>;
  try {
    result = startReadback(pred, timeline);
  } finally {
    pred.dispose();
  }
  result.catch(() => undefined);
  return result;
}
