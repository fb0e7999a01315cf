// Winograd F(2x2, 3x3) for stride-1 3x3 convolutions (src/ops/conv.ts): a 2x2 output tile from a 4x4 input tile
// with 16 products per (ci, co) instead of 36, so the matrix products do 4/9 of the direct conv's FMAs:
//   weights: U [16, CO, CI],  U[e, co, ci] = (G g G^T)[e]   g = W[co, ci] (3x3), e = 4a + b
//   input:   V [16, CI, Tp],  V[e, ci, t] = (B^T d B)[e]    d = the 4x4 input patch of tile t (0 outside the image)
//   (matmul: M[e] = U[e] x V[e], [16, CO, Tp])
//   output:  Y [N, CO, Ho, Wo] from (A^T m A) of m = M[:, co, t], plus Bias[co] when BIAS
// with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1].
// Dilation D: a tile's outputs are rows bh, bh + D and columns bw, bw + D, its inputs rows bh - ph + D*{0..3} (same for
// columns), where tile row th starts at bh = (th / D) * 2D + th % D: D interleaved tilings cover every row. Tiles t
// number (image, tile row, tile column) over all N images (NT of them), padded to Tp (a multiple of 4) with zero columns.
struct Params {
  CI: u32, CO: u32, H: u32, W: u32,
  Ho: u32, Wo: u32, ph: u32, pw: u32,
  D: u32, tilesW: u32, T: u32, NT: u32,
  Tp: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read_write> Dst: array<f32>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
override BIAS: bool = false;

// The first row (or column) of tile index i along an axis.
fn tileStart(i: u32) -> u32 {
  return (i / P.D) * 2u * P.D + i % P.D;
}

// One invocation per (ci, co): W [CO, CI, 3, 3] -> U.
@compute @workgroup_size(64)
fn weights(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ci = gid.x;
  let co = gid.y;
  if (ci >= P.CI) { return; }
  let base = (co * P.CI + ci) * 9u;
  // G g: 4 rows of 3.
  var r: array<vec3<f32>, 4>;
  let g0 = vec3<f32>(Src[base], Src[base + 1u], Src[base + 2u]);
  let g1 = vec3<f32>(Src[base + 3u], Src[base + 4u], Src[base + 5u]);
  let g2 = vec3<f32>(Src[base + 6u], Src[base + 7u], Src[base + 8u]);
  r[0] = g0;
  r[1] = 0.5 * (g0 + g1 + g2);
  r[2] = 0.5 * (g0 - g1 + g2);
  r[3] = g2;
  let stride = P.CO * P.CI;
  let o = co * P.CI + ci;
  for (var a = 0u; a < 4u; a++) {
    let c = r[a];
    Dst[(4u * a) * stride + o] = c.x;
    Dst[(4u * a + 1u) * stride + o] = 0.5 * (c.x + c.y + c.z);
    Dst[(4u * a + 2u) * stride + o] = 0.5 * (c.x - c.y + c.z);
    Dst[(4u * a + 3u) * stride + o] = c.z;
  }
}

// One invocation per (tile, ci): X [N, CI, H, W] -> V.
@compute @workgroup_size(64)
fn input(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let ci = gid.y;
  if (t >= P.Tp) { return; }
  var d: array<vec4<f32>, 4>;
  if (t < P.NT) {
    let n = t / P.T;
    let r = t % P.T;
    let h0 = i32(tileStart(r / P.tilesW)) - i32(P.ph);
    let w0 = i32(tileStart(r % P.tilesW)) - i32(P.pw);
    let plane = (n * P.CI + ci) * P.H * P.W;
    let D = i32(P.D);
    for (var a = 0; a < 4; a++) {
      let h = h0 + a * D;
      if (h < 0 || h >= i32(P.H)) { continue; }
      for (var b = 0; b < 4; b++) {
        let w = w0 + b * D;
        if (w >= 0 && w < i32(P.W)) { d[a][b] = Src[plane + u32(h) * P.W + u32(w)]; }
      }
    }
  }
  // B^T d (rows), then (.) B (columns).
  let s0 = d[0] - d[2];
  let s1 = d[1] + d[2];
  let s2 = d[2] - d[1];
  let s3 = d[1] - d[3];
  var s = array<vec4<f32>, 4>(s0, s1, s2, s3);
  let stride = P.CI * P.Tp;
  let o = ci * P.Tp + t;
  for (var a = 0u; a < 4u; a++) {
    let v = s[a];
    Dst[(4u * a) * stride + o] = v.x - v.z;
    Dst[(4u * a + 1u) * stride + o] = v.y + v.z;
    Dst[(4u * a + 2u) * stride + o] = v.z - v.y;
    Dst[(4u * a + 3u) * stride + o] = v.y - v.w;
  }
}

// One invocation per (tile, co): M [16, CO, Tp] -> Y [N, CO, Ho, Wo].
@compute @workgroup_size(64)
fn output(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let co = gid.y;
  if (t >= P.NT) { return; }
  let stride = P.CO * P.Tp;
  let o = co * P.Tp + t;
  var m: array<vec4<f32>, 4>;
  for (var a = 0u; a < 4u; a++) {
    m[a] = vec4<f32>(Src[(4u * a) * stride + o], Src[(4u * a + 1u) * stride + o], Src[(4u * a + 2u) * stride + o], Src[(4u * a + 3u) * stride + o]);
  }
  // A^T m (rows), then (.) A (columns).
  let r0 = m[0] + m[1] + m[2];
  let r1 = m[1] - m[2] - m[3];
  var y = array<vec2<f32>, 2>(vec2<f32>(r0.x + r0.y + r0.z, r0.y - r0.z - r0.w), vec2<f32>(r1.x + r1.y + r1.z, r1.y - r1.z - r1.w));
  var bias = 0.0;
  if (BIAS) { bias = Bias[co]; }
  let n = t / P.T;
  let r = t % P.T;
  let bh = tileStart(r / P.tilesW);
  let bw = tileStart(r % P.tilesW);
  let plane = (n * P.CO + co) * P.Ho * P.Wo;
  for (var a = 0u; a < 2u; a++) {
    let h = bh + a * P.D;
    if (h >= P.Ho) { continue; }
    for (var b = 0u; b < 2u; b++) {
      let w = bw + b * P.D;
      if (w < P.Wo) { Dst[plane + h * P.Wo + w] = y[a][b] + bias; }
    }
  }
}
