// Ladder v3: lanes own columns (lane L: n0 + L + 8j, j < 3), 8 rows per 8-lane chunk, 24 accumulators per lane;
// every lane loads the 8 rows A values itself (same address in all lanes, still gathered). 64 invocations =
// 8 chunks side by side along N. Dispatch: ceil(N/192) x ceil(M/8) x batch.
struct Params { M: u32, N: u32, K: u32, batch: u32, strideA: u32, strideB: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
override TA: bool = false;
override TB: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let lane = li & 7u;
  let chunk = li >> 3u;
  let m0 = wid.y * 8u;
  let n0 = (wid.x * 8u + chunk) * 24u;
  let baseA = wid.z * P.strideA;
  let baseB = wid.z * P.strideB;
  let M = P.M; let N = P.N; let K = P.K;
  // Row this lane loads (clamped), and A's stride along k / offset of row.
  let ml = min(m0 + lane, M - 1u);
  var aOff: u32; var aStep: u32;
  if (TA) { aOff = baseA + ml; aStep = M; } else { aOff = baseA + ml * K; aStep = 1u; }
  let mr0 = min(m0 + 0u, M - 1u); var aOff0: u32; if (TA) { aOff0 = baseA + mr0; } else { aOff0 = baseA + mr0 * K; }
  let mr1 = min(m0 + 1u, M - 1u); var aOff1: u32; if (TA) { aOff1 = baseA + mr1; } else { aOff1 = baseA + mr1 * K; }
  let mr2 = min(m0 + 2u, M - 1u); var aOff2: u32; if (TA) { aOff2 = baseA + mr2; } else { aOff2 = baseA + mr2 * K; }
  let mr3 = min(m0 + 3u, M - 1u); var aOff3: u32; if (TA) { aOff3 = baseA + mr3; } else { aOff3 = baseA + mr3 * K; }
  let mr4 = min(m0 + 4u, M - 1u); var aOff4: u32; if (TA) { aOff4 = baseA + mr4; } else { aOff4 = baseA + mr4 * K; }
  let mr5 = min(m0 + 5u, M - 1u); var aOff5: u32; if (TA) { aOff5 = baseA + mr5; } else { aOff5 = baseA + mr5 * K; }
  let mr6 = min(m0 + 6u, M - 1u); var aOff6: u32; if (TA) { aOff6 = baseA + mr6; } else { aOff6 = baseA + mr6 * K; }
  let mr7 = min(m0 + 7u, M - 1u); var aOff7: u32; if (TA) { aOff7 = baseA + mr7; } else { aOff7 = baseA + mr7 * K; }
  var bStep: u32;
  if (TB) { bStep = 1u; } else { bStep = N; }
  let nc0 = min(n0 + lane + 0u, N - 1u); var bOff0: u32; if (TB) { bOff0 = baseB + nc0 * K; } else { bOff0 = baseB + nc0; }
  let nc1 = min(n0 + lane + 8u, N - 1u); var bOff1: u32; if (TB) { bOff1 = baseB + nc1 * K; } else { bOff1 = baseB + nc1; }
  let nc2 = min(n0 + lane + 16u, N - 1u); var bOff2: u32; if (TB) { bOff2 = baseB + nc2 * K; } else { bOff2 = baseB + nc2; }
  var c0_0 = 0.0;
  var c0_1 = 0.0;
  var c0_2 = 0.0;
  var c1_0 = 0.0;
  var c1_1 = 0.0;
  var c1_2 = 0.0;
  var c2_0 = 0.0;
  var c2_1 = 0.0;
  var c2_2 = 0.0;
  var c3_0 = 0.0;
  var c3_1 = 0.0;
  var c3_2 = 0.0;
  var c4_0 = 0.0;
  var c4_1 = 0.0;
  var c4_2 = 0.0;
  var c5_0 = 0.0;
  var c5_1 = 0.0;
  var c5_2 = 0.0;
  var c6_0 = 0.0;
  var c6_1 = 0.0;
  var c6_2 = 0.0;
  var c7_0 = 0.0;
  var c7_1 = 0.0;
  var c7_2 = 0.0;
  var k = 0u;
  for (; k + 4u <= K; k += 4u) {
    { let al = 0.0;
      let b0 = B[bOff0 + (k + 0u) * bStep];
      let b1 = B[bOff1 + (k + 0u) * bStep];
      let b2 = B[bOff2 + (k + 0u) * bStep];
      let a0 = A[aOff0 + (k + 0u) * aStep]; c0_0 = fma(a0, b0, c0_0); c0_1 = fma(a0, b1, c0_1); c0_2 = fma(a0, b2, c0_2);
      let a1 = A[aOff1 + (k + 0u) * aStep]; c1_0 = fma(a1, b0, c1_0); c1_1 = fma(a1, b1, c1_1); c1_2 = fma(a1, b2, c1_2);
      let a2 = A[aOff2 + (k + 0u) * aStep]; c2_0 = fma(a2, b0, c2_0); c2_1 = fma(a2, b1, c2_1); c2_2 = fma(a2, b2, c2_2);
      let a3 = A[aOff3 + (k + 0u) * aStep]; c3_0 = fma(a3, b0, c3_0); c3_1 = fma(a3, b1, c3_1); c3_2 = fma(a3, b2, c3_2);
      let a4 = A[aOff4 + (k + 0u) * aStep]; c4_0 = fma(a4, b0, c4_0); c4_1 = fma(a4, b1, c4_1); c4_2 = fma(a4, b2, c4_2);
      let a5 = A[aOff5 + (k + 0u) * aStep]; c5_0 = fma(a5, b0, c5_0); c5_1 = fma(a5, b1, c5_1); c5_2 = fma(a5, b2, c5_2);
      let a6 = A[aOff6 + (k + 0u) * aStep]; c6_0 = fma(a6, b0, c6_0); c6_1 = fma(a6, b1, c6_1); c6_2 = fma(a6, b2, c6_2);
      let a7 = A[aOff7 + (k + 0u) * aStep]; c7_0 = fma(a7, b0, c7_0); c7_1 = fma(a7, b1, c7_1); c7_2 = fma(a7, b2, c7_2);
    }
    { let al = 0.0;
      let b0 = B[bOff0 + (k + 1u) * bStep];
      let b1 = B[bOff1 + (k + 1u) * bStep];
      let b2 = B[bOff2 + (k + 1u) * bStep];
      let a0 = A[aOff0 + (k + 1u) * aStep]; c0_0 = fma(a0, b0, c0_0); c0_1 = fma(a0, b1, c0_1); c0_2 = fma(a0, b2, c0_2);
      let a1 = A[aOff1 + (k + 1u) * aStep]; c1_0 = fma(a1, b0, c1_0); c1_1 = fma(a1, b1, c1_1); c1_2 = fma(a1, b2, c1_2);
      let a2 = A[aOff2 + (k + 1u) * aStep]; c2_0 = fma(a2, b0, c2_0); c2_1 = fma(a2, b1, c2_1); c2_2 = fma(a2, b2, c2_2);
      let a3 = A[aOff3 + (k + 1u) * aStep]; c3_0 = fma(a3, b0, c3_0); c3_1 = fma(a3, b1, c3_1); c3_2 = fma(a3, b2, c3_2);
      let a4 = A[aOff4 + (k + 1u) * aStep]; c4_0 = fma(a4, b0, c4_0); c4_1 = fma(a4, b1, c4_1); c4_2 = fma(a4, b2, c4_2);
      let a5 = A[aOff5 + (k + 1u) * aStep]; c5_0 = fma(a5, b0, c5_0); c5_1 = fma(a5, b1, c5_1); c5_2 = fma(a5, b2, c5_2);
      let a6 = A[aOff6 + (k + 1u) * aStep]; c6_0 = fma(a6, b0, c6_0); c6_1 = fma(a6, b1, c6_1); c6_2 = fma(a6, b2, c6_2);
      let a7 = A[aOff7 + (k + 1u) * aStep]; c7_0 = fma(a7, b0, c7_0); c7_1 = fma(a7, b1, c7_1); c7_2 = fma(a7, b2, c7_2);
    }
    { let al = 0.0;
      let b0 = B[bOff0 + (k + 2u) * bStep];
      let b1 = B[bOff1 + (k + 2u) * bStep];
      let b2 = B[bOff2 + (k + 2u) * bStep];
      let a0 = A[aOff0 + (k + 2u) * aStep]; c0_0 = fma(a0, b0, c0_0); c0_1 = fma(a0, b1, c0_1); c0_2 = fma(a0, b2, c0_2);
      let a1 = A[aOff1 + (k + 2u) * aStep]; c1_0 = fma(a1, b0, c1_0); c1_1 = fma(a1, b1, c1_1); c1_2 = fma(a1, b2, c1_2);
      let a2 = A[aOff2 + (k + 2u) * aStep]; c2_0 = fma(a2, b0, c2_0); c2_1 = fma(a2, b1, c2_1); c2_2 = fma(a2, b2, c2_2);
      let a3 = A[aOff3 + (k + 2u) * aStep]; c3_0 = fma(a3, b0, c3_0); c3_1 = fma(a3, b1, c3_1); c3_2 = fma(a3, b2, c3_2);
      let a4 = A[aOff4 + (k + 2u) * aStep]; c4_0 = fma(a4, b0, c4_0); c4_1 = fma(a4, b1, c4_1); c4_2 = fma(a4, b2, c4_2);
      let a5 = A[aOff5 + (k + 2u) * aStep]; c5_0 = fma(a5, b0, c5_0); c5_1 = fma(a5, b1, c5_1); c5_2 = fma(a5, b2, c5_2);
      let a6 = A[aOff6 + (k + 2u) * aStep]; c6_0 = fma(a6, b0, c6_0); c6_1 = fma(a6, b1, c6_1); c6_2 = fma(a6, b2, c6_2);
      let a7 = A[aOff7 + (k + 2u) * aStep]; c7_0 = fma(a7, b0, c7_0); c7_1 = fma(a7, b1, c7_1); c7_2 = fma(a7, b2, c7_2);
    }
    { let al = 0.0;
      let b0 = B[bOff0 + (k + 3u) * bStep];
      let b1 = B[bOff1 + (k + 3u) * bStep];
      let b2 = B[bOff2 + (k + 3u) * bStep];
      let a0 = A[aOff0 + (k + 3u) * aStep]; c0_0 = fma(a0, b0, c0_0); c0_1 = fma(a0, b1, c0_1); c0_2 = fma(a0, b2, c0_2);
      let a1 = A[aOff1 + (k + 3u) * aStep]; c1_0 = fma(a1, b0, c1_0); c1_1 = fma(a1, b1, c1_1); c1_2 = fma(a1, b2, c1_2);
      let a2 = A[aOff2 + (k + 3u) * aStep]; c2_0 = fma(a2, b0, c2_0); c2_1 = fma(a2, b1, c2_1); c2_2 = fma(a2, b2, c2_2);
      let a3 = A[aOff3 + (k + 3u) * aStep]; c3_0 = fma(a3, b0, c3_0); c3_1 = fma(a3, b1, c3_1); c3_2 = fma(a3, b2, c3_2);
      let a4 = A[aOff4 + (k + 3u) * aStep]; c4_0 = fma(a4, b0, c4_0); c4_1 = fma(a4, b1, c4_1); c4_2 = fma(a4, b2, c4_2);
      let a5 = A[aOff5 + (k + 3u) * aStep]; c5_0 = fma(a5, b0, c5_0); c5_1 = fma(a5, b1, c5_1); c5_2 = fma(a5, b2, c5_2);
      let a6 = A[aOff6 + (k + 3u) * aStep]; c6_0 = fma(a6, b0, c6_0); c6_1 = fma(a6, b1, c6_1); c6_2 = fma(a6, b2, c6_2);
      let a7 = A[aOff7 + (k + 3u) * aStep]; c7_0 = fma(a7, b0, c7_0); c7_1 = fma(a7, b1, c7_1); c7_2 = fma(a7, b2, c7_2);
    }
  }
  for (; k < K; k++) {
    { let al = 0.0;
      let b0 = B[bOff0 + (k) * bStep];
      let b1 = B[bOff1 + (k) * bStep];
      let b2 = B[bOff2 + (k) * bStep];
      let a0 = A[aOff0 + (k) * aStep]; c0_0 = fma(a0, b0, c0_0); c0_1 = fma(a0, b1, c0_1); c0_2 = fma(a0, b2, c0_2);
      let a1 = A[aOff1 + (k) * aStep]; c1_0 = fma(a1, b0, c1_0); c1_1 = fma(a1, b1, c1_1); c1_2 = fma(a1, b2, c1_2);
      let a2 = A[aOff2 + (k) * aStep]; c2_0 = fma(a2, b0, c2_0); c2_1 = fma(a2, b1, c2_1); c2_2 = fma(a2, b2, c2_2);
      let a3 = A[aOff3 + (k) * aStep]; c3_0 = fma(a3, b0, c3_0); c3_1 = fma(a3, b1, c3_1); c3_2 = fma(a3, b2, c3_2);
      let a4 = A[aOff4 + (k) * aStep]; c4_0 = fma(a4, b0, c4_0); c4_1 = fma(a4, b1, c4_1); c4_2 = fma(a4, b2, c4_2);
      let a5 = A[aOff5 + (k) * aStep]; c5_0 = fma(a5, b0, c5_0); c5_1 = fma(a5, b1, c5_1); c5_2 = fma(a5, b2, c5_2);
      let a6 = A[aOff6 + (k) * aStep]; c6_0 = fma(a6, b0, c6_0); c6_1 = fma(a6, b1, c6_1); c6_2 = fma(a6, b2, c6_2);
      let a7 = A[aOff7 + (k) * aStep]; c7_0 = fma(a7, b0, c7_0); c7_1 = fma(a7, b1, c7_1); c7_2 = fma(a7, b2, c7_2);
    }
  }
  let oc = wid.z * M * N;
  if (m0 + 0u < M) {
    if (n0 + lane + 0u < N) { C[oc + (m0 + 0u) * N + n0 + lane + 0u] = c0_0; }
    if (n0 + lane + 8u < N) { C[oc + (m0 + 0u) * N + n0 + lane + 8u] = c0_1; }
    if (n0 + lane + 16u < N) { C[oc + (m0 + 0u) * N + n0 + lane + 16u] = c0_2; }
  }
  if (m0 + 1u < M) {
    if (n0 + lane + 0u < N) { C[oc + (m0 + 1u) * N + n0 + lane + 0u] = c1_0; }
    if (n0 + lane + 8u < N) { C[oc + (m0 + 1u) * N + n0 + lane + 8u] = c1_1; }
    if (n0 + lane + 16u < N) { C[oc + (m0 + 1u) * N + n0 + lane + 16u] = c1_2; }
  }
  if (m0 + 2u < M) {
    if (n0 + lane + 0u < N) { C[oc + (m0 + 2u) * N + n0 + lane + 0u] = c2_0; }
    if (n0 + lane + 8u < N) { C[oc + (m0 + 2u) * N + n0 + lane + 8u] = c2_1; }
    if (n0 + lane + 16u < N) { C[oc + (m0 + 2u) * N + n0 + lane + 16u] = c2_2; }
  }
  if (m0 + 3u < M) {
    if (n0 + lane + 0u < N) { C[oc + (m0 + 3u) * N + n0 + lane + 0u] = c3_0; }
    if (n0 + lane + 8u < N) { C[oc + (m0 + 3u) * N + n0 + lane + 8u] = c3_1; }
    if (n0 + lane + 16u < N) { C[oc + (m0 + 3u) * N + n0 + lane + 16u] = c3_2; }
  }
  if (m0 + 4u < M) {
    if (n0 + lane + 0u < N) { C[oc + (m0 + 4u) * N + n0 + lane + 0u] = c4_0; }
    if (n0 + lane + 8u < N) { C[oc + (m0 + 4u) * N + n0 + lane + 8u] = c4_1; }
    if (n0 + lane + 16u < N) { C[oc + (m0 + 4u) * N + n0 + lane + 16u] = c4_2; }
  }
  if (m0 + 5u < M) {
    if (n0 + lane + 0u < N) { C[oc + (m0 + 5u) * N + n0 + lane + 0u] = c5_0; }
    if (n0 + lane + 8u < N) { C[oc + (m0 + 5u) * N + n0 + lane + 8u] = c5_1; }
    if (n0 + lane + 16u < N) { C[oc + (m0 + 5u) * N + n0 + lane + 16u] = c5_2; }
  }
  if (m0 + 6u < M) {
    if (n0 + lane + 0u < N) { C[oc + (m0 + 6u) * N + n0 + lane + 0u] = c6_0; }
    if (n0 + lane + 8u < N) { C[oc + (m0 + 6u) * N + n0 + lane + 8u] = c6_1; }
    if (n0 + lane + 16u < N) { C[oc + (m0 + 6u) * N + n0 + lane + 16u] = c6_2; }
  }
  if (m0 + 7u < M) {
    if (n0 + lane + 0u < N) { C[oc + (m0 + 7u) * N + n0 + lane + 0u] = c7_0; }
    if (n0 + lane + 8u < N) { C[oc + (m0 + 7u) * N + n0 + lane + 8u] = c7_1; }
    if (n0 + lane + 16u < N) { C[oc + (m0 + 7u) * N + n0 + lane + 16u] = c7_2; }
  }
}
