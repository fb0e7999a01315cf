// ROI align with torchvision 0.14's semantics (csrc/ops/cpu/roi_align_kernel.cpp, roi_align_common.h):
// X [N, C, H, W] and ROIs [K, 5] (batch, x1, y1, x2, y2) to Y [K, C, PH, PW], each bin the average of a
// gh x gw grid of bilinear samples. Work per ROI that every channel shares is done once, in `roi_meta`:
// Meta [K, 3] vec4 = (startH, startW, binH, binW), (gh, gw, batch, count), footprint (h0, h1, w0, w1).
// batch is -1 for a ROI whose output is zero (batch index outside [0, N), NaN box area in a multi-scale
// pass) and -2 for a ROI that belongs to another level of a multi-scale pass (its output is left alone).
//
// The forward reads X from a channels-last copy (`channels_last`), 8 channels of a pixel as two vec4s.
// WGSL has no float atomics, so the backward is a gather, one invocation per input pixel and block of 8
// channels, in three steps (counted in src/ops/roi-align.ts): `tables` writes each ROI's separable sample
// weights per axis, Wy [K, PH, H] (already divided by the bin's sample count) and Wx [K, PW, W]; `tiles`
// lists, per T x T tile of each image, the ROIs whose footprint meets it, in ROI order; `backward` sums, for
// its pixel, over the listed ROIs and the bins whose weights reach it, dY * Wy * Wx, with dY read from a
// channels-last copy. The sums run in a fixed order, so the gradient is deterministic.
struct Params {
  n: u32, N: u32, C: u32, H: u32,
  W: u32, PH: u32, PW: u32, K: u32,
  sampling: i32, aligned: u32, level: i32, tile: u32,
  tilesH: u32, tilesW: u32, axis: u32, _p0: u32,
  scale: f32, kMin: f32, kMax: f32, canonicalScale: f32,
  canonicalLevel: f32, eps: f32, _p1: f32, _p2: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
// roi_meta: Rois [K, 5] -> MetaOut.
@group(0) @binding(1) var<storage, read> Rois: array<f32>;
@group(0) @binding(2) var<storage, read_write> MetaOut: array<vec4<f32>>;
// channels_last: X [B, C, S] -> XL [B, S, C8] (C8 = C rounded up to 8, zero-filled), as vec4s.
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> XL: array<vec4<f32>>;
// forward: XC (X channels-last, [N, H, W, C8]), Meta -> Y.
@group(0) @binding(1) var<storage, read> XC: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> Meta: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
// tables and tiles: MetaT -> Tab (Wy or Wx) or List [N * tilesH * tilesW, K + 1] (count, then ROI indices).
@group(0) @binding(1) var<storage, read> MetaT: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Tab: array<f32>;
@group(0) @binding(2) var<storage, read_write> List: array<u32>;
// backward: GC (dY channels-last, [K, PH, PW, C8]), Meta, Wy, Wx, ListR -> DX [N, C, H, W].
@group(0) @binding(1) var<storage, read> GC: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Wy: array<f32>;
@group(0) @binding(4) var<storage, read> Wx: array<f32>;
@group(0) @binding(5) var<storage, read> ListR: array<u32>;
@group(0) @binding(6) var<storage, read_write> DX: array<f32>;
override WG: u32 = 256;
// Blocks of 8 channels (ceil(C / 8)) and PW, as constants so that the hot kernels divide by constants (llvmpipe
// spends a quarter of the forward on divisions by uniforms otherwise); both are fixed for a model's layers.
override BLOCKS: u32 = 1u;
override POOLED_W: u32 = 1u;

// NaN and infinity tested on the bits: WGSL compilers may assume neither occurs in float arithmetic.
fn finite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// torchvision's bilinear_interpolate along one axis for a sample at v on an axis of `size` pixels: the low and
// high pixel and their weights. A sample outside [-1, size] has zero weights (as both of its axes would in
// torchvision, which zeroes the sample if either is out); below 0 it reads pixel 0; from size - 1 on, the last.
struct Tap { lo: u32, hi: u32, wlo: f32, whi: f32 }
fn tap(v0: f32, size: u32) -> Tap {
  if (!(finite(v0) && v0 >= -1.0 && v0 <= f32(size))) { return Tap(0u, 0u, 0.0, 0.0); }
  var v = max(v0, 0.0);
  var lo = u32(v);
  var hi = lo + 1u;
  if (lo >= size - 1u) {
    lo = size - 1u;
    hi = lo;
    v = f32(lo);
  }
  let l = v - f32(lo);
  return Tap(lo, hi, 1.0 - l, l);
}

// Sample `s` of bin `p` on one axis, in torchvision's order of operations.
fn sampleAt(start: f32, bin: f32, p: u32, s: u32, grid: f32) -> f32 {
  return start + f32(p) * bin + (f32(s) + 0.5) * bin / grid;
}

// The sampling grid along one axis: sampling_ratio if positive, else ceil(roi / pooled); 0 when no finite
// positive count results (torchvision then averages no samples and writes 0).
fn gridSize(roi: f32, pooled: u32) -> f32 {
  var g = f32(P.sampling);
  if (P.sampling <= 0) { g = ceil(roi / f32(pooled)); }
  if (!(finite(g) && g >= 1.0)) { return 0.0; }
  return g;
}

// torchvision's LevelMapper for a box in image coordinates: floor(lvl0 + log2(sqrt(area) / s0) + eps)
// clamped to [kMin, kMax], minus kMin; -1 for a negative or NaN area (torchvision leaves those rows zero).
fn levelOf(x1: f32, y1: f32, x2: f32, y2: f32) -> i32 {
  let area = (x2 - x1) * (y2 - y1);
  if (!(area >= 0.0) || !finite(x1) || !finite(y1) || !finite(x2) || !finite(y2)) { return -1; }
  var lv = P.kMin;
  if (area > 0.0) {
    let s = sqrt(area);
    lv = clamp(floor(P.canonicalLevel + log2(s / P.canonicalScale) + P.eps), P.kMin, P.kMax);
  }
  return i32(lv - P.kMin);
}

// Rows (or columns) [first, last] that the samples of a ROI along one axis touch; first > last if none.
fn footprint(start: f32, bin: f32, grid: f32, pooled: u32, size: u32) -> vec2<f32> {
  var first = f32(size);
  var last = -1.0;
  let g = u32(grid);
  for (var p = 0u; p < pooled; p++) {
    for (var s = 0u; s < g; s++) {
      let t = tap(sampleAt(start, bin, p, s, grid), size);
      if (t.wlo != 0.0 || t.whi != 0.0) {
        first = min(first, f32(t.lo));
        last = max(last, f32(t.hi));
      }
    }
  }
  return vec2<f32>(first, last);
}

// roi_meta: one invocation per ROI (P.n = K). P.level >= 0 makes this a pass of a multi-scale align for that level.
@compute @workgroup_size(WG)
fn roi_meta(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = flatIndex(wid, nwg, lid, WG);
  if (k >= P.n) { return; }
  let r = k * 5u;
  let offset = select(0.0, 0.5, P.aligned == 1u);
  let startW = Rois[r + 1u] * P.scale - offset;
  let startH = Rois[r + 2u] * P.scale - offset;
  let endW = Rois[r + 3u] * P.scale - offset;
  let endH = Rois[r + 4u] * P.scale - offset;
  var roiW = endW - startW;
  var roiH = endH - startH;
  if (P.aligned == 0u) {
    // torchvision forces malformed ROIs to 1 x 1 (std::max keeps a NaN, as select does here).
    roiW = select(roiW, 1.0, roiW < 1.0);
    roiH = select(roiH, 1.0, roiH < 1.0);
  }
  let binH = roiH / f32(P.PH);
  let binW = roiW / f32(P.PW);
  let gh = gridSize(roiH, P.PH);
  let gw = gridSize(roiW, P.PW);
  // (int) of the batch column truncates toward zero, as i32() does.
  let b0 = Rois[r];
  var batch = -1.0;
  if (finite(b0) && b0 > -1.0 && b0 < f32(P.N)) { batch = f32(i32(b0)); }
  if (P.level >= 0) {
    let lv = levelOf(Rois[r + 1u], Rois[r + 2u], Rois[r + 3u], Rois[r + 4u]);
    // A ROI with no level is written as zeros by the pass of level 0.
    if (lv < 0) { batch = select(-2.0, -1.0, P.level == 0); }
    else if (lv != P.level) { batch = -2.0; }
  }
  let fh = footprint(startH, binH, gh, P.PH, P.H);
  let fw = footprint(startW, binW, gw, P.PW, P.W);
  MetaOut[k * 3u] = vec4<f32>(startH, startW, binH, binW);
  MetaOut[k * 3u + 1u] = vec4<f32>(gh, gw, batch, max(gh * gw, 1.0));
  MetaOut[k * 3u + 2u] = vec4<f32>(fh.x, fh.y, fw.x, fw.y);
}

// One invocation per vec4 of XL (P.n = B * S * C8 / 4; P.C = C, P.W = S): channels 4q .. 4q + 3 of one position.
@compute @workgroup_size(WG)
fn channels_last(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let quads = (P.C + 7u) / 8u * 2u;
  let q = i % quads;
  let s = (i / quads) % P.W;
  let b = i / (quads * P.W);
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    let c = q * 4u + j;
    if (c < P.C) { v[j] = X[(b * P.C + c) * P.W + s]; }
  }
  XL[i] = v;
}

// `forward` and `backward` work on blocks of 8 channels (two vec4s of the channels-last copies): the channels
// share a bin's sample positions and weights (or a pixel's ROI list and weights), which are worked out once.
// Neighbouring invocations take neighbouring channel blocks of one bin (or pixel): their control flow is the
// same and their loads are contiguous (no SIMD lane waits on another's ROIs; a GPU's loads coalesce).
// One invocation per (ROI, bin, block of 8 channels): grid x covers a ROI's PH * PW * BLOCKS, y and z the ROIs
// (k = z * 65535 + y).
@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x * WG + lid;
  let k = wid.z * 65535u + wid.y;
  let blocks = BLOCKS;
  let cb = i % blocks;
  let pw = (i / blocks) % POOLED_W;
  let ph = i / (blocks * POOLED_W);
  if (ph >= P.PH || k >= P.K) { return; }
  let m0 = Meta[k * 3u];
  let m1 = Meta[k * 3u + 1u];
  if (m1.z == -2.0) { return; }
  var lo = vec4<f32>(0.0);
  var hi = vec4<f32>(0.0);
  if (m1.z >= 0.0) {
    // vec4 index of pixel p's block: (image * H * W + p) * 2 * blocks + 2 * cb.
    let stride = 2u * blocks;
    let base = u32(m1.z) * P.H * P.W * stride + 2u * cb;
    let gh = u32(m1.x);
    let gw = u32(m1.y);
    for (var iy = 0u; iy < gh; iy++) {
      let ty = tap(sampleAt(m0.x, m0.z, ph, iy, m1.x), P.H);
      for (var ix = 0u; ix < gw; ix++) {
        let tx = tap(sampleAt(m0.y, m0.w, pw, ix, m1.y), P.W);
        let o = base + vec4<u32>(ty.lo * P.W + tx.lo, ty.lo * P.W + tx.hi, ty.hi * P.W + tx.lo, ty.hi * P.W + tx.hi) * stride;
        let w = vec4<f32>(ty.wlo * tx.wlo, ty.wlo * tx.whi, ty.whi * tx.wlo, ty.whi * tx.whi);
        lo += w.x * XC[o.x] + w.y * XC[o.y] + w.z * XC[o.z] + w.w * XC[o.w];
        hi += w.x * XC[o.x + 1u] + w.y * XC[o.y + 1u] + w.z * XC[o.z + 1u] + w.w * XC[o.w + 1u];
      }
    }
  }
  let bins = P.PH * P.PW;
  let c0 = cb * 8u;
  let out = (k * P.C + c0) * bins + ph * P.PW + pw;
  let v = array<vec4<f32>, 2>(lo / m1.w, hi / m1.w);
  for (var j = 0u; j < 8u; j++) {
    if (c0 + j < P.C) { Y[out + j * bins] = v[j / 4u][j % 4u]; }
  }
}

// One invocation per (ROI, bin, pixel) of one axis (P.axis 0: Wy [K, PH, H]; 1: Wx [K, PW, W]): the summed
// weights of the bin's samples on that pixel; Wy is divided by the bin's sample count.
@compute @workgroup_size(WG)
fn tables(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let y = P.axis == 0u;
  let size = select(P.W, P.H, y);
  let pooled = select(P.PW, P.PH, y);
  let px = i % size;
  let p = (i / size) % pooled;
  let k = i / (size * pooled);
  let m0 = MetaT[k * 3u];
  let m1 = MetaT[k * 3u + 1u];
  let f = MetaT[k * 3u + 2u];
  let range = select(f.zw, f.xy, y);
  if (m1.z < 0.0 || f32(px) < range.x || f32(px) > range.y) {
    Tab[i] = 0.0;
    return;
  }
  let start = select(m0.y, m0.x, y);
  let bin = select(m0.w, m0.z, y);
  let grid = select(m1.y, m1.x, y);
  var acc = 0.0;
  for (var s = 0u; s < u32(grid); s++) {
    let t = tap(sampleAt(start, bin, p, s, grid), size);
    if (t.lo == px) { acc += t.wlo; }
    if (t.hi == px) { acc += t.whi; }
  }
  Tab[i] = select(acc, acc / m1.w, y);
}

// One invocation per tile (P.n = N * tilesH * tilesW): the ROIs of its image whose footprint meets it, in order.
@compute @workgroup_size(WG)
fn tiles(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = flatIndex(wid, nwg, lid, WG);
  if (t >= P.n) { return; }
  let tx = t % P.tilesW;
  let ty = (t / P.tilesW) % P.tilesH;
  let b = f32(t / (P.tilesW * P.tilesH));
  let h0 = f32(ty * P.tile);
  let h1 = f32(min((ty + 1u) * P.tile, P.H) - 1u);
  let w0 = f32(tx * P.tile);
  let w1 = f32(min((tx + 1u) * P.tile, P.W) - 1u);
  let base = t * (P.K + 1u);
  var count = 0u;
  for (var k = 0u; k < P.K; k++) {
    let f = MetaT[k * 3u + 2u];
    if (MetaT[k * 3u + 1u].z == b && f.x <= h1 && f.y >= h0 && f.z <= w1 && f.w >= w0) {
      count++;
      List[base + count] = k;
    }
  }
  List[base] = count;
}

// One invocation per (image, pixel, block of 8 channels): grid x covers a row's W * BLOCKS, y the rows, z the images.
@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x * WG + lid;
  let h = wid.y;
  let b = wid.z;
  let blocks = BLOCKS;
  let c0 = (i % blocks) * 8u;
  let w = i / blocks;
  if (w >= P.W) { return; }
  let base = ((b * P.tilesH + h / P.tile) * P.tilesW + w / P.tile) * (P.K + 1u);
  let count = ListR[base];
  let fh = f32(h);
  let fw = f32(w);
  let bins = P.PH * P.PW;
  let stride = 2u * blocks;
  var lo = vec4<f32>(0.0);
  var hi = vec4<f32>(0.0);
  for (var j = 1u; j <= count; j++) {
    let k = ListR[base + j];
    let f = Meta[k * 3u + 2u];
    if (fh < f.x || fh > f.y || fw < f.z || fw > f.w) { continue; }
    for (var ph = 0u; ph < P.PH; ph++) {
      let wy = Wy[(k * P.PH + ph) * P.H + h];
      if (wy == 0.0) { continue; }
      for (var pw = 0u; pw < P.PW; pw++) {
        let wx = Wx[(k * P.PW + pw) * P.W + w];
        if (wx == 0.0) { continue; }
        let weight = wy * wx;
        let g = (k * bins + ph * P.PW + pw) * stride + c0 / 4u;
        lo += weight * GC[g];
        hi += weight * GC[g + 1u];
      }
    }
  }
  let plane = P.H * P.W;
  let out = (b * P.C + c0) * plane + h * P.W + w;
  let v = array<vec4<f32>, 2>(lo, hi);
  for (var j = 0u; j < 8u; j++) {
    if (c0 + j < P.C) { DX[out + j * plane] = v[j / 4u][j % 4u]; }
  }
}
