// Out = C != 0 ? A : B with broadcasting; all three inputs are read through strides aligned to Out's shape.
struct Params {
  n: u32, rank: u32,
  shape: array<vec4<u32>, 2>,
  strideC: array<vec4<u32>, 2>,
  strideA: array<vec4<u32>, 2>,
  strideB: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> C: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> Out: array<f32>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let ca = offsets2(i, P.rank, P.shape, P.strideC, P.strideA);
  let b = offsets2(i, P.rank, P.shape, P.strideB, P.strideB).x;
  Out[i] = select(B[b], A[ca.y], C[ca.x] != 0.0);
}
