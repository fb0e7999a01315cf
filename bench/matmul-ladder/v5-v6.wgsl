// Ladder v5 and v6: kernels/matmul.wgsl before its 16-row tiles (8-row tiles, 24 or 32 accumulators per lane).
// v5 = `main`: v4 with the 4 unrolled k of each operand loaded back to back (an 8-way interleave of loads and
// FMAs thrashed L1 when a lane walks a transposed operand with a power-of-two stride). v6 = `main_n4` (B as vec4
// along N, 8 x 32 tiles) for A x B and `main_k4` (B as vec4 along K) for A x B^T.
enable subgroups; // [subgroup] src/ops/matmul.ts drops this line and the [subgroup] block for its portable variant
// Batched C[b] = A[b] x B[b]: A is [M, K] (or [K, M] when TA), B is [K, N] (or [N, K] when TB), C is [M, N].
// Batch strides of 0 broadcast an operand.
//
// Shaped for lavapipe (llvmpipe's Vulkan), where 8 invocations are the 8 lanes of one SIMD register and every
// storage-buffer load inside a loop is a per-lane gather (a branch, a bounds check and a scalar load per lane
// and component), so loads per FMA decide the speed, not FMAs. A workgroup is 8 invocations = one subgroup
// computing an 8-row tile of C with no workgroup memory and no barriers:
//   - lane L loads A(m0 + L, k) (one gather for the 8 rows) and subgroupBroadcast hands row r's value to all lanes;
//   - each lane owns some columns of the tile and keeps 8 rows x (3 or 4) columns of accumulators (more spill);
//   - k advances by 4 per iteration, each operand's 4 values loaded back to back (when a lane walks a transposed
//     operand with a power-of-two stride, interleaving them with the FMAs thrashes L1).
// Three entry points, chosen by src/ops/matmul.ts:
//   main     any shape and TA/TB: 8 x 24 tile, lane L owns columns n0 + L, n0 + L + 8, n0 + L + 16
//            (B loads are 8 consecutive floats per gather when !TB). Per 4 k and lane: 16 loads, 96 FMAs.
//   main_n4  !TB, N % 4 == 0, strideB % 4 == 0: 8 x 32 tile, lane L owns columns n0 + 4L .. n0 + 4L + 3, read as one
//            vec4 (one branch and bounds check per lane for 4 floats). Per 4 k and lane: 4 + 4 vec4 loads, 128 FMAs.
//   main_k4  TB, !TA, K % 4 == 0, strideB % 4 == 0: like main, with each column's 4 k values read as one vec4.
// Rows and columns past the edge are clamped for loading and skipped when storing, so any M, N, K works.
// mBase/zBase: first tile row and batch index of this dispatch (large grids are split, 65535 workgroups per axis).
struct Params { M: u32, N: u32, K: u32, batch: u32, strideA: u32, strideB: u32, mBase: u32, zBase: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read> B4: array<vec4<f32>>; // the same buffer as B, for main_n4 and main_k4
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
override TA: bool = false;
override TB: bool = false;

// Set by each entry point: offsets of A(m0 + r, 0) for the tile's 8 rows and the step from A(m, k) to A(m, k + 1).
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

// Tile setup shared by the entry points: sets aRow/aStep and returns the offset of A(m0 + lane, 0) (rows clamped).
fn setupA(baseA: u32, m0: u32, lane: u32) -> u32 {
  var mStride: u32;
  if (TA) { aStep = P.M; mStride = 1u; } else { aStep = 1u; mStride = P.K; }
  for (var r = 0u; r < 8u; r++) { aRow[r] = baseA + min(m0 + r, P.M - 1u) * mStride; }
  return baseA + min(m0 + lane, P.M - 1u) * mStride;
}

// A(m0 + lane, k .. k + 3).
fn ownA(aOwn: u32, k: u32) -> vec4<f32> {
  let o = aOwn + k * aStep;
  return vec4<f32>(A[o], A[o + aStep], A[o + 2u * aStep], A[o + 3u * aStep]);
}

fn fmaRows3(acc: ptr<function, array<vec3<f32>, 8>>, a: array<f32, 8>, b: vec3<f32>) {
  (*acc)[0] = fma(vec3<f32>(a[0]), b, (*acc)[0]); (*acc)[1] = fma(vec3<f32>(a[1]), b, (*acc)[1]);
  (*acc)[2] = fma(vec3<f32>(a[2]), b, (*acc)[2]); (*acc)[3] = fma(vec3<f32>(a[3]), b, (*acc)[3]);
  (*acc)[4] = fma(vec3<f32>(a[4]), b, (*acc)[4]); (*acc)[5] = fma(vec3<f32>(a[5]), b, (*acc)[5]);
  (*acc)[6] = fma(vec3<f32>(a[6]), b, (*acc)[6]); (*acc)[7] = fma(vec3<f32>(a[7]), b, (*acc)[7]);
}

fn fmaRows4(acc: ptr<function, array<vec4<f32>, 8>>, a: array<f32, 8>, b: vec4<f32>) {
  (*acc)[0] = fma(vec4<f32>(a[0]), b, (*acc)[0]); (*acc)[1] = fma(vec4<f32>(a[1]), b, (*acc)[1]);
  (*acc)[2] = fma(vec4<f32>(a[2]), b, (*acc)[2]); (*acc)[3] = fma(vec4<f32>(a[3]), b, (*acc)[3]);
  (*acc)[4] = fma(vec4<f32>(a[4]), b, (*acc)[4]); (*acc)[5] = fma(vec4<f32>(a[5]), b, (*acc)[5]);
  (*acc)[6] = fma(vec4<f32>(a[6]), b, (*acc)[6]); (*acc)[7] = fma(vec4<f32>(a[7]), b, (*acc)[7]);
}

// 8 x 24 tiles, lane L owning the interleaved columns n0 + L + 8j (j = 0, 1, 2): any shape and TA/TB.
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let M = P.M;
  let N = P.N;
  let K = P.K;
  let z = P.zBase + wid.z;
  let m0 = P.mBase + wid.y * 8u;
  let aOwn = setupA(z * P.strideA, m0, lane);
  // This lane's three columns (clamped to the last one) and B's step along k.
  let n = vec3<u32>(wid.x * 24u + lane) + vec3<u32>(0u, 8u, 16u);
  let nc = min(n, vec3<u32>(N - 1u));
  var bCol: vec3<u32>;
  var bStep: u32;
  if (TB) { bCol = z * P.strideB + nc * K; bStep = 1u; } else { bCol = z * P.strideB + nc; bStep = N; }

  var acc: array<vec3<f32>, 8>;
  var k = 0u;
  for (; k + 4u <= K; k += 4u) {
    let own = ownA(aOwn, k);
    let o = k * bStep;
    let q0 = vec4<f32>(B[bCol.x + o], B[bCol.x + o + bStep], B[bCol.x + o + 2u * bStep], B[bCol.x + o + 3u * bStep]);
    let q1 = vec4<f32>(B[bCol.y + o], B[bCol.y + o + bStep], B[bCol.y + o + 2u * bStep], B[bCol.y + o + 3u * bStep]);
    let q2 = vec4<f32>(B[bCol.z + o], B[bCol.z + o + bStep], B[bCol.z + o + 2u * bStep], B[bCol.z + o + 3u * bStep]);
    fmaRows3(&acc, rowsA(own.x, k), vec3<f32>(q0.x, q1.x, q2.x));
    fmaRows3(&acc, rowsA(own.y, k + 1u), vec3<f32>(q0.y, q1.y, q2.y));
    fmaRows3(&acc, rowsA(own.z, k + 2u), vec3<f32>(q0.z, q1.z, q2.z));
    fmaRows3(&acc, rowsA(own.w, k + 3u), vec3<f32>(q0.w, q1.w, q2.w));
  }
  for (; k < K; k++) {
    let o = k * bStep;
    fmaRows3(&acc, rowsA(A[aOwn + k * aStep], k), vec3<f32>(B[bCol.x + o], B[bCol.y + o], B[bCol.z + o]));
  }

  let cs = acc;
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + r;
    if (m >= M) { break; }
    let o = (z * M + m) * N;
    if (n.x < N) { C[o + n.x] = cs[r].x; }
    if (n.y < N) { C[o + n.y] = cs[r].y; }
    if (n.z < N) { C[o + n.z] = cs[r].z; }
  }
}

// 8 x 32 tiles, lane L owning columns n0 + 4L .. n0 + 4L + 3 read as one vec4. Needs !TB, N % 4 == 0 and
// strideB % 4 == 0 (TA is free).
@compute @workgroup_size(8)
fn main_n4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let M = P.M;
  let N = P.N;
  let K = P.K;
  let z = P.zBase + wid.z;
  let m0 = P.mBase + wid.y * 8u;
  let aOwn = setupA(z * P.strideA, m0, lane);
  let N4 = N / 4u;
  let n = wid.x * 32u + lane * 4u;
  let bCol = z * (P.strideB / 4u) + min(n / 4u, N4 - 1u);

  var acc: array<vec4<f32>, 8>;
  var k = 0u;
  for (; k + 4u <= K; k += 4u) {
    let own = ownA(aOwn, k);
    let o = bCol + k * N4;
    let q0 = B4[o];
    let q1 = B4[o + N4];
    let q2 = B4[o + 2u * N4];
    let q3 = B4[o + 3u * N4];
    fmaRows4(&acc, rowsA(own.x, k), q0);
    fmaRows4(&acc, rowsA(own.y, k + 1u), q1);
    fmaRows4(&acc, rowsA(own.z, k + 2u), q2);
    fmaRows4(&acc, rowsA(own.w, k + 3u), q3);
  }
  for (; k < K; k++) {
    fmaRows4(&acc, rowsA(A[aOwn + k * aStep], k), B4[bCol + k * N4]);
  }

  if (n >= N) { return; }
  let cs = acc;
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + r;
    if (m >= M) { break; }
    let o = (z * M + m) * N + n;
    C[o] = cs[r].x;
    C[o + 1u] = cs[r].y;
    C[o + 2u] = cs[r].z;
    C[o + 3u] = cs[r].w;
  }
}

// main's 8 x 24 tiles for B stored [N, K] (TB) with each column's 4 k values read as one vec4. Needs TB, !TA,
// K % 4 == 0 and strideB % 4 == 0.
@compute @workgroup_size(8)
fn main_k4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let M = P.M;
  let N = P.N;
  let K = P.K;
  let z = P.zBase + wid.z;
  let m0 = P.mBase + wid.y * 8u;
  let aOwn = setupA(z * P.strideA, m0, lane);
  let n = vec3<u32>(wid.x * 24u + lane) + vec3<u32>(0u, 8u, 16u);
  let bCol = z * (P.strideB / 4u) + min(n, vec3<u32>(N - 1u)) * (K / 4u);

  var acc: array<vec3<f32>, 8>;
  for (var k = 0u; k < K; k += 4u) {
    let own = ownA(aOwn, k);
    let q0 = B4[bCol.x + k / 4u];
    let q1 = B4[bCol.y + k / 4u];
    let q2 = B4[bCol.z + k / 4u];
    fmaRows3(&acc, rowsA(own.x, k), vec3<f32>(q0.x, q1.x, q2.x));
    fmaRows3(&acc, rowsA(own.y, k + 1u), vec3<f32>(q0.y, q1.y, q2.y));
    fmaRows3(&acc, rowsA(own.z, k + 2u), vec3<f32>(q0.z, q1.z, q2.z));
    fmaRows3(&acc, rowsA(own.w, k + 3u), vec3<f32>(q0.w, q1.w, q2.w));
  }

  let cs = acc;
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + r;
    if (m >= M) { break; }
    let o = (z * M + m) * N;
    if (n.x < N) { C[o + n.x] = cs[r].x; }
    if (n.y < N) { C[o + n.y] = cs[r].y; }
    if (n.z < N) { C[o + n.z] = cs[r].z; }
  }
}
