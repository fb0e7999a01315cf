enable subgroups;
// Direct conv2d: X [N, G*CI, H, W] (*) Wt -> Y [N, G*CO, Ho, Wo], kernel KH x KW, stride SH x SW, dilation DH x DW.
// Shaped for lavapipe, where 8 invocations are the 8 SIMD lanes and every storage load in a loop is a per-lane
// gather (see kernels/_matmul.wgsl): a workgroup is 8 lanes = one subgroup computing 16 output channels x an 8 x 4
// pixel tile. Lane L owns 4 consecutive pixels of one output row (ow0 = 8tx + 4(L & 1), oh = 4ty + L / 2) and
// keeps 16 x vec4 accumulators. For each input channel and kernel row:
//   - the lane gathers the input row segment its 4 pixels' KW taps cover once (SEG = 3 SW + (KW - 1) DW + 1 values,
//     6 for 3x3 stride 1), or 4 values per tap where that is fewer loads;
//   - lane L gathers the KW weights of output channels co0 + L and co0 + 8 + L; subgroupBroadcast hands each
//     channel's weight to all lanes.
// So per (ci, i): SEG + 2 KW gathers for 64 KW FMAs per lane. No workgroup memory, no barriers.
// FLIP reads the weight as the input gradient of a conv needs it: Wt(g, co, ci, i, j) = W[g*CI + ci, co, KH-1-i, KW-1-j]
// (W stored [G*CI, CO, KH, KW]); otherwise Wt = W[g*CO + co, ci, i, j] (W stored [G*CO, CI, KH, KW]).
// BIAS adds Bias[g*CO + co]; `main` and `main8` then add the residual Res (RES, same shape as Y; callers bind X
// otherwise) and clamp at 0 (RELU): a conv with a folded BatchNorm ends a block in its own store (src/nn/conv-norm.ts).
// zBase: first N*G index of this dispatch. Needs subgroups of at least 8 lanes.
// Entry points (src/ops/conv.ts picks): main (above), main8 (8 pixels per lane), transposed (strided input
// gradients / convTranspose2d, per output phase), depthwise (groups = channels).
struct Params {
  CI: u32, H: u32, W: u32, CO: u32,
  Ho: u32, Wo: u32, ph: u32, pw: u32,
  G: u32, tilesW: u32, zBase: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
// X as vec4s (storage buffers are allocated in 256-byte steps: the whole buffer is whole vec4s); xAt reads one float.
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> Wt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
override KH: u32 = 3u;
override KW: u32 = 3u;
override SH: u32 = 1u;
override SW: u32 = 1u;
override DH: u32 = 1u;
override DW: u32 = 1u;
override FLIP: bool = false;
override BIAS: bool = false;
override RES: bool = false;
override RELU: bool = false;
// RV (RES, Wo % 4 == 0): a lane's 4 consecutive output pixels of the residual are one aligned vec4 (one gather, not 4).
override RV: bool = false;
@group(0) @binding(5) var<storage, read> Res4: array<vec4<f32>>;

// The residual at Y offsets o .. o + 3 (values past the row's end are never stored).
fn res4(o: u32) -> vec4<f32> {
  if (RV) { return Res4[o >> 2u]; }
  return vec4<f32>(Res4[o >> 2u][o & 3u], Res4[(o + 1u) >> 2u][(o + 1u) & 3u], Res4[(o + 2u) >> 2u][(o + 2u) & 3u], Res4[(o + 3u) >> 2u][(o + 3u) & 3u]);
}

// The store's epilogue of main and main8 for 4 pixels at Y offset o: act(v + residual).
fn epilogue4(v: vec4<f32>, o: u32) -> vec4<f32> {
  var y = v;
  if (RES) { y += res4(o); }
  if (RELU) { y = max(y, vec4<f32>(0.0)); }
  return y;
}

// The 16 output channels' biases of a workgroup: lane L gathers those of co0 + L and co0 + 8 + L (coA, coB), and
// subgroupBroadcast hands them out (a gather a lane per channel was 16). Before any lane returns.
fn biases16(g: u32, coA: u32, coB: u32) -> array<f32, 16> {
  var b: array<f32, 16>;
  if (BIAS) {
    let lo = Bias[g * P.CO + coA];
    let hi = Bias[g * P.CO + coB];
    b = array<f32, 16>(subgroupBroadcast(lo, 0u), subgroupBroadcast(lo, 1u), subgroupBroadcast(lo, 2u), subgroupBroadcast(lo, 3u),
                       subgroupBroadcast(lo, 4u), subgroupBroadcast(lo, 5u), subgroupBroadcast(lo, 6u), subgroupBroadcast(lo, 7u),
                       subgroupBroadcast(hi, 0u), subgroupBroadcast(hi, 1u), subgroupBroadcast(hi, 2u), subgroupBroadcast(hi, 3u),
                       subgroupBroadcast(hi, 4u), subgroupBroadcast(hi, 5u), subgroupBroadcast(hi, 6u), subgroupBroadcast(hi, 7u));
  }
  return b;
}
// Input values a lane's 4 pixels touch in one kernel row; gathered once when it fits the 16-value buffer and
// saves loads, else per tap.
override SEG: u32 = 3u * SW + (KW - 1u) * DW + 1u;
override USE_SEG: bool = SEG <= 16u && SEG < 4u * KW;
// XV (W % 4 == 0, PW = pw <= 4, 4 - PW + SEG <= 16): the segment comes from aligned vec4 loads of the window of
// columns SW*ow0 - 4 .. SW*ow0 + 11 (each vec4 all inside or all outside the row; the first skipped when PW == 0),
// NV of them: fewer per-lane load sequences than SEG scalar gathers (3 instead of 6 for 3x3 stride 1, 4 for 13 in
// the 7x7 stride-2 stem).
override XV: bool = false;
override PW: u32 = 0u;
override NV: u32 = (4u - PW + SEG + 3u) / 4u;

fn xAt(i: u32) -> f32 {
  return X[i >> 2u][i & 3u];
}

fn wAt(i: u32) -> f32 {
  return Wt[i >> 2u][i & 3u];
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let z = P.zBase + wid.z;
  let g = z % P.G;
  let tx = wid.x % P.tilesW;
  let ty = wid.x / P.tilesW;
  let oh = ty * 4u + (lane >> 1u);
  let ow0 = tx * 8u + (lane & 1u) * 4u;
  let co0 = wid.y * 16u;
  let H = i32(P.H);
  let Wd = i32(P.W);
  let h0 = i32(oh * SH) - i32(P.ph);
  let w0 = i32(ow0 * SW) - i32(P.pw);
  let plane = P.H * P.W;
  let KK = KH * KW;

  // Weight offsets of this lane's two output channels (clamped to the last) and the step per input channel.
  let coA = min(co0 + lane, P.CO - 1u);
  let coB = min(co0 + 8u + lane, P.CO - 1u);
  var wA: u32;
  var wB: u32;
  var ciStep: u32;
  if (FLIP) {
    wA = (g * P.CI * P.CO + coA) * KK;
    wB = (g * P.CI * P.CO + coB) * KK;
    ciStep = P.CO * KK;
  } else {
    wA = (g * P.CO + coA) * P.CI * KK;
    wB = (g * P.CO + coB) * P.CI * KK;
    ciStep = KK;
  }

  var lo: array<vec4<f32>, 8>; // output channels co0 .. co0 + 7
  var hi: array<vec4<f32>, 8>; // co0 + 8 .. co0 + 15
  var xBase = z * P.CI * plane;
  for (var ci = 0u; ci < P.CI; ci++) {
    for (var i = 0u; i < KH; i++) {
      let h = h0 + i32(i * DH);
      // This lane's channels' KW weights of kernel row i (FLIP: row KH-1-i, reversed).
      var wa: array<f32, 16>;
      var wb: array<f32, 16>;
      for (var j = 0u; j < KW; j++) {
        var tap = i * KW + j;
        if (FLIP) { tap = KK - 1u - tap; }
        wa[j] = wAt(wA + tap);
        wb[j] = wAt(wB + tap);
      }
      kernelRow(&lo, &hi, xBase + u32(clamp(h, 0, H - 1)) * P.W, h >= 0 && h < H, ow0, w0, wa, wb);
    }
    xBase += plane;
    wA += ciStep;
    wB += ciStep;
  }

  let bias = biases16(g, coA, coB);
  if (oh >= P.Ho) { return; }
  let outPlane = P.Ho * P.Wo;
  for (var r = 0u; r < 16u; r++) {
    let co = co0 + r;
    if (co >= P.CO) { break; }
    var v: vec4<f32>;
    if (r < 8u) { v = lo[r]; } else { v = hi[r - 8u]; }
    let o = (z * P.CO + co) * outPlane + oh * P.Wo + ow0;
    v = epilogue4(v + vec4<f32>(bias[r]), o);
    for (var q = 0u; q < 4u; q++) {
      if (ow0 + q < P.Wo) { Y[o + q] = v[q]; }
    }
  }
}

// The input row segment a lane's 4 output pixels' taps cover (rowBase: the row's offset; rowOk: inside the image;
// w0: the column of the first), zero outside the image; unused when neither XV nor USE_SEG.
fn loadSeg(rowBase: u32, rowOk: bool, ow0: u32, w0: i32) -> array<f32, 16> {
  let Wd = i32(P.W);
  var seg: array<f32, 16>;
  if (XV) {
    var cols: array<f32, 16>;
    for (var v = select(1u, 0u, PW > 0u); v < NV; v++) {
      let c = i32(ow0 * SW + 4u * v) - 4;
      let q = select(vec4<f32>(0.0), X[(rowBase + u32(clamp(c, 0, Wd - 4))) >> 2u], rowOk && c >= 0 && c < Wd);
      cols[4u * v] = q.x;
      cols[4u * v + 1u] = q.y;
      cols[4u * v + 2u] = q.z;
      cols[4u * v + 3u] = q.w;
    }
    for (var t = 0u; t < SEG; t++) { seg[t] = cols[t + 4u - PW]; }
  } else if (USE_SEG) {
    for (var t = 0u; t < SEG; t++) {
      let w = w0 + i32(t);
      seg[t] = select(0.0, xAt(rowBase + u32(clamp(w, 0, Wd - 1))), rowOk && w >= 0 && w < Wd);
    }
  }
  return seg;
}

// Tap j's 4 input values for a lane's 4 pixels: from the segment, or gathered.
fn tapValues(seg: array<f32, 16>, j: u32, rowBase: u32, rowOk: bool, w0: i32) -> vec4<f32> {
  if (USE_SEG || XV) {
    return vec4<f32>(seg[j * DW], seg[j * DW + SW], seg[j * DW + 2u * SW], seg[j * DW + 3u * SW]);
  }
  let Wd = i32(P.W);
  var b: vec4<f32>;
  for (var q = 0u; q < 4u; q++) {
    let w = w0 + i32(j * DW + q * SW);
    b[q] = select(0.0, xAt(rowBase + u32(clamp(w, 0, Wd - 1))), rowOk && w >= 0 && w < Wd);
  }
  return b;
}

// One kernel row of one input channel: the input row segment (rowBase: the row's offset; rowOk: inside the image),
// then KW taps with this lane's weights wa (channel co0 + lane) and wb (co0 + 8 + lane).
fn kernelRow(lo: ptr<function, array<vec4<f32>, 8>>, hi: ptr<function, array<vec4<f32>, 8>>, rowBase: u32, rowOk: bool, ow0: u32, w0: i32, wa: array<f32, 16>, wb: array<f32, 16>) {
  let Wd = i32(P.W);
  let seg = loadSeg(rowBase, rowOk, ow0, w0);
  for (var j = 0u; j < KW; j++) {
    fma16(lo, hi, wa[j], wb[j], tapValues(seg, j, rowBase, rowOk, w0));
  }
}

// lo[r] += Wt(co0 + r) * b and hi[r] += Wt(co0 + 8 + r) * b, where lane r holds those weights in a and c.
fn fma16(lo: ptr<function, array<vec4<f32>, 8>>, hi: ptr<function, array<vec4<f32>, 8>>, a: f32, c: f32, b: vec4<f32>) {
  (*lo)[0] = fma(vec4<f32>(subgroupBroadcast(a, 0u)), b, (*lo)[0]); (*hi)[0] = fma(vec4<f32>(subgroupBroadcast(c, 0u)), b, (*hi)[0]);
  (*lo)[1] = fma(vec4<f32>(subgroupBroadcast(a, 1u)), b, (*lo)[1]); (*hi)[1] = fma(vec4<f32>(subgroupBroadcast(c, 1u)), b, (*hi)[1]);
  (*lo)[2] = fma(vec4<f32>(subgroupBroadcast(a, 2u)), b, (*lo)[2]); (*hi)[2] = fma(vec4<f32>(subgroupBroadcast(c, 2u)), b, (*hi)[2]);
  (*lo)[3] = fma(vec4<f32>(subgroupBroadcast(a, 3u)), b, (*lo)[3]); (*hi)[3] = fma(vec4<f32>(subgroupBroadcast(c, 3u)), b, (*hi)[3]);
  (*lo)[4] = fma(vec4<f32>(subgroupBroadcast(a, 4u)), b, (*lo)[4]); (*hi)[4] = fma(vec4<f32>(subgroupBroadcast(c, 4u)), b, (*hi)[4]);
  (*lo)[5] = fma(vec4<f32>(subgroupBroadcast(a, 5u)), b, (*lo)[5]); (*hi)[5] = fma(vec4<f32>(subgroupBroadcast(c, 5u)), b, (*hi)[5]);
  (*lo)[6] = fma(vec4<f32>(subgroupBroadcast(a, 6u)), b, (*lo)[6]); (*hi)[6] = fma(vec4<f32>(subgroupBroadcast(c, 6u)), b, (*hi)[6]);
  (*lo)[7] = fma(vec4<f32>(subgroupBroadcast(a, 7u)), b, (*lo)[7]); (*hi)[7] = fma(vec4<f32>(subgroupBroadcast(c, 7u)), b, (*hi)[7]);
}

// Transposed conv (a strided conv's input gradient; convTranspose2d's forward): Y [N, G*CO, Ho, Wo] with
//   Y[h, w] = sum over ci, i, j with (h + ph - i DH) and (w + pw - j DW) divisible by SH, SW of
//             X[g*CI + ci, (h + ph - i DH) / SH, (w + pw - j DW) / SW] * W[g*CI + ci, co, i, j]   (W [G*CI, CO, KH, KW]).
// Split by output phase (h % SH, w % SW): within a phase the taps that contribute are fixed (a workgroup-uniform
// test) and a lane's 4 outputs w = b + SW (u0 + q) read 4 consecutive X values per tap. Grid x = phases x tiles of
// 8 x 4 phase positions (tilesW across ceil(Wo / SW)).
@compute @workgroup_size(8)
fn transposed(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let z = P.zBase + wid.z;
  let g = z % P.G;
  let phase = wid.x % (SH * SW);
  let tile = wid.x / (SH * SW);
  let pa = phase / SW;
  let pb = phase % SW;
  let t = (tile / P.tilesW) * 4u + (lane >> 1u);
  let u0 = (tile % P.tilesW) * 8u + (lane & 1u) * 4u;
  let co0 = wid.y * 16u;
  let H = i32(P.H);
  let Wd = i32(P.W);
  let plane = P.H * P.W;
  let KK = KH * KW;
  let coA = min(co0 + lane, P.CO - 1u);
  let coB = min(co0 + 8u + lane, P.CO - 1u);
  var wA = (g * P.CI * P.CO + coA) * KK;
  var wB = (g * P.CI * P.CO + coB) * KK;
  let ciStep = P.CO * KK;

  var lo: array<vec4<f32>, 8>;
  var hi: array<vec4<f32>, 8>;
  var xBase = z * P.CI * plane;
  for (var ci = 0u; ci < P.CI; ci++) {
    for (var i = 0u; i < KH; i++) {
      let nh = i32(pa + P.ph) - i32(i * DH);
      if (nh % i32(SH) != 0) { continue; }
      let h = i32(t) + nh / i32(SH);
      let rowOk = h >= 0 && h < H;
      let rowBase = xBase + u32(clamp(h, 0, H - 1)) * P.W;
      for (var j = 0u; j < KW; j++) {
        let nw = i32(pb + P.pw) - i32(j * DW);
        if (nw % i32(SW) != 0) { continue; }
        let w0 = i32(u0) + nw / i32(SW);
        var b: vec4<f32>;
        for (var q = 0u; q < 4u; q++) {
          let w = w0 + i32(q);
          b[q] = select(0.0, xAt(rowBase + u32(clamp(w, 0, Wd - 1))), rowOk && w >= 0 && w < Wd);
        }
        let tap = i * KW + j;
        fma16(&lo, &hi, wAt(wA + tap), wAt(wB + tap), b);
      }
    }
    xBase += plane;
    wA += ciStep;
    wB += ciStep;
  }

  let h = pa + SH * t;
  if (h >= P.Ho) { return; }
  for (var r = 0u; r < 16u; r++) {
    let co = co0 + r;
    if (co >= P.CO) { break; }
    var v: vec4<f32>;
    if (r < 8u) { v = lo[r]; } else { v = hi[r - 8u]; }
    if (BIAS) { v += vec4<f32>(Bias[g * P.CO + co]); }
    let o = (z * P.CO + co) * P.Ho * P.Wo + h * P.Wo;
    for (var q = 0u; q < 4u; q++) {
      let w = pb + SW * (u0 + q);
      if (w < P.Wo) { Y[o + w] = v[q]; }
    }
  }
}

// Depthwise conv (groups = channels C = P.G, one input and one output channel per group; KH*KW <= 25): a workgroup
// computes 16 channels c0 .. c0 + 15 of one image on an 8 x 4 pixel tile, one channel at a time (one vec4
// accumulator). Lane L first loads the KK weights of channels c0 + L and c0 + 8 + L; subgroupShuffle hands channel
// r's weights to all lanes. Per channel and kernel row: the row segment (NV vec4 or SEG scalar gathers) and KW FMAs.
// FLIP rotates the taps (the input gradient of a stride-1 depthwise conv). Grid: (tiles, ceil(C / 16), N).
@compute @workgroup_size(8)
fn depthwise(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let n = P.zBase + wid.z;
  let C = P.G;
  let c0 = wid.y * 16u;
  let oh = (wid.x / P.tilesW) * 4u + (lane >> 1u);
  let ow0 = (wid.x % P.tilesW) * 8u + (lane & 1u) * 4u;
  let H = i32(P.H);
  let h0 = i32(oh * SH) - i32(P.ph);
  let w0 = i32(ow0 * SW) - i32(P.pw);
  let plane = P.H * P.W;
  let KK = KH * KW;
  let cA = min(c0 + lane, C - 1u);
  let cB = min(c0 + 8u + lane, C - 1u);
  var wa: array<f32, 25>;
  var wb: array<f32, 25>;
  for (var t = 0u; t < KK; t++) {
    var tap = t;
    if (FLIP) { tap = KK - 1u - t; }
    wa[t] = wAt(cA * KK + tap);
    wb[t] = wAt(cB * KK + tap);
  }
  let outPlane = P.Ho * P.Wo;
  for (var r = 0u; r < 16u; r++) {
    let c = min(c0 + r, C - 1u);
    let xBase = (n * C + c) * plane;
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < KH; i++) {
      let h = h0 + i32(i * DH);
      let rowOk = h >= 0 && h < H;
      let rowBase = xBase + u32(clamp(h, 0, H - 1)) * P.W;
      let seg = loadSeg(rowBase, rowOk, ow0, w0);
      for (var j = 0u; j < KW; j++) {
        let t = i * KW + j;
        var wv: f32;
        if (r < 8u) { wv = subgroupShuffle(wa[t], r); } else { wv = subgroupShuffle(wb[t], r - 8u); }
        acc = fma(vec4<f32>(wv), tapValues(seg, j, rowBase, rowOk, w0), acc);
      }
    }
    if (BIAS) { acc += vec4<f32>(Bias[c]); }
    if (oh < P.Ho && c0 + r < C) {
      let o = (n * C + c) * outPlane + oh * P.Wo + ow0;
      for (var q = 0u; q < 4u; q++) {
        if (ow0 + q < P.Wo) { Y[o + q] = acc[q]; }
      }
    }
  }
}

// `main` with 8 pixels per lane (XV only): lane L owns pixels ow0 .. ow0 + 7 of output row 8ty + L (tile 8 x 8), so
// one segment of SEG8 values (from NV8 aligned vec4 loads) and the 2 KW weight gathers feed twice the FMAs;
// 32 vec4 accumulators per lane.
override SEG8: u32 = 7u * SW + (KW - 1u) * DW + 1u;
override NV8: u32 = (4u - PW + SEG8 + 3u) / 4u;

@compute @workgroup_size(8)
fn main8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let z = P.zBase + wid.z;
  let g = z % P.G;
  let oh = (wid.x / P.tilesW) * 8u + lane;
  let ow0 = (wid.x % P.tilesW) * 8u;
  let co0 = wid.y * 16u;
  let H = i32(P.H);
  let Wd = i32(P.W);
  let h0 = i32(oh * SH) - i32(P.ph);
  let plane = P.H * P.W;
  let KK = KH * KW;
  let coA = min(co0 + lane, P.CO - 1u);
  let coB = min(co0 + 8u + lane, P.CO - 1u);
  var wA: u32;
  var wB: u32;
  var ciStep: u32;
  if (FLIP) {
    wA = (g * P.CI * P.CO + coA) * KK;
    wB = (g * P.CI * P.CO + coB) * KK;
    ciStep = P.CO * KK;
  } else {
    wA = (g * P.CO + coA) * P.CI * KK;
    wB = (g * P.CO + coB) * P.CI * KK;
    ciStep = KK;
  }

  var lo0: array<vec4<f32>, 8>;
  var hi0: array<vec4<f32>, 8>;
  var lo1: array<vec4<f32>, 8>;
  var hi1: array<vec4<f32>, 8>;
  var xBase = z * P.CI * plane;
  for (var ci = 0u; ci < P.CI; ci++) {
    for (var i = 0u; i < KH; i++) {
      let h = h0 + i32(i * DH);
      let rowOk = h >= 0 && h < H;
      let rowBase = xBase + u32(clamp(h, 0, H - 1)) * P.W;
      var cols: array<f32, 24>;
      for (var v = select(1u, 0u, PW > 0u); v < NV8; v++) {
        let c = i32(ow0 * SW + 4u * v) - 4;
        let q = select(vec4<f32>(0.0), X[(rowBase + u32(clamp(c, 0, Wd - 4))) >> 2u], rowOk && c >= 0 && c < Wd);
        cols[4u * v] = q.x;
        cols[4u * v + 1u] = q.y;
        cols[4u * v + 2u] = q.z;
        cols[4u * v + 3u] = q.w;
      }
      var wa: array<f32, 16>;
      var wb: array<f32, 16>;
      for (var j = 0u; j < KW; j++) {
        var tap = i * KW + j;
        if (FLIP) { tap = KK - 1u - tap; }
        wa[j] = wAt(wA + tap);
        wb[j] = wAt(wB + tap);
      }
      for (var j = 0u; j < KW; j++) {
        let s = j * DW + 4u - PW;
        let b0 = vec4<f32>(cols[s], cols[s + SW], cols[s + 2u * SW], cols[s + 3u * SW]);
        let b1 = vec4<f32>(cols[s + 4u * SW], cols[s + 5u * SW], cols[s + 6u * SW], cols[s + 7u * SW]);
        fma32(&lo0, &hi0, &lo1, &hi1, wa[j], wb[j], b0, b1);
      }
    }
    xBase += plane;
    wA += ciStep;
    wB += ciStep;
  }

  let bias = biases16(g, coA, coB);
  if (oh >= P.Ho) { return; }
  let outPlane = P.Ho * P.Wo;
  for (var r = 0u; r < 16u; r++) {
    let co = co0 + r;
    if (co >= P.CO) { break; }
    var v0: vec4<f32>;
    var v1: vec4<f32>;
    if (r < 8u) { v0 = lo0[r]; v1 = lo1[r]; } else { v0 = hi0[r - 8u]; v1 = hi1[r - 8u]; }
    let o = (z * P.CO + co) * outPlane + oh * P.Wo + ow0;
    v0 = epilogue4(v0 + vec4<f32>(bias[r]), o);
    v1 = epilogue4(v1 + vec4<f32>(bias[r]), o + 4u);
    for (var q = 0u; q < 4u; q++) {
      if (ow0 + q < P.Wo) { Y[o + q] = v0[q]; }
      if (ow0 + 4u + q < P.Wo) { Y[o + 4u + q] = v1[q]; }
    }
  }
}

// fma16 for two pixel quads sharing the broadcast weights.
fn fma32(lo0: ptr<function, array<vec4<f32>, 8>>, hi0: ptr<function, array<vec4<f32>, 8>>, lo1: ptr<function, array<vec4<f32>, 8>>, hi1: ptr<function, array<vec4<f32>, 8>>, a: f32, c: f32, b0: vec4<f32>, b1: vec4<f32>) {
  let A = array<f32, 8>(subgroupBroadcast(a, 0u), subgroupBroadcast(a, 1u), subgroupBroadcast(a, 2u), subgroupBroadcast(a, 3u),
                        subgroupBroadcast(a, 4u), subgroupBroadcast(a, 5u), subgroupBroadcast(a, 6u), subgroupBroadcast(a, 7u));
  let C = array<f32, 8>(subgroupBroadcast(c, 0u), subgroupBroadcast(c, 1u), subgroupBroadcast(c, 2u), subgroupBroadcast(c, 3u),
                        subgroupBroadcast(c, 4u), subgroupBroadcast(c, 5u), subgroupBroadcast(c, 6u), subgroupBroadcast(c, 7u));
  for (var r = 0u; r < 8u; r++) {
    (*lo0)[r] = fma(vec4<f32>(A[r]), b0, (*lo0)[r]);
    (*lo1)[r] = fma(vec4<f32>(A[r]), b1, (*lo1)[r]);
    (*hi0)[r] = fma(vec4<f32>(C[r]), b0, (*hi0)[r]);
    (*hi1)[r] = fma(vec4<f32>(C[r]), b1, (*hi1)[r]);
  }
}
