// Drawing one frame's keypoints as DeepLabCut's fast create_labeled_video does: a skimage disk of radius
// dotsize (pixels whose centre is strictly inside) in the bodypart's colour where likelihood > pcutoff,
// after the skeleton's segments (both ends above pcutoff) in the skeleton colour. DeepLabCut draws the
// segments with skimage's anti-aliased line but assigns the colour without blending; this draws the same
// one-pixel line without the anti-aliased fringe.
import type { RgbImage } from '../io/image.ts';
import { drawLine } from '../report/raster.ts';
import type { Rgb } from './colormap.ts';

export interface DrawStyle {
  colors: readonly Rgb[];
  dotsize: number;
  pcutoff: number;
  /** Pairs of bodypart indices to connect, or none. */
  skeleton: readonly (readonly [number, number])[];
  skeletonColor: Rgb;
}

function disk(img: RgbImage, cx: number, cy: number, r: number, c: Rgb): void {
  const r2 = r * r;
  for (let y = Math.max(0, Math.ceil(cy - r)); y <= Math.min(img.height - 1, Math.floor(cy + r)); y++)
    for (let x = Math.max(0, Math.ceil(cx - r)); x <= Math.min(img.width - 1, Math.floor(cx + r)); x++) {
      if ((y - cy) * (y - cy) + (x - cx) * (x - cx) < r2) img.data.set(c, (y * img.width + x) * 3);
    }
}

/** Draws in place. `row` is one frame's (x, y, likelihood) per bodypart; (dx, dy) shifts cropped-analysis coordinates. */
export function drawPoses(img: RgbImage, row: ArrayLike<number>, style: DrawStyle, dx = 0, dy = 0): void {
  const K = row.length / 3;
  const ok = (k: number) => row[3 * k + 2]! > style.pcutoff && Number.isFinite(row[3 * k]!) && Number.isFinite(row[3 * k + 1]!);
  const clamp = (v: number, lo: number, hi: number) => Math.trunc(Math.min(hi, Math.max(lo, v)));
  for (const [a, b] of style.skeleton) {
    if (!ok(a) || !ok(b)) continue;
    drawLine(
      img,
      clamp(row[3 * a]! + dx, 0, img.width - 1),
      clamp(row[3 * a + 1]! + dy, 0, img.height - 1),
      clamp(row[3 * b]! + dx, 1, img.width - 1),
      clamp(row[3 * b + 1]! + dy, 1, img.height - 1),
      style.skeletonColor,
    );
  }
  for (let k = 0; k < K; k++) if (ok(k)) disk(img, row[3 * k]! + dx, row[3 * k + 1]! + dy, style.dotsize, style.colors[k]!);
}
