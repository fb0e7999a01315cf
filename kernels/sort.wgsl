// Bitonic sort of keys K [N] (N a power of two, at least BLOCK) in increasing (x, y, z) order: x a segment (a
// class or a row), y a score key that orders scores decreasingly (NaN first, as torch; -0 equal to +0), z the
// element's index. Indices make every key distinct, so the order is total and the result deterministic: within a
// segment, decreasing score, equal scores by increasing index (torch's stable descending sort).
// make_keys builds the keys (padding past n sorts last); sort_local sorts each BLOCK of keys in workgroup memory;
// for longer runs merge_global does one compare-exchange step of stride j >= BLOCK over the whole array and
// merge_local finishes strides below BLOCK in workgroup memory.
struct Params { n: u32, N: u32, k: u32, j: u32, rowLen: u32, segMode: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> P: Params;
// make_keys: S [n] scores, Seg [n] i32 classes (segMode 1; any buffer otherwise), K [N] the keys.
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> Seg: array<u32>;
@group(0) @binding(3) var<storage, read_write> K: array<vec4<u32>>;
// The sorting passes: KS [N] keys, sorted in place.
@group(0) @binding(1) var<storage, read_write> KS: array<vec4<u32>>;

const WG = 256u;
const BLOCK = 512u;
var<workgroup> tile: array<vec4<u32>, BLOCK>;

// Increasing keys give decreasing scores. Bit tests rather than float comparisons, which WGSL may assume NaN-free.
fn scoreKey(s: f32) -> u32 {
  let b = bitcast<u32>(s);
  let mag = b & 0x7fffffffu;
  if (mag > 0x7f800000u) { return 0u; }
  if (mag == 0u) { return 0x7fffffffu; }
  let ordered = select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
  return ~ordered;
}

@compute @workgroup_size(WG)
fn make_keys(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.N) { return; }
  if (i >= P.n) {
    K[i] = vec4<u32>(0xffffffffu, 0xffffffffu, 0xffffffffu, 0u);
    return;
  }
  var seg = i / P.rowLen;
  if (P.segMode == 1u) { seg = Seg[i] ^ 0x80000000u; }
  K[i] = vec4<u32>(seg, scoreKey(S[i]), i, 0u);
}

fn greater(a: vec4<u32>, b: vec4<u32>) -> bool {
  if (a.x != b.x) { return a.x > b.x; }
  if (a.y != b.y) { return a.y > b.y; }
  return a.z > b.z;
}

// Pair t of a step of stride j: its lower element's index within a run of 2j.
fn lowerOf(t: u32, j: u32) -> u32 {
  return ((t & ~(j - 1u)) << 1u) | (t & (j - 1u));
}

// One compare-exchange in the tile; `base` is the tile's first global index (the direction depends on it).
fn exchangeLocal(t: u32, base: u32, k: u32, j: u32) {
  let i = lowerOf(t, j);
  let a = tile[i];
  let b = tile[i + j];
  let up = ((base + i) & k) == 0u;
  if (greater(a, b) == up) {
    tile[i] = b;
    tile[i + j] = a;
  }
}

@compute @workgroup_size(WG)
fn sort_local(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = (wid.y * nwg.x + wid.x) * BLOCK;
  if (base >= P.N) { return; }
  tile[lid] = KS[base + lid];
  tile[lid + WG] = KS[base + lid + WG];
  workgroupBarrier();
  for (var k = 2u; k <= BLOCK; k <<= 1u) {
    for (var j = k >> 1u; j > 0u; j >>= 1u) {
      exchangeLocal(lid, base, k, j);
      workgroupBarrier();
    }
  }
  KS[base + lid] = tile[lid];
  KS[base + lid + WG] = tile[lid + WG];
}

@compute @workgroup_size(WG)
fn merge_local(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = (wid.y * nwg.x + wid.x) * BLOCK;
  if (base >= P.N) { return; }
  tile[lid] = KS[base + lid];
  tile[lid + WG] = KS[base + lid + WG];
  workgroupBarrier();
  for (var j = BLOCK >> 1u; j > 0u; j >>= 1u) {
    exchangeLocal(lid, base, P.k, j);
    workgroupBarrier();
  }
  KS[base + lid] = tile[lid];
  KS[base + lid + WG] = tile[lid + WG];
}

@compute @workgroup_size(WG)
fn merge_global(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = flatIndex(wid, nwg, lid, WG);
  if (t >= P.N / 2u) { return; }
  let i = lowerOf(t, P.j);
  let a = KS[i];
  let b = KS[i + P.j];
  if (greater(a, b) == ((i & P.k) == 0u)) {
    KS[i] = b;
    KS[i + P.j] = a;
  }
}
