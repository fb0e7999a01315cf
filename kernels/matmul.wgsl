enable subgroups; // [subgroup] src/ops/matmul.ts drops this line and the [subgroup] block for its portable variant
// Batched C[b] = A[b] x B[b]: A is [M, K] (or [K, M] when TA), B is [K, N] (or [N, K] when TB), C is [M, N].
// Batch strides of 0 broadcast an operand.
//
// Shaped for lavapipe (llvmpipe's Vulkan), where 8 invocations are the 8 lanes of one SIMD register and every
// storage-buffer load inside a loop is a per-lane gather (about 6 instructions per lane), so loads per FMA
// decide the speed. A workgroup is 8 invocations = one subgroup computing an 8 x 24 tile of C:
//   - lane L loads A(m0 + L, k) (one gather for 8 rows) and subgroupBroadcast hands row r's value to all lanes;
//   - lane L owns columns n0 + L, n0 + L + 8, n0 + L + 16, so its B loads are 8 consecutive floats per gather;
//   - each lane keeps 8 rows x 3 columns = 24 accumulators (more spill), no workgroup memory, no barriers;
//   - k advances by 4 per iteration with each operand's 4 values loaded back to back (fewer L1 conflict
//     misses when K or N is a power of two and a lane walks a transposed operand).
// Per 4 k: 16 gathered floats per lane for 96 lane FMAs (portable variant: +32 lane-uniform A loads instead
// of the broadcasts). No workgroup memory, so any M, N, K works; rows and columns past the edge are clamped
// for loading and skipped when storing.
// mBase/zBase: first tile row and batch index of this dispatch (large grids are split, 65535 workgroups per axis).
struct Params { M: u32, N: u32, K: u32, batch: u32, strideA: u32, strideB: u32, mBase: u32, zBase: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
override TA: bool = false;
override TB: bool = false;

// Offset of A(m, 0) and the step between A(m, k) and A(m, k + 1) (A's batch offset included).
var<private> aRow: array<u32, 8>;
var<private> aStep: u32;

// [subgroup]
// The 8 tile rows' A values at one k, each lane-uniform: lane r loaded row r's value (`own`).
fn rowsA(own: f32, k: u32) -> array<f32, 8> {
  return array<f32, 8>(subgroupBroadcast(own, 0u), subgroupBroadcast(own, 1u), subgroupBroadcast(own, 2u), subgroupBroadcast(own, 3u),
                       subgroupBroadcast(own, 4u), subgroupBroadcast(own, 5u), subgroupBroadcast(own, 6u), subgroupBroadcast(own, 7u));
}
// [/subgroup]
// [portable]
// // The 8 tile rows' A values at one k, each loaded by every lane from the same address.
// fn rowsA(own: f32, k: u32) -> array<f32, 8> {
//   let o = k * aStep;
//   return array<f32, 8>(A[aRow[0] + o], A[aRow[1] + o], A[aRow[2] + o], A[aRow[3] + o],
//                        A[aRow[4] + o], A[aRow[5] + o], A[aRow[6] + o], A[aRow[7] + o]);
// }
// [/portable]

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let M = P.M;
  let N = P.N;
  let K = P.K;
  let z = P.zBase + wid.z;
  let m0 = P.mBase + wid.y * 8u;
  let n0 = wid.x * 24u;
  let baseA = z * P.strideA;
  let baseB = z * P.strideB;

  // A: offsets of the tile's rows (clamped to the last row) and the k step.
  var mStride: u32;
  if (TA) { aStep = M; mStride = 1u; } else { aStep = 1u; mStride = K; }
  for (var r = 0u; r < 8u; r++) { aRow[r] = baseA + min(m0 + r, M - 1u) * mStride; }
  let aOwn = baseA + min(m0 + lane, M - 1u) * mStride;
  // B: this lane's three columns (clamped to the last column) and the k step.
  let n = vec3<u32>(n0 + lane, n0 + lane + 8u, n0 + lane + 16u);
  let nc = min(n, vec3<u32>(N - 1u));
  var bCol: vec3<u32>;
  var bStep: u32;
  if (TB) { bCol = baseB + nc * K; bStep = 1u; } else { bCol = baseB + nc; bStep = N; }

  var c0 = vec3<f32>(); var c1 = vec3<f32>(); var c2 = vec3<f32>(); var c3 = vec3<f32>();
  var c4 = vec3<f32>(); var c5 = vec3<f32>(); var c6 = vec3<f32>(); var c7 = vec3<f32>();
  var k = 0u;
  for (; k + 4u <= K; k += 4u) {
    let ao = aOwn + k * aStep;
    let own = vec4<f32>(A[ao], A[ao + aStep], A[ao + 2u * aStep], A[ao + 3u * aStep]);
    let bo = k * bStep;
    let q0 = vec4<f32>(B[bCol.x + bo], B[bCol.x + bo + bStep], B[bCol.x + bo + 2u * bStep], B[bCol.x + bo + 3u * bStep]);
    let q1 = vec4<f32>(B[bCol.y + bo], B[bCol.y + bo + bStep], B[bCol.y + bo + 2u * bStep], B[bCol.y + bo + 3u * bStep]);
    let q2 = vec4<f32>(B[bCol.z + bo], B[bCol.z + bo + bStep], B[bCol.z + bo + 2u * bStep], B[bCol.z + bo + 3u * bStep]);
    var a = rowsA(own.x, k);
    var b = vec3<f32>(q0.x, q1.x, q2.x);
    c0 = fma(vec3<f32>(a[0]), b, c0); c1 = fma(vec3<f32>(a[1]), b, c1); c2 = fma(vec3<f32>(a[2]), b, c2); c3 = fma(vec3<f32>(a[3]), b, c3);
    c4 = fma(vec3<f32>(a[4]), b, c4); c5 = fma(vec3<f32>(a[5]), b, c5); c6 = fma(vec3<f32>(a[6]), b, c6); c7 = fma(vec3<f32>(a[7]), b, c7);
    a = rowsA(own.y, k + 1u);
    b = vec3<f32>(q0.y, q1.y, q2.y);
    c0 = fma(vec3<f32>(a[0]), b, c0); c1 = fma(vec3<f32>(a[1]), b, c1); c2 = fma(vec3<f32>(a[2]), b, c2); c3 = fma(vec3<f32>(a[3]), b, c3);
    c4 = fma(vec3<f32>(a[4]), b, c4); c5 = fma(vec3<f32>(a[5]), b, c5); c6 = fma(vec3<f32>(a[6]), b, c6); c7 = fma(vec3<f32>(a[7]), b, c7);
    a = rowsA(own.z, k + 2u);
    b = vec3<f32>(q0.z, q1.z, q2.z);
    c0 = fma(vec3<f32>(a[0]), b, c0); c1 = fma(vec3<f32>(a[1]), b, c1); c2 = fma(vec3<f32>(a[2]), b, c2); c3 = fma(vec3<f32>(a[3]), b, c3);
    c4 = fma(vec3<f32>(a[4]), b, c4); c5 = fma(vec3<f32>(a[5]), b, c5); c6 = fma(vec3<f32>(a[6]), b, c6); c7 = fma(vec3<f32>(a[7]), b, c7);
    a = rowsA(own.w, k + 3u);
    b = vec3<f32>(q0.w, q1.w, q2.w);
    c0 = fma(vec3<f32>(a[0]), b, c0); c1 = fma(vec3<f32>(a[1]), b, c1); c2 = fma(vec3<f32>(a[2]), b, c2); c3 = fma(vec3<f32>(a[3]), b, c3);
    c4 = fma(vec3<f32>(a[4]), b, c4); c5 = fma(vec3<f32>(a[5]), b, c5); c6 = fma(vec3<f32>(a[6]), b, c6); c7 = fma(vec3<f32>(a[7]), b, c7);
  }
  // The last K % 4 steps.
  for (; k < K; k++) {
    let a = rowsA(A[aOwn + k * aStep], k);
    let bo = k * bStep;
    let b = vec3<f32>(B[bCol.x + bo], B[bCol.y + bo], B[bCol.z + bo]);
    c0 = fma(vec3<f32>(a[0]), b, c0); c1 = fma(vec3<f32>(a[1]), b, c1); c2 = fma(vec3<f32>(a[2]), b, c2); c3 = fma(vec3<f32>(a[3]), b, c3);
    c4 = fma(vec3<f32>(a[4]), b, c4); c5 = fma(vec3<f32>(a[5]), b, c5); c6 = fma(vec3<f32>(a[6]), b, c6); c7 = fma(vec3<f32>(a[7]), b, c7);
  }

  let cs = array<vec3<f32>, 8>(c0, c1, c2, c3, c4, c5, c6, c7);
  let baseC = z * M * N;
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + r;
    if (m >= M) { break; }
    let o = baseC + m * N;
    if (n.x < N) { C[o + n.x] = cs[r].x; }
    if (n.y < N) { C[o + n.y] = cs[r].y; }
    if (n.z < N) { C[o + n.z] = cs[r].z; }
  }
}
