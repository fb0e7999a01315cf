// Convolution data movement around the matmul kernel (convolution as matrix products):
//   im2col: X [nb, C, H, W] -> Cols [nb, C*kh*kw, Ho*Wo], Cols[n, (c*kh + i)*kw + j, oh*Wo + ow] = X[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 outside).
//   col2im: the adjoint, a gather: Img [nb, C, H, W] = sum over the (i, j) whose window covers each pixel of Cols.
// Conv forward is W x im2col(X); its input gradient and convTranspose2d's forward are col2im(W^T x G).
struct Params {
  n: u32, C: u32, H: u32, W: u32,
  Ho: u32, Wo: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, ph: u32, pw: u32,
  dh: u32, dw: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read_write> Dst: array<f32>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn im2col(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = flatIndex(wid, nwg, lid, WG);
  if (e >= P.n) { return; }
  let plane = P.Ho * P.Wo;
  let p = e % plane;
  let row = e / plane;
  let kk = P.kh * P.kw;
  let r = row % (P.C * kk);
  let img = row / (P.C * kk);
  let c = r / kk;
  let i = (r % kk) / P.kw;
  let j = r % P.kw;
  // Signed coordinates: padding puts windows partly outside the image.
  let h = i32((p / P.Wo) * P.sh + i * P.dh) - i32(P.ph);
  let w = i32((p % P.Wo) * P.sw + j * P.dw) - i32(P.pw);
  var v = 0.0;
  if (h >= 0 && h < i32(P.H) && w >= 0 && w < i32(P.W)) {
    v = Src[((img * P.C + c) * P.H + u32(h)) * P.W + u32(w)];
  }
  Dst[e] = v;
}

@compute @workgroup_size(WG)
fn col2im(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = flatIndex(wid, nwg, lid, WG);
  if (e >= P.n) { return; }
  let w = e % P.W;
  let h = (e / P.W) % P.H;
  let plane = e / (P.W * P.H); // img * C + c
  let kk = P.kh * P.kw;
  let colsPlane = P.Ho * P.Wo;
  var acc = 0.0;
  for (var i = 0u; i < P.kh; i++) {
    let hh = i32(h + P.ph) - i32(i * P.dh);
    if (hh < 0 || u32(hh) % P.sh != 0u) { continue; }
    let oh = u32(hh) / P.sh;
    if (oh >= P.Ho) { continue; }
    for (var j = 0u; j < P.kw; j++) {
      let ww = i32(w + P.pw) - i32(j * P.dw);
      if (ww < 0 || u32(ww) % P.sw != 0u) { continue; }
      let ow = u32(ww) / P.sw;
      if (ow >= P.Wo) { continue; }
      acc += Src[(plane * kk + i * P.kw + j) * colsPlane + oh * P.Wo + ow];
    }
  }
  Dst[e] = acc;
}

// 1x1 convs without padding (any stride), where im2col is a strided copy and col2im its zero-filling adjoint. One
// invocation per pixel on 8x8 workgroups over (column, row), wid.z + n the plane (img * C + c); SH/SW fold the
// division by the stride (lavapipe scalarises a per-lane division by a uniform).
override SH: u32 = 1u;
override SW: u32 = 1u;

//   subsample: Dst [planes, Ho, Wo] = Src [planes, H, W] at (oh * SH, ow * SW).
@compute @workgroup_size(8, 8)
fn subsample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let ow = gid.x;
  let oh = gid.y;
  if (ow >= P.Wo || oh >= P.Ho) { return; }
  let plane = P.n + wid.z;
  Dst[(plane * P.Ho + oh) * P.Wo + ow] = Src[(plane * P.H + oh * SH) * P.W + ow * SW];
}

//   upsample: Dst [planes, H, W] = Src [planes, Ho, Wo] at the pixels subsample reads, 0 elsewhere.
@compute @workgroup_size(8, 8)
fn upsample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let w = gid.x;
  let h = gid.y;
  if (w >= P.W || h >= P.H) { return; }
  let plane = P.n + wid.z;
  let oh = h / SH;
  let ow = w / SW;
  var v = 0.0;
  if (h % SH == 0u && w % SW == 0u && oh < P.Ho && ow < P.Wo) { v = Src[(plane * P.Ho + oh) * P.Wo + ow]; }
  Dst[(plane * P.H + h) * P.W + w] = v;
}
