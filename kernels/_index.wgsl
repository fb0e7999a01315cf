// Library prepended to kernels that index tensors of up to 8 dimensions (see src/gpu/kernel.ts).

// The linear invocation index of a 1-D problem dispatched as a 2-D grid (a grid dimension holds at most 65535 workgroups).
fn flatIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg + lid;
}

// Item j (of `steps`) of this invocation when each workgroup covers wg * steps items, wg apart: lavapipe pays per
// invocation and per workgroup, so kernels over long flat arrays do several items each (the host dispatches
// ceil(n / steps) invocations).
fn stepIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32, steps: u32, j: u32) -> u32 {
  return ((wid.y * nwg.x + wid.x) * steps + j) * wg + lid;
}

// Element offsets of row-major index `i` of `shape` in two tensors with the given strides (0 where broadcast).
fn offsets2(i: u32, rank: u32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2>) -> vec2<u32> {
  var rem = i;
  var oa = 0u;
  var ob = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let n = shape[q][r];
    let c = rem % n;
    rem = rem / n;
    oa += c * sa[q][r];
    ob += c * sb[q][r];
  }
  return vec2<u32>(oa, ob);
}
