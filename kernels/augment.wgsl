// Training-time image augmentation for a batch, in two passes (src/data/augment.ts plans the parameters):
//   warp:        Inter[b, c, y, x] = bilinear sample of the uint8 RGB source at innerMatrix^-1 (x, y), border
//                constant 0, rounded to an integer as cv2.warpAffine writes uint8. Every geometric step
//                (resize, flip, affine, crop padding, crop) is folded into that one matrix.
//   photometric: Out[b, c, y, x] (NCHW float32): auto-padding (reflect_101 or constant) -> motion blur
//                (correlation, reflect_101 at the inner image's border, rounded) -> coarse dropout holes ->
//                grayscale blend (truncated) -> Gaussian noise (counter RNG, clipped and truncated) ->
//                normalisation ((v/255 - mean)/std) and/or scaling to [0, 1].
// Sources are packed 4 bytes per u32 word (little-endian), each image starting at a word boundary.
// Per-sample records R (REC words each, see src/data/augment.ts):
//   0 srcOffset (words), 1 srcW, 2 srcH, 3 innerW, 4 innerH, 5 padX, 6 padY, 7 flags (1 reflect padding),
//   8..13 inverse matrix (f32), 14 grayAlpha, 15 noiseSigma, 16 noiseSeed, 17 blurSize, 18 holes, 19 padValue,
//   20..59 holes (x1, y1, x2, y2 as i32), 60..108 blur kernel (f32, blurSize^2), 109 flags (1 equalize: see
//   augment_eq.wgsl, 2 clip, 4 zero padding), 112..115 clip window (f32 x0, y0, x1, y1): with flag 2, inner pixels
//   whose centre is outside [x0, x1) x [y0, y1) are 0 (the zero padding of a top-down or collate crop): black
//   before the photometric steps, or with flag 4 exactly 0 in the output (DeepLabCut's training crops pad the
//   normalised image).
struct Params { outW: u32, outH: u32, B: u32, mode: u32, mean: vec4<f32>, stdev: vec4<f32> }
@group(0) @binding(0) var<uniform> P: Params;

const REC: u32 = 120u;

@group(0) @binding(1) var<storage, read> R: array<u32>;
@group(0) @binding(2) var<storage, read> Src: array<u32>;
@group(0) @binding(3) var<storage, read_write> Inter: array<f32>;

fn srcByte(base: u32, i: u32) -> f32 {
  let byte = base * 4u + i;
  return f32((Src[byte >> 2u] >> ((byte & 3u) * 8u)) & 0xffu);
}

@compute @workgroup_size(16, 16)
fn warp(@builtin(global_invocation_id) g: vec3<u32>) {
  let b = g.z;
  let r = b * REC;
  let iw = R[r + 3u];
  let ih = R[r + 4u];
  if (g.x >= iw || g.y >= ih || b >= P.B) { return; }
  let base = R[r];
  let sw = i32(R[r + 1u]);
  let sh = i32(R[r + 2u]);
  let x = f32(g.x);
  let y = f32(g.y);
  let plane = P.outW * P.outH;
  let o = b * 3u * plane + g.y * P.outW + g.x;
  if ((R[r + 109u] & 2u) != 0u) {
    let c0 = bitcast<f32>(R[r + 112u]);
    let c1 = bitcast<f32>(R[r + 113u]);
    let c2 = bitcast<f32>(R[r + 114u]);
    let c3 = bitcast<f32>(R[r + 115u]);
    if (x < c0 || y < c1 || x >= c2 || y >= c3) {
      Inter[o] = 0.0;
      Inter[o + plane] = 0.0;
      Inter[o + 2u * plane] = 0.0;
      return;
    }
  }
  let sx = bitcast<f32>(R[r + 8u]) * x + bitcast<f32>(R[r + 9u]) * y + bitcast<f32>(R[r + 10u]);
  let sy = bitcast<f32>(R[r + 11u]) * x + bitcast<f32>(R[r + 12u]) * y + bitcast<f32>(R[r + 13u]);
  let fx0 = floor(sx);
  let fy0 = floor(sy);
  let ax = sx - fx0;
  let ay = sy - fy0;
  let x0 = i32(fx0);
  let y0 = i32(fy0);
  var acc = vec3<f32>(0.0);
  for (var dy = 0; dy < 2; dy++) {
    let yy = y0 + dy;
    if (yy < 0 || yy >= sh) { continue; }
    let wy = select(ay, 1.0 - ay, dy == 0);
    for (var dx = 0; dx < 2; dx++) {
      let xx = x0 + dx;
      if (xx < 0 || xx >= sw) { continue; }
      let wgt = wy * select(ax, 1.0 - ax, dx == 0);
      if (wgt == 0.0) { continue; }
      let p = u32(yy * sw + xx) * 3u;
      acc += wgt * vec3<f32>(srcByte(base, p), srcByte(base, p + 1u), srcByte(base, p + 2u));
    }
  }
  let v = clamp(round(acc), vec3<f32>(0.0), vec3<f32>(255.0));
  Inter[o] = v.x;
  Inter[o + plane] = v.y;
  Inter[o + 2u * plane] = v.z;
}

@group(0) @binding(4) var<storage, read_write> Out: array<f32>;

fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

fn unit(h: u32) -> f32 {
  return (f32(h >> 8u) + 0.5) * (1.0 / 16777216.0);
}

// A standard normal for counter i of a sample's stream (Box-Muller on two hashed uniforms).
fn gauss(seed: u32, i: u32) -> f32 {
  let h1 = pcg(i ^ pcg(seed));
  let h2 = pcg(h1 ^ 0x9e3779b9u);
  return sqrt(-2.0 * log(unit(h1))) * cos(6.283185307179586 * unit(h2));
}

fn reflect101(i: i32, n: i32) -> i32 {
  if (n == 1) { return 0; }
  var j = i;
  let period = 2 * (n - 1);
  j = j % period;
  if (j < 0) { j += period; }
  if (j >= n) { j = period - j; }
  return j;
}

fn finish(b: u32, x: u32, y: u32, v: vec3<f32>) {
  var o = v;
  if ((P.mode & 1u) != 0u) { o = (o / 255.0 - P.mean.xyz) / P.stdev.xyz; }
  if ((P.mode & 2u) != 0u) { o = o / 255.0; }
  let plane = P.outW * P.outH;
  let i = b * 3u * plane + y * P.outW + x;
  Out[i] = o.x;
  Out[i + plane] = o.y;
  Out[i + 2u * plane] = o.z;
}

fn inter(b: u32, x: i32, y: i32) -> vec3<f32> {
  let plane = P.outW * P.outH;
  let i = b * 3u * plane + u32(y) * P.outW + u32(x);
  return vec3<f32>(Inter[i], Inter[i + plane], Inter[i + 2u * plane]);
}

@compute @workgroup_size(16, 16)
fn photometric(@builtin(global_invocation_id) g: vec3<u32>) {
  let b = g.z;
  _ = arrayLength(&Src); // bound for a shared bind-group layout with warp
  if (g.x >= P.outW || g.y >= P.outH || b >= P.B) { return; }
  let r = b * REC;
  let iw = i32(R[r + 3u]);
  let ih = i32(R[r + 4u]);
  var ix = i32(g.x) - i32(R[r + 5u]);
  var iy = i32(g.y) - i32(R[r + 6u]);
  if (ix < 0 || iy < 0 || ix >= iw || iy >= ih) {
    if ((R[r + 7u] & 1u) == 0u) {
      finish(b, g.x, g.y, vec3<f32>(bitcast<f32>(R[r + 19u])));
      return;
    }
    ix = reflect101(ix, iw);
    iy = reflect101(iy, ih);
  }
  if ((R[r + 109u] & 4u) != 0u) {
    let fx = f32(ix);
    let fy = f32(iy);
    if (fx < bitcast<f32>(R[r + 112u]) || fy < bitcast<f32>(R[r + 113u]) || fx >= bitcast<f32>(R[r + 114u]) || fy >= bitcast<f32>(R[r + 115u])) {
      let plane = P.outW * P.outH;
      let i = b * 3u * plane + g.y * P.outW + g.x;
      Out[i] = 0.0;
      Out[i + plane] = 0.0;
      Out[i + 2u * plane] = 0.0;
      return;
    }
  }
  var v: vec3<f32>;
  let ks = i32(R[r + 17u]);
  if (ks > 0) {
    let a = ks / 2;
    var acc = vec3<f32>(0.0);
    for (var ky = 0; ky < ks; ky++) {
      for (var kx = 0; kx < ks; kx++) {
        let k = bitcast<f32>(R[r + 60u + u32(ky * ks + kx)]);
        if (k == 0.0) { continue; }
        acc += k * inter(b, reflect101(ix + kx - a, iw), reflect101(iy + ky - a, ih));
      }
    }
    v = clamp(round(acc), vec3<f32>(0.0), vec3<f32>(255.0));
  } else {
    v = inter(b, ix, iy);
  }
  let nh = R[r + 18u];
  for (var h = 0u; h < nh; h++) {
    let q = r + 20u + h * 4u;
    if (ix >= i32(R[q]) && iy >= i32(R[q + 1u]) && ix < i32(R[q + 2u]) && iy < i32(R[q + 3u])) { v = vec3<f32>(0.0); }
  }
  let alpha = bitcast<f32>(R[r + 14u]);
  if (alpha > 0.0) {
    // cv2 RGB2GRAY on uint8: fixed-point weights 4899, 9617, 1868 (>> 14, rounded).
    let gray = floor((v.x * 4899.0 + v.y * 9617.0 + v.z * 1868.0 + 8192.0) / 16384.0);
    v = floor(v * (1.0 - alpha) + gray * alpha);
  }
  let sigma = bitcast<f32>(R[r + 15u]);
  if (sigma > 0.0) {
    let seed = R[r + 16u];
    let p = u32(iy * iw + ix) * 3u;
    let n = vec3<f32>(gauss(seed, p), gauss(seed, p + 1u), gauss(seed, p + 2u));
    v = floor(clamp(v + sigma * n, vec3<f32>(0.0), vec3<f32>(255.0)));
  }
  finish(b, g.x, g.y, v);
}
