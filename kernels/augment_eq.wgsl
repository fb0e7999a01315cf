// Histogram equalisation of warped training images: albumentations Equalize(mode="cv", by_channels=True), i.e.
// cv2.equalizeHist on each channel, applied to Inter (uint8 values as f32, NCHW, see augment.wgsl) between the
// warp and the photometric pass, for the samples whose record has flag 1 (word 109). Three entry points:
//   histogram: per sample and channel, a 256-bin histogram of the inner image (workgroup atomics, then one global
//              atomic add per non-empty bin and workgroup) into Hist, which starts zeroed.
//   lut:       one invocation per (sample, channel): OpenCV's table. With v0 the smallest value present and N the
//              pixel count: the identity when every pixel is v0, else lut[v0] = 0 and
//              lut[v] = saturate(round_half_even(f32(cdf[v] - hist[v0]) * f32(255 / f32(N - hist[v0])))),
//              the division correctly rounded (long division), as OpenCV computes it in float.
//   apply:     Inter <- lut[Inter] over the inner image.
struct Params { outW: u32, outH: u32, B: u32, mode: u32, mean: vec4<f32>, stdev: vec4<f32> }
@group(0) @binding(0) var<uniform> P: Params;

const REC: u32 = 120u;

@group(0) @binding(1) var<storage, read> R: array<u32>;
@group(0) @binding(2) var<storage, read_write> Inter: array<f32>;
@group(0) @binding(3) var<storage, read_write> Hist: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> Lut: array<u32>;

var<workgroup> H: array<atomic<u32>, 768>;

@compute @workgroup_size(16, 16)
fn histogram(@builtin(global_invocation_id) g: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = arrayLength(&Lut); // bound for a shared bind-group layout
  let b = g.z;
  let r = b * REC;
  for (var c = 0u; c < 3u; c++) { atomicStore(&H[c * 256u + lid], 0u); }
  workgroupBarrier();
  let on = (R[r + 109u] & 1u) != 0u;
  if (on && g.x < R[r + 3u] && g.y < R[r + 4u]) {
    let plane = P.outW * P.outH;
    let o = b * 3u * plane + g.y * P.outW + g.x;
    for (var c = 0u; c < 3u; c++) {
      atomicAdd(&H[c * 256u + u32(Inter[o + c * plane])], 1u);
    }
  }
  workgroupBarrier();
  if (on) {
    for (var c = 0u; c < 3u; c++) {
      let n = atomicLoad(&H[c * 256u + lid]);
      if (n > 0u) { atomicAdd(&Hist[(b * 3u + c) * 256u + lid], n); }
    }
  }
}

// 255 / d correctly rounded to f32, for an integer d >= 1 (first rounded to f32, as OpenCV's int-to-float).
fn div255(n: u32) -> f32 {
  let d = u32(f32(n));
  var m = 255u / d;
  var r = 255u % d;
  var e = 0i;
  // Long division until the quotient has 25 significant bits (24 plus a rounding bit); r != 0 is the sticky bit.
  loop {
    if (m >= 0x1000000u) { break; }
    m = m << 1u;
    r = r << 1u;
    if (r >= d) {
      r -= d;
      m |= 1u;
    }
    e++;
  }
  let half = m & 1u;
  m = m >> 1u;
  e--;
  if (half == 1u && (r != 0u || (m & 1u) == 1u)) { m += 1u; }
  return ldexp(f32(m), -e);
}

@compute @workgroup_size(64)
fn lut(@builtin(global_invocation_id) g: vec3<u32>) {
  _ = arrayLength(&Inter); // bound for a shared bind-group layout
  let i = g.x;
  if (i >= P.B * 3u) { return; }
  let r = (i / 3u) * REC;
  if ((R[r + 109u] & 1u) == 0u) { return; }
  let base = i * 256u;
  let total = R[r + 3u] * R[r + 4u];
  var v0 = 0u;
  loop {
    if (v0 >= 255u || atomicLoad(&Hist[base + v0]) != 0u) { break; }
    v0++;
  }
  let h0 = atomicLoad(&Hist[base + v0]);
  if (h0 == total) {
    for (var v = 0u; v < 256u; v++) { Lut[base + v] = v; }
    return;
  }
  let scale = div255(total - h0);
  for (var v = 0u; v <= v0; v++) { Lut[base + v] = 0u; }
  var sum = 0u;
  for (var v = v0 + 1u; v < 256u; v++) {
    sum += atomicLoad(&Hist[base + v]);
    Lut[base + v] = u32(clamp(round(f32(sum) * scale), 0.0, 255.0));
  }
}

@compute @workgroup_size(16, 16)
fn apply(@builtin(global_invocation_id) g: vec3<u32>) {
  _ = arrayLength(&Hist); // bound for a shared bind-group layout
  let b = g.z;
  let r = b * REC;
  if ((R[r + 109u] & 1u) == 0u || g.x >= R[r + 3u] || g.y >= R[r + 4u]) { return; }
  let plane = P.outW * P.outH;
  let o = b * 3u * plane + g.y * P.outW + g.x;
  for (var c = 0u; c < 3u; c++) {
    Inter[o + c * plane] = f32(Lut[(b * 3u + c) * 256u + u32(Inter[o + c * plane])]);
  }
}
