// The CPU half of augmentation: draws every random parameter of DeepLabCut's transform pipeline
// (build_transforms, albumentations 1.4.3 semantics) for one sample, composes the geometric steps into
// ONE affine map from the original image to the output, and moves keypoints and boxes with it.
// The GPU half (src/data/augment.ts, kernels/augment.wgsl, kernels/augment_eq.wgsl) warps and applies the
// photometric steps.
//
// After the transform pipeline come, as in DeepLabCut, the top-down crop (PoseDataset, top-down items) and the
// batch's collate function (ResizeFromDataSizeCollate / ResizeFromListCollate); both are axis-aligned
// scale-and-translate steps composed into the same matrix. Their padding (outside the source window) is blanked by
// a clip rectangle in the warp: 0 in the output for training pipelines (DeepLabCut pads the normalised image),
// black at inference (its TopDownCrop pads before Normalize); see PipelineOptions.cropPadding.
// Labels move as DeepLabCut moves them (SamplePlan.labelMatrix), which differs from the pixels' map in resizes.
// A deliberate difference from DeepLabCut, which runs them on the full frame before the crop: photometric steps
// (hist_eq's histogram, motion blur, covering holes, noise) and auto_padding apply to the final (cropped /
// collated) image.
import type { Transforms } from '../config/index.ts';
import { apply, compose, IDENTITY, resizeMap, translate, type Affine } from './affine.ts';
import type { PoseSample } from './dataset.ts';
import { hash32, Rng } from './random.ts';

export const MAX_BLUR = 7;
export const MAX_HOLES = 10;

/** Everything the GPU needs for one sample plus the augmented labels. */
export interface SamplePlan {
  /** Output size (after auto-padding). */
  width: number;
  height: number;
  /** Size of the image before auto-padding, and where it sits in the output. */
  innerWidth: number;
  innerHeight: number;
  padX: number;
  padY: number;
  /** Auto-padding border: reflect_101 or a constant. */
  padReflect: boolean;
  padValue: number;
  /** Original image pixel -> output pixel (padding included): the image's map. */
  matrix: Affine;
  /** Original -> output coordinates of keypoints and boxes: `matrix`, except that resizes scale coordinates as
   * DeepLabCut's label transforms do (x * s rather than cv2's pixel-centre (x + 0.5) * s - 0.5). */
  labelMatrix: Affine;
  /** Original image pixel -> inner (pre-padding) pixel: what the warp kernel inverts. */
  innerMatrix: Affine;
  /** Motion blur kernel (ksize x ksize, row-major, correlation), or null. */
  blur: Float32Array | null;
  blurSize: number;
  /** Coarse dropout holes [x1, y1, x2, y2) in inner pixels. */
  holes: [number, number, number, number][];
  /** Grayscale blend weight (0: none). */
  grayAlpha: number;
  /** Gaussian noise standard deviation (0: none) and its counter-RNG seed. */
  noiseSigma: number;
  noiseSeed: number;
  flipped: boolean;
  /** Histogram equalisation (cv2.equalizeHist per channel) of the warped image. */
  equalize: boolean;
  /**
   * Inner pixels whose centre lies outside [x0, x1) x [y0, y1) are black (the zero padding of the top-down crop and
   * the collate crop); null when every pixel samples the source. [0, 0, 0, 0] blanks the image.
   */
  clip: [number, number, number, number] | null;
  /** [individuals, K, 3], [U, 3], [individuals, 4] xywh in output pixels. */
  keypoints: Float32Array;
  unique: Float32Array;
  boxes: Float32Array;
}

export interface PlanOptions {
  /** Raise instead of skipping transforms this engine does not implement yet. */
  strict?: boolean;
}

/** elastic_transform (DeepLabCut's ElasticTransform) needs a dense displacement field, not one affine map. */
const UNSUPPORTED = ['elastic_transform'] as const;

/** Names the transforms of a config this pipeline cannot apply (empty when all are supported). */
export function unsupportedTransforms(t: Transforms): string[] {
  return UNSUPPORTED.filter((k) => {
    const v = t[k];
    return v !== undefined && v !== null && v !== false;
  });
}

/** hflip as build_transforms reads it: true -> p 0.5, a number is p, a mapping gives p and symmetries. */
export function hflipParams(t: Transforms): { p: number; symmetries: [number, number][] } | null {
  const h = t.hflip;
  if (h === undefined || h === null || h === false) return null;
  if (h === true) return { p: 0.5, symmetries: [] };
  if (typeof h === 'number') return { p: h, symmetries: [] };
  return { p: h.p ?? 0.5, symmetries: (h.symmetries ?? []) as [number, number][] };
}

/** Bresenham line as cv2.line draws it (thickness 1, 8-connected). */
function drawLine(kernel: Float32Array, size: number, x1: number, y1: number, x2: number, y2: number): void {
  let x = x1;
  let y = y1;
  const dx = Math.abs(x2 - x1);
  const dy = -Math.abs(y2 - y1);
  const sx = x1 < x2 ? 1 : -1;
  const sy = y1 < y2 ? 1 : -1;
  let err = dx + dy;
  for (;;) {
    kernel[y * size + x] = 1;
    if (x === x2 && y === y2) break;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

/** albumentations MotionBlur(blur_limit=(3, 7), allow_shifted=True) parameters. */
function motionBlurKernel(rng: Rng): { kernel: Float32Array; size: number } {
  const size = [3, 5, 7][rng.randint(0, 2)]!;
  const kernel = new Float32Array(size * size);
  const x1 = rng.randint(0, size - 1);
  const x2 = rng.randint(0, size - 1);
  let y1: number;
  let y2: number;
  if (x1 === x2) {
    y1 = rng.randint(0, size - 1);
    do y2 = rng.randint(0, size - 1);
    while (y2 === y1);
  } else {
    y1 = rng.randint(0, size - 1);
    y2 = rng.randint(0, size - 1);
  }
  drawLine(kernel, size, x1, y1, x2, y2);
  let sum = 0;
  for (const v of kernel) sum += v;
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= sum;
  return { kernel, size };
}

/** albumentations Affine's matrix: about the image centre (W/2 - 0.5, H/2 - 0.5), scale, rotate (degrees), shear, translate. */
export function affineMatrix(w: number, h: number, scale: number, rotateDeg: number, tx: number, ty: number, shearX = 0, shearY = 0): Affine {
  const cx = w / 2 - 0.5;
  const cy = h / 2 - 0.5;
  const r = (rotateDeg * Math.PI) / 180;
  const shx = (shearX * Math.PI) / 180;
  // skimage AffineTransform(scale, rotation, shear, translation): [[s cos r, -s sin(r + shear)], [s sin r, s cos(r + shear)]].
  let core: Affine = [scale * Math.cos(r), -scale * Math.sin(r + shx), tx, scale * Math.sin(r), scale * Math.cos(r + shx), ty];
  if (shearY !== 0) {
    // Shear along y is applied as rotate(-90), shear, rotate(+90) before the main transform.
    const s = (shearY * Math.PI) / 180;
    const rot = (a: number): Affine => [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0];
    const shear: Affine = [1, -Math.sin(s), 0, 0, Math.cos(s), 0];
    core = compose(core, compose(rot(Math.PI / 2), compose(shear, rot(-Math.PI / 2))));
  }
  return compose(translate(cx, cy), compose(core, translate(-cx, -cy)));
}

class Labels {
  /** Flattened (x, y, vis) of all keypoints: individuals' slots, then unique. */
  readonly points: Float32Array;
  /** Box corners (x0, y0, x1, y1) per individual slot; empty slots are NaN. */
  readonly corners: Float64Array;
  /** Keypoints a collate crop left out: written as (-1, -1, -1) at the end, as resize_and_random_crop does. */
  readonly removed: Uint8Array;
  constructor(sample: PoseSample) {
    this.points = new Float32Array(sample.keypoints.length + sample.unique.length);
    this.points.set(sample.keypoints);
    this.points.set(sample.unique, sample.keypoints.length);
    this.corners = new Float64Array(sample.individuals * 4).fill(NaN);
    for (let i = 0; i < sample.annotations; i++) {
      const [x, y, w, h] = sample.boxes.subarray(i * 4, i * 4 + 4);
      this.corners.set([x!, y!, x! + w!, y! + h!], i * 4);
    }
    this.removed = new Uint8Array(this.points.length / 3);
  }
  get count(): number {
    return this.points.length / 3;
  }
  move(m: Affine): void {
    for (let i = 0; i < this.count; i++) {
      const [x, y] = apply(m, this.points[i * 3]!, this.points[i * 3 + 1]!);
      this.points[i * 3] = x;
      this.points[i * 3 + 1] = y;
    }
    // Boxes: transform the four corners and keep their bounding box (albumentations' "largest_box").
    for (let b = 0; b < this.corners.length / 4; b++) {
      const [x0, y0, x1, y1] = this.corners.subarray(b * 4, b * 4 + 4) as unknown as number[];
      if (Number.isNaN(x0!)) continue;
      const pts = [apply(m, x0!, y0!), apply(m, x1!, y0!), apply(m, x0!, y1!), apply(m, x1!, y1!)];
      this.corners.set(
        [Math.min(...pts.map((p) => p[0])), Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[1]))],
        b * 4,
      );
    }
  }
  hideOutside(x0: number, y0: number, x1: number, y1: number, inclusiveEnd: boolean): void {
    for (let i = 0; i < this.count; i++) {
      const x = this.points[i * 3]!;
      const y = this.points[i * 3 + 1]!;
      const inside = inclusiveEnd ? x >= x0 && x <= x1 && y >= y0 && y <= y1 : x >= x0 && x < x1 && y >= y0 && y < y1;
      if (!inside) this.points[i * 3 + 2] = 0;
    }
  }
  shiftBoxes(dx: number, dy: number): void {
    for (let b = 0; b < this.corners.length / 4; b++) {
      if (Number.isNaN(this.corners[b * 4]!)) continue;
      this.corners[b * 4] += dx;
      this.corners[b * 4 + 1] += dy;
      this.corners[b * 4 + 2] += dx;
      this.corners[b * 4 + 3] += dy;
    }
  }
  clipBoxes(w: number, h: number): void {
    for (let b = 0; b < this.corners.length / 4; b++) {
      const c = this.corners;
      if (Number.isNaN(c[b * 4]!)) continue;
      c[b * 4] = Math.min(Math.max(c[b * 4]!, 0), w);
      c[b * 4 + 1] = Math.min(Math.max(c[b * 4 + 1]!, 0), h);
      c[b * 4 + 2] = Math.min(Math.max(c[b * 4 + 2]!, 0), w);
      c[b * 4 + 3] = Math.min(Math.max(c[b * 4 + 3]!, 0), h);
    }
  }
}

/** Python's round(): half to even. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

type Rect = [number, number, number, number];

function intersect(a: Rect | null, b: Rect): Rect {
  if (!a) return b;
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])];
}

/** One sample's state while its plan is drawn: labels, the composed map so far and the current image size. */
class Draft {
  readonly rng: Rng;
  readonly labels: Labels;
  /** Original pixel -> current pixel, for the image (cv2 / torchvision resizes map pixel centres). */
  m: Affine = IDENTITY;
  /** Original -> current coordinates, for keypoints and boxes: as `m`, except that resizes scale coordinates
   * (x * s), as albumentations' keypoint_scale, KeepAspectRatioResize, top_down_crop and resize_and_random_crop
   * move labels (and DeepLabCut's postprocessor maps predictions back with x * scale + offset). */
  lm: Affine = IDENTITY;
  w: number;
  h: number;
  flipped = false;
  /** Valid pixel-centre window [x0, x1) x [y0, y1) in the current frame (see SamplePlan.clip). */
  clip: Rect | null = null;
  constructor(
    readonly sample: PoseSample,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.labels = new Labels(sample);
    this.w = sample.width;
    this.h = sample.height;
  }
  /** One geometric step: `s` for the image, `label` (default `s`) for the keypoints and boxes. */
  step(s: Affine, label: Affine = s): void {
    this.m = compose(s, this.m);
    this.lm = compose(label, this.lm);
    this.labels.move(label);
    if (this.clip) {
      // Only axis-aligned steps follow a clip (top-down crop, collate, padding).
      const [a, b] = apply(s, this.clip[0], this.clip[1]);
      const [c, d] = apply(s, this.clip[2], this.clip[3]);
      this.clip = [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)];
    }
  }
}

/** Steps 1-6 of build_transforms (resize, longest_max_size, hflip, affine, random_bbox_transform, crop_sampling). */
function geometry(sample: PoseSample, t: Transforms, seed: number): Draft {
  const d = new Draft(sample, seed);
  const { rng, labels } = d;
  const step = (s: Affine, label?: Affine) => d.step(s, label);
  const scaleBy = (sx: number, sy: number): Affine => [sx, 0, 0, 0, sy, 0];

  // 1. resize
  if (t.resize) {
    const { width: tw, height: th, keep_ratio } = t.resize;
    if (keep_ratio !== false) {
      const s = Math.min(th / d.h, tw / d.w);
      const nw = Math.trunc(d.w * s);
      const nh = Math.trunc(d.h * s);
      // KeepAspectRatioResize multiplies keypoints by `s` (not by the rounded nw / w).
      step(resizeMap(d.w, d.h, nw, nh), scaleBy(s, s));
      // PadIfNeeded(top-left, constant 0) to the target size: no shift.
      d.w = Math.max(nw, tw);
      d.h = Math.max(nh, th);
    } else {
      step(resizeMap(d.w, d.h, tw, th), scaleBy(tw / d.w, th / d.h));
      d.w = tw;
      d.h = th;
    }
  }
  // 2. longest_max_size
  if (t.longest_max_size) {
    const s = t.longest_max_size / Math.max(d.w, d.h);
    if (s !== 1) {
      const nw = Math.round(d.w * s);
      const nh = Math.round(d.h * s);
      step(resizeMap(d.w, d.h, nw, nh), scaleBy(s, s));
      d.w = nw;
      d.h = nh;
    }
  }
  // 3. hflip
  const flip = hflipParams(t);
  if (flip && rng.chance(flip.p)) {
    d.flipped = true;
    step([-1, 0, d.w - 1, 0, 1, 0]);
    // albumentations flips keypoints about the last pixel centre (x -> W - 1 - x, keypoint_hflip) but boxes about
    // the image edge (x -> W - x, bbox_hflip on normalised coordinates): box corners sit one pixel right of the
    // keypoints' map, for the detector's targets and the top-down crop box alike.
    labels.shiftBoxes(1, 0);
    for (const [i, j] of flip.symmetries) {
      if (i * 3 + 2 >= labels.points.length || j * 3 + 2 >= labels.points.length) continue;
      for (let c = 0; c < 3; c++) {
        const a = labels.points[i * 3 + c]!;
        labels.points[i * 3 + c] = labels.points[j * 3 + c]!;
        labels.points[j * 3 + c] = a;
      }
    }
  }
  // 4. affine
  if (t.affine && rng.chance(t.affine.p ?? 0.9)) {
    const a = t.affine;
    const { w, h } = d;
    if (a.rotation === undefined && a.scaling === undefined && a.translation === undefined) {
      // albumentations' own defaults when nothing is given.
      const scale = rng.uniform(0.9, 1.1);
      const tx = rng.uniform(-0.1, 0.1) * w;
      const ty = rng.uniform(-0.1, 0.1) * h;
      const rot = -rng.uniform(-15, 15);
      const shx = rng.uniform(-10, 10);
      const shy = rng.uniform(-10, 10);
      step(affineMatrix(w, h, scale, rot, tx, ty, shx, shy));
    } else {
      const sc = a.scaling;
      const [s0, s1] = sc === undefined ? [1, 1] : typeof sc === 'number' ? [sc, sc] : [sc[0]!, sc[1]!];
      const scale = rng.uniform(s0, s1);
      const tr = Math.trunc(a.translation ?? 0);
      const tx = rng.randint(-tr, tr);
      const ty = rng.randint(-tr, tr);
      const r = a.rotation ?? 0;
      const rot = -rng.uniform(-r, r);
      step(affineMatrix(w, h, scale, rot, tx, ty));
    }
  }
  // 5. random_bbox_transform (boxes only), in the current image.
  if (t.random_bbox_transform && rng.chance(t.random_bbox_transform.p ?? 1)) {
    const r = t.random_bbox_transform;
    labels.clipBoxes(d.w, d.h);
    const c = labels.corners;
    for (let b = 0; b < c.length / 4; b++) {
      if (Number.isNaN(c[b * 4]!)) continue;
      const sx = rng.chance(r.scale_prob ?? 1) ? [rng.truncnorm(r.scale_factor[0]!, r.scale_factor[1]!), rng.truncnorm(r.scale_factor[0]!, r.scale_factor[1]!)] : [1, 1];
      const sh = rng.chance(r.shift_prob ?? 0.25) ? [rng.truncnorm(-r.shift_factor, r.shift_factor), rng.truncnorm(-r.shift_factor, r.shift_factor)] : [0, 0];
      const bw = c[b * 4 + 2]! - c[b * 4]!;
      const bh = c[b * 4 + 3]! - c[b * 4 + 1]!;
      const cx = c[b * 4]! + bw / 2 + sh[0]! * bw;
      const cy = c[b * 4 + 1]! + bh / 2 + sh[1]! * bh;
      c.set([cx - (bw * sx[0]!) / 2, cy - (bh * sx[1]!) / 2, cx + (bw * sx[0]!) / 2, cy + (bh * sx[1]!) / 2], b * 4);
    }
    labels.clipBoxes(d.w, d.h);
  }
  // 6. crop_sampling: PadIfNeeded(centre, constant 0) then KeypointAwareCrop.
  if (t.crop_sampling) {
    const { width: cw, height: ch } = t.crop_sampling;
    const maxShift = Math.max(0, Math.min(t.crop_sampling.max_shift ?? 0.4, 0.4));
    const padX = d.w < cw ? Math.floor((cw - d.w) / 2) : 0;
    const padY = d.h < ch ? Math.floor((ch - d.h) / 2) : 0;
    if (padX || padY) step(translate(padX, padY));
    d.w = Math.max(d.w, cw);
    d.h = Math.max(d.h, ch);
    const { w, h } = d;
    const shift = [maxShift * rng.random() * cw, maxShift * rng.random() * ch];
    let method = t.crop_sampling.method ?? 'hybrid';
    if (method === 'hybrid') method = rng.chance(0.5) ? 'uniform' : 'density';
    const n = labels.count;
    if (n === 0) method = 'uniform';
    let startX: number;
    let startY: number;
    if (method === 'uniform') {
      startX = rng.random();
      startY = rng.random();
    } else {
      const p = labels.points;
      let weights: Float64Array;
      if (method === 'density') {
        const r2 = (0.1 * Math.min(h, w)) ** 2;
        weights = new Float64Array(n).fill(1);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            if (i === j) continue;
            const dx = p[i * 3]! - p[j * 3]!;
            const dy = p[i * 3 + 1]! - p[j * 3 + 1]!;
            if (dx * dx + dy * dy <= r2) weights[i]!++;
          }
      } else weights = new Float64Array(n).fill(1);
      const k = rng.weighted(weights);
      const below1 = 1 - 2 ** -53;
      startX = Math.min(Math.max((p[k * 3]! + shift[0]!) / w, 0), below1);
      startY = Math.min(Math.max((p[k * 3 + 1]! + shift[1]!) / h, 0), below1);
    }
    const x1 = Math.trunc((w - cw + 1) * startX);
    const y1 = Math.trunc((h - ch + 1) * startY);
    step(translate(-x1, -y1));
    d.w = cw;
    d.h = ch;
    labels.hideOutside(0, 0, cw, ch, false);
    labels.clipBoxes(d.w, d.h);
  }
  if (t.top_down_crop) topDownCrop(d, t.top_down_crop);
  return d;
}

type TopDownCropConfig = NonNullable<Transforms['top_down_crop']>;

/**
 * The crop box of DeepLabCut's top_down_crop (data/image.py, centre_padding off) around an xywh box in an image of
 * imageW x imageH: the source window [x1, x2) x [y1, y2) (inside the image) and where it sits in the padded crop
 * of cropW x cropH pixels, which is then resized to the output size.
 */
export function topDownCropBox(
  box: readonly [number, number, number, number],
  imageW: number,
  imageH: number,
  outW: number,
  outH: number,
  margin = 0,
  withContext = true,
): { x1: number; y1: number; x2: number; y2: number; padLeft: number; padTop: number; cropW: number; cropH: number } {
  const [x, y] = box;
  let [, , w, h] = box;
  const cx = x + w / 2;
  const cy = y + h / 2;
  w += 2 * margin;
  h += 2 * margin;
  const outRatio = outW / outH;
  if (withContext) {
    const inRatio = w / h;
    if (inRatio > outRatio) h = w / outRatio;
    else if (inRatio < outRatio) w = h * outRatio;
  }
  let x1 = pyRound(cx - w / 2);
  let y1 = pyRound(cy - h / 2);
  let x2 = pyRound(cx + w / 2);
  let y2 = pyRound(cy + h / 2);
  let padLeft = 0;
  let padRight = 0;
  let padTop = 0;
  let padBottom = 0;
  if (x1 < 0) {
    padLeft = -x1;
    x1 = 0;
  }
  if (x2 > imageW) {
    padRight = x2 - imageW;
    x2 = imageW;
  }
  if (y1 < 0) {
    padTop = -y1;
    y1 = 0;
  }
  if (y2 > imageH) {
    padBottom = y2 - imageH;
    y2 = imageH;
  }
  const cw = x2 - x1;
  const ch = y2 - y1;
  if (!withContext) {
    // DeepLabCut pads the short side with half the difference on each side (as written there, for any ratio).
    const inRatio = cw / ch;
    if (inRatio > outRatio) {
      const p = Math.floor(Math.trunc(cw - ch * outRatio) / 2);
      padTop += p;
      padBottom += p;
    } else if (inRatio < outRatio) {
      const p = Math.floor(Math.trunc(ch - cw / outRatio) / 2);
      padLeft += p;
      padRight += p;
    }
  }
  return { x1, y1, x2, y2, padLeft, padTop, cropW: cw + padLeft + padRight, cropH: ch + padTop + padBottom };
}

/** PoseDataset's top-down step: crop around the item's (augmented, clipped, int-cast) box and resize. */
function topDownCrop(d: Draft, td: TopDownCropConfig): void {
  const outW = td.width ?? 256;
  const outH = td.height ?? 256;
  if (d.sample.individuals !== 1) {
    throw new Error(
      `top_down_crop needs one annotation per item, got a sample with ${d.sample.individuals} individual slots (${d.sample.relPath}); ` +
        "open the dataset with mode 'top-down'",
    );
  }
  const { labels } = d;
  labels.clipBoxes(d.w, d.h);
  const c = labels.corners;
  // bboxes.astype(int) on xywh.
  const box: [number, number, number, number] = Number.isNaN(c[0]!)
    ? [0, 0, 0, 0]
    : [Math.trunc(c[0]!), Math.trunc(c[1]!), Math.trunc(c[2]! - c[0]!), Math.trunc(c[3]! - c[1]!)];
  if (box[2] <= 0 || box[3] <= 0) {
    // The box was augmented out of the image: a blank crop and no visible keypoints (offsets 0, scales 1).
    for (let i = 0; i < labels.count; i++) labels.points[i * 3 + 2] = 0;
    d.w = outW;
    d.h = outH;
    d.clip = [0, 0, 0, 0];
    labels.clipBoxes(d.w, d.h);
    return;
  }
  const k = topDownCropBox(box, d.w, d.h, outW, outH, td.margin ?? 0, td.crop_with_context ?? true);
  d.clip = intersect(d.clip, [k.x1 - 0.5, k.y1 - 0.5, k.x2 - 0.5, k.y2 - 0.5]);
  // top_down_crop's offset and scale: x_crop = (x - offset) / scale, scale = (crop size) / (output size).
  const [ox, oy] = [k.x1 - k.padLeft, k.y1 - k.padTop];
  const [sx, sy] = [k.cropW / outW, k.cropH / outH];
  d.step(compose(resizeMap(k.cropW, k.cropH, outW, outH), translate(-ox, -oy)), [1 / sx, 0, -ox / sx, 0, 1 / sy, -oy / sy]);
  d.w = outW;
  d.h = outH;
  // Keypoints out of the crop (x < 0, x > W, ...) become invisible.
  labels.hideOutside(0, 0, outW, outH, true);
  labels.clipBoxes(d.w, d.h);
}

type CollateConfig = NonNullable<Transforms['collate']>;

/** A batch's target size: square (an int size in DeepLabCut) or (height, width). */
export interface CollateTarget {
  height: number;
  width: number;
  square: boolean;
}

function toMultiple(v: number, of: number): number {
  return of * Math.floor((v + of - 1) / of);
}

/** ResizeFromDataSizeCollate / ResizeFromListCollate `_sample_scale`, from the first item's size. */
export function collateTarget(c: CollateConfig, width: number, height: number, rng: Rng): CollateTarget {
  if (c.type === 'ResizeFromListCollate') {
    const s = c.scales[rng.randint(0, c.scales.length - 1)]!;
    return typeof s === 'number' ? { height: s, width: s, square: true } : { height: s[0], width: s[1], square: false };
  }
  const scale = rng.uniform(c.min_scale, c.max_scale);
  const minShort = c.min_short_side ?? 128;
  const maxShort = c.max_short_side ?? 1152;
  if (c.to_square) {
    let size = pyRound(Math.min(maxShort, Math.max(minShort, scale * Math.min(height, width))));
    if (c.multiple_of != null) size = toMultiple(size, c.multiple_of);
    return { height: size, width: size, square: true };
  }
  const short = Math.min(height, width);
  const long = Math.max(height, width);
  const ratio = Math.min(long / short, c.max_ratio ?? 2);
  const shortSize = pyRound(Math.min(maxShort, Math.max(minShort, scale * short)));
  let h: number;
  let w: number;
  if (height < width) {
    h = shortSize;
    w = Math.trunc(ratio * shortSize);
  } else {
    h = Math.trunc(ratio * shortSize);
    w = shortSize;
  }
  if (c.multiple_of != null) {
    w = toMultiple(w, c.multiple_of);
    h = toMultiple(h, c.multiple_of);
  }
  return { height: h, width: w, square: false };
}

/** The size an item of oh x ow is resized to before the random crop (resize_and_random_crop). */
export function collateResize(oh: number, ow: number, target: CollateTarget, maxSize: number | null): [number, number] {
  let h: number;
  let w: number;
  if (target.square) {
    const short = Math.min(oh, ow);
    const long = Math.max(oh, ow);
    let tl = Math.trunc((target.width / short) * long);
    let ts = target.width;
    if (maxSize != null && tl > maxSize) {
      tl = maxSize;
      ts = Math.trunc((tl / long) * short);
    }
    [h, w] = oh < ow ? [ts, tl] : [tl, ts];
  } else {
    const { height: th, width: tw } = target;
    if (oh / th <= ow / tw) {
      h = th;
      w = Math.trunc(ow * (th / oh));
    } else {
      h = Math.trunc(oh * (tw / ow));
      w = tw;
    }
    if (maxSize != null && Math.max(h, w) > maxSize) {
      if (h <= w) {
        w = maxSize;
        h = Math.trunc(oh * (maxSize / ow));
      } else {
        w = Math.trunc(ow * (maxSize / oh));
        h = maxSize;
      }
    }
  }
  return [Math.max(1, h), Math.max(1, w)];
}

/** resize_and_random_crop for one item: aspect-preserving resize, random offset, crop (zero padding). */
function collateItem(d: Draft, c: CollateConfig, target: CollateTarget): void {
  const { w: ow, h: oh, rng, labels } = d;
  const [h, w] = collateResize(oh, ow, target, c.max_size ?? 2048);
  const { width: tw, height: th } = target;
  const maxShift = c.max_shift ?? 10;
  const offset = (tgt: number, n: number) => {
    const extra = Math.max(0, n - tgt);
    const lo = Math.max(Math.floor(-tgt / 2), -Math.max(0, tgt - n) - maxShift);
    const hi = Math.min(maxShift + extra, extra + Math.floor(Math.min(n, tgt) / 2));
    return hi > lo ? rng.randint(lo, hi - 1) : lo; // np.random.randint: hi exclusive
  };
  const ox = offset(tw, w);
  const oy = offset(th, h);
  d.clip = intersect(d.clip, [-0.5, -0.5, ow - 0.5, oh - 0.5]);
  // resize_and_random_crop: x / (ow / w) - offset for keypoints and boxes.
  d.step(compose(translate(-ox, -oy), resizeMap(ow, oh, w, h)), [w / ow, 0, -ox, 0, h / oh, -oy]);
  d.w = tw;
  d.h = th;
  for (let i = 0; i < labels.count; i++) {
    const x = labels.points[i * 3]!;
    const y = labels.points[i * 3 + 1]!;
    if (x < 0 || y < 0 || x >= tw || y >= th) labels.removed[i] = 1;
  }
  labels.clipBoxes(tw, th);
}

/** Steps 7-15 (photometric draws, auto_padding) and the final label bookkeeping. */
function finish(d: Draft, t: Transforms): SamplePlan {
  const { rng, labels, sample } = d;
  let { w, h } = d;
  // 7. hist_eq: Equalize(mode="cv", by_channels=True, p=0.5)
  const equalize = !!t.hist_eq && rng.chance(0.5);
  // 8. motion_blur
  let blur: { kernel: Float32Array; size: number } | null = null;
  if (t.motion_blur && rng.chance(0.5)) blur = motionBlurKernel(rng);
  // 9. covering: CoarseDropout(max_holes=10, 1-5% of each side, p=0.5), exactly 10 holes.
  const holes: [number, number, number, number][] = [];
  if (t.covering && rng.chance(0.5)) {
    for (let i = 0; i < MAX_HOLES; i++) {
      const hh = Math.trunc(h * rng.uniform(0.01, 0.05));
      const hw = Math.trunc(w * rng.uniform(0.01, 0.05));
      const y1 = rng.randint(0, h - hh);
      const x1 = rng.randint(0, w - hw);
      holes.push([x1, y1, x1 + hw, y1 + hh]);
    }
    for (let i = 0; i < labels.count; i++) {
      const x = labels.points[i * 3]!;
      const y = labels.points[i * 3 + 1]!;
      if (holes.some(([a, b, c, e]) => a <= x && x < c && b <= y && y < e)) labels.points[i * 3 + 2] = 0;
    }
  }
  // 11. grayscale: Grayscale(alpha=(0.5, 1.0), p=0.5)
  const grayAlpha = t.grayscale && rng.chance(0.5) ? rng.uniform(0.5, 1.0) : 0;
  // 12. gaussian_noise: GaussNoise(var_limit=(0, sigma^2), per_channel, p=0.5); `true` is Python's 1.
  let noiseSigma = 0;
  const noise = t.gaussian_noise === true ? 1 : t.gaussian_noise === false ? 0 : t.gaussian_noise ?? 0;
  if (noise > 0 && rng.chance(0.5)) noiseSigma = Math.sqrt(rng.uniform(0, noise * noise));
  const noiseSeed = rng.u32();
  // 13. auto_padding: PadIfNeeded with divisors or minimum sizes, random position by default.
  const innerWidth = w;
  const innerHeight = h;
  let padX = 0;
  let padY = 0;
  let padReflect = true;
  let padValue = 0;
  if (t.auto_padding) {
    const ap = t.auto_padding;
    const padFor = (n: number, min: number | null | undefined, div: number | null | undefined) =>
      min != null ? Math.max(0, min - n) : div != null && n % div !== 0 ? div - (n % div) : 0;
    const px = padFor(w, ap.min_width, ap.pad_width_divisor ?? (ap.min_width == null ? 1 : null));
    const py = padFor(h, ap.min_height, ap.pad_height_divisor ?? (ap.min_height == null ? 1 : null));
    const pos = ap.position ?? 'random';
    // albumentations draws the random top before the random left.
    if (pos === 'random') {
      padY = rng.randint(0, py);
      padX = rng.randint(0, px);
    } else {
      padY = pos === 'center' ? Math.floor(py / 2) : pos.startsWith('top') ? 0 : py;
      padX = pos === 'center' ? Math.floor(px / 2) : pos.endsWith('left') ? 0 : px;
    }
    padReflect = (ap.border_mode ?? 'reflect_101') === 'reflect_101';
    const bv = ap.border_value;
    padValue = typeof bv === 'number' ? bv : Array.isArray(bv) ? bv[0] ?? 0 : 0;
    w += px;
    h += py;
  }
  const innerMatrix = d.m;
  const clip = d.clip;
  if (padX || padY) {
    d.m = compose(translate(padX, padY), d.m);
    d.lm = compose(translate(padX, padY), d.lm);
    labels.move(translate(padX, padY));
  }
  // After the transform: keypoints out of the output image (x < 0, x > W, ...) become invisible.
  labels.hideOutside(0, 0, w, h, true);
  labels.clipBoxes(w, h);
  for (let i = 0; i < labels.count; i++) if (labels.removed[i]) labels.points.fill(-1, i * 3, i * 3 + 3);

  const nk = sample.keypoints.length;
  const boxes = new Float32Array(sample.individuals * 4);
  for (let b = 0; b < sample.individuals; b++) {
    const c = labels.corners;
    if (Number.isNaN(c[b * 4]!)) continue;
    boxes.set([c[b * 4]!, c[b * 4 + 1]!, c[b * 4 + 2]! - c[b * 4]!, c[b * 4 + 3]! - c[b * 4 + 1]!], b * 4);
  }
  return {
    width: w,
    height: h,
    innerWidth,
    innerHeight,
    padX,
    padY,
    padReflect,
    padValue,
    matrix: d.m,
    labelMatrix: d.lm,
    innerMatrix,
    blur: blur?.kernel ?? null,
    blurSize: blur?.size ?? 0,
    holes,
    grayAlpha,
    noiseSigma,
    noiseSeed,
    flipped: d.flipped,
    equalize,
    clip: clip ? [clip[0], clip[1], clip[2], clip[3]] : null,
    keypoints: labels.points.slice(0, nk),
    unique: labels.points.slice(nk),
    boxes,
  };
}

/** The seed of a batch's collate draw (its target size): fixed by the collate seed and the items' seeds. */
export function collateSeed(c: CollateConfig, seeds: readonly number[]): number {
  return hash32(c.seed ?? 0, 0xc011a7e, ...seeds);
}

/**
 * Draws the augmentation of a batch: each sample from its own seed, then (with `collate`) one target size for the
 * batch, drawn from the first item's size and `collateSeed`, and each item's resize and random crop.
 */
export function planBatch(samples: readonly PoseSample[], t: Transforms, seeds: readonly number[]): SamplePlan[] {
  if (samples.length !== seeds.length) throw new Error('planBatch: needs one seed per sample');
  const drafts = samples.map((s, i) => geometry(s, t, seeds[i]!));
  if (t.collate && drafts.length > 0) {
    const target = collateTarget(t.collate, drafts[0]!.w, drafts[0]!.h, new Rng(collateSeed(t.collate, seeds)));
    for (const d of drafts) collateItem(d, t.collate, target);
  }
  return drafts.map((d) => finish(d, t));
}

/** Draws one sample's augmentation (a batch of one when a collate function is set). `seed` fixes every random choice. */
export function planSample(sample: PoseSample, t: Transforms, seed: number): SamplePlan {
  return planBatch([sample], t, [seed])[0]!;
}
