// AddCoords, the layer CoordConv (Liu et al., 2018) puts before a convolution: the input's channels, then a
// channel of x and a channel of y coordinates in [-1, 1] (and, with RADIUS, the distance from the centre
// divided by sqrt(2), in [0, 1]). In [B, C, H, W] -> Out [B, C + 2 (+1), H, W].
// `backward`: the input's gradient is the first C channels of the output's gradient (coordinates are
// constants).
// Memory-bound (no arithmetic to speak of): with VEC4 (H * W a multiple of 4) an invocation moves one vec4,
// four neighbours in one channel plane, which lavapipe loads as one 16-byte gather instead of four; the
// scalar path indexes the same vec4 arrays by component. dlc-gpu pads every storage buffer to 16 bytes, so
// array<vec4<f32>> bindings are valid for any element count. A 2-D grid of workgroups (65535 per dimension).
struct Params { B: u32, C: u32, H: u32, W: u32, n: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> In: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Out: array<vec4<f32>>;
override RADIUS: bool = false;
override VEC4: bool = true;
override WG: u32 = 64;

fn extra() -> u32 {
  return select(2u, 3u, RADIUS);
}

// -1 at the first column/row, 1 at the last (0 for a single one).
fn coord(i: vec4<u32>, n: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0), 2.0 * vec4<f32>(i) / f32(n - 1u) - 1.0, n > 1u);
}

// Coordinate channel k (0: x, 1: y, 2: radius) at flat plane positions p.
fn coordinate(k: u32, p: vec4<u32>) -> vec4<f32> {
  let x = coord(p % P.W, P.W);
  let y = coord(p / P.W, P.H);
  return select(select(y, x, k == 0u), sqrt(x * x + y * y) * 0.70710678, k == 2u);
}

fn load(i: u32) -> f32 {
  return In[i >> 2u][i & 3u];
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  let hw = P.H * P.W;
  let co = P.C + extra();
  if (VEC4) {
    // n counts vec4s here; hw4 vec4s per channel plane.
    if (i >= P.n) { return; }
    let hw4 = hw / 4u;
    let p4 = i % hw4;
    let c = (i / hw4) % co;
    let b = i / (hw4 * co);
    if (c < P.C) {
      Out[i] = In[(b * P.C + c) * hw4 + p4];
    } else {
      Out[i] = coordinate(c - P.C, vec4<u32>(4u * p4) + vec4<u32>(0u, 1u, 2u, 3u));
    }
    return;
  }
  if (i >= P.n) { return; }
  let p = i % hw;
  let c = (i / hw) % co;
  let b = i / (hw * co);
  if (c < P.C) {
    Out[i >> 2u][i & 3u] = load((b * P.C + c) * hw + p);
  } else {
    Out[i >> 2u][i & 3u] = coordinate(c - P.C, vec4<u32>(p)).x;
  }
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= P.n) { return; }
  let hw = P.H * P.W;
  let co = P.C + extra();
  if (VEC4) {
    let hw4 = hw / 4u;
    let p4 = i % hw4;
    let c = (i / hw4) % P.C;
    let b = i / (hw4 * P.C);
    Out[i] = In[(b * co + c) * hw4 + p4];
    return;
  }
  let p = i % hw;
  let c = (i / hw) % P.C;
  let b = i / (hw * P.C);
  Out[i >> 2u][i & 3u] = load((b * co + c) * hw + p);
}
