// Out = f(A, B) with NumPy broadcasting. Out has `shape` (coalesced on the host: at most a few dims);
// A and B are read through strides aligned to it (0 on broadcast dimensions).
// `main4` writes four consecutive outputs per invocation: the host uses it when the innermost dimension
// is a multiple of 4 and each operand's innermost stride is 1 (a vec4 load) or 0 (one value, splat),
// with its other strides multiples of 4. `main` is the general path, one output per invocation.
struct Params {
  n: u32, op: u32, rank: u32, innerA: u32,
  innerB: u32, alpha: f32,
  shape: array<vec4<u32>, 2>,
  strideA: array<vec4<u32>, 2>,
  strideB: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
// The same bindings as vec4 arrays, for main4 (an entry point uses one view of each binding).
@group(0) @binding(1) var<storage, read> A4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Out4: array<vec4<f32>>;
override WG: u32 = 256;

// Ops 13.. are activation gradients: a is the incoming gradient, b the activation's input (or output where noted).
fn apply(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  let zero = vec4<f32>(0.0);
  let one = vec4<f32>(1.0);
  switch P.op {
    case 0u: { return a + b; }
    case 1u: { return a - b; }
    case 2u: { return a * b; }
    case 3u: { return a / b; }
    case 4u: { return pow4(a, b); }
    case 5u: { return max(a, b); }
    case 6u: { return min(a, b); }
    case 7u: { return select(zero, one, a == b); }
    case 8u: { return select(zero, one, a != b); }
    case 9u: { return select(zero, one, a < b); }
    case 10u: { return select(zero, one, a <= b); }
    case 11u: { return select(zero, one, a > b); }
    case 12u: { return select(zero, one, a >= b); }
    case 13u: { return select(zero, a, b > zero); }
    case 14u: { return a * b * (1.0 - b); }
    case 15u: { return a * (1.0 - b * b); }
    case 16u: { return select(a * P.alpha, a, b > zero); }
    case 17u: { return a * (0.5 * (1.0 + erf4(b * SQRT1_2)) + b * INV_SQRT_2PI * exp(-0.5 * b * b)); }
    case 18u: { let s = 1.0 / (1.0 + exp(-b)); return a * s * (1.0 + b * (1.0 - s)); }
    case 19u: { return select(select(a * (2.0 * b + 3.0) / 6.0, a, b >= vec4<f32>(3.0)), zero, b <= vec4<f32>(-3.0)); }
    case 20u: { return select(zero, a / 6.0, (b > vec4<f32>(-3.0)) & (b < vec4<f32>(3.0))); }
    case 21u: { return select(zero, a, (b > zero) & (b < vec4<f32>(6.0))); }
    default: { return a; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let o = offsets2(i, P.rank, P.shape, P.strideA, P.strideB);
  Out[i] = apply(vec4<f32>(A[o.x]), vec4<f32>(B[o.y])).x;
}

// vec4s per invocation of main4, WG apart (set by src/ops/elementwise.ts; see stepIndex).
override STEPS: u32 = 1u;

@compute @workgroup_size(WG)
fn main4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var j = 0u; j < STEPS; j++) {
    let i = stepIndex(wid, nwg, lid, WG, STEPS, j);
    if (i * 4u >= P.n) { return; }
    var o: vec2<u32>;
    if (P.rank == 1u) {
      o = vec2<u32>(i * 4u * P.strideA[0].x, i * 4u * P.strideB[0].x);
    } else {
      o = offsets2(i * 4u, P.rank, P.shape, P.strideA, P.strideB);
    }
    // A broadcast operand (innermost stride 0) reads the vec4 holding its one value and splats it.
    let va = A4[o.x / 4u];
    let vb = B4[o.y / 4u];
    let a = select(vec4<f32>(va[o.x % 4u]), va, P.innerA == 1u);
    let b = select(vec4<f32>(vb[o.y % 4u]), vb, P.innerB == 1u);
    Out4[i] = apply(a, b);
  }
}
