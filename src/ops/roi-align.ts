// ROI align (kernels/roi_align.wgsl) with torchvision 0.14's semantics, forward and input gradient, and
// torchvision's MultiScaleRoIAlign (ops/poolers.py) on top of it.
//
// Backward, counted for Faster R-CNN's box head (512 ROIs, 256 channels, 7x7 bins, 2x2 samples, one
// [1, 256, 50, 68] map): torchvision scatters 4 weighted adds per sample, K * C * 49 * 4 * 4 = 103 M adds,
// with atomics on CUDA. WGSL has no float atomics, so each input element gathers instead. Scanning every ROI
// from every input element would cost N*C*H*W * K = 446 M box tests; instead the ROIs are binned once per
// 8x8 tile of each image (N * tiles * K = 32 K tests), and since a bin's samples factor into a row weight
// times a column weight, those weights are tabulated once per ROI (K * (PH*H + PW*W) = 0.4 M entries, shared
// by every channel). An input element then visits only the ROIs listed for its tile (44 on average for the
// proposals of bench/roi-align.ts, 16-512 px; 21 of them reach it), and of those only the bins whose weights
// are non-zero on it: about the scatter's work, in a fixed order, so the result is deterministic. Each
// invocation does 8 channels of a pixel (they share the list and the weights), reading dY from a
// channels-last copy as two vec4s; the forward likewise does 8 channels of a bin from a channels-last copy of
// the input. (On lavapipe: 3x the forward and 8-12x the backward of one invocation per element; see
// bench/NOTES.md.) Nothing from the forward is kept for the backward (a list-of-boxes ROI tensor and the
// per-ROI table are rebuilt, a few small dispatches), so a forward outside any scope leaks nothing.
//
// MultiScaleRoIAlign's level assignment (LevelMapper) runs on the GPU inside the per-ROI pass of each level,
// so it needs no readback and the op stays synchronous (usable in tidy): each level is one pass over every
// ROI's outputs that writes only that level's ROIs, and its gradient one gather over that level's map.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { noGrad, record } from '../tensor/autograd.ts';
import { tidy } from '../tensor/scope.ts';
import { Tensor } from '../tensor/tensor.ts';
import { full, zeros } from './creation.ts';
import { grid } from './layout.ts';
import { concat } from './shape.ts';

const K = {
  channelsLast: kernel('roi_align', 'channels_last'),
  meta: kernel('roi_align', 'roi_meta'),
  forward: kernel('roi_align', 'forward'),
  tables: kernel('roi_align', 'tables'),
  tiles: kernel('roi_align', 'tiles'),
  backward: kernel('roi_align', 'backward'),
};

/** Side of the square image tiles the backward bins ROIs into (doubled while the lists would not fit a binding). */
const TILE = 8;
/** Channels per invocation of the forward and backward kernels, which read them as two vec4s. */
const CB = 8;
/** Invocations per workgroup (WG in the kernel) and workgroups per grid dimension (WebGPU's minimum limit). */
const WG = 256;
const ROWS = 65535;

/** Options of {@link roiAlign}, as torchvision.ops.roi_align's arguments. */
export interface RoiAlignOptions {
  /** Output [height, width] in bins (one number for both). */
  outputSize: number | readonly [number, number];
  /** Box coordinates times this are input coordinates (e.g. 1/16 for a stride-16 map). Default 1. */
  spatialScale?: number;
  /** Samples per bin along each axis; <= 0 picks ceil(roi size / output size) per ROI. Default -1. */
  samplingRatio?: number;
  /** Shift boxes by -0.5 pixel (Detectron2's alignment) and keep sub-pixel ROIs as they are. Default false. */
  aligned?: boolean;
}

/** ROIs as [K, 5] (batch index, x1, y1, x2, y2), or one [k_i, 4] tensor of (x1, y1, x2, y2) per image. */
export type RoiBoxes = Tensor | readonly Tensor[];

interface Geometry {
  N: number; C: number; H: number; W: number; PH: number; PW: number; K: number;
  sampling: number; aligned: boolean; scale: number;
}

/** The LevelMapper of one level's pass of a multi-scale align. */
interface LevelPass {
  level: number; kMin: number; kMax: number; canonicalScale: number; canonicalLevel: number; eps: number;
}

function params(n: number, g: Geometry, lv?: LevelPass, extra: { tile?: number; tilesH?: number; tilesW?: number; axis?: number } = {}): Uniforms {
  return new Uniforms()
    .u32(n).u32(g.N).u32(g.C).u32(g.H)
    .u32(g.W).u32(g.PH).u32(g.PW).u32(g.K)
    .i32(g.sampling).u32(g.aligned ? 1 : 0).i32(lv ? lv.level : -1).u32(extra.tile ?? TILE)
    .u32(extra.tilesH ?? 0).u32(extra.tilesW ?? 0).u32(extra.axis ?? 0).u32(0)
    .f32(g.scale).f32(lv?.kMin ?? 0).f32(lv?.kMax ?? 0).f32(lv?.canonicalScale ?? 0)
    .f32(lv?.canonicalLevel ?? 0).f32(lv?.eps ?? 0).f32(0).f32(0);
}

const dims = (t: Tensor) => `[${t.shape.join(', ')}]`;

function pooledSize(outputSize: RoiAlignOptions['outputSize'], op: string): [number, number] {
  const [PH, PW] = typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0], outputSize[1]];
  if (!(Number.isInteger(PH) && Number.isInteger(PW) && PH >= 1 && PW >= 1))
    throw new Error(`${op}: outputSize must be a positive integer or [height, width] of positive integers, got ${JSON.stringify(outputSize)}`);
  return [PH, PW];
}

function featureDims(input: Tensor, op: string, what = 'input'): [number, number, number, number] {
  if (!(input instanceof Tensor) || input.rank !== 4) throw new Error(`${op}: ${what} must be a [N, C, H, W] tensor, got ${input instanceof Tensor ? dims(input) : typeof input}`);
  const [N, C, H, W] = input.shape as [number, number, number, number];
  if (H < 1 || W < 1) throw new Error(`${op}: ${what} ${dims(input)} has an empty plane (H and W must be at least 1)`);
  return [N, C, H, W];
}

function checkBoxList(boxes: readonly Tensor[], N: number, op: string): void {
  if (boxes.length > N) throw new Error(`${op}: ${boxes.length} per-image box tensors for a batch of ${N} images`);
  boxes.forEach((b, i) => {
    if (!(b instanceof Tensor) || b.rank !== 2 || b.shape[1] !== 4) throw new Error(`${op}: boxes[${i}] must be a [k, 4] tensor of (x1, y1, x2, y2), got ${b instanceof Tensor ? dims(b) : typeof b}`);
  });
}

/** The [K, 5] ROIs of a list of per-image [k_i, 4] boxes (torchvision's convert_boxes_to_roi_format). */
function roiFormat(boxes: readonly Tensor[]): Tensor {
  return tidy(() => noGrad(() => concat(boxes.map((b, i) => concat([full([b.shape[0]!, 1], i), b], 1)), 0)));
}

/** Per-ROI sampling geometry, batch (or level) and footprint: Meta [K, 3] vec4 (see kernels/roi_align.wgsl). */
function metaOf(rois: Tensor, g: Geometry, lv?: LevelPass): Tensor {
  const meta = Tensor.empty([g.K, 12]);
  engine().dispatch(K.meta, grid(g.K), [rois.buffer, meta.buffer], params(g.K, g, lv));
  return meta;
}

/**
 * `x` [B, C, S] (S = the spatial size) as [B, S, C8], C rounded up to a multiple of 8 with zeros: each pixel's
 * (or bin's) channels side by side, so the kernels read 8 channels as two vec4 loads instead of 8 gathers.
 */
function channelsLast(x: Tensor, B: number, C: number, S: number): Tensor {
  const out = Tensor.empty([B, S, Math.ceil(C / CB) * CB]);
  const n = out.size / 4;
  const layout: Geometry = { N: B, C, H: 1, W: S, PH: 0, PW: 0, K: 0, sampling: 0, aligned: false, scale: 0 };
  engine().dispatch(K.channelsLast, grid(n), [x.buffer, out.buffer], params(n, layout));
  return out;
}

/** Writes Y's rows for the ROIs `meta` marks (all of them, or one level's). */
function forwardPass(x: Tensor, meta: Tensor, y: Tensor, g: Geometry, lv?: LevelPass): void {
  const xc = channelsLast(x, g.N, g.C, g.H * g.W);
  // x: one ROI's bins and channel blocks; y, z: the ROIs (the kernel divides only by its constants).
  const blocks = Math.ceil(g.C / CB);
  const workgroups: [number, number, number] = [Math.ceil((g.PH * g.PW * blocks) / WG), Math.min(g.K, ROWS), Math.ceil(g.K / ROWS)];
  engine().dispatch(K.forward, workgroups, [xc.buffer, meta.buffer, y.buffer], params(0, g, lv), { BLOCKS: blocks, POOLED_W: g.PW });
  xc.dispose();
}

/** d(input) of the ROIs `meta` marks, from the gradient of Y in channels-last form ({@link channelsLast}). */
function inputGradient(gradChannelsLast: Tensor, meta: Tensor, g: Geometry, lv?: LevelPass): Tensor {
  // Each tile's list has room for every ROI: [N * tiles, K + 1] words. Bigger tiles (longer lists to walk)
  // only where that would pass the binding limit (e.g. 8 images of 4096 ROIs on a 200x334 map); one tile
  // per image always fits.
  const limit = Math.min(engine().limits.maxStorageBufferBindingSize, engine().limits.maxBufferSize);
  let tile = TILE;
  while (tile < Math.max(g.H, g.W) && g.N * Math.ceil(g.H / tile) * Math.ceil(g.W / tile) * (g.K + 1) * 4 > limit) tile *= 2;
  const tilesH = Math.ceil(g.H / tile);
  const tilesW = Math.ceil(g.W / tile);
  const extra = { tile, tilesH, tilesW };
  const wy = Tensor.empty([g.K, g.PH, g.H]);
  const wx = Tensor.empty([g.K, g.PW, g.W]);
  engine().dispatch(K.tables, grid(wy.size), [meta.buffer, wy.buffer], params(wy.size, g, lv, { ...extra, axis: 0 }));
  engine().dispatch(K.tables, grid(wx.size), [meta.buffer, wx.buffer], params(wx.size, g, lv, { ...extra, axis: 1 }));
  const tiles = g.N * tilesH * tilesW;
  const list = Tensor.empty([tiles, g.K + 1]);
  engine().dispatch(K.tiles, grid(tiles), [meta.buffer, list.buffer], params(tiles, g, lv, extra));
  const dx = Tensor.empty([g.N, g.C, g.H, g.W]);
  // x: one row's pixels and channel blocks; y: the rows; z: the images.
  const blocks = Math.ceil(g.C / CB);
  const workgroups: [number, number, number] = [Math.ceil((g.W * blocks) / WG), g.H, g.N];
  engine().dispatch(K.backward, workgroups, [gradChannelsLast.buffer, meta.buffer, wy.buffer, wx.buffer, list.buffer, dx.buffer], params(0, g, lv, extra), { BLOCKS: blocks });
  for (const t of [wy, wx, list]) t.dispose();
  return dx;
}

/**
 * torchvision.ops.roi_align: average of bilinear samples over each of outH x outW bins of each ROI, from
 * `input` [N, C, H, W] to [K, C, outH, outW]. `boxes` is [K, 5] (batch index, x1, y1, x2, y2) or one [k_i, 4]
 * tensor per image. A ROI whose batch index is outside [0, N) gives zeros. Differentiable in `input` (the
 * boxes get no gradient, as in torchvision); `boxes` must stay alive until backward, like any op's input.
 */
export function roiAlign(input: Tensor, boxes: RoiBoxes, opts: RoiAlignOptions): Tensor {
  const op = 'roiAlign';
  const [N, C, H, W] = featureDims(input, op);
  const [PH, PW] = pooledSize(opts.outputSize, op);
  const scale = opts.spatialScale ?? 1;
  const sampling = opts.samplingRatio ?? -1;
  if (!Number.isFinite(scale)) throw new Error(`${op}: spatialScale must be a finite number, got ${scale}`);
  if (!Number.isInteger(sampling)) throw new Error(`${op}: samplingRatio must be an integer (<= 0 for adaptive), got ${sampling}`);
  let count: number;
  if (boxes instanceof Tensor) {
    if (boxes.rank !== 2 || boxes.shape[1] !== 5) throw new Error(`${op}: boxes must be [K, 5] (batch index, x1, y1, x2, y2) or a list of [k, 4] tensors, got ${dims(boxes)}`);
    count = boxes.shape[0]!;
  } else if (Array.isArray(boxes)) {
    checkBoxList(boxes, N, op);
    count = boxes.reduce((a, b) => a + b.shape[0]!, 0);
  } else throw new Error(`${op}: boxes must be a [K, 5] tensor or a list of [k, 4] tensors`);
  const g: Geometry = { N, C, H, W, PH, PW, K: count, sampling, aligned: opts.aligned ?? false, scale };
  const y = Tensor.empty([count, C, PH, PW]);
  const withRois = <T>(fn: (rois: Tensor) => T): T => {
    if (boxes instanceof Tensor) return fn(boxes);
    const rois = roiFormat(boxes as readonly Tensor[]);
    try {
      return fn(rois);
    } finally {
      rois.dispose();
    }
  };
  if (y.size > 0) {
    withRois((rois) => {
      const meta = metaOf(rois, g);
      forwardPass(input, meta, y, g);
      meta.dispose();
    });
  }
  return record(y, op, [input], (grad) => {
    if (grad.size === 0 || input.size === 0) return [zeros(input.shape)];
    return [withRois((rois) => {
      const meta = metaOf(rois, g);
      const gc = channelsLast(grad, count, C, PH * PW);
      const dx = inputGradient(gc, meta, g);
      meta.dispose();
      gc.dispose();
      return dx;
    })];
  });
}

/** Options of {@link multiScaleRoiAlign}, as torchvision.ops.MultiScaleRoIAlign's. */
export interface MultiScaleRoiAlignOptions {
  outputSize: number | readonly [number, number];
  samplingRatio: number;
  /** The box side (image pixels) that maps to canonicalLevel. Default 224. */
  canonicalScale?: number;
  /** Default 4. */
  canonicalLevel?: number;
  /** LevelMapper's epsilon. Default 1e-6. */
  eps?: number;
}

/** Python's round (half to even), which torch's round follows. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * MultiScaleRoIAlign's scales and level range for feature maps of these [H, W] and these image sizes: per map
 * 2 ** round(log2(H / max image height)) (torchvision's _infer_scale takes the height's), and k_min, k_max =
 * -log2 of the first and last scale.
 */
export function multiScaleLevels(featureSizes: readonly (readonly [number, number])[], imageSizes: readonly (readonly [number, number])[]): { scales: number[]; kMin: number; kMax: number } {
  if (imageSizes.length === 0) throw new Error('multiScaleRoiAlign: imageSizes must not be empty');
  const maxH = Math.max(...imageSizes.map((s) => s[0]));
  const scales = featureSizes.map(([h]) => 2 ** roundHalfEven(Math.log2(Math.fround(h / maxH))));
  return { scales, kMin: Math.trunc(-Math.log2(scales[0]!)), kMax: Math.trunc(-Math.log2(scales[scales.length - 1]!)) };
}

/**
 * torchvision.ops.MultiScaleRoIAlign: each ROI pooled from the feature map its size picks (the FPN paper's
 * level floor(canonicalLevel + log2(sqrt(area) / canonicalScale) + eps), clamped to the maps'), results in the
 * order of the boxes. `features` are [N, C, H_l, W_l], highest resolution first; `boxes` one [k_i, 4] tensor
 * per image in image coordinates; `imageSizes` each image's [height, width] before the network. Always
 * aligned = false, as torchvision's. Differentiable in every feature map.
 */
export function multiScaleRoiAlign(
  features: readonly Tensor[],
  boxes: readonly Tensor[],
  imageSizes: readonly (readonly [number, number])[],
  opts: MultiScaleRoiAlignOptions,
): Tensor {
  const op = 'multiScaleRoiAlign';
  if (!Array.isArray(features) || features.length === 0) throw new Error(`${op}: features must be a non-empty list of [N, C, H, W] tensors`);
  const shapes = features.map((f, l) => featureDims(f, op, `features[${l}]`));
  const [N, C] = shapes[0]!;
  shapes.forEach(([n, c], l) => {
    if (n !== N || c !== C) throw new Error(`${op}: features[${l}] is ${dims(features[l]!)} but features[0] is ${dims(features[0]!)} (batch and channels must match)`);
  });
  if (!Array.isArray(boxes) || boxes.length !== N) throw new Error(`${op}: boxes must be a list of one [k, 4] tensor per image (${N}), got ${Array.isArray(boxes) ? boxes.length : typeof boxes}`);
  checkBoxList(boxes, N, op);
  if (!Array.isArray(imageSizes) || imageSizes.length !== N || !imageSizes.every((s) => Array.isArray(s) && s.length === 2 && s.every((v) => Number.isInteger(v) && v >= 1)))
    throw new Error(`${op}: imageSizes must be one [height, width] of positive integers per image (${N}), got ${JSON.stringify(imageSizes)}`);
  const [PH, PW] = pooledSize(opts.outputSize, op);
  if (!Number.isInteger(opts.samplingRatio)) throw new Error(`${op}: samplingRatio must be an integer (<= 0 for adaptive), got ${opts.samplingRatio}`);
  const { scales, kMin, kMax } = multiScaleLevels(shapes.map(([, , h, w]) => [h, w]), imageSizes);
  // As torchvision: one map means plain roi_align at its scale, with no level mapping.
  if (features.length === 1) return roiAlign(features[0]!, boxes, { outputSize: [PH, PW], spatialScale: scales[0]!, samplingRatio: opts.samplingRatio });

  const count = boxes.reduce((a, b) => a + b.shape[0]!, 0);
  const geometry = (l: number): Geometry => {
    const [, , H, W] = shapes[l]!;
    return { N, C, H, W, PH, PW, K: count, sampling: opts.samplingRatio, aligned: false, scale: scales[l]! };
  };
  const pass = (level: number): LevelPass => ({
    level, kMin, kMax, canonicalScale: opts.canonicalScale ?? 224, canonicalLevel: opts.canonicalLevel ?? 4, eps: opts.eps ?? 1e-6,
  });
  const y = Tensor.empty([count, C, PH, PW]);
  if (y.size > 0) {
    const rois = roiFormat(boxes);
    features.forEach((f, l) => {
      const meta = metaOf(rois, geometry(l), pass(l));
      forwardPass(f, meta, y, geometry(l), pass(l));
      meta.dispose();
    });
    rois.dispose();
  }
  return record(y, op, features, (grad) => {
    if (grad.size === 0) return features.map((f) => (f.requiresGrad ? zeros(f.shape) : null));
    const rois = roiFormat(boxes);
    const gc = channelsLast(grad, count, C, PH * PW);
    const grads = features.map((f, l) => {
      if (!f.requiresGrad) return null;
      const meta = metaOf(rois, geometry(l), pass(l));
      const dx = inputGradient(gc, meta, geometry(l), pass(l));
      meta.dispose();
      return dx;
    });
    rois.dispose();
    gc.dispose();
    return grads;
  });
}
