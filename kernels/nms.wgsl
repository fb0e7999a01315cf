// Non-maximum suppression over boxes sorted by kernels/sort.wgsl, with torchvision 0.14's CPU decisions bit
// for bit (csrc/ops/cpu/nms_kernel.cpp): float32 IoU inter / (area_i + area_j - inter), suppressed when it is
// above the threshold, a double.
//   gather:  SB [n] boxes (vec4) and SA [n] areas in sorted order, boxes shifted by class * (max + 1) for
//            batched_nms's coordinate trick (offsetMode 1).
//   mask:    the suppression bitmask. Row p (a sorted position) holds the words w = p / 32 .. (E[p] - 1) / 32, bit c
//            of word w set when box p suppresses box 32 w + c; E[p] ends p's segment (class), so other classes
//            never meet. Rows are packed at Off[p]. One workgroup per (64-row block, WPW words) in the Work list.
//   greedy:  the sequential pass in one workgroup, 32 rows at a time: Out = [count, 0, (index, score key) ...].
// Exactness: +, -, * are correctly rounded in WGSL but a compiler may fuse a product into a following sum, so
// values that must be rounded on their own pass through opaque() (an OR with a uniform zero no compiler can see
// through). The quotient itself is never formed (WGSL's division may be 2.5 ulp off): far from the threshold a
// product with the threshold decides, and near it an exact integer comparison.
struct Params {
  n: u32, W: u32, mode: u32, offsetMode: u32,
  T: f32, lo: f32, hi: f32, zero: u32,
  works: u32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
// gather
@group(0) @binding(1) var<storage, read> K: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> Bx: array<f32>;
@group(0) @binding(3) var<storage, read> Cls: array<i32>;
@group(0) @binding(4) var<storage, read> Mx: array<f32>;
@group(0) @binding(5) var<storage, read_write> SB: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> SA: array<f32>;
// mask
@group(0) @binding(1) var<storage, read> Box: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> Area: array<f32>;
@group(0) @binding(3) var<storage, read> E: array<u32>;
@group(0) @binding(4) var<storage, read> Off: array<u32>;
@group(0) @binding(5) var<storage, read> Work: array<u32>;
@group(0) @binding(6) var<storage, read_write> M: array<u32>;
// greedy: K at 1, then
@group(0) @binding(2) var<storage, read> GE: array<u32>;
@group(0) @binding(3) var<storage, read> GOff: array<u32>;
@group(0) @binding(4) var<storage, read> GM: array<u32>;
@group(0) @binding(5) var<storage, read_write> Out: array<u32>;

override RW: u32 = 32u;
// Mask words per invocation (each workgroup covers 64 rows and WPW words of 32 boxes).
override WPW: u32 = 8u;

fn opaque(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) | P.zero);
}

@compute @workgroup_size(256)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = flatIndex(wid, nwg, lid, 256u);
  if (p >= P.n) { return; }
  let i = K[p].z;
  var b = vec4<f32>(Bx[4u * i], Bx[4u * i + 1u], Bx[4u * i + 2u], Bx[4u * i + 3u]);
  if (P.offsetMode == 1u) {
    // torchvision: idxs.to(boxes) * (boxes.max() + 1), added to each coordinate, all in float32.
    let one = opaque(Mx[0] + 1.0);
    let off = opaque(f32(Cls[i]) * one);
    b = vec4<f32>(opaque(b.x + off), opaque(b.y + off), opaque(b.z + off), opaque(b.w + off));
  }
  SB[p] = b;
  SA[p] = opaque(b.z - b.x) * opaque(b.w - b.y);
}

// Products of two mantissas (< 2^25 each) as (hi, lo) 32-bit words.
fn mul64(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let low = a0 * b0;
  let mid = a0 * b1 + a1 * b0;
  let lo = low + (mid << 16u);
  let carry = select(0u, 1u, lo < low);
  return vec2<u32>(a1 * b1 + (mid >> 16u) + carry, lo);
}

// Whether round_to_f32(inter / uni) > T, exactly, for normal positive inter, uni and T (the largest float32 not
// above the double threshold: a float32 exceeds the double exactly when it exceeds T). The quotient rounds above
// T exactly when inter / uni exceeds the midpoint m = T + ulp(T) / 2, or equals it and the float above T is even.
// With x = mant(x) * 2^(exp(x) - 150): inter vs m * uni is mant(inter) * 2^d vs mant(uni) * (2 mant(T) + 1).
fn exactAbove(ib: u32, ub: u32) -> bool {
  let tb = bitcast<u32>(P.T);
  let mi = (ib & 0x7fffffu) | 0x800000u;
  let mu = (ub & 0x7fffffu) | 0x800000u;
  let mt = (tb & 0x7fffffu) | 0x800000u;
  let d = i32((ib >> 23u) & 0xffu) - i32((ub >> 23u) & 0xffu) - i32((tb >> 23u) & 0xffu) + 151;
  // mant(uni) * (2 mant(T) + 1) lies in [2^47, 2^49); mant(inter) * 2^d in [2^(23 + d), 2^(24 + d)).
  if (d < 0) { return false; }
  if (d >= 26) { return true; }
  let r = mul64(mu, 2u * mt + 1u);
  let sd = u32(d);
  let lhi = select(0u, mi >> (32u - sd), sd > 0u);
  let llo = mi << sd;
  if (lhi != r.x) { return lhi > r.x; }
  if (llo != r.y) { return llo > r.y; }
  return (tb & 1u) == 1u;
}

// torchvision's `inter / union > threshold` (mode 0: 0 < threshold < 1; 1: threshold >= 1, never; 2: threshold 0,
// any overlap; 3: threshold < 0, any IoU that is not 0 / 0).
fn above(inter: f32, uni: f32) -> bool {
  let ib = bitcast<u32>(inter);
  let ub = bitcast<u32>(uni);
  let noInter = (ib & 0x7fffffffu) == 0u;
  if (P.mode == 1u) { return false; }
  if (P.mode == 2u) { return !noInter; }
  if (P.mode == 3u) { return !(noInter && (ub & 0x7fffffffu) == 0u); }
  // A positive intersection implies union >= intersection > 0. Far from the threshold a product decides (cheaper
  // than a division; fl(hi * uni) is within half an ulp, well inside the band).
  if (noInter) { return false; }
  if (inter > P.hi * uni) { return true; }
  if (inter < P.lo * uni) { return false; }
  return exactAbove(ib, ub);
}

fn suppresses(a: vec4<f32>, areaA: f32, b: vec4<f32>, areaB: f32) -> bool {
  let w = max(min(a.z, b.z) - max(a.x, b.x), 0.0);
  let h = max(min(a.w, b.w) - max(a.y, b.y), 0.0);
  let inter = opaque(w * h);
  return above(inter, opaque(areaA + areaB) - inter);
}

// No workgroup memory: the 32 boxes of a word are the same for every invocation of the workgroup (cached
// broadcast reads), and a barrier-free kernel runs much faster on lavapipe, which splits kernels at barriers.
@compute @workgroup_size(64)
fn mask(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let item = wid.y * nwg.x + wid.x;
  if (item >= P.works) { return; }
  let work = Work[item];
  let p = (work >> 16u) * 64u + lid;
  if (p >= P.n) { return; }
  let first = p >> 5u;
  let end = E[p];
  let a = Box[p];
  let areaA = Area[p];
  let w0 = max((work & 0xffffu) * WPW, first);
  let w1 = min((work & 0xffffu) * WPW + WPW, ((end - 1u) >> 5u) + 1u);
  for (var w = w0; w < w1; w++) {
    let j0 = w * 32u;
    var bits = 0u;
    let count = min(32u, end - j0);
    for (var c = 0u; c < count; c++) {
      if (suppresses(a, areaA, Box[j0 + c], Area[j0 + c])) { bits |= 1u << c; }
    }
    M[Off[p] + (w - first)] = bits;
  }
}

var<workgroup> removed: array<u32, RW>;
var<workgroup> diag: array<u32, 32>;
var<workgroup> lastWord: array<u32, 32>;
var<workgroup> keptRows: u32;
var<workgroup> reach: u32;

@compute @workgroup_size(256)
fn greedy(@builtin(local_invocation_index) lid: u32) {
  for (var w = lid; w < P.W; w += 256u) { removed[w] = 0u; }
  var count = 0u;
  workgroupBarrier();
  for (var b = 0u; b < P.W; b++) {
    let q = b * 32u + lid;
    if (lid < 32u && q < P.n) {
      diag[lid] = GM[GOff[q]];
      lastWord[lid] = (GE[q] - 1u) >> 5u;
    }
    workgroupBarrier();
    if (lid == 0u) {
      // Rows of block b in order: a row not yet suppressed is kept and suppresses what its diagonal word marks.
      var cur = removed[b];
      var kept = 0u;
      var far = b;
      let rows = min(32u, P.n - b * 32u);
      for (var r = 0u; r < rows; r++) {
        if (((cur >> r) & 1u) == 0u) {
          kept |= 1u << r;
          cur |= diag[r];
          far = max(far, lastWord[r]);
          let key = K[b * 32u + r];
          Out[2u + 2u * count] = key.z;
          Out[3u + 2u * count] = key.y;
          count++;
        }
      }
      removed[b] = cur;
      keptRows = kept;
      reach = far;
    }
    let kept = workgroupUniformLoad(&keptRows);
    let far = workgroupUniformLoad(&reach);
    // The kept rows' later words, one word per invocation.
    for (var w = b + 1u + lid; w <= far; w += 256u) {
      var acc = 0u;
      for (var r = 0u; r < 32u; r++) {
        if (((kept >> r) & 1u) != 0u && w <= lastWord[r]) { acc |= GM[GOff[b * 32u + r] + (w - b)]; }
      }
      removed[w] |= acc;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    Out[0] = count;
    Out[1] = 0u;
  }
}
