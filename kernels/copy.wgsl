// Strided region copy: for each index of `shape`, Dst[dstBase + idx.dstStride] = Src[srcBase + idx.srcStride].
// Permute, slice, expand, concat and pad are all this one kernel with different strides and bases.
struct Params {
  n: u32, rank: u32, srcBase: u32, dstBase: u32,
  shape: array<vec4<u32>, 2>,
  srcStride: array<vec4<u32>, 2>,
  dstStride: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Src: array<f32>;
@group(0) @binding(2) var<storage, read_write> Dst: array<f32>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let o = offsets2(i, P.rank, P.shape, P.srcStride, P.dstStride);
  Dst[P.dstBase + o.y] = Src[P.srcBase + o.x];
}
