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

/** numpy's round: half to even. */
const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/**
 * DeepLabCut's bounding boxes (fast mode): skimage's rectangle_perimeter(start=(y, x), extent=(h, w)), the
 * pixels just around the box (rows round(y) - 1 and round(y + h), columns round(x) - 1 and round(x + w)),
 * in `color`, for each box whose score is not below `cutoff`; pixels outside the frame are dropped
 * (set_color). (dx, dy) shifts cropped-analysis coordinates, as the keypoints.
 */
export function drawBoxes(img: RgbImage, boxes: ArrayLike<number>, scores: ArrayLike<number>, cutoff: number, color: Rgb, dx = 0, dy = 0): void {
  const set = (x: number, y: number) => {
    if (x >= 0 && y >= 0 && x < img.width && y < img.height) img.data.set(color, (y * img.width + x) * 3);
  };
  for (let i = 0; i < scores.length; i++) {
    if (scores[i]! < cutoff) continue;
    // float32 arithmetic, as on DeepLabCut's float32 boxes
    const x = Math.fround(boxes[4 * i]! + dx);
    const y = Math.fround(boxes[4 * i + 1]! + dy);
    const [x0, y0] = [roundHalfEven(x) - 1, roundHalfEven(y) - 1];
    const [x1, y1] = [roundHalfEven(Math.fround(x + boxes[4 * i + 2]!)), roundHalfEven(Math.fround(y + boxes[4 * i + 3]!))];
    if (!(Number.isFinite(x0) && Number.isFinite(y0) && Number.isFinite(x1) && Number.isFinite(y1))) continue;
    for (let c = Math.max(x0, 0); c <= Math.min(x1, img.width - 1); c++) set(c, y0), set(c, y1);
    for (let r = Math.max(y0, 0); r <= Math.min(y1, img.height - 1); r++) set(x0, r), set(x1, r);
  }
}
