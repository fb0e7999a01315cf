// Out = f(A, B) with NumPy broadcasting: Out has `shape`; A and B are read through strides aligned to it
// (0 on broadcast dimensions). When `same` is set all three have the same shape and no index math is done.
struct Params {
  n: u32, op: u32, rank: u32, same: u32,
  alpha: f32,
  shape: array<vec4<u32>, 2>,
  strideA: array<vec4<u32>, 2>,
  strideB: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
override WG: u32 = 256;

fn apply(a: f32, b: f32) -> f32 {
  switch P.op {
    case 0u: { return a + b; }
    case 1u: { return a - b; }
    case 2u: { return a * b; }
    case 3u: { return a / b; }
    case 4u: { return powf(a, b); }
    case 5u: { return max(a, b); }
    case 6u: { return min(a, b); }
    case 7u: { return select(0.0, 1.0, a == b); }
    case 8u: { return select(0.0, 1.0, a != b); }
    case 9u: { return select(0.0, 1.0, a < b); }
    case 10u: { return select(0.0, 1.0, a <= b); }
    case 11u: { return select(0.0, 1.0, a > b); }
    case 12u: { return select(0.0, 1.0, a >= b); }
    case 13u: { return select(0.0, a, b > 0.0); }
    case 14u: { return a * b * (1.0 - b); }
    case 15u: { return a * (1.0 - b * b); }
    case 16u: { return select(a * P.alpha, a, b > 0.0); }
    case 17u: { return a * (0.5 * (1.0 + erf_(b * SQRT1_2)) + b * INV_SQRT_2PI * exp(-0.5 * b * b)); }
    case 18u: { let s = 1.0 / (1.0 + exp(-b)); return a * s * (1.0 + b * (1.0 - s)); }
    case 19u: { return select(select(a * (2.0 * b + 3.0) / 6.0, a, b >= 3.0), 0.0, b <= -3.0); }
    case 20u: { return select(0.0, a / 6.0, b > -3.0 && b < 3.0); }
    case 21u: { return select(0.0, a, b > 0.0 && b < 6.0); }
    default: { return a; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  if (P.same != 0u) {
    Out[i] = apply(A[i], B[i]);
    return;
  }
  let o = offsets2(i, P.rank, P.shape, P.strideA, P.strideB);
  Out[i] = apply(A[o.x], B[o.y]);
}
