// AddCoords, the layer CoordConv (Liu et al., 2018) puts before a convolution: the input's channels, then a
// channel of x and a channel of y coordinates in [-1, 1] (and, with RADIUS, the distance from the centre
// divided by sqrt(2), in [0, 1]). In [B, C, H, W] -> Out [B, C + 2 (+1), H, W].
// `backward`: the input's gradient is the first C channels of the output's gradient (coordinates are
// constants). One invocation per output element, over a 2-D grid of workgroups (65535 per dimension).
struct Params { B: u32, C: u32, H: u32, W: u32, n: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> In: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;
override RADIUS: bool = false;
override WG: u32 = 64;

fn extra() -> u32 {
  return select(2u, 3u, RADIUS);
}

// -1 at the first column/row, 1 at the last (0 for a single one).
fn coord(i: u32, n: u32) -> f32 {
  return select(0.0, 2.0 * f32(i) / f32(n - 1u) - 1.0, n > 1u);
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= P.n) { return; }
  let hw = P.H * P.W;
  let co = P.C + extra();
  let p = i % hw;
  let c = (i / hw) % co;
  let b = i / (hw * co);
  if (c < P.C) {
    Out[i] = In[(b * P.C + c) * hw + p];
    return;
  }
  let x = coord(p % P.W, P.W);
  let y = coord(p / P.W, P.H);
  let k = c - P.C;
  Out[i] = select(select(y, x, k == 0u), sqrt(x * x + y * y) * 0.70710678, k == 2u);
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= P.n) { return; }
  let hw = P.H * P.W;
  let p = i % hw;
  let c = (i / hw) % P.C;
  let b = i / (hw * P.C);
  Out[i] = In[(b * (P.C + extra()) + c) * hw + p];
}
