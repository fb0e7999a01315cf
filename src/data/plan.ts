// The CPU half of augmentation: draws every random parameter of DeepLabCut's transform pipeline
// (build_transforms, albumentations 1.4.3 semantics) for one sample, composes the geometric steps into
// ONE affine map from the original image to the output, and moves keypoints and boxes with it.
// The GPU half (src/data/augment.ts, kernels/augment.wgsl) warps and applies the photometric steps.
import type { Transforms } from '../config/index.ts';
import { apply, compose, IDENTITY, resizeMap, translate, type Affine } from './affine.ts';
import type { PoseSample } from './dataset.ts';
import { Rng } from './random.ts';

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
  /** Original image pixel -> output pixel (padding included). */
  matrix: Affine;
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
  /** [individuals, K, 3], [U, 3], [individuals, 4] xywh in output pixels. */
  keypoints: Float32Array;
  unique: Float32Array;
  boxes: Float32Array;
}

export interface PlanOptions {
  /** Raise instead of skipping transforms this engine does not implement yet. */
  strict?: boolean;
}

const UNSUPPORTED = ['hist_eq', 'elastic_transform', 'top_down_crop', 'collate'] as const;

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
  constructor(sample: PoseSample) {
    this.points = new Float32Array(sample.keypoints.length + sample.unique.length);
    this.points.set(sample.keypoints);
    this.points.set(sample.unique, sample.keypoints.length);
    this.corners = new Float64Array(sample.individuals * 4).fill(NaN);
    for (let i = 0; i < sample.annotations; i++) {
      const [x, y, w, h] = sample.boxes.subarray(i * 4, i * 4 + 4);
      this.corners.set([x!, y!, x! + w!, y! + h!], i * 4);
    }
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

/** Draws one sample's augmentation. `seed` fixes every random choice. */
export function planSample(sample: PoseSample, t: Transforms, seed: number): SamplePlan {
  const rng = new Rng(seed);
  const labels = new Labels(sample);
  let m: Affine = IDENTITY;
  let w = sample.width;
  let h = sample.height;
  const step = (s: Affine) => {
    m = compose(s, m);
    labels.move(s);
  };

  // 1. resize
  if (t.resize) {
    const { width: tw, height: th, keep_ratio } = t.resize;
    if (keep_ratio !== false) {
      const s = Math.min(th / h, tw / w);
      const nw = Math.trunc(w * s);
      const nh = Math.trunc(h * s);
      step(resizeMap(w, h, nw, nh));
      // PadIfNeeded(top-left, constant 0) to the target size: no shift.
      w = Math.max(nw, tw);
      h = Math.max(nh, th);
    } else {
      step(resizeMap(w, h, tw, th));
      w = tw;
      h = th;
    }
  }
  // 2. longest_max_size
  if (t.longest_max_size) {
    const s = t.longest_max_size / Math.max(w, h);
    if (s !== 1) {
      const nw = Math.round(w * s);
      const nh = Math.round(h * s);
      step(resizeMap(w, h, nw, nh));
      w = nw;
      h = nh;
    }
  }
  // 3. hflip
  const flip = hflipParams(t);
  let flipped = false;
  if (flip && rng.chance(flip.p)) {
    flipped = true;
    step([-1, 0, w - 1, 0, 1, 0]);
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
    labels.clipBoxes(w, h);
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
    labels.clipBoxes(w, h);
  }
  // 6. crop_sampling: PadIfNeeded(centre, constant 0) then KeypointAwareCrop.
  if (t.crop_sampling) {
    const { width: cw, height: ch } = t.crop_sampling;
    const maxShift = Math.max(0, Math.min(t.crop_sampling.max_shift ?? 0.4, 0.4));
    const padX = w < cw ? Math.floor((cw - w) / 2) : 0;
    const padY = h < ch ? Math.floor((ch - h) / 2) : 0;
    if (padX || padY) step(translate(padX, padY));
    w = Math.max(w, cw);
    h = Math.max(h, ch);
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
    w = cw;
    h = ch;
    labels.hideOutside(0, 0, cw, ch, false);
    labels.clipBoxes(w, h);
  }
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
      if (holes.some(([a, b, c, d]) => a <= x && x < c && b <= y && y < d)) labels.points[i * 3 + 2] = 0;
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
  const innerMatrix = m;
  if (padX || padY) step(translate(padX, padY));
  // After the transform: keypoints out of the output image (x < 0, x > W, ...) become invisible.
  labels.hideOutside(0, 0, w, h, true);
  labels.clipBoxes(w, h);

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
    matrix: m,
    innerMatrix,
    blur: blur?.kernel ?? null,
    blurSize: blur?.size ?? 0,
    holes,
    grayAlpha,
    noiseSigma,
    noiseSeed,
    flipped,
    keypoints: labels.points.slice(0, nk),
    unique: labels.points.slice(nk),
    boxes,
  };
}
