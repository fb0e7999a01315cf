// interpolate of X [planes, H, W] to Y [planes, OH, OW]: nearest (mode 0) or bilinear (mode 1, alignCorners),
// with PyTorch's source-index rules; rh, rw are the output-to-input coordinate ratios (as PyTorch's float
// `scale`). The backward gathers, for each input element, over the outputs that read it (no atomics).
struct Params {
  n: u32, H: u32, W: u32, OH: u32,
  OW: u32, mode: u32, align: u32, _p0: u32,
  rh: f32, rw: f32, _p1: f32, _p2: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
override WG: u32 = 256;

fn nearestSrc(o: u32, ratio: f32, In: u32, Out: u32) -> u32 {
  if (Out == In) { return o; }
  if (Out == 2u * In) { return o >> 1u; }
  return min(u32(floor(f32(o) * ratio)), In - 1u);
}

// Linear taps of output o: (i0, i0 + off) with weights (1 - l1, l1).
struct Taps { i0: u32, i1: u32, l1: f32 }
fn linearTaps(o: u32, ratio: f32, In: u32) -> Taps {
  var s = ratio * f32(o);
  if (P.align == 0u) { s = max(ratio * (f32(o) + 0.5) - 0.5, 0.0); }
  let i0 = min(u32(s), In - 1u);
  let i1 = i0 + select(0u, 1u, i0 < In - 1u);
  return Taps(i0, i1, clamp(s - f32(i0), 0.0, 1.0));
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let ow = i % P.OW;
  let oh = (i / P.OW) % P.OH;
  let base = (i / (P.OW * P.OH)) * P.H * P.W;
  if (P.mode == 0u) {
    Y[i] = X[base + nearestSrc(oh, P.rh, P.H, P.OH) * P.W + nearestSrc(ow, P.rw, P.W, P.OW)];
    return;
  }
  let th = linearTaps(oh, P.rh, P.H);
  let tw = linearTaps(ow, P.rw, P.W);
  let r0 = base + th.i0 * P.W;
  let r1 = base + th.i1 * P.W;
  let top = (1.0 - tw.l1) * X[r0 + tw.i0] + tw.l1 * X[r0 + tw.i1];
  let bottom = (1.0 - tw.l1) * X[r1 + tw.i0] + tw.l1 * X[r1 + tw.i1];
  Y[i] = (1.0 - th.l1) * top + th.l1 * bottom;
}

// Weight of output o on input x along one axis.
fn weight(o: u32, x: u32, ratio: f32, In: u32, Out: u32) -> f32 {
  if (P.mode == 0u) { return select(0.0, 1.0, nearestSrc(o, ratio, In, Out) == x); }
  let t = linearTaps(o, ratio, In);
  return select(0.0, 1.0 - t.l1, t.i0 == x) + select(0.0, t.l1, t.i1 == x);
}

// Outputs [first, last) that may read input x: a superset, the weights decide.
fn outputRange(x: u32, ratio: f32, Out: u32) -> vec2<u32> {
  if (ratio <= 0.0) { return vec2<u32>(0u, Out); }
  var a: f32;
  var b: f32;
  if (P.mode == 0u) {
    a = f32(x) / ratio;
    b = f32(x + 1u) / ratio;
  } else if (P.align == 1u) {
    a = (f32(x) - 1.0) / ratio;
    b = (f32(x) + 1.0) / ratio;
  } else {
    a = (f32(x) - 0.5) / ratio - 0.5;
    b = (f32(x) + 1.5) / ratio - 0.5;
  }
  let first = max(i32(floor(a)) - 1, 0);
  let last = min(i32(ceil(b)) + 2, i32(Out));
  return vec2<u32>(u32(first), u32(max(last, first)));
}

@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let iw = i % P.W;
  let ih = (i / P.W) % P.H;
  let plane = i / (P.W * P.H);
  let rh = outputRange(ih, P.rh, P.OH);
  let rw = outputRange(iw, P.rw, P.OW);
  var acc = 0.0;
  for (var oh = rh.x; oh < rh.y; oh++) {
    let wh = weight(oh, ih, P.rh, P.H, P.OH);
    if (wh == 0.0) { continue; }
    let row = (plane * P.OH + oh) * P.OW;
    var racc = 0.0;
    for (var ow = rw.x; ow < rw.y; ow++) { racc += weight(ow, iw, P.rw, P.W, P.OW) * G[row + ow]; }
    acc += wh * racc;
  }
  DX[i] = acc;
}
