// Normalisation (batchNorm, groupNorm, layerNorm) of X [n] viewed as statistics groups: group g holds
// X[o * OS + g * L + l] for o < O, l < L (batchNorm: g = channel, L = H*W, O = N, OS = C*H*W; groupNorm: one
// contiguous run of L = C/G*H*W per (n, group), O = 1). Element i has statistics (i / statL) % statG and
// affine channel (i / S) % C. Stats hold (mean, invstd) per group; Coef the backward's per-group terms.
struct Params {
  n: u32, C: u32, S: u32, statL: u32,
  statG: u32, groups: u32, L: u32, O: u32,
  OS: u32, statDiv: u32, mode: u32, NG: u32,
  Cg: u32, count: f32, eps: f32, momentum: f32,
  // Row kernels: log2 of the lanes that share one row (6: the whole workgroup, one row per workgroup row).
  lgLanes: u32, pad0: u32, pad1: u32, pad2: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
override WG: u32 = 256;
const RWG: u32 = 256u;

var<workgroup> red: array<vec2<f32>, RWG>;

// Sum of v over the workgroup (every invocation gets it); call from uniform control flow.
fn wgSum(lid: u32, v: vec2<f32>) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = RWG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

// Walks this invocation's elements of group g: k = lid, lid + RWG, ... over O * L, as (o, l) without a division per step.
struct Walk { o: u32, l: u32 }
fn walkStart(lid: u32) -> Walk { return Walk(lid / P.L, lid % P.L); }
fn walkNext(w: Walk) -> Walk {
  var r = Walk(w.o, w.l + RWG);
  while (r.l >= P.L) { r.l -= P.L; r.o += 1u; }
  return r;
}

// ---- statistics: one workgroup per group, one pass of sums of d and d^2 for d = x - (the group's first
// element): the shift keeps the variance's cancellation small even when |mean| >> std ----
@group(0) @binding(1) var<storage, read> SX: array<f32>;
@group(0) @binding(2) var<storage, read_write> SStats: array<f32>;

// Group g's (mean, invstd) from the shifted means t = (E[d], E[d^2]) of d = x - shift.
fn storeStats(g: u32, shift: f32, t: vec2<f32>) {
  SStats[2u * g] = shift + t.x;
  SStats[2u * g + 1u] = inverseSqrt(max(t.y - t.x * t.x, 0.0) + P.eps);
}

@compute @workgroup_size(RWG)
fn stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= P.groups) { return; }
  let base = g * P.L;
  let shift = SX[base];
  var acc = vec2<f32>(0.0);
  for (var w = walkStart(lid); w.o < P.O; w = walkNext(w)) {
    let d = SX[w.o * P.OS + base + w.l] - shift;
    acc += vec2<f32>(d, d * d);
  }
  let t = wgSum(lid, acc) / P.count;
  if (lid == 0u) { storeStats(g, shift, t); }
}

// The same for contiguous groups (O = 1) of L = 4 * L4 elements starting at a multiple of 4 (groupNorm, layerNorm):
// vec4 loads, one gather per 4 elements instead of per element.
@group(0) @binding(1) var<storage, read> SX4: array<vec4<f32>>;

// RW (64) invocations, not RWG: lavapipe runs a workgroup's subgroups as coroutines switched at every barrier, and
// the 256-invocation tree cost as much as the sums (ResNet-50's GroupNorms at batch 8: 1.0-2.0x faster with 64).
@compute @workgroup_size(RW)
fn stats4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= P.groups) { return; }
  let L4 = P.L / 4u;
  let base4 = g * L4;
  let shift = SX4[base4].x;
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  for (var l = lid; l < L4; l += RW) {
    let d = SX4[base4 + l] - shift;
    s1 += d;
    s2 += d * d;
  }
  let t = laneSum(lid, vec2<f32>(s1.x + s1.y + s1.z + s1.w, s2.x + s2.y + s2.z + s2.w), LG_RW);
  if (lid == 0u) { storeStats(g, shift, t / P.count); }
}

// ---- statistics from row partials (a matmul's STATS, kernels/_matmul.wgsl), no pass over X (writes SStats): group
// g is Cg blocks of O rows of L columns, each block given as L / 4 partials (mean, M2) over O x 4 elements, block
// after block from g * Cg * L / 4. Sums of c d and M2 + c d^2 with d = a partial's mean - the group's first partial's
// mean: Chan's combination, shifted like `stats` ----
@group(0) @binding(1) var<storage, read> PPart: array<vec2<f32>>;

@compute @workgroup_size(RW)
fn stats_partials(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= P.groups) { return; }
  let n = P.Cg * (P.L / 4u);
  let base = g * n;
  let c = f32(4u * P.O);
  let shift = PPart[base].x;
  var acc = vec2<f32>(0.0);
  for (var i = lid; i < n; i += RW) {
    let p = PPart[base + i];
    let d = p.x - shift;
    acc += vec2<f32>(d, p.y + c * d * d);
  }
  let t = laneSum(lid, vec2<f32>(acc.x * c, acc.y), LG_RW) / P.count;
  if (lid == 0u) { storeStats(g, shift, t); }
}

// The vec4 walk of bn_sums4 over group g's O runs of L4 = L / 4 vec4s, OS / 4 apart: lane lid starts
// at (lid / L4, lid % L4) and steps RW vec4s, with the step decomposed once into (RW / L4, RW % L4) runs and vec4s,
// so no division per step (lavapipe divides lane by lane).
struct Walk4 { o: u32, l: u32 }
fn walk4Start(lid: u32) -> Walk4 { let L4 = P.L / 4u; return Walk4(lid / L4, lid % L4); }
fn walk4Next(w: Walk4) -> Walk4 {
  let L4 = P.L / 4u;
  var r = Walk4(w.o + RW / L4, w.l + RW % L4);
  if (r.l >= L4) { r.l -= L4; r.o += 1u; }
  return r;
}
fn walk4Index(w: Walk4, g: u32) -> u32 { return w.o * (P.OS / 4u) + g * (P.L / 4u) + w.l; }

// ---- running statistics: RM = (1 - m) RM + m mean, RV = (1 - m) RV + m unbiased var (batch of `count`) ----
@group(0) @binding(1) var<storage, read> RStats: array<f32>;
@group(0) @binding(2) var<storage, read> RM: array<f32>;
@group(0) @binding(3) var<storage, read> RV: array<f32>;
@group(0) @binding(4) var<storage, read_write> RMOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> RVOut: array<f32>;

@compute @workgroup_size(WG)
fn running(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = flatIndex(wid, nwg, lid, WG);
  if (c >= P.C) { return; }
  let inv = RStats[2u * c + 1u];
  let biased = max(1.0 / (inv * inv) - P.eps, 0.0);
  let m = P.momentum;
  RMOut[c] = (1.0 - m) * RM[c] + m * RStats[2u * c];
  RVOut[c] = (1.0 - m) * RV[c] + m * biased * P.count / (P.count - 1.0);
}

// ---- statistics from running estimates (evaluation, frozen statistics) ----
@group(0) @binding(1) var<storage, read> FM: array<f32>;
@group(0) @binding(2) var<storage, read> FV: array<f32>;
@group(0) @binding(3) var<storage, read_write> FStats: array<f32>;

@compute @workgroup_size(WG)
fn from_running(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = flatIndex(wid, nwg, lid, WG);
  if (c >= P.C) { return; }
  FStats[2u * c] = FM[c];
  FStats[2u * c + 1u] = inverseSqrt(FV[c] + P.eps);
}

// ---- forward: Y = act((X - mean) * invstd * W[c] + B[c] + R), the epilogue fused so that a ResNet block's
// norm -> ReLU and norm -> residual add -> ReLU are one pass each instead of two or three (each pass over a
// layer1 activation is ~20 MB at ~2 GB/s on lavapipe): RES adds the residual R (binding 6, same shape as X;
// callers bind X when !RES), RELU clamps at 0 ----
@group(0) @binding(1) var<storage, read> NX: array<f32>;
@group(0) @binding(2) var<storage, read> NStats: array<f32>;
@group(0) @binding(3) var<storage, read> NW: array<f32>;
@group(0) @binding(4) var<storage, read> NB: array<f32>;
@group(0) @binding(5) var<storage, read_write> NY: array<f32>;
@group(0) @binding(6) var<storage, read> NR: array<f32>;
override RELU: bool = false;
override RES: bool = false;

fn epilogue(v: f32, i: u32) -> f32 {
  var y = v;
  if (RES) { y += NR[i]; }
  if (RELU) { y = max(y, 0.0); }
  return y;
}

@compute @workgroup_size(WG)
fn normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let s = (i / P.statL) % P.statG;
  let c = (i / P.S) % P.C;
  NY[i] = epilogue((NX[i] - NStats[2u * s]) * NStats[2u * s + 1u] * NW[c] + NB[c], i);
}

// ---- backward sums: per reduction group r, (sum dy, sum dy * xhat); xhat uses statistics r / statDiv ----
@group(0) @binding(1) var<storage, read> BG: array<f32>;
@group(0) @binding(2) var<storage, read> BX: array<f32>;
@group(0) @binding(3) var<storage, read> BStats: array<f32>;
@group(0) @binding(4) var<storage, read> BW: array<f32>;
@group(0) @binding(5) var<storage, read_write> BdW: array<f32>;
@group(0) @binding(6) var<storage, read_write> BdB: array<f32>;
@group(0) @binding(7) var<storage, read_write> BCoef: array<f32>;

fn partialSums(r: u32, lid: u32) -> vec2<f32> {
  let s = r / P.statDiv;
  let mean = BStats[2u * s];
  let inv = BStats[2u * s + 1u];
  let base = r * P.L;
  var acc = vec2<f32>(0.0);
  for (var w = walkStart(lid); w.o < P.O; w = walkNext(w)) {
    let i = w.o * P.OS + base + w.l;
    let g = BG[i];
    acc += vec2<f32>(g, g * (BX[i] - mean) * inv);
  }
  return acc;
}

fn storeBnSums(r: u32, t: vec2<f32>) {
  BdB[r] = t.x;
  BdW[r] = t.y;
  let k = select(BW[r] / P.count, 0.0, P.mode == 1u);
  BCoef[2u * r] = k * t.x;
  BCoef[2u * r + 1u] = k * t.y;
}

// batchNorm: r = channel; writes dW, dB and Coef = w * (sum dy, sum dy xhat) / count (zero when mode 1: frozen statistics).
@compute @workgroup_size(RWG)
fn bn_sums(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= P.groups) { return; }
  let t = wgSum(lid, partialSums(r, lid));
  if (lid == 0u) { storeBnSums(r, t); }
}

// The same over vec4s (L % 4 == 0) on RW invocations, walking the channel's runs with walk4. The 256-invocation
// scalar form spent HRNet-W32's training step ~1 s in these sums: lavapipe pays per gather and per subgroup at each
// barrier.
@group(0) @binding(1) var<storage, read> BG4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> BX4: array<vec4<f32>>;

@compute @workgroup_size(RW)
fn bn_sums4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= P.groups) { return; }
  let mean = BStats[2u * r];
  let inv = BStats[2u * r + 1u];
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  for (var w = walk4Start(lid); w.o < P.O; w = walk4Next(w)) {
    let i = walk4Index(w, r);
    let g = BG4[i];
    sg += g;
    sgx += g * (BX4[i] - mean);
  }
  let t = laneSum(lid, vec2<f32>(sg.x + sg.y + sg.z + sg.w, (sgx.x + sgx.y + sgx.z + sgx.w) * inv), LG_RW);
  if (lid == 0u) { storeBnSums(r, t); }
}

// groupNorm / layerNorm: r = (n, c) row of L = H*W; RowSums[2r..] = (sum dy, sum dy xhat).
@group(0) @binding(1) var<storage, read> RG: array<f32>;
@group(0) @binding(2) var<storage, read> RX: array<f32>;
@group(0) @binding(3) var<storage, read> RStat: array<f32>;
@group(0) @binding(4) var<storage, read_write> RowSums: array<f32>;

@compute @workgroup_size(RWG)
fn row_sums(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= P.groups) { return; }
  let s = r / P.statDiv;
  let mean = RStat[2u * s];
  let inv = RStat[2u * s + 1u];
  var acc = vec2<f32>(0.0);
  for (var l = lid; l < P.L; l += RWG) {
    let i = r * P.L + l;
    let g = RG[i];
    acc += vec2<f32>(g, g * (RX[i] - mean) * inv);
  }
  let t = wgSum(lid, acc);
  if (lid == 0u) {
    RowSums[2u * r] = t.x;
    RowSums[2u * r + 1u] = t.y;
  }
}

// The same for short rows: one invocation per row.
@compute @workgroup_size(WG)
fn row_sums_narrow(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = flatIndex(wid, nwg, lid, WG);
  if (r >= P.groups) { return; }
  let s = r / P.statDiv;
  let mean = RStat[2u * s];
  let inv = RStat[2u * s + 1u];
  var acc = vec2<f32>(0.0);
  for (var l = 0u; l < P.L; l++) {
    let i = r * P.L + l;
    let g = RG[i];
    acc += vec2<f32>(g, g * (RX[i] - mean) * inv);
  }
  RowSums[2u * r] = acc.x;
  RowSums[2u * r + 1u] = acc.y;
}

// groupNorm: invocation t < C sums rows over n into dW[t], dB[t]; t < NG (= N * groups, of Cg channels each)
// gives Coef[2t..] = sum over the group's channels of W[c] * RowSums[n, c] / count.
@group(0) @binding(1) var<storage, read> CRow: array<f32>;
@group(0) @binding(2) var<storage, read> CW: array<f32>;
@group(0) @binding(3) var<storage, read_write> CdW: array<f32>;
@group(0) @binding(4) var<storage, read_write> CdB: array<f32>;
@group(0) @binding(5) var<storage, read_write> CCoef: array<f32>;

@compute @workgroup_size(WG)
fn gn_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = flatIndex(wid, nwg, lid, WG);
  if (t < P.C) {
    var acc = vec2<f32>(0.0);
    for (var n = 0u; n < P.O; n++) {
      let r = n * P.C + t;
      acc += vec2<f32>(CRow[2u * r], CRow[2u * r + 1u]);
    }
    CdB[t] = acc.x;
    CdW[t] = acc.y;
  }
  if (t < P.NG) {
    var acc = vec2<f32>(0.0);
    let first = t * P.Cg;
    let groupsPerN = P.C / P.Cg;
    let c0 = (t % groupsPerN) * P.Cg;
    for (var k = 0u; k < P.Cg; k++) {
      let r = first + k;
      acc += CW[c0 + k] * vec2<f32>(CRow[2u * r], CRow[2u * r + 1u]);
    }
    CCoef[2u * t] = acc.x / P.count;
    CCoef[2u * t + 1u] = acc.y / P.count;
  }
}

// ---- dX = invstd * (dy * W[c] - (Coef0 + xhat * Coef1)), statistics and Coef indexed alike ----
@group(0) @binding(1) var<storage, read> DG: array<f32>;
@group(0) @binding(2) var<storage, read> DX: array<f32>;
@group(0) @binding(3) var<storage, read> DStats: array<f32>;
@group(0) @binding(4) var<storage, read> DW: array<f32>;
@group(0) @binding(5) var<storage, read> DCoef: array<f32>;
@group(0) @binding(6) var<storage, read_write> DOut: array<f32>;

@compute @workgroup_size(WG)
fn dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let s = (i / P.statL) % P.statG;
  let c = (i / P.S) % P.C;
  let inv = DStats[2u * s + 1u];
  let xhat = (DX[i] - DStats[2u * s]) * inv;
  DOut[i] = inv * (DG[i] * DW[c] - (DCoef[2u * s] + xhat * DCoef[2u * s + 1u]));
}

// ---- row kernels: the [N, C, S] view as N*C rows of S elements, whole rows per workgroup row (wid.y, wid.z): one
// (the scalar kernels; the vec4 ones with 64 lanes a row) or several short ones (rowLane), so the row's statistics
// (row / statDiv) % statG, channel row % C and affine terms are found once per invocation, not per element (lavapipe
// runs vector integer division lane by lane). Used when S is long enough ----
const RW: u32 = 64u;
const LG_RW: u32 = 6u;
var<workgroup> red64: array<vec2<f32>, RW>;

// Sums v over each run of 2^lg lanes of an RW-lane workgroup (lg uniform; call from uniform control flow): the run's
// first lane gets its sum.
fn laneSum(lid: u32, v: vec2<f32>, lg: u32) -> vec2<f32> {
  red64[lid] = v;
  workgroupBarrier();
  let lane = lid & ((1u << lg) - 1u);
  for (var h = (1u << lg) / 2u; h > 0u; h >>= 1u) {
    if (lane < h) { red64[lid] += red64[lid + h]; }
    workgroupBarrier();
  }
  return red64[lid];
}
// vec4s per invocation of normalize_rows4 and dx_rows4 (a workgroup covers RW * ROW_STEPS vec4s of its row): lavapipe
// pays per workgroup, and 4 per invocation took a 640x480 ResNet-50 forward's normalise passes from 285 to 175 ms.
const ROW_STEPS: u32 = 4u;

fn rowOf(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.z * nwg.y + wid.y; }
fn statOf(r: u32) -> u32 { return (r / P.statDiv) % P.statG; }

// Short rows share a workgroup: 2^P.lgLanes lanes walk one row, so a workgroup row holds RW >> lgLanes rows (rows of
// 256 elements left 3/4 of a 64-lane workgroup idle). This lane's row, its first vec4 (of chunk wid.x, ROW_STEPS
// vec4s per lane) and the lane stride.
struct RowLane { r: u32, l0: u32, lanes: u32 }
fn rowLane(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> RowLane {
  let lanes = 1u << P.lgLanes;
  let r = rowOf(wid, nwg) * (RW >> P.lgLanes) + (lid >> P.lgLanes);
  return RowLane(r, wid.x * ROW_STEPS * lanes + (lid & (lanes - 1u)), lanes);
}

// y = x * a + b with a = invstd * W[c], b = B[c] - mean * a.
@group(0) @binding(1) var<storage, read> NX4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> NY4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> NR4: array<vec4<f32>>;

fn epilogue4(v: vec4<f32>, i: u32) -> vec4<f32> {
  var y = v;
  if (RES) { y += NR4[i]; }
  if (RELU) { y = max(y, vec4<f32>(0.0)); }
  return y;
}

@compute @workgroup_size(RW)
fn normalize_rows4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = rowLane(wid, nwg, lid);
  let r = w.r;
  let S4 = P.S / 4u;
  if (r >= P.groups) { return; }
  let s = statOf(r);
  let c = r % P.C;
  let a = NStats[2u * s + 1u] * NW[c];
  let b = NB[c] - NStats[2u * s] * a;
  for (var j = 0u; j < ROW_STEPS; j++) {
    let l = w.l0 + j * w.lanes;
    if (l >= S4) { return; }
    let i = r * S4 + l;
    NY4[i] = epilogue4(NX4[i] * a + b, i);
  }
}

@compute @workgroup_size(RW)
fn normalize_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = rowOf(wid, nwg);
  let l = wid.x * RW + lid;
  if (r >= P.groups || l >= P.S) { return; }
  let s = statOf(r);
  let c = r % P.C;
  let a = NStats[2u * s + 1u] * NW[c];
  let b = NB[c] - NStats[2u * s] * a;
  let i = r * P.S + l;
  NY[i] = epilogue(NX[i] * a + b, i);
}

// dX = invstd * (dy * W[c] - (Coef0 + xhat * Coef1)) = dy * a + x * b + d per row.
@group(0) @binding(1) var<storage, read> DG4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> DX4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> DOut4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> DB: array<f32>;

// MASK (row_sums4, dx_rows4): dy arrives above a ReLU with no residual (NormEpilogue relu), so it is zeroed where
// the forward's affine output x * a + b (recomputed as normalize_rows4 computes it) was not positive: one pass less
// than masking dy first. The saved statistics, weight and bias give the same a and b as the forward's.
override MASK: bool = false;
fn reluMask4(g: vec4<f32>, x: vec4<f32>, a: f32, b: f32) -> vec4<f32> {
  return select(vec4<f32>(0.0), g, x * a + b > vec4<f32>(0.0));
}

struct DxTerms { a: f32, b: f32, d: f32 }
fn dxTerms(r: u32) -> DxTerms {
  let s = statOf(r);
  let mean = DStats[2u * s];
  let inv = DStats[2u * s + 1u];
  let k = inv * inv * DCoef[2u * s + 1u];
  return DxTerms(inv * DW[r % P.C], -k, k * mean - inv * DCoef[2u * s]);
}

@compute @workgroup_size(RW)
fn dx_rows4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = rowLane(wid, nwg, lid);
  let r = w.r;
  let S4 = P.S / 4u;
  if (r >= P.groups) { return; }
  let t = dxTerms(r);
  // The forward's affine step (MASK).
  let s = statOf(r);
  let c = r % P.C;
  let fa = DStats[2u * s + 1u] * DW[c];
  let fb = DB[c] - DStats[2u * s] * fa;
  for (var j = 0u; j < ROW_STEPS; j++) {
    let l = w.l0 + j * w.lanes;
    if (l >= S4) { return; }
    let i = r * S4 + l;
    let x = DX4[i];
    var g = DG4[i];
    if (MASK) { g = reluMask4(g, x, fa, fb); }
    DOut4[i] = g * t.a + x * t.b + t.d;
  }
}

@compute @workgroup_size(RW)
fn dx_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = rowOf(wid, nwg);
  let l = wid.x * RW + lid;
  if (r >= P.groups || l >= P.S) { return; }
  let t = dxTerms(r);
  let i = r * P.S + l;
  DOut[i] = DG[i] * t.a + DX[i] * t.b + t.d;
}

// (sum dy, sum dy xhat) of a row of L = 4 * L4 elements: RW invocations reading vec4s, one small tree.
@group(0) @binding(1) var<storage, read> RG4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> RX4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> RWeight: array<f32>;
@group(0) @binding(6) var<storage, read> RBias: array<f32>;

@compute @workgroup_size(RW)
fn row_sums4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // The whole row is this lane group's (one chunk): l0 is the lane's offset in it.
  let w = rowLane(wid, nwg, lid);
  let r = w.r;
  let L4 = P.L / 4u;
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  // Rows past the end still join the barriers below (a short last workgroup row).
  let valid = r < P.groups;
  let s = select(0u, r / P.statDiv, valid);
  let mean = RStat[2u * s];
  if (valid) {
    // The forward's affine step (MASK; the row is channel r % C).
    let fa = RStat[2u * s + 1u] * RWeight[r % P.C];
    let fb = RBias[r % P.C] - mean * fa;
    for (var l = w.l0; l < L4; l += w.lanes) {
      let x = RX4[r * L4 + l];
      var g = RG4[r * L4 + l];
      if (MASK) { g = reluMask4(g, x, fa, fb); }
      sg += g;
      sgx += g * (x - mean);
    }
  }
  // lgLanes from the uniform itself: w mixes in lid, which WGSL's uniformity analysis follows through the struct.
  let t = laneSum(lid, vec2<f32>(sg.x + sg.y + sg.z + sg.w, sgx.x + sgx.y + sgx.z + sgx.w), P.lgLanes);
  if (valid && (lid & (w.lanes - 1u)) == 0u) {
    RowSums[2u * r] = t.x;
    RowSums[2u * r + 1u] = RStat[2u * s + 1u] * t.y;
  }
}
