// The last step of torchvision's detection postprocess (SSD and RoIHeads alike): batched NMS per class over an
// image's candidate boxes, at most `maxDetections` kept, in NMS's decreasing-score order.
import { tensor } from '../../ops/creation.ts';
import { batchedNms } from '../../ops/nms.ts';
import { scope } from '../../tensor/scope.ts';
import type { Detections } from './detector.ts';

/** Candidates as flat host arrays: boxes (x1, y1, x2, y2) x n, scores n, labels n. */
export async function keepDetections(boxes: ArrayLike<number>, scores: ArrayLike<number>, labels: ArrayLike<number>, iouThreshold: number, maxDetections: number): Promise<Detections> {
  const n = scores.length;
  const b = Float32Array.from(boxes);
  const sc = Float32Array.from(scores);
  const lab = Int32Array.from(labels);
  const keep = n ? (await scope(async () => batchedNms(tensor(b, [n, 4]), tensor(sc, [n]), lab, iouThreshold))).slice(0, maxDetections) : new Int32Array(0);
  const d: Detections = { boxes: new Float32Array(4 * keep.length), scores: new Float32Array(keep.length), labels: new Int32Array(keep.length) };
  keep.forEach((k, j) => {
    d.boxes.set(b.subarray(4 * k, 4 * k + 4), 4 * j);
    d.scores[j] = sc[k]!;
    d.labels[j] = lab[k]!;
  });
  return d;
}
