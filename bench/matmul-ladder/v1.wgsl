// Ladder v1 (the engine-core kernel before tuning): 16x16 invocations, 64x64 tile, 4x4 per invocation,
// 64x16 / 16x64 panels staged in workgroup memory with barriers. Dispatch: ceil(N/64) x ceil(M/64) x batch.
// Batched C[b] = A[b] x B[b]: A is [M, K] (or [K, M] when TA), B is [K, N] (or [N, K] when TB), C is [M, N].
// Batch strides of 0 broadcast an operand. A workgroup of 16x16 invocations computes a 64x64 block of C,
// each invocation a 4x4 register tile, staging 64x16 and 16x64 panels of A and B in workgroup memory.
struct Params { M: u32, N: u32, K: u32, batch: u32, strideA: u32, strideB: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
override TA: bool = false;
override TB: bool = false;

const BM = 64u;
const BN = 64u;
const BK = 16u;
var<workgroup> As: array<f32, 1024>; // [BK][BM]
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

fn loadA(base: u32, m: u32, k: u32) -> f32 {
  if (m >= P.M || k >= P.K) { return 0.0; }
  if (TA) { return A[base + k * P.M + m]; }
  return A[base + m * P.K + k];
}

fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (k >= P.K || n >= P.N) { return 0.0; }
  if (TB) { return B[base + n * P.K + k]; }
  return B[base + k * P.N + n];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let batch = wid.z;
  let baseA = batch * P.strideA;
  let baseB = batch * P.strideB;
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < P.K; k0 += BK) {
    // 256 invocations load 1024 values of each panel: 4 each.
    for (var r = 0u; r < 4u; r++) {
      let e = li + r * 256u;
      let kk = e / BM;
      let mm = e % BM;
      As[kk * BM + mm] = loadA(baseA, row0 + mm, k0 + kk);
      Bs[kk * BN + mm] = loadB(baseB, k0 + kk, col0 + mm);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let b = vec4<f32>(Bs[kk * BN + lid.x * 4u], Bs[kk * BN + lid.x * 4u + 1u], Bs[kk * BN + lid.x * 4u + 2u], Bs[kk * BN + lid.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] += As[kk * BM + lid.y * 4u + i] * b;
      }
    }
    workgroupBarrier();
  }
  let baseC = batch * P.M * P.N;
  for (var i = 0u; i < 4u; i++) {
    let m = row0 + lid.y * 4u + i;
    if (m >= P.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + lid.x * 4u + j;
      if (n < P.N) { C[baseC + m * P.N + n] = acc[i][j]; }
    }
  }
}
