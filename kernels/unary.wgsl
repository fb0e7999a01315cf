// Y = f(X) elementwise over [n], four values per invocation (storage is always padded to 16 bytes,
// so the last vec4 may run past n into padding). The op is a uniform: all unary ops share one pipeline.
struct Params { n: u32, op: u32, alpha: f32, beta: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<vec4<f32>>;
override WG: u32 = 256;

fn apply(x: vec4<f32>) -> vec4<f32> {
  let zero = vec4<f32>(0.0);
  switch P.op {
    case 0u: { return -x; }
    case 1u: { return exp(x); }
    case 2u: { return log(x); }
    case 3u: { return sqrt(x); }
    case 4u: { return abs(x); }
    case 5u: { return max(x, zero); }
    case 6u: { return 1.0 / (1.0 + exp(-x)); }
    case 7u: { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }
    case 8u: { return sin(x); }
    case 9u: { return cos(x); }
    case 10u: { return x * x; }
    case 11u: { return 1.0 / x; }
    case 12u: { return inverseSqrt(x); }
    case 13u: { return sign(x); }
    case 14u: { return floor(x); }
    case 15u: { return ceil(x); }
    case 16u: { return round(x); }
    case 17u: { return x * P.alpha + P.beta; }
    case 18u: { return pow4(x, vec4<f32>(P.alpha)); }
    case 19u: { return min(max(x, vec4<f32>(P.alpha)), vec4<f32>(P.beta)); }
    case 20u: { return select(x * P.alpha, x, x > zero); }
    case 21u: { return 0.5 * x * (1.0 + erf4(x * SQRT1_2)); }
    case 22u: { return x / (1.0 + exp(-x)); }
    case 23u: { return x * clamp(x + 3.0, zero, vec4<f32>(6.0)) / 6.0; }
    case 24u: { return clamp(x + 3.0, zero, vec4<f32>(6.0)) / 6.0; }
    case 25u: { return clamp(x, zero, vec4<f32>(6.0)); }
    case 26u: { return log(1.0 + x); }
    default: { return x; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i * 4u >= P.n) { return; }
  Y[i] = apply(X[i]);
}
