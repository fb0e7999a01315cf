// 2-D pooling of X [planes, H, W] to Y [planes, OH, OW] (planes = N*C): max (with argmax within the plane,
// as f32), average (padding counted or not, ceil-mode windows clipped to H + pad), adaptive average.
// Backward passes gather over the outputs whose window covers an input, so no atomics are needed.
struct Params {
  n: u32, H: u32, W: u32, OH: u32,
  OW: u32, kh: u32, kw: u32, sh: u32,
  sw: u32, ph: u32, pw: u32, dh: u32,
  dw: u32, countPad: u32, planeBase: u32, _p1: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> Idx: array<f32>;
// Backward: G is dY [planes, OH, OW], Idx read-only, DX the result [planes, H, W].
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> I: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;
@group(0) @binding(2) var<storage, read_write> DXA: array<f32>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn max_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let ow = i % P.OW;
  let oh = (i / P.OW) % P.OH;
  let plane = i / (P.OW * P.OH);
  let base = plane * P.H * P.W;
  var best = 0.0;
  var at = 0xffffffffu;
  for (var kh = 0u; kh < P.kh; kh++) {
    let ih = i32(oh * P.sh + kh * P.dh) - i32(P.ph);
    if (ih < 0 || ih >= i32(P.H)) { continue; }
    for (var kw = 0u; kw < P.kw; kw++) {
      let iw = i32(ow * P.sw + kw * P.dw) - i32(P.pw);
      if (iw < 0 || iw >= i32(P.W)) { continue; }
      let k = u32(ih) * P.W + u32(iw);
      let v = X[base + k];
      // As PyTorch: NaN propagates, the first maximum wins ties.
      if (at == 0xffffffffu || v > best || v != v) { best = v; at = k; }
    }
  }
  Y[i] = best;
  Idx[i] = f32(at);
}

// The range of outputs (along one axis) whose window start o * s - p + k * d can reach input x, for k < K.
fn candidates(x: u32, s: u32, p: u32, d: u32, K: u32, O: u32) -> vec2<u32> {
  let top = i32(x + p);
  let lo = max(top - i32((K - 1u) * d), 0);
  let first = u32((lo + i32(s) - 1) / i32(s));
  let last = min(u32(top) / s + 1u, O);
  return vec2<u32>(first, last);
}

// max_bwd's window geometry as constants (a model has one or two max pools), so that `candidates` divides by
// constants: llvmpipe runs a division by a uniform lane by lane, and the flat-index version spent most of its time
// on those (130 ms a step for resnet_50's stem pool at 256).
override KH: u32 = 3u;
override KW: u32 = 3u;
override SH: u32 = 2u;
override SW: u32 = 2u;
override PH: u32 = 1u;
override PW: u32 = 1u;
override DH: u32 = 1u;
override DW: u32 = 1u;
override ROW_WG: u32 = 64u;
// The most windows along each axis that contain one pixel.
override CH: u32 = (KH - 1u) * DH / SH + 1u;
override CW: u32 = (KW - 1u) * DW / SW + 1u;

// One invocation per input pixel: workgroup x a block of ROW_WG columns, y the row, z the plane (from P.planeBase:
// large plane counts are split over dispatches).
@compute @workgroup_size(ROW_WG)
fn max_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let iw = wid.x * ROW_WG + lid;
  if (iw >= P.W) { return; }
  let ih = wid.y;
  let plane = P.planeBase + wid.z;
  let k = f32(ih * P.W + iw);
  let rh = candidates(ih, SH, PH, DH, KH, P.OH);
  let rw = candidates(iw, SW, PW, DW, KW, P.OW);
  // At most CH x CW windows reach a pixel: constant trip counts (unrolled), the ones past the range skipped.
  var acc = 0.0;
  for (var j = 0u; j < CH; j++) {
    let oh = rh.x + j;
    if (oh >= rh.y) { break; }
    let row = (plane * P.OH + oh) * P.OW;
    for (var i = 0u; i < CW; i++) {
      let ow = rw.x + i;
      if (ow < rw.y && I[row + ow] == k) { acc += G[row + ow]; }
    }
  }
  DX[(plane * P.H + ih) * P.W + iw] = acc;
}

// Average-pool window of output (oh, ow): rows [r.x, r.y), cols [r.z, r.w) clipped to the input, and its divisor.
fn avgWindow(oh: u32, ow: u32) -> vec4<i32> {
  let h0 = i32(oh * P.sh) - i32(P.ph);
  let w0 = i32(ow * P.sw) - i32(P.pw);
  let h1 = min(h0 + i32(P.kh), i32(P.H + P.ph));
  let w1 = min(w0 + i32(P.kw), i32(P.W + P.pw));
  return vec4<i32>(h0, h1, w0, w1);
}
fn avgDivisor(r: vec4<i32>) -> f32 {
  if (P.countPad == 1u) { return f32((r.y - r.x) * (r.w - r.z)); }
  let h = min(r.y, i32(P.H)) - max(r.x, 0);
  let w = min(r.w, i32(P.W)) - max(r.z, 0);
  return f32(h * w);
}

@compute @workgroup_size(WG)
fn avg_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let ow = i % P.OW;
  let oh = (i / P.OW) % P.OH;
  let plane = i / (P.OW * P.OH);
  let base = plane * P.H * P.W;
  let r = avgWindow(oh, ow);
  var acc = 0.0;
  for (var ih = max(r.x, 0); ih < min(r.y, i32(P.H)); ih++) {
    for (var iw = max(r.z, 0); iw < min(r.w, i32(P.W)); iw++) { acc += X[base + u32(ih) * P.W + u32(iw)]; }
  }
  Y[i] = acc / avgDivisor(r);
}

@compute @workgroup_size(WG)
fn avg_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let iw = i % P.W;
  let ih = (i / P.W) % P.H;
  let plane = i / (P.W * P.H);
  let rh = candidates(ih, P.sh, P.ph, 1u, P.kh, P.OH);
  let rw = candidates(iw, P.sw, P.pw, 1u, P.kw, P.OW);
  var acc = 0.0;
  for (var oh = rh.x; oh < rh.y; oh++) {
    for (var ow = rw.x; ow < rw.y; ow++) {
      let r = avgWindow(oh, ow);
      if (i32(ih) < r.y && i32(iw) < r.w) { acc += G[(plane * P.OH + oh) * P.OW + ow] / avgDivisor(r); }
    }
  }
  DXA[i] = acc;
}

// Adaptive average: output o along an axis of In -> Out averages [floor(o In / Out), ceil((o + 1) In / Out)).
fn adaptiveRange(o: u32, In: u32, Out: u32) -> vec2<u32> {
  return vec2<u32>((o * In) / Out, ((o + 1u) * In + Out - 1u) / Out);
}

@compute @workgroup_size(WG)
fn adaptive_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let ow = i % P.OW;
  let oh = (i / P.OW) % P.OH;
  let plane = i / (P.OW * P.OH);
  let base = plane * P.H * P.W;
  let rh = adaptiveRange(oh, P.H, P.OH);
  let rw = adaptiveRange(ow, P.W, P.OW);
  var acc = 0.0;
  for (var ih = rh.x; ih < rh.y; ih++) {
    for (var iw = rw.x; iw < rw.y; iw++) { acc += X[base + ih * P.W + iw]; }
  }
  Y[i] = acc / f32((rh.y - rh.x) * (rw.y - rw.x));
}

@compute @workgroup_size(WG)
fn adaptive_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let iw = i % P.W;
  let ih = (i / P.W) % P.H;
  let plane = i / (P.W * P.H);
  // Outputs covering ih: floor(ih Out / In) ..= ceil((ih + 1) Out / In) - 1.
  let h0 = (ih * P.OH) / P.H;
  let h1 = ((ih + 1u) * P.OH + P.H - 1u) / P.H;
  let w0 = (iw * P.OW) / P.W;
  let w1 = ((iw + 1u) * P.OW + P.W - 1u) / P.W;
  var acc = 0.0;
  for (var oh = h0; oh < h1; oh++) {
    let rh = adaptiveRange(oh, P.H, P.OH);
    for (var ow = w0; ow < w1; ow++) {
      let rw = adaptiveRange(ow, P.W, P.OW);
      acc += G[(plane * P.OH + oh) * P.OW + ow] / f32((rh.y - rh.x) * (rw.y - rw.x));
    }
  }
  DXA[i] = acc;
}
