// HeatmapPredictor: per (image, keypoint), the first maximum of the heatmap, its score, and the
// location refined by the locref offsets. Heat [B, J, H, W], Locref [B, 2J, H, W], Out [B, J, 3] = (x, y, score).
struct Params { B: u32, J: u32, H: u32, W: u32, stride: f32, locrefStd: f32, flags: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Heat: array<f32>;
@group(0) @binding(2) var<storage, read> Locref: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
override WG: u32 = 64;

const SIGMOID = 1u;
const CLIP = 2u;
const LOCREF = 4u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= P.B * P.J) { return; }
  let b = i / P.J;
  let j = i % P.J;
  let hw = P.H * P.W;
  let base = i * hw;
  var best = 0u;
  var bestValue = Heat[base];
  for (var p = 1u; p < hw; p++) {
    let v = Heat[base + p];
    if (v > bestValue) { bestValue = v; best = p; }
  }
  var score = bestValue;
  if ((P.flags & SIGMOID) != 0u) { score = 1.0 / (1.0 + exp(-score)); }
  if ((P.flags & CLIP) != 0u) { score = clamp(score, 0.0, 1.0); }
  let row = best / P.W;
  let col = best % P.W;
  var x = f32(col) * P.stride + 0.5 * P.stride;
  var y = f32(row) * P.stride + 0.5 * P.stride;
  if ((P.flags & LOCREF) != 0u) {
    let l = (b * 2u * P.J + 2u * j) * hw + best;
    x += Locref[l] * P.locrefStd;
    y += Locref[l + hw] * P.locrefStd;
  }
  Out[i * 3u] = x;
  Out[i * 3u + 1u] = y;
  Out[i * 3u + 2u] = score;
}
