// Reduction of X viewed as [outer, K, inner] over K: Y[o * inner + i] = scale * reduce_k X[(o * K + k) * inner + i].
// op 0 sum, 1 max, 2 min, 3 argmax, 4 argmin (index as f32; the first index wins ties, as in PyTorch).
// `wide`: one workgroup per output, for long K. `narrow`: one invocation per output, for short K.
struct Params { outer: u32, K: u32, inner: u32, op: u32, scale: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
const WG: u32 = 64u;

var<workgroup> vals: array<f32, WG>;
var<workgroup> idxs: array<u32, WG>;

const NONE = 0xffffffffu;

// Whether candidate (v, i) replaces the current (cv, ci) for max/min; NaN wins as in PyTorch, then the lower index.
fn better(v: f32, i: u32, cv: f32, ci: u32) -> bool {
  if (ci == NONE) { return i != NONE; }
  if (i == NONE) { return false; }
  if (v != v) { return cv == cv || i < ci; }
  if (cv != cv) { return false; }
  switch P.op {
    case 1u, 3u: { return v > cv || (v == cv && i < ci); }
    default: { return v < cv || (v == cv && i < ci); }
  }
}

fn finish(v: f32, i: u32) -> f32 {
  switch P.op {
    case 0u: { return v * P.scale; }
    case 3u, 4u: { return f32(i); }
    default: { return v; }
  }
}

@compute @workgroup_size(WG)
fn wide(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let out = wid.y * nwg.x + wid.x;
  if (out >= P.outer * P.inner) { return; }
  let base = (out / P.inner) * P.K * P.inner + out % P.inner;
  var v = 0.0;
  var vi = NONE;
  for (var k = lid; k < P.K; k += WG) {
    let x = X[base + k * P.inner];
    if (P.op == 0u) { v += x; } else if (better(x, k, v, vi)) { v = x; vi = k; }
  }
  vals[lid] = v;
  idxs[lid] = vi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = vals[lid + s];
      let oi = idxs[lid + s];
      if (P.op == 0u) { vals[lid] += ov; } else if (better(ov, oi, vals[lid], idxs[lid])) { vals[lid] = ov; idxs[lid] = oi; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { Y[out] = finish(vals[0], idxs[0]); }
}

@compute @workgroup_size(WG)
fn narrow(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let out = (wid.y * nwg.x + wid.x) * WG + lid;
  if (out >= P.outer * P.inner) { return; }
  let base = (out / P.inner) * P.K * P.inner + out % P.inner;
  var v = 0.0;
  var vi = NONE;
  for (var k = 0u; k < P.K; k++) {
    let x = X[base + k * P.inner];
    if (P.op == 0u) { v += x; } else if (better(x, k, v, vi)) { v = x; vi = k; }
  }
  Y[out] = finish(v, vi);
}
