// Evaluation plots as DeepLabCut's evaluate_network(plotting=True) draws them: each labelled image with
// the ground truth as "+" and the predictions as dots (filled at or above pcutoff, rings below it),
// one colour per bodypart (matplotlib's jet, DeepLabCut's default colormap).
import { bodypartColors, drawKeypoint } from '../data/preview.ts';
import type { RgbImage } from '../io/image.ts';
import { drawLine } from './raster.ts';

/** [individual][bodypart] = [x, y, visibility or score]. */
type Pose = number[][];

/** `boxes`: a top-down model's detections (xywh), drawn as red rectangles as DeepLabCut's labeled videos draw them. */
export function drawPredictions(image: RgbImage, gt: Pose[], pred: Pose[], pcutoff: number, boxes: readonly (readonly number[])[] = []): RgbImage {
  const out: RgbImage = { width: image.width, height: image.height, data: image.data.slice() };
  const K = Math.max(0, ...gt.map((p) => p.length), ...pred.map((p) => p.length));
  const colors = bodypartColors(K);
  const r = Math.max(2, Math.round(Math.min(image.width, image.height) / 100));
  for (const [x, y, w, h] of boxes) {
    if (![x, y, w, h].every(Number.isFinite) || w! <= 0 || h! <= 0) continue;
    const [x2, y2] = [x! + w!, y! + h!];
    for (const [ax, ay, bx, by] of [[x!, y!, x2, y!], [x2, y!, x2, y2], [x2, y2, x!, y2], [x!, y2, x!, y!]] as const) drawLine(out, ax, ay, bx, by, [255, 0, 0]);
  }
  for (const pose of gt)
    pose.forEach(([x, y, vis], k) => {
      if (!Number.isFinite(x) || !Number.isFinite(y) || (vis ?? 1) <= 0) return;
      const c = colors[k]!;
      drawLine(out, x! - r - 1, y!, x! + r + 1, y!, c);
      drawLine(out, x!, y! - r - 1, x!, y! + r + 1, c);
    });
  for (const pose of pred)
    pose.forEach(([x, y, score], k) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      drawKeypoint(out, x!, y!, colors[k]!, r, (score ?? 1) >= pcutoff);
    });
  return out;
}
