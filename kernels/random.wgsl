// Counter-based random numbers: element i depends only on (seed, i), so results do not depend on the grid.
// op 0: uniform in [a, b); op 1: normal with mean a and standard deviation b (Box-Muller).
struct Params { n: u32, op: u32, seed: u32, stream: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
override WG: u32 = 256;

fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

// A uniform in (0, 1): 24 random bits, never 0 (log(0) in Box-Muller).
fn unit(h: u32) -> f32 {
  return (f32(h >> 8u) + 0.5) * (1.0 / 16777216.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let h1 = pcg(pcg(i ^ pcg(P.seed)) ^ P.stream);
  let u1 = unit(h1);
  if (P.op == 0u) {
    Y[i] = P.a + (P.b - P.a) * (u1 - 0.5 / 16777216.0);
    return;
  }
  let u2 = unit(pcg(h1 ^ 0x9e3779b9u));
  Y[i] = P.a + P.b * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
