enable subgroups;
// conv2d weight gradient in parts: Part[s, g*CO + co, ci, i, j] = sum over the output rows (n, oh) numbered
// s*rows .. (s+1)*rows - 1 (row u = n*Ho + oh, all images' rows in order) and all ow of
// dY[n, g*CO + co, oh, ow] * X[n, g*CI + ci, oh*SH - ph + i*DH, ow*SW - pw + j*DW]; src/ops/conv.ts sums the parts
// (one part when the weight alone gives enough workgroups). A matmul over pixels (see kernels/conv2d_direct.wgsl for the lavapipe cost model): a workgroup is 8 lanes
// = one subgroup computing 16 output channels x 8 (ci, i) kernel rows x KW taps. Lane L owns kernel row q = q0 + L
// (ci = q / KH, i = q % KH) and 16 x KW accumulators. Per 4 pixels of an output row:
//   - lane L gathers dY of channels co0 + L and co0 + 8 + L at the 4 pixels (one vec4 each when Wo % 4 == 0);
//     subgroupBroadcast hands each channel's vec4 to all lanes;
//   - the lane gathers the input row segment its kernel row's KW taps cover at those pixels (SEG values, or 4 per tap);
//   - 16 x KW dot products of 4.
// zBase: first (part, group) index of this dispatch; rows: output rows per part; NR: N * Ho.
struct Params {
  CI: u32, H: u32, W: u32, CO: u32,
  Ho: u32, Wo: u32, ph: u32, pw: u32,
  G: u32, NR: u32, rows: u32, zBase: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
// dY as vec4s (storage buffers are allocated in 256-byte steps, so the whole buffer is whole vec4s).
@group(0) @binding(2) var<storage, read> Gy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Part: array<f32>;
// Wo % 4 == 0: a lane's 4 pixels of dY are one aligned vec4.
override VEC4: bool = false;
override KH: u32 = 3u;
override KW: u32 = 3u;
override SH: u32 = 1u;
override SW: u32 = 1u;
override DH: u32 = 1u;
override DW: u32 = 1u;
override SEG: u32 = 3u * SW + (KW - 1u) * DW + 1u;
override USE_SEG: bool = SEG <= 16u && SEG < 4u * KW;
const MAXKW = 8u;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let zz = P.zBase + wid.z; // part * G + g
  let g = zz % P.G;
  let part = zz / P.G;
  let co0 = wid.y * 16u;
  let q = wid.x * 8u + lane;
  let qc = min(q, P.CI * KH - 1u);
  let ci = qc / KH;
  let i = qc % KH;
  let H = i32(P.H);
  let Wd = i32(P.W);
  let coA = min(co0 + lane, P.CO - 1u);
  let coB = min(co0 + 8u + lane, P.CO - 1u);
  let outPlane = P.Ho * P.Wo;
  // Offsets for image 0 and the steps per image.
  let gA0 = (g * P.CO + coA) * outPlane;
  let gB0 = (g * P.CO + coB) * outPlane;
  let gStep = P.G * P.CO * outPlane;
  let x0 = (g * P.CI + ci) * P.H * P.W;
  let xStep = P.G * P.CI * P.H * P.W;
  let u0 = part * P.rows;
  let u1 = min(P.NR, u0 + P.rows);

  var acc: array<array<f32, 16>, MAXKW>;
  for (var u = u0; u < u1; u++) {
    let n = u / P.Ho;
    let oh = u % P.Ho;
    let gA = gA0 + n * gStep;
    let gB = gB0 + n * gStep;
    let xPlane = x0 + n * xStep;
    let h = i32(oh * SH) - i32(P.ph) + i32(i * DH);
    let rowOk = h >= 0 && h < H;
    let rowBase = xPlane + u32(clamp(h, 0, H - 1)) * P.W;
    for (var ow0 = 0u; ow0 < P.Wo; ow0 += 4u) {
      let o = oh * P.Wo + ow0;
      var ga: vec4<f32>;
      var gb: vec4<f32>;
      if (VEC4) {
        ga = Gy[(gA + o) / 4u];
        gb = Gy[(gB + o) / 4u];
      } else {
        for (var t = 0u; t < 4u; t++) {
          let ok = ow0 + t < P.Wo;
          let ia = gA + select(0u, o + t, ok);
          let ib = gB + select(0u, o + t, ok);
          ga[t] = select(0.0, Gy[ia / 4u][ia % 4u], ok);
          gb[t] = select(0.0, Gy[ib / 4u][ib % 4u], ok);
        }
      }
      let w0 = i32(ow0 * SW) - i32(P.pw);
      var seg: array<f32, 16>;
      if (USE_SEG) {
        for (var t = 0u; t < SEG; t++) {
          let w = w0 + i32(t);
          seg[t] = select(0.0, X[rowBase + u32(clamp(w, 0, Wd - 1))], rowOk && w >= 0 && w < Wd);
        }
      }
      let a = array<vec4<f32>, 16>(
        subgroupBroadcast(ga, 0u), subgroupBroadcast(ga, 1u), subgroupBroadcast(ga, 2u), subgroupBroadcast(ga, 3u),
        subgroupBroadcast(ga, 4u), subgroupBroadcast(ga, 5u), subgroupBroadcast(ga, 6u), subgroupBroadcast(ga, 7u),
        subgroupBroadcast(gb, 0u), subgroupBroadcast(gb, 1u), subgroupBroadcast(gb, 2u), subgroupBroadcast(gb, 3u),
        subgroupBroadcast(gb, 4u), subgroupBroadcast(gb, 5u), subgroupBroadcast(gb, 6u), subgroupBroadcast(gb, 7u));
      for (var j = 0u; j < KW; j++) {
        var b: vec4<f32>;
        if (USE_SEG) {
          b = vec4<f32>(seg[j * DW], seg[j * DW + SW], seg[j * DW + 2u * SW], seg[j * DW + 3u * SW]);
        } else {
          for (var t = 0u; t < 4u; t++) {
            let w = w0 + i32(j * DW + t * SW);
            b[t] = select(0.0, X[rowBase + u32(clamp(w, 0, Wd - 1))], rowOk && w >= 0 && w < Wd);
          }
        }
        for (var r = 0u; r < 16u; r++) {
          acc[j][r] += dot(a[r], b);
        }
      }
    }
  }

  if (q >= P.CI * KH) { return; }
  let KK = KH * KW;
  let base = part * P.G * P.CO;
  for (var r = 0u; r < 16u; r++) {
    let co = co0 + r;
    if (co >= P.CO) { break; }
    let o = ((base + g * P.CO + co) * P.CI + ci) * KK + i * KW;
    for (var j = 0u; j < KW; j++) { Part[o + j] = acc[j][r]; }
  }
}

// Depthwise weight gradient (groups = channels C = P.G, one input and one output channel each; KH*KW <= 25):
// lane L owns channel c = 8 wid.x + L and its KK taps, summed over the part's output rows: per 4 pixels, its dY
// (one vec4 when VEC4), per kernel row its input segment, KK dot products. Part[part, c, i, j]; grid
// (ceil(C / 8), 1, parts).
@compute @workgroup_size(8)
fn depthwise(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let part = P.zBase + wid.z;
  let C = P.G;
  let cq = wid.x * 8u + lane;
  let c = min(cq, C - 1u);
  let H = i32(P.H);
  let Wd = i32(P.W);
  let outPlane = P.Ho * P.Wo;
  let plane = P.H * P.W;
  let u0 = part * P.rows;
  let u1 = min(P.NR, u0 + P.rows);
  let KK = KH * KW;
  var acc: array<f32, 25>;
  for (var u = u0; u < u1; u++) {
    let n = u / P.Ho;
    let oh = u % P.Ho;
    let gBase = (n * C + c) * outPlane + oh * P.Wo;
    let xPlane = (n * C + c) * plane;
    for (var ow0 = 0u; ow0 < P.Wo; ow0 += 4u) {
      var gv: vec4<f32>;
      if (VEC4) {
        gv = Gy[(gBase + ow0) / 4u];
      } else {
        for (var t = 0u; t < 4u; t++) {
          let ok = ow0 + t < P.Wo;
          let ia = gBase + select(0u, ow0 + t, ok);
          gv[t] = select(0.0, Gy[ia / 4u][ia % 4u], ok);
        }
      }
      let w0 = i32(ow0 * SW) - i32(P.pw);
      for (var i = 0u; i < KH; i++) {
        let h = i32(oh * SH) - i32(P.ph) + i32(i * DH);
        let rowOk = h >= 0 && h < H;
        let rowBase = xPlane + u32(clamp(h, 0, H - 1)) * P.W;
        var seg: array<f32, 16>;
        if (USE_SEG) {
          for (var t = 0u; t < SEG; t++) {
            let w = w0 + i32(t);
            seg[t] = select(0.0, X[rowBase + u32(clamp(w, 0, Wd - 1))], rowOk && w >= 0 && w < Wd);
          }
        }
        for (var j = 0u; j < KW; j++) {
          var b: vec4<f32>;
          if (USE_SEG) {
            b = vec4<f32>(seg[j * DW], seg[j * DW + SW], seg[j * DW + 2u * SW], seg[j * DW + 3u * SW]);
          } else {
            for (var t = 0u; t < 4u; t++) {
              let w = w0 + i32(j * DW + t * SW);
              b[t] = select(0.0, X[rowBase + u32(clamp(w, 0, Wd - 1))], rowOk && w >= 0 && w < Wd);
            }
          }
          acc[i * KW + j] += dot(gv, b);
        }
      }
    }
  }
  if (cq >= C) { return; }
  let o = (part * C + c) * KK;
  for (var t = 0u; t < KK; t++) { Part[o + t] = acc[t]; }
}
