// Winograd F(2x2, 3x3) and F(4x4, 3x3) (the `*4` entry points, at the end) for stride-1 3x3 convolutions (src/ops/conv.ts): a 2x2 output tile from a 4x4 input tile
// with 16 products per (ci, co) instead of 36, so the matrix products do 4/9 of the direct conv's FMAs:
//   weights: U [16, CO, CI],  U[e, co, ci] = (G g G^T)[e]   g = W[co, ci] (3x3), e = 4a + b (FLIP: rot180(W[ci, co]))
//   input:   V [16, CI, Tp],  V[e, ci, t] = (B^T d B)[e]    d = the 4x4 input patch of tile t (0 outside the image)
//   (matmul: M[e] = U[e] x V[e], [16, CO, Tp])
//   output:  Y [N, CO, Ho, Wo] from (A^T m A) of m = M[:, co, t], plus Bias[co] when BIAS, plus the residual Res
//            (RES, same shape as Y; callers bind Src otherwise) and clamped at 0 (RELU): a folded BatchNorm's block end
// and the weight gradient (F(2x2) only), the transposes of those steps:
//   gradOutput: dM [16, CO, Tp], dM[e, co, t] = (A y A^T)[e]   y = the 2x2 tile of dY (0 past the output's edge)
//   (matmul: dU[e] = dM[e] x V[e]^T, [16, CO, CI], the sum over tiles)
//   weightGrad: dW [CO, CI, 3, 3] = G^T dU[:, co, ci] G
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
override RES: bool = false;
override RELU: bool = false;
@group(0) @binding(4) var<storage, read> Res: array<f32>;
// The weight read as a conv's input gradient sees it (kernels/conv2d_direct.wgsl FLIP): Src is [CI, CO, 3, 3] and
// g = rot180(Src[ci, co]), so the same transforms compute dX = conv(dY, rotated transposed W).
override FLIP: bool = false;

// The first row (or column) of tile index i along an axis, for tiles of m outputs.
fn tileStart(i: u32, m: u32) -> u32 {
  return (i / P.D) * m * P.D + i % P.D;
}

// The 3x3 kernel g of (ci, co), rows g[0..2] (FLIP: rotated, from Src [CI, CO, 3, 3]).
fn kernel3(ci: u32, co: u32) -> array<vec3<f32>, 3> {
  if (FLIP) {
    let base = (ci * P.CO + co) * 9u;
    return array<vec3<f32>, 3>(vec3<f32>(Src[base + 8u], Src[base + 7u], Src[base + 6u]),
                               vec3<f32>(Src[base + 5u], Src[base + 4u], Src[base + 3u]),
                               vec3<f32>(Src[base + 2u], Src[base + 1u], Src[base]));
  }
  let base = (co * P.CI + ci) * 9u;
  return array<vec3<f32>, 3>(vec3<f32>(Src[base], Src[base + 1u], Src[base + 2u]),
                             vec3<f32>(Src[base + 3u], Src[base + 4u], Src[base + 5u]),
                             vec3<f32>(Src[base + 6u], Src[base + 7u], Src[base + 8u]));
}

// Tile t's input patch (tiles of m outputs): its first row and column (negative in the padding) and its image plane.
struct InTile { h0: i32, w0: i32, plane: u32 }
fn inputTile(t: u32, ci: u32, m: u32) -> InTile {
  let n = t / P.T;
  let r = t % P.T;
  return InTile(i32(tileStart(r / P.tilesW, m)) - i32(P.ph), i32(tileStart(r % P.tilesW, m)) - i32(P.pw), (n * P.CI + ci) * P.H * P.W);
}
// Row a of the patch (D apart): its offset in Src, or -1 outside the image. Rows are skipped whole: a per-element
// test over the 6x6 patch made F(4x4)'s input transform 1.2-1.5x slower at 64 channels.
fn patchRow(p: InTile, a: i32) -> i32 {
  let h = p.h0 + a * i32(P.D);
  if (h < 0 || h >= i32(P.H)) { return -1; }
  return i32(p.plane) + h * i32(P.W);
}
// The patch value at column b of a row from patchRow (>= 0); 0 outside the image.
fn patchAt(p: InTile, row: i32, b: i32) -> f32 {
  let w = p.w0 + b * i32(P.D);
  if (w < 0 || w >= i32(P.W)) { return 0.0; }
  return Src[u32(row + w)];
}

// Tile t's outputs (tiles of m): first row and column and the image plane of channel co.
struct OutTile { bh: u32, bw: u32, plane: u32, bias: f32 }
fn outputTile(t: u32, co: u32, m: u32) -> OutTile {
  let n = t / P.T;
  let r = t % P.T;
  var bias = 0.0;
  if (BIAS) { bias = Bias[co]; }
  return OutTile(tileStart(r / P.tilesW, m), tileStart(r % P.tilesW, m), (n * P.CO + co) * P.Ho * P.Wo, bias);
}
// Y at tile row a, column b (D apart) = act(v + bias + Res), where inside the output.
fn storeOut(p: OutTile, a: u32, b: u32, v: f32) {
  let h = p.bh + a * P.D;
  let w = p.bw + b * P.D;
  if (h < P.Ho && w < P.Wo) {
    let i = p.plane + h * P.Wo + w;
    var y = v + p.bias;
    if (RES) { y += Res[i]; }
    if (RELU) { y = max(y, 0.0); }
    Dst[i] = y;
  }
}

// dY at tile row a, column b (D apart), where inside the output; else 0 (Src is dY [N, CO, Ho, Wo]).
fn loadOut(p: OutTile, a: u32, b: u32) -> f32 {
  let h = p.bh + a * P.D;
  let w = p.bw + b * P.D;
  if (h < P.Ho && w < P.Wo) { return Src[p.plane + h * P.Wo + w]; }
  return 0.0;
}

// One invocation per (ci, co): W [CO, CI, 3, 3] -> U.
@compute @workgroup_size(64)
fn weights(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ci = gid.x;
  let co = gid.y;
  if (ci >= P.CI) { return; }
  // G g: 4 rows of 3.
  var r: array<vec3<f32>, 4>;
  let k = kernel3(ci, co);
  let g0 = k[0];
  let g1 = k[1];
  let g2 = k[2];
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
    let p = inputTile(t, ci, 2u);
    for (var a = 0; a < 4; a++) {
      let row = patchRow(p, a);
      if (row < 0) { continue; }
      for (var b = 0; b < 4; b++) { d[a][b] = patchAt(p, row, b); }
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
  let p = outputTile(t, co, 2u);
  for (var a = 0u; a < 2u; a++) {
    for (var b = 0u; b < 2u; b++) { storeOut(p, a, b, y[a][b]); }
  }
}

// One invocation per (tile, co): dY [N, CO, Ho, Wo] -> dM [16, CO, Tp], the gradient of output's M (padding tiles
// t >= NT get zero columns, so the product over tiles ignores them).
@compute @workgroup_size(64)
fn gradOutput(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let co = gid.y;
  if (t >= P.Tp) { return; }
  var y: array<vec2<f32>, 2>;
  if (t < P.NT) {
    let p = outputTile(t, co, 2u);
    y[0] = vec2<f32>(loadOut(p, 0u, 0u), loadOut(p, 0u, 1u));
    y[1] = vec2<f32>(loadOut(p, 1u, 0u), loadOut(p, 1u, 1u));
  }
  // A y (rows, A = [1 0; 1 1; 1 -1; 0 -1]), then (.) A^T (columns).
  var r = array<vec2<f32>, 4>(y[0], y[0] + y[1], y[0] - y[1], -y[1]);
  let stride = P.CO * P.Tp;
  let o = co * P.Tp + t;
  for (var a = 0u; a < 4u; a++) {
    let v = r[a];
    Dst[(4u * a) * stride + o] = v.x;
    Dst[(4u * a + 1u) * stride + o] = v.x + v.y;
    Dst[(4u * a + 2u) * stride + o] = v.x - v.y;
    Dst[(4u * a + 3u) * stride + o] = -v.y;
  }
}

// One invocation per (ci, co): dU [16, CO, CI] -> dW [CO, CI, 3, 3] = G^T dU G.
@compute @workgroup_size(64)
fn weightGrad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ci = gid.x;
  let co = gid.y;
  if (ci >= P.CI) { return; }
  let stride = P.CO * P.CI;
  let o = co * P.CI + ci;
  var u: array<vec4<f32>, 4>;
  for (var a = 0u; a < 4u; a++) {
    u[a] = vec4<f32>(Src[(4u * a) * stride + o], Src[(4u * a + 1u) * stride + o], Src[(4u * a + 2u) * stride + o], Src[(4u * a + 3u) * stride + o]);
  }
  // G^T u (rows, G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]), then (.) G (columns).
  var q = array<vec4<f32>, 3>(u[0] + 0.5 * (u[1] + u[2]), 0.5 * (u[1] - u[2]), 0.5 * (u[1] + u[2]) + u[3]);
  let base = (co * P.CI + ci) * 9u;
  for (var i = 0u; i < 3u; i++) {
    let v = q[i];
    Dst[base + 3u * i] = v.x + 0.5 * (v.y + v.z);
    Dst[base + 3u * i + 1u] = 0.5 * (v.y - v.z);
    Dst[base + 3u * i + 2u] = 0.5 * (v.y + v.z) + v.w;
  }
}

// ---- F(4x4, 3x3): a 4x4 output tile from a 6x6 input tile, 36 products per (ci, co) instead of 144 (1/4 of the
// direct conv's FMAs, 9/16 of F(2x2, 3x3)'s), with the interpolation points 0, +-1, +-2 and infinity (Lavin & Gray):
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// U [36, CO, CI], V [36, CI, Tp], M [36, CO, Tp] with e = 6a + b; tiles as above with m = 4 (rows bh + D*{0..3},
// inputs bh - ph + D*{0..5}). ----

fn g6(g: vec3<f32>) -> array<f32, 6> {
  return array<f32, 6>(0.25 * g.x, -(g.x + g.y + g.z) / 6.0, -(g.x - g.y + g.z) / 6.0,
                       g.x / 24.0 + g.y / 12.0 + g.z / 6.0, g.x / 24.0 - g.y / 12.0 + g.z / 6.0, g.z);
}

fn bt6(d: array<f32, 6>) -> array<f32, 6> {
  return array<f32, 6>(4.0 * d[0] - 5.0 * d[2] + d[4], -4.0 * d[1] - 4.0 * d[2] + d[3] + d[4],
                       4.0 * d[1] - 4.0 * d[2] - d[3] + d[4], -2.0 * d[1] - d[2] + 2.0 * d[3] + d[4],
                       2.0 * d[1] - d[2] - 2.0 * d[3] + d[4], 4.0 * d[1] - 5.0 * d[3] + d[5]);
}

fn at6(m: array<f32, 6>) -> vec4<f32> {
  return vec4<f32>(m[0] + m[1] + m[2] + m[3] + m[4], m[1] - m[2] + 2.0 * (m[3] - m[4]),
                   m[1] + m[2] + 4.0 * (m[3] + m[4]), m[1] - m[2] + 8.0 * (m[3] - m[4]) + m[5]);
}

// One invocation per (ci, co): W -> U (G g, then (.) G^T row by row).
@compute @workgroup_size(64)
fn weights4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ci = gid.x;
  let co = gid.y;
  if (ci >= P.CI) { return; }
  let k = kernel3(ci, co);
  // Columns of G g: G applied to each column of g.
  let c0 = g6(vec3<f32>(k[0].x, k[1].x, k[2].x));
  let c1 = g6(vec3<f32>(k[0].y, k[1].y, k[2].y));
  let c2 = g6(vec3<f32>(k[0].z, k[1].z, k[2].z));
  let stride = P.CO * P.CI;
  let o = co * P.CI + ci;
  for (var a = 0u; a < 6u; a++) {
    let u = g6(vec3<f32>(c0[a], c1[a], c2[a]));
    for (var b = 0u; b < 6u; b++) { Dst[(6u * a + b) * stride + o] = u[b]; }
  }
}

// One invocation per (tile, ci): X -> V (B^T d on columns, then (.) B on rows).
@compute @workgroup_size(64)
fn input4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let ci = gid.y;
  if (t >= P.Tp) { return; }
  var d: array<array<f32, 6>, 6>;
  if (t < P.NT) {
    let p = inputTile(t, ci, 4u);
    for (var a = 0; a < 6; a++) {
      let row = patchRow(p, a);
      if (row < 0) { continue; }
      for (var b = 0; b < 6; b++) { d[a][b] = patchAt(p, row, b); }
    }
  }
  var s: array<array<f32, 6>, 6>;
  for (var b = 0u; b < 6u; b++) {
    let c = bt6(array<f32, 6>(d[0][b], d[1][b], d[2][b], d[3][b], d[4][b], d[5][b]));
    for (var a = 0u; a < 6u; a++) { s[a][b] = c[a]; }
  }
  let stride = P.CI * P.Tp;
  let o = ci * P.Tp + t;
  for (var a = 0u; a < 6u; a++) {
    let v = bt6(s[a]);
    for (var b = 0u; b < 6u; b++) { Dst[(6u * a + b) * stride + o] = v[b]; }
  }
}

// One invocation per (tile, co): M -> Y (A^T m on columns, then (.) A on rows).
@compute @workgroup_size(64)
fn output4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let co = gid.y;
  if (t >= P.NT) { return; }
  let stride = P.CO * P.Tp;
  let o = co * P.Tp + t;
  var m: array<array<f32, 6>, 6>;
  for (var a = 0u; a < 6u; a++) {
    for (var b = 0u; b < 6u; b++) { m[a][b] = Src[(6u * a + b) * stride + o]; }
  }
  // A^T m: 4 rows of 6.
  var q: array<array<f32, 6>, 4>;
  for (var b = 0u; b < 6u; b++) {
    let c = at6(array<f32, 6>(m[0][b], m[1][b], m[2][b], m[3][b], m[4][b], m[5][b]));
    q[0][b] = c.x;
    q[1][b] = c.y;
    q[2][b] = c.z;
    q[3][b] = c.w;
  }
  let p = outputTile(t, co, 4u);
  for (var a = 0u; a < 4u; a++) {
    let y = at6(q[a]);
    for (var b = 0u; b < 4u; b++) { storeOut(p, a, b, y[b]); }
  }
}
