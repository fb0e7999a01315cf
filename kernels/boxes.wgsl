// Box ops as torchvision 0.14 computes them (ops/boxes.py, models/detection/_utils.py), boxes as (x1, y1, x2, y2):
//   iou:          IoU [n, m] of A [n, 4] and B [m, 4]: inter / (area_a + area_b - inter), areas (x2 - x1)(y2 - y1).
//   clip_fwd/bwd: x clamped to [0, w], y to [0, h] over [..., 4]; the gradient passes where the value was inside.
//   small:        Keep [n] = 1 where x2 - x1 >= minSize and y2 - y1 >= minSize (float32 comparisons, as torch's).
//   encode_*:     BoxCoder.encode_single: deltas D [n, 4] of reference boxes G against proposals Q, and gradients.
//   decode_*:     BoxCoder.decode_single: boxes [n, k, 4] from codes R [n, 4k] on boxes B [n, 4], and gradients.
// Each follows torchvision's order of float32 operations.
struct Params {
  n: u32, m: u32, k: u32, nanBits: u32,
  wx: f32, wy: f32, ww: f32, wh: f32,
  clip: f32, imgH: f32, imgW: f32, minSize: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
// iou: A, B -> Y.  clip: X -> Y (fwd), G, X -> Y (bwd).  small: X -> Keep.
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y2: array<f32>;
@group(0) @binding(2) var<storage, read_write> Keep: array<u32>;
// encode_bwd: dD, G, Q -> dG, dQ.  decode_bwd_codes: dY, R, B -> dR.  decode_bwd_boxes: dY, R, B -> dB.
@group(0) @binding(3) var<storage, read> C: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y4: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y5: array<f32>;
override WG: u32 = 256;

fn box4(buf: u32, i: u32) -> vec4<f32> {
  if (buf == 0u) { return vec4<f32>(A[4u * i], A[4u * i + 1u], A[4u * i + 2u], A[4u * i + 3u]); }
  return vec4<f32>(B[4u * i], B[4u * i + 1u], B[4u * i + 2u], B[4u * i + 3u]);
}

@compute @workgroup_size(WG)
fn iou(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = flatIndex(wid, nwg, lid, WG);
  if (o >= P.n * P.m) { return; }
  let a = box4(0u, o / P.m);
  let b = box4(1u, o % P.m);
  let areaA = (a.z - a.x) * (a.w - a.y);
  let areaB = (b.z - b.x) * (b.w - b.y);
  let w = max(min(a.z, b.z) - max(a.x, b.x), 0.0);
  let h = max(min(a.w, b.w) - max(a.y, b.y), 0.0);
  let inter = w * h;
  let uni = areaA + areaB - inter;
  // 0 / 0 for two empty boxes is NaN, as torch's (bit tests and a NaN from the uniforms: WGSL may assume that no
  // NaN arises, and rejects a constant one).
  Y[o] = select(inter / uni, bitcast<f32>(P.nanBits), (bitcast<u32>(uni) & 0x7fffffffu) == 0u);
}

fn clipBound(i: u32) -> f32 {
  return select(P.imgH, P.imgW, i % 2u == 0u);
}

@compute @workgroup_size(WG)
fn clip_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  Y2[i] = min(max(A[i], 0.0), clipBound(i));
}

// A: dY, B: X, Y: dX.
@compute @workgroup_size(WG)
fn clip_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let x = B[i];
  Y[i] = select(0.0, A[i], x >= 0.0 && x <= clipBound(i));
}

@compute @workgroup_size(WG)
fn small(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  Keep[i] = select(0u, 1u, A[4u * i + 2u] - A[4u * i] >= P.minSize && A[4u * i + 3u] - A[4u * i + 1u] >= P.minSize);
}

// Width, height and centre of a box, as torchvision: w = x2 - x1, cx = x1 + 0.5 * w.
fn geometry(b: vec4<f32>) -> vec4<f32> {
  let w = b.z - b.x;
  let h = b.w - b.y;
  return vec4<f32>(w, h, b.x + 0.5 * w, b.y + 0.5 * h);
}

// A: reference boxes G, B: proposals Q, Y: deltas [n, 4].
@compute @workgroup_size(WG)
fn encode_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let g = geometry(box4(0u, i));
  let q = geometry(box4(1u, i));
  Y[4u * i] = P.wx * (g.z - q.z) / q.x;
  Y[4u * i + 1u] = P.wy * (g.w - q.w) / q.y;
  Y[4u * i + 2u] = P.ww * log(g.x / q.x);
  Y[4u * i + 3u] = P.wh * log(g.y / q.y);
}

// A: G, B: Q, C: dD -> Y4: dG, Y5: dQ (each [n, 4]).
@compute @workgroup_size(WG)
fn encode_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let g = geometry(box4(0u, i));
  let q = geometry(box4(1u, i));
  let d = vec4<f32>(C[4u * i], C[4u * i + 1u], C[4u * i + 2u], C[4u * i + 3u]);
  // dx = wx (gcx - qcx) / qw: d/dg = wx / (2 qw) on both x's; d/dq1 = wx (-1/2 + (gcx - qcx) / qw) / qw, d/dq2 = wx (-1/2 - ...) / qw.
  // dw = ww log(gw / qw): d/dg1 = -ww / gw, d/dg2 = ww / gw, d/dq1 = ww / qw, d/dq2 = -ww / qw. Likewise in y.
  let cx = d.x * P.wx / q.x;
  let cy = d.y * P.wy / q.y;
  let rx = (g.z - q.z) / q.x;
  let ry = (g.w - q.w) / q.y;
  let sw = d.z * P.ww;
  let sh = d.w * P.wh;
  Y4[4u * i] = 0.5 * cx - sw / g.x;
  Y4[4u * i + 1u] = 0.5 * cy - sh / g.y;
  Y4[4u * i + 2u] = 0.5 * cx + sw / g.x;
  Y4[4u * i + 3u] = 0.5 * cy + sh / g.y;
  Y5[4u * i] = cx * (rx - 0.5) + sw / q.x;
  Y5[4u * i + 1u] = cy * (ry - 0.5) + sh / q.y;
  Y5[4u * i + 2u] = -cx * (rx + 0.5) - sw / q.x;
  Y5[4u * i + 3u] = -cy * (ry + 0.5) - sh / q.y;
}

// The decoded box of code (i, j): A: codes R [n, 4k], B: boxes [n, 4]. Also returns exp(dw), exp(dh) and whether
// each was below the clip (the clamp's gradient mask), for the backward.
struct Decoded { box: vec4<f32>, e: vec2<f32>, live: vec2<f32>, d: vec2<f32>, }
fn decodeOne(i: u32, j: u32) -> Decoded {
  let g = geometry(box4(1u, i));
  let r = 4u * (i * P.k + j);
  let dx = A[r] / P.wx;
  let dy = A[r + 1u] / P.wy;
  let rw = A[r + 2u] / P.ww;
  let rh = A[r + 3u] / P.wh;
  let dw = min(rw, P.clip);
  let dh = min(rh, P.clip);
  let cx = dx * g.x + g.z;
  let cy = dy * g.y + g.w;
  let ew = exp(dw);
  let eh = exp(dh);
  let hw = 0.5 * (ew * g.x);
  let hh = 0.5 * (eh * g.y);
  var out: Decoded;
  out.box = vec4<f32>(cx - hw, cy - hh, cx + hw, cy + hh);
  out.e = vec2<f32>(ew, eh);
  out.live = vec2<f32>(select(0.0, 1.0, rw <= P.clip), select(0.0, 1.0, rh <= P.clip));
  out.d = vec2<f32>(dx, dy);
  return out;
}

@compute @workgroup_size(WG)
fn decode_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = flatIndex(wid, nwg, lid, WG);
  if (o >= P.n * P.k) { return; }
  let b = decodeOne(o / P.k, o % P.k).box;
  Y[4u * o] = b.x;
  Y[4u * o + 1u] = b.y;
  Y[4u * o + 2u] = b.z;
  Y[4u * o + 3u] = b.w;
}

// A: R, B: boxes, C: dY [n, k, 4] -> Y4: dR [n, 4k]. x1 = cx - e w / 2, x2 = cx + e w / 2, cx = (r0 / wx) w + bcx.
@compute @workgroup_size(WG)
fn decode_bwd_codes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = flatIndex(wid, nwg, lid, WG);
  if (o >= P.n * P.k) { return; }
  let i = o / P.k;
  let g = geometry(box4(1u, i));
  let dec = decodeOne(i, o % P.k);
  let gy = vec4<f32>(C[4u * o], C[4u * o + 1u], C[4u * o + 2u], C[4u * o + 3u]);
  Y4[4u * o] = (gy.x + gy.z) * g.x / P.wx;
  Y4[4u * o + 1u] = (gy.y + gy.w) * g.y / P.wy;
  Y4[4u * o + 2u] = (gy.z - gy.x) * 0.5 * dec.e.x * g.x * dec.live.x / P.ww;
  Y4[4u * o + 3u] = (gy.w - gy.y) * 0.5 * dec.e.y * g.y * dec.live.y / P.wh;
}

// A: R, B: boxes, C: dY -> Y4: dB [n, 4], summed over the box's k codes.
// With w = b2 - b1, bcx = (b1 + b2) / 2: dx1/db1 = -dx + (1 + e) / 2, dx1/db2 = dx + (1 - e) / 2,
// dx2/db1 = -dx + (1 - e) / 2, dx2/db2 = dx + (1 + e) / 2 (dx the scaled code), likewise in y.
@compute @workgroup_size(WG)
fn decode_bwd_boxes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  var acc = vec4<f32>(0.0);
  for (var j = 0u; j < P.k; j++) {
    let o = i * P.k + j;
    let dec = decodeOne(i, j);
    let gy = vec4<f32>(C[4u * o], C[4u * o + 1u], C[4u * o + 2u], C[4u * o + 3u]);
    let e = dec.e;
    let d = dec.d;
    acc.x += gy.x * (0.5 + 0.5 * e.x - d.x) + gy.z * (0.5 - 0.5 * e.x - d.x);
    acc.z += gy.x * (0.5 - 0.5 * e.x + d.x) + gy.z * (0.5 + 0.5 * e.x + d.x);
    acc.y += gy.y * (0.5 + 0.5 * e.y - d.y) + gy.w * (0.5 - 0.5 * e.y - d.y);
    acc.w += gy.y * (0.5 - 0.5 * e.y + d.y) + gy.w * (0.5 + 0.5 * e.y + d.y);
  }
  Y4[4u * i] = acc.x;
  Y4[4u * i + 1u] = acc.y;
  Y4[4u * i + 2u] = acc.z;
  Y4[4u * i + 3u] = acc.w;
}
