// Ladder v2: no workgroup memory; each invocation one row of C x 16 columns, so the B addresses are the same
// in all lanes (meant to be cheap uniform loads). They are not: inside a loop lavapipe 25.0 gathers every load
// lane by lane (its uniform-load path needs an address built only from constants/push constants, outside control
// flow). Dispatch: ceil(N/16) x ceil(M/64) x batch.
struct Params { M: u32, N: u32, K: u32, batch: u32, strideA: u32, strideB: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
override TA: bool = false;
override TB: bool = false;

const WG = 64u;
const W = 16u;

// A(m, k) for the lane's row.
fn a1(base: u32, m: u32, k: u32) -> f32 {
  if (TA) { return A[base + k * P.M + m]; }
  return A[base + m * P.K + k];
}
// B(k, n..n+3), n uniform.
fn b4(base: u32, k: u32, n: u32) -> vec4<f32> {
  if (TB) { let o = base + n * P.K + k; return vec4<f32>(B[o], B[o + P.K], B[o + 2u * P.K], B[o + 3u * P.K]); }
  let o = base + k * P.N + n;
  return vec4<f32>(B[o], B[o + 1u], B[o + 2u], B[o + 3u]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let baseA = wid.z * P.strideA;
  let baseB = wid.z * P.strideB;
  let m = wid.y * WG + li;
  let mc = min(m, P.M - 1u);
  let n0 = wid.x * W;
  var c0 = vec4<f32>(); var c1 = vec4<f32>(); var c2 = vec4<f32>(); var c3 = vec4<f32>();
  // Columns past N are clamped to N-1 in edge workgroups (values discarded at the store).
  let nl = P.N - 1u;
  let j0 = min(n0, nl); let j1 = min(n0 + 4u, nl); let j2 = min(n0 + 8u, nl); let j3 = min(n0 + 12u, nl);
  let full = n0 + W <= P.N;
  var k = 0u;
  if (full) {
    for (; k + 4u <= P.K; k += 4u) {
      let a = vec4<f32>(a1(baseA, mc, k), a1(baseA, mc, k + 1u), a1(baseA, mc, k + 2u), a1(baseA, mc, k + 3u));
      c0 += a.x * b4(baseB, k, n0); c1 += a.x * b4(baseB, k, n0 + 4u); c2 += a.x * b4(baseB, k, n0 + 8u); c3 += a.x * b4(baseB, k, n0 + 12u);
      c0 += a.y * b4(baseB, k + 1u, n0); c1 += a.y * b4(baseB, k + 1u, n0 + 4u); c2 += a.y * b4(baseB, k + 1u, n0 + 8u); c3 += a.y * b4(baseB, k + 1u, n0 + 12u);
      c0 += a.z * b4(baseB, k + 2u, n0); c1 += a.z * b4(baseB, k + 2u, n0 + 4u); c2 += a.z * b4(baseB, k + 2u, n0 + 8u); c3 += a.z * b4(baseB, k + 2u, n0 + 12u);
      c0 += a.w * b4(baseB, k + 3u, n0); c1 += a.w * b4(baseB, k + 3u, n0 + 4u); c2 += a.w * b4(baseB, k + 3u, n0 + 8u); c3 += a.w * b4(baseB, k + 3u, n0 + 12u);
    }
  }
  for (; k < P.K; k++) {
    let a = a1(baseA, mc, k);
    c0 += a * vec4<f32>(b4(baseB, k, j0).x, b4(baseB, k, min(n0 + 1u, nl)).x, b4(baseB, k, min(n0 + 2u, nl)).x, b4(baseB, k, min(n0 + 3u, nl)).x);
    c1 += a * vec4<f32>(b4(baseB, k, j1).x, b4(baseB, k, min(n0 + 5u, nl)).x, b4(baseB, k, min(n0 + 6u, nl)).x, b4(baseB, k, min(n0 + 7u, nl)).x);
    c2 += a * vec4<f32>(b4(baseB, k, j2).x, b4(baseB, k, min(n0 + 9u, nl)).x, b4(baseB, k, min(n0 + 10u, nl)).x, b4(baseB, k, min(n0 + 11u, nl)).x);
    c3 += a * vec4<f32>(b4(baseB, k, j3).x, b4(baseB, k, min(n0 + 13u, nl)).x, b4(baseB, k, min(n0 + 14u, nl)).x, b4(baseB, k, min(n0 + 15u, nl)).x);
  }
  if (m >= P.M) { return; }
  let o = wid.z * P.M * P.N + m * P.N + n0;
  let cs = array<vec4<f32>, 4>(c0, c1, c2, c3);
  for (var q = 0u; q < 4u; q++) {
    for (var j = 0u; j < 4u; j++) {
      if (n0 + q * 4u + j < P.N) { C[o + q * 4u + j] = cs[q][j]; }
    }
  }
}
