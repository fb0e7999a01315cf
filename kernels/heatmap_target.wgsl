// Heatmap and location-refinement targets (DeepLabCut's HeatmapGenerator), one invocation per map pixel.
// Keypoints K [B, I, J, 3] = (x, y, visibility) in input-image pixels (I individuals, J heatmaps).
// Outputs: Heat [B, J, H, W], Locref [B, 2J, H, W] (dx, dy interleaved), LocrefMask [B, 2J, H, W].
// The grid centre of cell (r, c) is trunc(c * stride + stride / 2), an integer as in DeepLabCut.
// mode 0: Gaussian, max over individuals, locref written everywhere (a later individual overwrites),
// mask inside the disk d^2 <= thresh^2. mode 1: plateau, 1 inside the disk, locref and mask only there.
struct Params {
  B: u32, I: u32, J: u32, H: u32,
  W: u32, mode: u32, stride: f32, invTwoSigmaSq: f32,
  threshSq: f32, locrefScale: f32, n: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read_write> Heat: array<f32>;
@group(0) @binding(3) var<storage, read_write> Locref: array<f32>;
@group(0) @binding(4) var<storage, read_write> LocrefMask: array<f32>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let c = i % P.W;
  let r = (i / P.W) % P.H;
  let j = (i / (P.W * P.H)) % P.J;
  let b = i / (P.W * P.H * P.J);
  let gx = trunc(f32(c) * P.stride + P.stride * 0.5);
  let gy = trunc(f32(r) * P.stride + P.stride * 0.5);
  var heat = 0.0;
  var dx = 0.0;
  var dy = 0.0;
  var mask = 0.0;
  for (var idv = 0u; idv < P.I; idv++) {
    let k = ((b * P.I + idv) * P.J + j) * 3u;
    if (K[k + 2u] <= 0.0) { continue; }
    let ox = K[k] - gx;
    let oy = K[k + 1u] - gy;
    let d2 = ox * ox + oy * oy;
    let inside = d2 <= P.threshSq;
    if (P.mode == 0u) {
      heat = max(heat, exp(-d2 * P.invTwoSigmaSq));
      dx = ox * P.locrefScale;
      dy = oy * P.locrefScale;
      if (inside) { mask = 1.0; }
    } else if (inside) {
      heat = 1.0;
      dx = ox * P.locrefScale;
      dy = oy * P.locrefScale;
      mask = 1.0;
    }
  }
  let hw = P.H * P.W;
  let pix = r * P.W + c;
  Heat[(b * P.J + j) * hw + pix] = heat;
  let lx = (b * 2u * P.J + 2u * j) * hw + pix;
  Locref[lx] = dx;
  Locref[lx + hw] = dy;
  LocrefMask[lx] = mask;
  LocrefMask[lx + hw] = mask;
}
