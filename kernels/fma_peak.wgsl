// Peak FMA-rate probe (bench/fma-peak.ts): every invocation runs NACC independent vec4 FMA chains,
// 16 steps per loop iteration written out (lavapipe pays a lot per loop iteration), no memory traffic
// in the loop. FLOP per invocation = iters * 16 * NACC * 4 * 2. Generated once by a node one-liner:
// entry points acc4, acc8 and acc16 differ only in the number of accumulators.
struct Params { iters: u32, mul: f32, add: f32, pad: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(64)
fn acc4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let seed = f32(gid.x) * 1e-7;
  var x0 = vec4<f32>(seed + 0.0 * 1e-3);
  var x1 = vec4<f32>(seed + 1.0 * 1e-3);
  var x2 = vec4<f32>(seed + 2.0 * 1e-3);
  var x3 = vec4<f32>(seed + 3.0 * 1e-3);
  let m = vec4<f32>(P.mul);
  let c = vec4<f32>(P.add);
  for (var i = 0u; i < P.iters; i++) {
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c);
  }
  Out[gid.x] = dot(x0 + x1 + x2 + x3, vec4<f32>(1.0));
}

@compute @workgroup_size(64)
fn acc8(@builtin(global_invocation_id) gid: vec3<u32>) {
  let seed = f32(gid.x) * 1e-7;
  var x0 = vec4<f32>(seed + 0.0 * 1e-3);
  var x1 = vec4<f32>(seed + 1.0 * 1e-3);
  var x2 = vec4<f32>(seed + 2.0 * 1e-3);
  var x3 = vec4<f32>(seed + 3.0 * 1e-3);
  var x4 = vec4<f32>(seed + 4.0 * 1e-3);
  var x5 = vec4<f32>(seed + 5.0 * 1e-3);
  var x6 = vec4<f32>(seed + 6.0 * 1e-3);
  var x7 = vec4<f32>(seed + 7.0 * 1e-3);
  let m = vec4<f32>(P.mul);
  let c = vec4<f32>(P.add);
  for (var i = 0u; i < P.iters; i++) {
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c);
  }
  Out[gid.x] = dot(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7, vec4<f32>(1.0));
}

@compute @workgroup_size(64)
fn acc16(@builtin(global_invocation_id) gid: vec3<u32>) {
  let seed = f32(gid.x) * 1e-7;
  var x0 = vec4<f32>(seed + 0.0 * 1e-3);
  var x1 = vec4<f32>(seed + 1.0 * 1e-3);
  var x2 = vec4<f32>(seed + 2.0 * 1e-3);
  var x3 = vec4<f32>(seed + 3.0 * 1e-3);
  var x4 = vec4<f32>(seed + 4.0 * 1e-3);
  var x5 = vec4<f32>(seed + 5.0 * 1e-3);
  var x6 = vec4<f32>(seed + 6.0 * 1e-3);
  var x7 = vec4<f32>(seed + 7.0 * 1e-3);
  var x8 = vec4<f32>(seed + 8.0 * 1e-3);
  var x9 = vec4<f32>(seed + 9.0 * 1e-3);
  var x10 = vec4<f32>(seed + 10.0 * 1e-3);
  var x11 = vec4<f32>(seed + 11.0 * 1e-3);
  var x12 = vec4<f32>(seed + 12.0 * 1e-3);
  var x13 = vec4<f32>(seed + 13.0 * 1e-3);
  var x14 = vec4<f32>(seed + 14.0 * 1e-3);
  var x15 = vec4<f32>(seed + 15.0 * 1e-3);
  let m = vec4<f32>(P.mul);
  let c = vec4<f32>(P.add);
  for (var i = 0u; i < P.iters; i++) {
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
    x0 = fma(x0, m, c); x1 = fma(x1, m, c); x2 = fma(x2, m, c); x3 = fma(x3, m, c); x4 = fma(x4, m, c); x5 = fma(x5, m, c); x6 = fma(x6, m, c); x7 = fma(x7, m, c); x8 = fma(x8, m, c); x9 = fma(x9, m, c); x10 = fma(x10, m, c); x11 = fma(x11, m, c); x12 = fma(x12, m, c); x13 = fma(x13, m, c); x14 = fma(x14, m, c); x15 = fma(x15, m, c);
  }
  Out[gid.x] = dot(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11 + x12 + x13 + x14 + x15, vec4<f32>(1.0));
}
