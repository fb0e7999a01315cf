// Ladder v4: v3 with one gather for the 8 rows A values (lane L loads row L) and subgroupBroadcast to share
// them; workgroup = one 8-lane subgroup; each k step loads then FMAs (no grouping of the 4 unrolled k).
// Dispatch: ceil(N/24) x ceil(M/8) x batch.
enable subgroups;
struct Params { M: u32, N: u32, K: u32, batch: u32, strideA: u32, strideB: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
override TA: bool = false;
override TB: bool = false;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let lane = li & 7u;
  let chunk = li >> 3u;
  let m0 = wid.y * 8u;
  let n0 = (wid.x * 1u + chunk) * 24u;
  let baseA = wid.z * P.strideA;
  let baseB = wid.z * P.strideB;
  let M = P.M; let N = P.N; let K = P.K;
  // Row this lane loads (clamped), and A's stride along k / offset of row.
  let ml = min(m0 + lane, M - 1u);
  var aOff: u32; var aStep: u32;
  if (TA) { aOff = baseA + ml; aStep = M; } else { aOff = baseA + ml * K; aStep = 1u; }
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
    { let al = A[aOff + (k + 0u) * aStep];
      let b0 = B[bOff0 + (k + 0u) * bStep];
      let b1 = B[bOff1 + (k + 0u) * bStep];
      let b2 = B[bOff2 + (k + 0u) * bStep];
      let a0 = subgroupBroadcast(al, 0u); c0_0 = fma(a0, b0, c0_0); c0_1 = fma(a0, b1, c0_1); c0_2 = fma(a0, b2, c0_2);
      let a1 = subgroupBroadcast(al, 1u); c1_0 = fma(a1, b0, c1_0); c1_1 = fma(a1, b1, c1_1); c1_2 = fma(a1, b2, c1_2);
      let a2 = subgroupBroadcast(al, 2u); c2_0 = fma(a2, b0, c2_0); c2_1 = fma(a2, b1, c2_1); c2_2 = fma(a2, b2, c2_2);
      let a3 = subgroupBroadcast(al, 3u); c3_0 = fma(a3, b0, c3_0); c3_1 = fma(a3, b1, c3_1); c3_2 = fma(a3, b2, c3_2);
      let a4 = subgroupBroadcast(al, 4u); c4_0 = fma(a4, b0, c4_0); c4_1 = fma(a4, b1, c4_1); c4_2 = fma(a4, b2, c4_2);
      let a5 = subgroupBroadcast(al, 5u); c5_0 = fma(a5, b0, c5_0); c5_1 = fma(a5, b1, c5_1); c5_2 = fma(a5, b2, c5_2);
      let a6 = subgroupBroadcast(al, 6u); c6_0 = fma(a6, b0, c6_0); c6_1 = fma(a6, b1, c6_1); c6_2 = fma(a6, b2, c6_2);
      let a7 = subgroupBroadcast(al, 7u); c7_0 = fma(a7, b0, c7_0); c7_1 = fma(a7, b1, c7_1); c7_2 = fma(a7, b2, c7_2);
    }
    { let al = A[aOff + (k + 1u) * aStep];
      let b0 = B[bOff0 + (k + 1u) * bStep];
      let b1 = B[bOff1 + (k + 1u) * bStep];
      let b2 = B[bOff2 + (k + 1u) * bStep];
      let a0 = subgroupBroadcast(al, 0u); c0_0 = fma(a0, b0, c0_0); c0_1 = fma(a0, b1, c0_1); c0_2 = fma(a0, b2, c0_2);
      let a1 = subgroupBroadcast(al, 1u); c1_0 = fma(a1, b0, c1_0); c1_1 = fma(a1, b1, c1_1); c1_2 = fma(a1, b2, c1_2);
      let a2 = subgroupBroadcast(al, 2u); c2_0 = fma(a2, b0, c2_0); c2_1 = fma(a2, b1, c2_1); c2_2 = fma(a2, b2, c2_2);
      let a3 = subgroupBroadcast(al, 3u); c3_0 = fma(a3, b0, c3_0); c3_1 = fma(a3, b1, c3_1); c3_2 = fma(a3, b2, c3_2);
      let a4 = subgroupBroadcast(al, 4u); c4_0 = fma(a4, b0, c4_0); c4_1 = fma(a4, b1, c4_1); c4_2 = fma(a4, b2, c4_2);
      let a5 = subgroupBroadcast(al, 5u); c5_0 = fma(a5, b0, c5_0); c5_1 = fma(a5, b1, c5_1); c5_2 = fma(a5, b2, c5_2);
      let a6 = subgroupBroadcast(al, 6u); c6_0 = fma(a6, b0, c6_0); c6_1 = fma(a6, b1, c6_1); c6_2 = fma(a6, b2, c6_2);
      let a7 = subgroupBroadcast(al, 7u); c7_0 = fma(a7, b0, c7_0); c7_1 = fma(a7, b1, c7_1); c7_2 = fma(a7, b2, c7_2);
    }
    { let al = A[aOff + (k + 2u) * aStep];
      let b0 = B[bOff0 + (k + 2u) * bStep];
      let b1 = B[bOff1 + (k + 2u) * bStep];
      let b2 = B[bOff2 + (k + 2u) * bStep];
      let a0 = subgroupBroadcast(al, 0u); c0_0 = fma(a0, b0, c0_0); c0_1 = fma(a0, b1, c0_1); c0_2 = fma(a0, b2, c0_2);
      let a1 = subgroupBroadcast(al, 1u); c1_0 = fma(a1, b0, c1_0); c1_1 = fma(a1, b1, c1_1); c1_2 = fma(a1, b2, c1_2);
      let a2 = subgroupBroadcast(al, 2u); c2_0 = fma(a2, b0, c2_0); c2_1 = fma(a2, b1, c2_1); c2_2 = fma(a2, b2, c2_2);
      let a3 = subgroupBroadcast(al, 3u); c3_0 = fma(a3, b0, c3_0); c3_1 = fma(a3, b1, c3_1); c3_2 = fma(a3, b2, c3_2);
      let a4 = subgroupBroadcast(al, 4u); c4_0 = fma(a4, b0, c4_0); c4_1 = fma(a4, b1, c4_1); c4_2 = fma(a4, b2, c4_2);
      let a5 = subgroupBroadcast(al, 5u); c5_0 = fma(a5, b0, c5_0); c5_1 = fma(a5, b1, c5_1); c5_2 = fma(a5, b2, c5_2);
      let a6 = subgroupBroadcast(al, 6u); c6_0 = fma(a6, b0, c6_0); c6_1 = fma(a6, b1, c6_1); c6_2 = fma(a6, b2, c6_2);
      let a7 = subgroupBroadcast(al, 7u); c7_0 = fma(a7, b0, c7_0); c7_1 = fma(a7, b1, c7_1); c7_2 = fma(a7, b2, c7_2);
    }
    { let al = A[aOff + (k + 3u) * aStep];
      let b0 = B[bOff0 + (k + 3u) * bStep];
      let b1 = B[bOff1 + (k + 3u) * bStep];
      let b2 = B[bOff2 + (k + 3u) * bStep];
      let a0 = subgroupBroadcast(al, 0u); c0_0 = fma(a0, b0, c0_0); c0_1 = fma(a0, b1, c0_1); c0_2 = fma(a0, b2, c0_2);
      let a1 = subgroupBroadcast(al, 1u); c1_0 = fma(a1, b0, c1_0); c1_1 = fma(a1, b1, c1_1); c1_2 = fma(a1, b2, c1_2);
      let a2 = subgroupBroadcast(al, 2u); c2_0 = fma(a2, b0, c2_0); c2_1 = fma(a2, b1, c2_1); c2_2 = fma(a2, b2, c2_2);
      let a3 = subgroupBroadcast(al, 3u); c3_0 = fma(a3, b0, c3_0); c3_1 = fma(a3, b1, c3_1); c3_2 = fma(a3, b2, c3_2);
      let a4 = subgroupBroadcast(al, 4u); c4_0 = fma(a4, b0, c4_0); c4_1 = fma(a4, b1, c4_1); c4_2 = fma(a4, b2, c4_2);
      let a5 = subgroupBroadcast(al, 5u); c5_0 = fma(a5, b0, c5_0); c5_1 = fma(a5, b1, c5_1); c5_2 = fma(a5, b2, c5_2);
      let a6 = subgroupBroadcast(al, 6u); c6_0 = fma(a6, b0, c6_0); c6_1 = fma(a6, b1, c6_1); c6_2 = fma(a6, b2, c6_2);
      let a7 = subgroupBroadcast(al, 7u); c7_0 = fma(a7, b0, c7_0); c7_1 = fma(a7, b1, c7_1); c7_2 = fma(a7, b2, c7_2);
    }
  }
  for (; k < K; k++) {
    { let al = A[aOff + k * aStep];
      let b0 = B[bOff0 + (k) * bStep];
      let b1 = B[bOff1 + (k) * bStep];
      let b2 = B[bOff2 + (k) * bStep];
      let a0 = subgroupBroadcast(al, 0u); c0_0 = fma(a0, b0, c0_0); c0_1 = fma(a0, b1, c0_1); c0_2 = fma(a0, b2, c0_2);
      let a1 = subgroupBroadcast(al, 1u); c1_0 = fma(a1, b0, c1_0); c1_1 = fma(a1, b1, c1_1); c1_2 = fma(a1, b2, c1_2);
      let a2 = subgroupBroadcast(al, 2u); c2_0 = fma(a2, b0, c2_0); c2_1 = fma(a2, b1, c2_1); c2_2 = fma(a2, b2, c2_2);
      let a3 = subgroupBroadcast(al, 3u); c3_0 = fma(a3, b0, c3_0); c3_1 = fma(a3, b1, c3_1); c3_2 = fma(a3, b2, c3_2);
      let a4 = subgroupBroadcast(al, 4u); c4_0 = fma(a4, b0, c4_0); c4_1 = fma(a4, b1, c4_1); c4_2 = fma(a4, b2, c4_2);
      let a5 = subgroupBroadcast(al, 5u); c5_0 = fma(a5, b0, c5_0); c5_1 = fma(a5, b1, c5_1); c5_2 = fma(a5, b2, c5_2);
      let a6 = subgroupBroadcast(al, 6u); c6_0 = fma(a6, b0, c6_0); c6_1 = fma(a6, b1, c6_1); c6_2 = fma(a6, b2, c6_2);
      let a7 = subgroupBroadcast(al, 7u); c7_0 = fma(a7, b0, c7_0); c7_1 = fma(a7, b1, c7_1); c7_2 = fma(a7, b2, c7_2);
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
