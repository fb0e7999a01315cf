// conv2d and convTranspose2d, forward and backward, with the algorithm picked per shape:
//   direct kernels (kernels/conv2d_direct.wgsl, kernels/conv2d_wgrad.wgsl; 8-lane subgroups) for spatial kernels
//   and strided 1x1 convs:
//     conv forward      `main`: 16 output channels x 8x4 pixels per workgroup, input row segments shared by the taps
//     conv input grad   stride 1: `main` with the rotated, transposed weight (FLIP) and padding d(k-1) - p (Winograd
//                       for 3x3 with >= 64 channels, as the forward);
//                       strided: `transposed`, per output phase (h % s, w % s) = convTranspose2d's forward
//     conv weight grad  conv2d_wgrad: a matmul over pixels per image (and row split), the parts summed
//   matrix products around the matmul kernel (kernels/conv.wgsl moves data) for 1x1 stride-1 convs, for transposed
//   convs to few channels (a deconv to 17 heatmaps is one [17*9, Cin] x [Cin, H*W] product per image + col2im),
//   and on adapters without 8-lane subgroups:
//     conv forward      Y[n] = W x im2col(X[n])            W [Cout, Cin/G*kh*kw] per group
//     conv input grad   dX[n] = col2im(W^T x dY[n])        = convTranspose2d's forward
//     conv weight grad  dW = sum_n dY[n] x im2col(X[n])^T
//   A 1x1, stride-1, unpadded conv uses X itself as the column matrix. Images are processed in chunks so the
//   column matrix stays within a storage binding (and memory): at most CHUNK_BYTES of columns at a time.
// The bias is added in the direct kernels' store (else one broadcast add); its gradient is dY summed over N, H, W.
import { engine } from '../gpu/current.ts';
import { kernel, type KernelSpec, Uniforms } from '../gpu/kernel.ts';
import { noGrad, record, willRecord } from '../tensor/autograd.ts';
import { Tensor } from '../tensor/tensor.ts';
import { keep } from '../tensor/scope.ts';
import { add, relu } from './elementwise.ts';
import { grid } from './layout.ts';
import { matmulRaw, type MatmulEpilogue } from './matmul.ts';
import { sum } from './reduce.ts';
import { concat, narrow, reshape } from './shape.ts';

const im2colKernel = kernel('conv', 'im2col');
const col2imKernel = kernel('conv', 'col2im');
const subsampleKernel = kernel('conv', 'subsample');
const upsampleKernel = kernel('conv', 'upsample');
const directKernel = kernel('conv2d_direct');
const transposedKernel = kernel('conv2d_direct', 'transposed');
const depthwiseKernel = kernel('conv2d_direct', 'depthwise');
const direct8Kernel = kernel('conv2d_direct', 'main8');
const wgradKernel = kernel('conv2d_wgrad');
const wgradDepthwiseKernel = kernel('conv2d_wgrad', 'depthwise');
/** kernels/conv_winograd.wgsl's transforms per output tile size m: F(2x2, 3x3) and F(4x4, 3x3). */
const WINOGRAD = {
  2: { weights: kernel('conv_winograd', 'weights'), input: kernel('conv_winograd', 'input'), output: kernel('conv_winograd', 'output') },
  4: { weights: kernel('conv_winograd', 'weights4'), input: kernel('conv_winograd', 'input4'), output: kernel('conv_winograd', 'output4') },
};
/** The weight gradient's transforms (F(2x2) only: see weightGradWinograd). */
const WINOGRAD_WGRAD = { gradOutput: kernel('conv_winograd', 'gradOutput'), weights: kernel('conv_winograd', 'weightGrad') };
const CHUNK_BYTES = 64 << 20;
/** Workgroups the weight-gradient kernel aims for before it splits the pixel sum into parts. */
const WGRAD_WORKGROUPS = 512;

/** One value for both spatial axes, or [height, width]. */
export type Pair = number | readonly [number, number];
const pair = (p: Pair, what: string): [number, number] => {
  const v: [number, number] = typeof p === 'number' ? [p, p] : [p[0], p[1]];
  if (!v.every((x) => Number.isInteger(x) && x >= 0)) throw new Error(`${what} must be non-negative integers, got ${JSON.stringify(p)}`);
  return v;
};

/** A convolution from an image [N, Cin, H, W] to [N, Cout, Ho, Wo] with weight [Cout, Cin / G, kh, kw]. */
interface Geometry {
  N: number;
  Cin: number;
  H: number;
  W: number;
  Cout: number;
  G: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  /** Top and left padding (bottom/right follow from the output size). */
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  Ho: number;
  Wo: number;
}

const colRows = (g: Geometry) => (g.Cin / g.G) * g.kh * g.kw;
const isPointwise = (g: Geometry) => g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
/** 1x1 without padding, any stride: im2col is a strided copy (subsample), col2im zero-fills around it (upsample). */
const isStridedPointwise = (g: Geometry) => g.kh === 1 && g.kw === 1 && g.ph === 0 && g.pw === 0 && !isPointwise(g);

/** Images per chunk: as many as keep the column matrix under CHUNK_BYTES (grouped convs go one image at a time). */
function chunkSize(g: Geometry): number {
  if (g.G > 1) return 1;
  const perImage = g.Cin * g.kh * g.kw * g.Ho * g.Wo * 4;
  return Math.max(1, Math.min(g.N, Math.floor(CHUNK_BYTES / Math.max(perImage, 1))));
}

function uniforms(n: number, g: Geometry): Uniforms {
  return new Uniforms().u32(n).u32(g.Cin).u32(g.H).u32(g.W).u32(g.Ho).u32(g.Wo).u32(g.kh).u32(g.kw).u32(g.sh).u32(g.sw).u32(g.ph).u32(g.pw).u32(g.dh).u32(g.dw);
}

/** The subsample/upsample pass between [planes, H, W] and [planes, Ho, Wo] (grid z split at the per-axis limit). */
function resamplePointwise(spec: KernelSpec, src: Tensor, dst: Tensor, planes: number, g: Geometry, w: number, h: number): void {
  const e = engine();
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  for (let p0 = 0; p0 < planes; p0 += max) {
    // The im2col uniforms, with n the first plane of this dispatch.
    e.dispatch(spec, [Math.ceil(w / 8), Math.ceil(h / 8), Math.min(max, planes - p0)], [src.buffer, dst.buffer], uniforms(p0, g), { SH: g.sh, SW: g.sw });
  }
}

/** [nb, Cin, H, W] -> [nb, Cin*kh*kw, Ho*Wo]. */
function im2col(x: Tensor, g: Geometry): Tensor {
  const nb = x.shape[0]!;
  if (isPointwise(g)) return Tensor.view(x, [nb, g.Cin, g.Ho * g.Wo]);
  if (isStridedPointwise(g)) {
    const cols = Tensor.empty([nb, g.Cin, g.Ho * g.Wo]);
    if (cols.size > 0) resamplePointwise(subsampleKernel, x, cols, nb * g.Cin, g, g.Wo, g.Ho);
    return cols;
  }
  const cols = Tensor.empty([nb, g.Cin * g.kh * g.kw, g.Ho * g.Wo]);
  if (cols.size > 0) engine().dispatch(im2colKernel, grid(cols.size), [x.buffer, cols.buffer], uniforms(cols.size, g));
  return cols;
}

/** [nb, Cin*kh*kw, Ho*Wo] -> [nb, Cin, H, W], summing overlapping windows. */
function col2im(cols: Tensor, g: Geometry): Tensor {
  const nb = cols.shape[0]!;
  if (isPointwise(g)) return Tensor.view(cols, [nb, g.Cin, g.H, g.W]);
  const img = Tensor.empty([nb, g.Cin, g.H, g.W]);
  if (isStridedPointwise(g)) {
    if (img.size > 0) resamplePointwise(upsampleKernel, cols, img, nb * g.Cin, g, g.W, g.H);
    return img;
  }
  if (img.size > 0) engine().dispatch(col2imKernel, grid(img.size), [cols.buffer, img.buffer], uniforms(img.size, g));
  return img;
}

/**
 * kernels/conv2d_direct.wgsl: Y [N, G*CO, Ho, Wo] from X [N, G*CI, H, W]. 'forward' reads W [G*CO, CI, kh, kw];
 * 'flip' and 'transposed' read W [G*CI, CO, kh, kw] (a conv's weight seen from its input gradient), 'flip' rotated.
 * Top/left padding only: the output size bounds the rest.
 */
interface DirectShape {
  N: number;
  G: number;
  CI: number;
  H: number;
  W: number;
  CO: number;
  Ho: number;
  Wo: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  ph: number;
  pw: number;
}
type DirectMode = 'forward' | 'flip' | 'transposed';
/** Pure depthwise (one input and one output channel per group) with up to 25 taps: kernels/conv2d_direct.wgsl `depthwise`. */
const isDepthwise = (d: DirectShape) => d.CI === 1 && d.CO === 1 && d.kh * d.kw <= 25;
function directRaw(x: Tensor, w: Tensor, bias: Tensor | null, d: DirectShape, mode: DirectMode, epi: ConvEpilogue = NO_EPILOGUE): Tensor {
  const y = Tensor.empty([d.N, d.G * d.CO, d.Ho, d.Wo]);
  if (y.size === 0) return y;
  const e = engine();
  // Tiles of 8 x 4 output pixels; 'transposed' tiles each output phase (h % sh, w % sw) separately.
  const phases = mode === 'transposed' ? d.sh * d.sw : 1;
  const tilesW = Math.ceil(Math.ceil(d.Wo / (mode === 'transposed' ? d.sw : 1)) / 8);
  const tiles = phases * tilesW * Math.ceil(Math.ceil(d.Ho / (mode === 'transposed' ? d.sh : 1)) / 4);
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  if (tiles > max) throw new Error(`conv2d: output ${d.Ho}x${d.Wo} has more than ${max * 32} pixels`);
  const constants: Record<string, number> = { KH: d.kh, KW: d.kw, SH: d.sh, SW: d.sw, DH: d.dh, DW: d.dw, FLIP: mode === 'flip' ? 1 : 0, BIAS: bias ? 1 : 0 };
  // Row segments from aligned vec4 loads (see the kernel's XV).
  const seg = 3 * d.sw + (d.kw - 1) * d.dw + 1;
  if (mode !== 'transposed' && d.W % 4 === 0 && d.pw <= 4 && 4 - d.pw + seg <= 16) Object.assign(constants, { XV: 1, PW: d.pw });
  if (mode !== 'transposed' && isDepthwise(d)) {
    // One image per z, 16 channels per y.
    for (let z0 = 0; z0 < d.N; z0 += max) {
      const u = new Uniforms().u32(d.CI).u32(d.H).u32(d.W).u32(d.CO).u32(d.Ho).u32(d.Wo).u32(d.ph).u32(d.pw).u32(d.G).u32(tilesW).u32(z0);
      e.dispatch(depthwiseKernel, [tiles, Math.ceil(d.G / 16), Math.min(max, d.N - z0)], [x.buffer, w.buffer, (bias ?? w).buffer, y.buffer], u, constants);
    }
    return epilogueOps(y, epi);
  }
  // 8 pixels per lane (`main8`, tiles of 8 x 8) when the 8 pixels' segment comes from at most 6 aligned vec4 loads,
  // for 1x1 (strided) and large kernels: measured 16 -> 19-23 GFLOP/s on the 1x1 stride-2 row, 24 -> 28 on the 7x7
  // stem, but 40 -> 34 on 3x3 (twice the accumulators spill where 4 pixels already give 64 FMAs per load).
  const seg8 = 7 * d.sw + (d.kw - 1) * d.dw + 1;
  const wide = constants.XV === 1 && 4 - d.pw + seg8 <= 24 && (d.kw === 1 || d.kh * d.kw >= 25);
  const spec = mode === 'transposed' ? transposedKernel : wide ? direct8Kernel : directKernel;
  const grid0 = wide ? Math.ceil(d.Wo / 8) * Math.ceil(d.Ho / 8) : tiles;
  // main and main8 end with the epilogue in their store (Res bound to X when there is no residual).
  const inStore = spec !== transposedKernel;
  const buffers = [x.buffer, w.buffer, (bias ?? w).buffer, y.buffer];
  if (inStore) {
    buffers.push((epi.residual ?? x).buffer);
    if (epi.residual) Object.assign(constants, d.Wo % 4 === 0 ? { RES: 1, RV: 1 } : { RES: 1 });
    if (epi.relu) constants.RELU = 1;
  }
  const total = d.N * d.G;
  for (let z0 = 0; z0 < total; z0 += max) {
    const u = new Uniforms().u32(d.CI).u32(d.H).u32(d.W).u32(d.CO).u32(d.Ho).u32(d.Wo).u32(d.ph).u32(d.pw).u32(d.G).u32(tilesW).u32(z0);
    e.dispatch(spec, [grid0, Math.ceil(d.CO / 16), Math.min(max, total - z0)], buffers, u, constants);
  }
  return inStore ? y : epilogueOps(y, epi);
}

/** The direct kernel computing the conv forward. */
const forwardShape = (g: Geometry): DirectShape => ({ N: g.N, G: g.G, CI: g.Cin / g.G, H: g.H, W: g.W, CO: g.Cout / g.G, Ho: g.Ho, Wo: g.Wo, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, dh: g.dh, dw: g.dw, ph: g.ph, pw: g.pw });

/**
 * The direct kernel computing the conv's input gradient: for stride 1 (and p <= d(k - 1)) a conv of dY with the
 * rotated, transposed weight padded by d(k - 1) - p ('flip'), else the per-phase 'transposed' entry.
 */
function inputGradShape(g: Geometry): [DirectShape, DirectMode] {
  const ph = g.dh * (g.kh - 1) - g.ph;
  const pw = g.dw * (g.kw - 1) - g.pw;
  const d = { N: g.N, G: g.G, CI: g.Cout / g.G, H: g.Ho, W: g.Wo, CO: g.Cin / g.G, Ho: g.H, Wo: g.W, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, dh: g.dh, dw: g.dw };
  // Stride 1: an ordinary conv (row segments shared by the taps); else per output phase.
  if (g.sh === 1 && g.sw === 1 && ph >= 0 && pw >= 0) return [{ ...d, ph, pw }, 'flip'];
  return [{ ...d, ph: g.ph, pw: g.pw }, 'transposed'];
}

/** kernels/conv2d_direct.wgsl shares weights by subgroupBroadcast across 8 lanes. */
let subgroupDevice: { device: GPUDevice; ok: boolean } | null = null;
function hasSubgroups8(): boolean {
  const e = engine();
  if (subgroupDevice?.device !== e.device) {
    const info = e.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number };
    subgroupDevice = { device: e.device, ok: e.device.features.has('subgroups') && (info.subgroupMinSize ?? 0) >= 8 };
  }
  return subgroupDevice.ok;
}

/** How convolutions are computed: see {@link setConvAlgorithm}. */
export type ConvAlgorithm = 'auto' | 'winograd2' | 'direct' | 'gemm';
let algorithm: ConvAlgorithm = 'auto';

/**
 * 'auto' (default) picks per shape; 'winograd2' is 'auto' with Winograd F(2x2, 3x3) instead of F(4x4, 3x3); 'direct' is
 * 'auto' without Winograd (the direct kernels for stride-1 3x3 convs);
 * 'gemm' forces the im2col/col2im + matmul route everywhere (what adapters without
 * 8-lane subgroups get), for tests and benchmarks. Returns the previous setting.
 */
export function setConvAlgorithm(a: ConvAlgorithm): ConvAlgorithm {
  const before = algorithm;
  algorithm = a;
  return before;
}

/**
 * Direct kernels except for 1x1 convs without padding (a plain matmul; strided, around a subsample: 1.2-1.6x the
 * direct kernels over forward and both gradients, bench/NOTES.md "full-frame") in one group; kernels up to 16 wide;
 * 8-lane subgroups.
 */
const usesDirect = (g: Geometry) =>
  algorithm !== 'gemm' && !isPointwise(g) && !(isStridedPointwise(g) && g.G === 1) && g.kw <= 16 && fitsGrid(g.Ho, g.Wo) && fitsGrid(g.H, g.W) && hasSubgroups8();
/** The direct kernels' 8x4-pixel tiles of one image fit one grid axis (images up to ~2 megapixels). */
const fitsGrid = (h: number, w: number) => Math.ceil(h / 4) * Math.ceil(w / 8) <= 65535;

/** Runs `fn` on image chunks [n0, n0 + nb) of `t` (no copy when one chunk covers all). */
function chunks<T>(t: Tensor, size: number, fn: (part: Tensor) => T): T[] {
  const n = t.shape[0]!;
  if (size >= n) return [fn(t)];
  const out: T[] = [];
  for (let n0 = 0; n0 < n; n0 += size) {
    const part = narrow(t, 0, n0, Math.min(size, n - n0));
    out.push(fn(part));
    part.dispose();
  }
  return out;
}

/** Joins per-chunk results along the batch axis, releasing the parts. */
function join(parts: Tensor[], shape: readonly number[]): Tensor {
  if (parts.length === 1) return Tensor.reshapeOwned(parts[0]!, shape);
  const out = reshape(concat(parts, 0), shape);
  for (const p of parts) p.dispose();
  return out;
}

/** x [N, Cin, H, W] -> [N, Cout, Ho, Wo]; no autograd. */
function forwardRaw(x: Tensor, w: Tensor, g: Geometry, bias: Tensor | null = null, m: WinogradTile = 2, epi: ConvEpilogue = NO_EPILOGUE): Tensor {
  if (usesWinograd(g, m)) return winogradRaw(x, w, bias, g, m, false, epi);
  if (usesDirect(g)) return directRaw(x, w, bias, forwardShape(g), 'forward', epi);
  // One chunk of groups 1: the matmul's store adds the bias and the epilogue (kernels/_matmul.wgsl BIAS, RES, RELU).
  if (gemmStoresEpilogue(g)) return forwardGemm(x, w, g, { bias, residual: epi.residual, relu: epi.relu, rowStats: epi.rowStats });
  return epilogueOps(addBias(forwardGemm(x, w, g), bias, g.Cout, 'conv2d'), epi);
}

const gemmStoresEpilogue = (g: Geometry) => g.G === 1 && chunkSize(g) >= g.N;

/**
 * Winograd (kernels/conv_winograd.wgsl) for stride-1 3x3 convs with equal dilations, groups 1 and at least
 * WINOGRAD_MIN_CHANNELS channels in and out: (m + 2)^2 products [Cout, Cin] x [Cin, tiles] on the matmul kernel between
 * an input and an output transform. F(4x4, 3x3) (m = 4: 1/4 of the direct kernel's FMAs, 1.3-2.8x F(2x2)) for convs no
 * gradient flows through (inference, evaluation); F(2x2, 3x3) (m = 2: 4/9) for the training tape and the backward
 * passes, because F(4x4)'s larger rounding (rms 3-5e-6 of the output per conv against 1e-6) compounds through the
 * backward of deep networks past the HRNet-W18 gradient parity bound. 'winograd2' takes F(2x2) everywhere.
 */
type WinogradTile = 2 | 4;
/**
 * Fewer channels leave the products too short to pay for the transforms (bench/NOTES.md "full-frame", v5): F(4x4)
 * beat the direct kernel 1.2-1.7x at 64 channels and broke even at 32; F(2x2) lost at 64.
 */
const WINOGRAD_MIN_CHANNELS: Record<WinogradTile, number> = { 2: 128, 4: 64 };
/** The tile for a conv whose output is recorded for a backward pass (or is one) or not. */
const winogradTile = (differentiated: boolean): WinogradTile => (algorithm === 'winograd2' || differentiated ? 2 : 4);
const usesWinograd = (g: Geometry, m: WinogradTile) =>
  (algorithm === 'auto' || algorithm === 'winograd2') && g.kh === 3 && g.kw === 3 && g.sh === 1 && g.sw === 1 && g.dh === g.dw && g.G === 1 &&
  Math.min(g.Cin, g.Cout) >= WINOGRAD_MIN_CHANNELS[m] && g.Cin % 4 === 0 && winogradTileBytes(g, m) <= CHUNK_BYTES;
/** Tiles of one image (interleaved tilings of m x m outputs D apart). */
const winogradTiles = (g: Geometry, m: WinogradTile): [number, number] => [g.dh * Math.ceil(g.Ho / (m * g.dh)), g.dh * Math.ceil(g.Wo / (m * g.dh))];
/** Bytes of the larger transformed operand of one image. */
function winogradTileBytes(g: Geometry, m: WinogradTile): number {
  const [th, tw] = winogradTiles(g, m);
  return (m + 2) ** 2 * Math.max(g.Cin, g.Cout) * th * tw * 4;
}

/**
 * The stride-1 conv that computes g's input gradient (the direct kernels' 'flip'), as a Geometry for Winograd: dY
 * [N, Cout, Ho, Wo] -> dX [N, Cin, H, W] with the rotated, transposed weight and padding d(k - 1) - p; null when
 * Winograd does not take it.
 */
function inputGradWinograd(g: Geometry, m: WinogradTile): Geometry | null {
  if (g.sh !== 1 || g.sw !== 1) return null;
  const t: Geometry = { ...g, Cin: g.Cout, Cout: g.Cin, H: g.Ho, W: g.Wo, Ho: g.H, Wo: g.W, ph: g.dh * (g.kh - 1) - g.ph, pw: g.dw * (g.kw - 1) - g.pw };
  return t.ph >= 0 && t.pw >= 0 && usesWinograd(t, m) ? t : null;
}

/**
 * What the transforms of g's Winograd tiles share (forward and weight gradient): the kernels' uniforms for a chunk of
 * nb images whose nb * T tiles are padded to Tp, and the images per chunk (transformed operands under CHUNK_BYTES).
 */
function winogradLayout(g: Geometry, m: WinogradTile): { T: number; perChunk: number; params: (nb: number, Tp: number) => Uniforms } {
  const [tilesH, tilesW] = winogradTiles(g, m);
  const T = tilesH * tilesW;
  const params = (nb: number, Tp: number) =>
    new Uniforms().u32(g.Cin).u32(g.Cout).u32(g.H).u32(g.W).u32(g.Ho).u32(g.Wo).u32(g.ph).u32(g.pw).u32(g.dh).u32(tilesW).u32(T).u32(nb * T).u32(Tp);
  return { T, perChunk: Math.max(1, Math.floor(CHUNK_BYTES / winogradTileBytes(g, m))), params };
}

/** `flip`: w is [Cin, Cout, 3, 3] of g (the forward conv's weight seen from its input gradient), rotated. */
function winogradRaw(x: Tensor, w: Tensor, bias: Tensor | null, g: Geometry, m: WinogradTile, flip = false, epi: ConvEpilogue = NO_EPILOGUE): Tensor {
  const e = engine();
  const K = WINOGRAD[m];
  const E = (m + 2) ** 2;
  const { T, perChunk, params } = winogradLayout(g, m);
  const transform = () => {
    const t = keep(Tensor.empty([E, g.Cout, g.Cin]));
    e.dispatch(K.weights, [Math.ceil(g.Cin / 64), g.Cout], [w.buffer, t.buffer], params(0, 0), { FLIP: flip ? 1 : 0 });
    return t;
  };
  // F(4x4) runs without a tape, where a weight meets frame after frame unchanged: its transform (36/9 of the weight's
  // floats) is kept until the weight's buffer is written or freed (Engine.derived), not rebuilt per forward: 1-2% of a
  // resnet_50 frame (bench/NOTES.md "full-frame" v27). F(2x2) serves training, whose weights change every step.
  const cached = m === 4;
  const u = cached ? e.derived(w.buffer, `winograd${m}:${flip ? 'flip:' : ''}${g.Cout}x${g.Cin}`, transform, (t) => t.dispose()) : transform();
  // The epilogue in the output transform's store: its residual indexes like the output, so one chunk only.
  const fused = perChunk >= g.N ? epi : NO_EPILOGUE;
  const parts = chunks(x, perChunk, (xc) => {
    const nb = xc.shape[0]!;
    // Tiles padded to a multiple of 4: the matmul's vec4 columns.
    const Tp = Math.ceil((nb * T) / 4) * 4;
    const v = Tensor.empty([E, g.Cin, Tp]);
    e.dispatch(K.input, [Math.ceil(Tp / 64), g.Cin], [xc.buffer, v.buffer], params(nb, Tp));
    const prod = matmulRaw(u, v, g.Cout, Tp, g.Cin, E, g.Cout * g.Cin, g.Cin * Tp);
    v.dispose();
    const y = Tensor.empty([nb, g.Cout, g.Ho, g.Wo]);
    e.dispatch(K.output, [Math.ceil((nb * T) / 64), g.Cout], [prod.buffer, y.buffer, (bias ?? prod).buffer, (fused.residual ?? prod).buffer], params(nb, Tp), {
      BIAS: bias ? 1 : 0,
      ...(fused.residual ? { RES: 1 } : {}),
      ...(fused.relu ? { RELU: 1 } : {}),
    });
    prod.dispose();
    return y;
  });
  if (!cached) u.dispose();
  const y = join(parts, [g.N, g.Cout, g.Ho, g.Wo]);
  return fused === epi ? y : epilogueOps(y, epi);
}

function forwardGemm(x: Tensor, w: Tensor, g: Geometry, epi: MatmulEpilogue = {}): Tensor {
  const P = g.Ho * g.Wo;
  const K = colRows(g);
  const cg = g.Cout / g.G;
  const parts = chunks(x, chunkSize(g), (xc) => {
    const nb = xc.shape[0]!;
    const cols = im2col(xc, g);
    // G == 1: W shared by all images; G > 1 (one image): one product per group.
    const y = g.G === 1 ? matmulRaw(w, cols, g.Cout, P, K, nb, 0, K * P, false, false, false, epi) : matmulRaw(w, cols, cg, P, K, g.G, cg * K, K * P);
    cols.dispose();
    return y;
  });
  return join(parts, [g.N, g.Cout, g.Ho, g.Wo]);
}

/** dY [N, Cout, Ho, Wo] -> dX [N, Cin, H, W]; no autograd. */
function inputGradRaw(gy: Tensor, w: Tensor, g: Geometry, bias: Tensor | null = null, m: WinogradTile = 2): Tensor {
  const wino = inputGradWinograd(g, m);
  if (wino) return winogradRaw(gy, w, bias, wino, m, true);
  if (usesDirect(g)) {
    const [d, mode] = inputGradShape(g);
    // Per-phase tiles hold 16 output channels: for few (convTranspose2d to 17 heatmaps, a stem's 3 input channels)
    // the matmul + col2im route is faster, except for grouped convs (there it is a product per image and group).
    if (mode !== 'transposed' || d.CO % 16 === 0 || d.CO >= 64 || d.G > 1) return directRaw(gy, w, bias, d, mode);
  }
  return addBias(inputGradGemm(gy, w, g), bias, g.Cin, 'convTranspose2d');
}

function inputGradGemm(gy: Tensor, w: Tensor, g: Geometry): Tensor {
  const P = g.Ho * g.Wo;
  const K = colRows(g);
  const cg = g.Cout / g.G;
  const parts = chunks(gy, chunkSize(g), (gc) => {
    const nb = gc.shape[0]!;
    const dcols = g.G === 1 ? matmulRaw(w, gc, K, P, g.Cout, nb, 0, g.Cout * P, true) : matmulRaw(w, gc, K, P, cg, g.G, cg * K, cg * P, true);
    const dx = col2im(Tensor.reshapeOwned(dcols, [nb, g.Cin * g.kh * g.kw, P]), g);
    return dx;
  });
  return join(parts, [g.N, g.Cin, g.H, g.W]);
}

/** sum_n dY[n] x im2col(X[n])^T -> [Cout, Cin/G, kh, kw]; no autograd. */
function weightGradRaw(x: Tensor, gy: Tensor, g: Geometry): Tensor {
  if (usesWinograd(g, 2)) return weightGradWinograd(x, gy, g);
  if (usesDirect(g) && (g.kw <= 8 || (g.Cin === g.G && g.Cout === g.G && g.kh * g.kw <= 25))) return weightGradDirect(x, gy, g);
  return weightGradGemm(x, gy, g);
}

/** kernels/conv2d_wgrad.wgsl: the pixel sum in parts of consecutive (image, row) pairs when the weight alone gives few workgroups; parts summed. */
function weightGradDirect(x: Tensor, gy: Tensor, g: Geometry): Tensor {
  const e = engine();
  const CI = g.Cin / g.G;
  const CO = g.Cout / g.G;
  const depthwise = CI === 1 && CO === 1 && g.kh * g.kw <= 25;
  // Workgroups over the weight: depthwise 8 channels each, else 16 output channels x 8 (ci, kernel row) pairs.
  const wgX = depthwise ? Math.ceil(g.G / 8) : Math.ceil((CI * g.kh) / 8);
  const wgY = depthwise ? 1 : Math.ceil(CO / 16);
  const groups = depthwise ? 1 : g.G;
  const NR = g.N * g.Ho;
  // Enough workgroups for every core (a few hundred on lavapipe's 8-lane workgroups), few parts to sum.
  const want = Math.min(NR, Math.max(1, Math.ceil(WGRAD_WORKGROUPS / (wgX * wgY * groups))));
  const rows = Math.ceil(NR / want);
  const parts = Math.ceil(NR / rows);
  const wshape = [g.Cout, CI, g.kh, g.kw];
  const part = Tensor.empty([parts, g.Cout * CI * g.kh * g.kw]);
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  if (wgX > max || wgY > max) throw new Error(`conv2d: weight [${wshape.join(', ')}] is too large for the weight-gradient grid`);
  const constants = { KH: g.kh, KW: g.kw, SH: g.sh, SW: g.sw, DH: g.dh, DW: g.dw, VEC4: g.Wo % 4 === 0 ? 1 : 0 };
  const total = parts * groups;
  for (let z0 = 0; z0 < total; z0 += max) {
    const u = new Uniforms().u32(CI).u32(g.H).u32(g.W).u32(CO).u32(g.Ho).u32(g.Wo).u32(g.ph).u32(g.pw).u32(g.G).u32(NR).u32(rows).u32(z0);
    e.dispatch(depthwise ? wgradDepthwiseKernel : wgradKernel, [wgX, wgY, Math.min(max, total - z0)], [x.buffer, gy.buffer, part.buffer], u, constants);
  }
  if (parts === 1) return Tensor.reshapeOwned(part, wshape);
  const summed = sum(part, 0);
  part.dispose();
  return Tensor.reshapeOwned(summed, wshape);
}

/**
 * The weight gradient through the transposes of Winograd F(2x2, 3x3)'s steps (kernels/conv_winograd.wgsl): with V the
 * input transform and dM the output gradient's (A dY A^T per tile), dU[e] = dM[e] x V[e]^T sums over every tile of
 * every image in 16 products (4/9 of the direct kernel's FMAs, on the matmul kernel), and dW = G^T dU G. F(2x2) only:
 * the training path, where F(4x4)'s rounding is kept out (see WINOGRAD_MIN_CHANNELS).
 */
function weightGradWinograd(x: Tensor, gy: Tensor, g: Geometry): Tensor {
  const e = engine();
  const { T, perChunk, params } = winogradLayout(g, 2);
  let dU: Tensor | null = null;
  for (let n0 = 0; n0 < g.N; n0 += perChunk) {
    const nb = Math.min(perChunk, g.N - n0);
    const xc = nb === g.N ? x : narrow(x, 0, n0, nb);
    const gc = nb === g.N ? gy : narrow(gy, 0, n0, nb);
    // Tiles padded to a multiple of 4 (the matmul's vec4 rows along k), zero in both transforms.
    const Tp = Math.ceil((nb * T) / 4) * 4;
    const v = Tensor.empty([16, g.Cin, Tp]);
    e.dispatch(WINOGRAD[2].input, [Math.ceil(Tp / 64), g.Cin], [xc.buffer, v.buffer], params(nb, Tp));
    const dm = Tensor.empty([16, g.Cout, Tp]);
    // Binding 3 (Bias, unused here: BIAS off) takes dY again.
    e.dispatch(WINOGRAD_WGRAD.gradOutput, [Math.ceil(Tp / 64), g.Cout], [gc.buffer, dm.buffer, gc.buffer], params(nb, Tp));
    if (xc !== x) xc.dispose();
    if (gc !== gy) gc.dispose();
    const part = matmulRaw(dm, v, g.Cout, g.Cin, Tp, 16, g.Cout * Tp, g.Cin * Tp, false, true);
    dm.dispose();
    v.dispose();
    dU = accumulate(dU, part);
  }
  const dw = Tensor.empty([g.Cout, g.Cin, 3, 3]);
  e.dispatch(WINOGRAD_WGRAD.weights, [Math.ceil(g.Cin / 64), g.Cout], [dU!.buffer, dw.buffer], params(0, 0));
  dU!.dispose();
  return dw;
}

/** total + part (part alone when there is no total yet), releasing both operands. */
function accumulate(total: Tensor | null, part: Tensor): Tensor {
  if (!total) return part;
  const sum: Tensor = add(total, part);
  total.dispose();
  part.dispose();
  return sum;
}

function weightGradGemm(x: Tensor, gy: Tensor, g: Geometry): Tensor {
  const P = g.Ho * g.Wo;
  const K = colRows(g);
  const cg = g.Cout / g.G;
  const size = chunkSize(g);
  let total: Tensor | null = null;
  for (let n0 = 0; n0 < g.N; n0 += size) {
    const nb = Math.min(size, g.N - n0);
    const xc = nb === g.N ? x : narrow(x, 0, n0, nb);
    const gc = nb === g.N ? gy : narrow(gy, 0, n0, nb);
    const cols = im2col(xc, g);
    let part: Tensor;
    // G == 1: the images' products summed inside the matmul kernel (no [nb, Cout, K] temporary and reduction).
    if (g.G === 1) part = Tensor.reshapeOwned(matmulRaw(gc, cols, g.Cout, K, P, nb, g.Cout * P, K * P, false, true, true), [g.Cout, K]);
    else part = matmulRaw(gc, cols, cg, K, P, g.G, cg * P, K * P, false, true);
    cols.dispose();
    if (xc !== x) xc.dispose();
    if (gc !== gy) gc.dispose();
    total = accumulate(total, part);
  }
  return Tensor.reshapeOwned(total!, [g.Cout, g.Cin / g.G, g.kh, g.kw]);
}

function outSize(input: number, k: number, s: number, pBefore: number, pAfter: number, d: number): number {
  return Math.floor((input + pBefore + pAfter - d * (k - 1) - 1) / s) + 1;
}

/** Options of {@link conv2d}, as torch.nn.functional.conv2d's (stride, padding, dilation, groups). */
export interface Conv2dOptions {
  stride?: Pair;
  /** Symmetric padding, or 'same' (stride 1; extra padding goes bottom/right as in PyTorch) or 'valid'. */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  /** Added to the output (same shape) after the bias: relu(conv(x) + bias + residual) with `relu`. */
  residual?: Tensor | null;
  /** Clamps the output at 0 after the bias and residual. */
  relu?: boolean;
  /**
   * A hint that a groupNorm of `normGroups` groups follows: where the conv runs on the matmul (1x1, groups 1) without
   * a residual or ReLU, its store also leaves partial statistics of the output, which that groupNorm combines instead
   * of reading the output again (src/ops/row-partials.ts). The output is the same either way.
   */
  normGroups?: number;
}

/** What a conv adds after its bias, inside its store where the kernel can (Winograd, the direct `main`/`main8`). */
interface ConvEpilogue {
  residual: Tensor | null;
  relu: boolean;
  /** Rows per statistics group of a groupNorm that follows (Conv2dOptions.normGroups). */
  rowStats?: number;
}
const NO_EPILOGUE: ConvEpilogue = { residual: null, relu: false };
const hasEpilogue = (epi: ConvEpilogue) => epi.relu || !!epi.residual;

/** y's epilogue as separate passes, consuming y (no autograd): for the conv routes whose kernels have none. */
function epilogueOps(y: Tensor, epi: ConvEpilogue): Tensor {
  if (!hasEpilogue(epi)) return y;
  return noGrad(() => {
    const s = epi.residual ? add(y, epi.residual) : y;
    if (s !== y) y.dispose();
    if (!epi.relu) return s;
    const out = relu(s);
    s.dispose();
    return out;
  });
}

function convGeometry(x: Tensor, w: Tensor, opts: Conv2dOptions, op: string): Geometry {
  if (x.rank !== 4) throw new Error(`${op}: input must be [N, C, H, W], got [${x.shape.join(', ')}]`);
  if (w.rank !== 4) throw new Error(`${op}: weight must be [Cout, Cin/groups, kh, kw], got [${w.shape.join(', ')}]`);
  const [N, Cin, H, W] = x.shape as [number, number, number, number];
  const [Cout, cpg, kh, kw] = w.shape as [number, number, number, number];
  const G = opts.groups ?? 1;
  if (!Number.isInteger(G) || G < 1 || Cin % G !== 0 || Cout % G !== 0)
    throw new Error(`${op}: groups ${G} must divide input channels ${Cin} and output channels ${Cout}`);
  if (cpg * G !== Cin)
    throw new Error(`${op}: weight [${w.shape.join(', ')}] expects ${cpg * G} input channels with groups ${G}, input [${x.shape.join(', ')}] has ${Cin}`);
  const [sh, sw] = pair(opts.stride ?? 1, `${op} stride`);
  const [dh, dw] = pair(opts.dilation ?? 1, `${op} dilation`);
  if (sh < 1 || sw < 1 || dh < 1 || dw < 1) throw new Error(`${op}: stride and dilation must be at least 1`);
  let pads: [number, number, number, number];
  if (opts.padding === 'same') {
    if (sh !== 1 || sw !== 1) throw new Error(`${op}: padding 'same' needs stride 1 (as in PyTorch)`);
    const th = dh * (kh - 1);
    const tw = dw * (kw - 1);
    pads = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else {
    const [ph, pw] = opts.padding === 'valid' ? [0, 0] : pair(opts.padding ?? 0, `${op} padding`);
    pads = [ph, ph, pw, pw];
  }
  const Ho = outSize(H, kh, sh, pads[0], pads[1], dh);
  const Wo = outSize(W, kw, sw, pads[2], pads[3], dw);
  if (Ho < 1 || Wo < 1) throw new Error(`${op}: input [${x.shape.join(', ')}] is smaller than the kernel ${kh}x${kw} (dilation ${dh}x${dw}, padding ${opts.padding ?? 0})`);
  return { N, Cin, H, W, Cout, G, kh, kw, sh, sw, ph: pads[0], pw: pads[2], dh, dw, Ho, Wo };
}

function checkBias(bias: Tensor | null | undefined, channels: number, op: string): void {
  if (bias && (bias.rank !== 1 || bias.size !== channels)) throw new Error(`${op}: bias [${bias.shape.join(', ')}] should be [${channels}]`);
}

/** y + bias per channel, without autograd (the caller records the bias gradient). */
function addBias(y: Tensor, bias: Tensor | null | undefined, channels: number, op: string): Tensor {
  if (!bias) return y;
  checkBias(bias, channels, op);
  const b = Tensor.view(bias, [channels, 1, 1]);
  const out = noGrad(() => add(y, b));
  b.dispose();
  y.dispose();
  return out;
}

/** The bias gradient: dY summed over batch and pixels. */
const biasGrad = (gy: Tensor): Tensor => sum(gy, [0, 2, 3]);

/**
 * Whether conv2d of these operands, without a tape, adds its bias, residual and ReLU in its kernel's store (Winograd in
 * one chunk, the direct `main`/`main8`, the matmul route in one chunk of groups 1) rather than in passes of their own
 * (depthwise, grouped or chunked products): where a
 * BatchNorm folded into the conv saves its normalise pass (src/nn/conv-norm.ts).
 */
export function conv2dStoresEpilogue(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): boolean {
  const g = convGeometry(x, w, opts, 'conv2d');
  const m = winogradTile(false);
  if (usesWinograd(g, m)) return winogradLayout(g, m).perChunk >= g.N;
  if (usesDirect(g)) return !isDepthwise(forwardShape(g));
  return gemmStoresEpilogue(g);
}

/** 2-D cross-correlation as torch.nn.functional.conv2d: x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], bias [Cout]. */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const g = convGeometry(x, w, opts, 'conv2d');
  checkBias(bias, g.Cout, 'conv2d');
  const b = bias ?? null;
  const groups = opts.normGroups;
  const rowStats = groups && Number.isInteger(groups) && groups > 0 && g.Cout % groups === 0 ? g.Cout / groups : undefined;
  const epi: ConvEpilogue = { residual: opts.residual ?? null, relu: opts.relu === true, rowStats };
  if (epi.residual && epi.residual.shape.join() !== [g.N, g.Cout, g.Ho, g.Wo].join())
    throw new Error(`conv2d: residual [${epi.residual.shape.join(', ')}] should be the output's shape [${[g.N, g.Cout, g.Ho, g.Wo].join(', ')}]`);
  if (hasEpilogue(epi) && willRecord([x, w, b, epi.residual])) {
    // On the tape: the epilogue as ops of its own, whose rules give its gradients.
    const y = conv2d(x, w, bias, { ...opts, residual: null, relu: false });
    const s = epi.residual ? add(y, epi.residual) : y;
    return epi.relu ? relu(s) : s;
  }
  const y = forwardRaw(x, w, g, b, winogradTile(willRecord([x, w, b])), epi);
  return record(y, 'conv2d', b ? [x, w, b] : [x, w], (gy) => [
    x.requiresGrad ? inputGradRaw(gy, w, g) : null,
    w.requiresGrad ? weightGradRaw(x, gy, g) : null,
    b?.requiresGrad ? biasGrad(gy) : null,
  ]);
}

/** Options of {@link convTranspose2d}, as torch.nn.functional.conv_transpose2d's. */
export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/**
 * torch.nn.functional.conv_transpose2d: x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw], bias [Cout] ->
 * [N, Cout, (H-1)s - 2p + d(k-1) + op + 1, ...]. It is the input gradient of the conv it transposes.
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  if (x.rank !== 4) throw new Error(`${op}: input must be [N, C, H, W], got [${x.shape.join(', ')}]`);
  if (w.rank !== 4) throw new Error(`${op}: weight must be [Cin, Cout/groups, kh, kw], got [${w.shape.join(', ')}]`);
  const [N, Cin, H, W] = x.shape as [number, number, number, number];
  const [wCin, cpg, kh, kw] = w.shape as [number, number, number, number];
  const G = opts.groups ?? 1;
  if (wCin !== Cin) throw new Error(`${op}: weight [${w.shape.join(', ')}] expects ${wCin} input channels, input [${x.shape.join(', ')}] has ${Cin}`);
  if (!Number.isInteger(G) || G < 1 || Cin % G !== 0) throw new Error(`${op}: groups ${G} must divide input channels ${Cin}`);
  const [sh, sw] = pair(opts.stride ?? 1, `${op} stride`);
  const [ph, pw] = pair(opts.padding ?? 0, `${op} padding`);
  const [oph, opw] = pair(opts.outputPadding ?? 0, `${op} outputPadding`);
  const [dh, dw] = pair(opts.dilation ?? 1, `${op} dilation`);
  if (oph >= Math.max(sh, dh) || opw >= Math.max(sw, dw)) throw new Error(`${op}: output padding must be smaller than stride or dilation`);
  const Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const Wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  if (Ho < 1 || Wo < 1) throw new Error(`${op}: output would be ${Ho}x${Wo}`);
  // The conv whose input gradient this is: image [N, Cout, Ho, Wo] -> [N, Cin, H, W], weight w as [Cin, Cout/G, kh, kw].
  const g: Geometry = { N, Cin: cpg * G, H: Ho, W: Wo, Cout: Cin, G, kh, kw, sh, sw, ph, pw, dh, dw, Ho: H, Wo: W };
  checkBias(bias, cpg * G, op);
  const b = bias ?? null;
  const y = inputGradRaw(x, w, g, b, winogradTile(willRecord([x, w, b])));
  return record(y, op, b ? [x, w, b] : [x, w], (gy) => [
    x.requiresGrad ? forwardRaw(gy, w, g) : null,
    w.requiresGrad ? weightGradRaw(gy, x, g) : null,
    b?.requiresGrad ? biasGrad(gy) : null,
  ]);
}
