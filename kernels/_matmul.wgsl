// Library for kernels/matmul.wgsl (subgroups) and kernels/matmul_portable.wgsl, which add `rowsA`, `rows4` and
// `biasRows`.
// Batched C[b] = A[b] x B[b]: A is [M, K] (or [K, M] when TA), B is [K, N] (or [N, K] when TB), C is [M, N].
// Batch strides of 0 broadcast an operand.
//
// Shaped for lavapipe (llvmpipe's Vulkan), where 8 invocations are the 8 lanes of one SIMD register and every
// storage-buffer load inside a loop is a per-lane gather (a branch, a bounds check and a scalar load per lane
// and component), so loads per FMA decide the speed, not FMAs. A workgroup is 8 invocations = one subgroup
// computing a tile of 8G rows of C (G row groups of 8, G = 2 or 4) with no workgroup memory and no barriers:
//   - lane L loads A(m0 + L, k) (one gather for the 8 rows; TAV below for a transposed A) and subgroupBroadcast
//     hands row r's value to all lanes;
//   - each lane owns some columns of the tile and keeps 8G rows x (3 or 4) columns of accumulators, far more than
//     the registers: LLVM spills them, so each accumulator takes its 4 k steps' FMAs back to back (one reload and
//     store per 4 FMAs; issued k-major, every row for k then every row for k + 1, it was one per FMA: 20-30% slower);
//   - k advances by 4 per iteration, each operand's 4 values loaded back to back (when a lane walks a transposed
//     operand with a power-of-two stride, interleaving them with the FMAs thrashes L1).
// Three entry points, chosen by src/ops/matmul.ts:
//   main     any shape and TA/TB: 8G x 24 tile, lane L owns columns n0 + L, n0 + L + 8, n0 + L + 16
//            (B loads are 8 consecutive floats per gather when !TB). Per 4 k and lane: 12 B loads and G A loads for 96G FMAs.
//   main_n4  !TB, N % 4 == 0, strideB % 4 == 0: 8G x 32 tile, lane L owns columns n0 + 4L .. n0 + 4L + 3, read as
//            one vec4 (one branch and bounds check per lane for 4 floats). Per 4 k and lane: 4 B vec4 loads and G A
//            loads for 128G FMAs.
//   main_k4  TB, K % 4 == 0, strideB % 4 == 0: like main, with each column's 4 k values read as one vec4.
// G = 4 (32-row tiles) halves the B loads per FMA: 8-15% faster where M fills the tiles; src/ops/matmul.ts picks it.
// Rows and columns past the edge are clamped for loading and skipped when storing, so any M, N, K works.
// mBase/zBase: first tile row and batch index of this dispatch (large grids are split, 65535 workgroups per axis).
// zsum != 0: C [M, N] = sum over the batch of A[b] x B[b], each workgroup walking the batch (dispatched with one z):
// a weight gradient summed over images without a [batch, M, N] temporary and its reduction pass. A uniform, not an
// override: a summed and a plain product share one pipeline (one LLVM compile of ~1 s less in a cold first step).
struct Params { M: u32, N: u32, K: u32, batch: u32, strideA: u32, strideB: u32, mBase: u32, zBase: u32, zsum: u32 }
@group(0) @binding(0) var<uniform> P: Params;
// A as vec4s (storage buffers are allocated in 256-byte steps: whole vec4s); aAt reads one float. AV: this lane's
// 4 consecutive k values of its row are one aligned vec4 (!TA, K % 4 == 0, strideA % 4 == 0): one gather instead of 4.
@group(0) @binding(1) var<storage, read> A4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read> B4: array<vec4<f32>>; // the same buffer as B, for main_n4 and main_k4
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<storage, read_write> C4: array<vec4<f32>>; // the same buffer as C, for main_n4
override TA: bool = false;
override TB: bool = false;
override AV: bool = false;
// Row groups of 8 per tile: 2 or 4.
override G: u32 = 2u;
// TAV (TA, M % 4 == 0, strideA % 4 == 0; subgroup variant only): a transposed A's tile rows at one k are
// contiguous, so lane 2i + h loads rows 8g + 4h .. 8g + 4h + 3 at k + i as one vec4 and `rows4` broadcasts from it:
// one gather a lane per row group and 4 k instead of 4 scalar ones.
override TAV: bool = false;
// K4: K % 4 == 0 (AV implies it), so `main` and `main_n4` leave out their k-tail loop: 20% less LLVM compile time
// for a G = 4 pipeline on lavapipe (990 -> 780 ms, bench/NOTES.md "full-frame" v30), no change at run time.
override K4: bool = false;

// One past the last batch index this workgroup multiplies (zsum: all of them, from z = 0).
fn zEnd(z: u32) -> u32 {
  return select(z + 1u, P.batch, P.zsum != 0u);
}

fn aAt(i: u32) -> f32 {
  return A4[i >> 2u][i & 3u];
}

// Column-tile blocks of SWZ: lavapipe hands each thread a contiguous run of workgroups in x-fastest order, which
// walks every column of B (K x N, megabytes at full-frame sizes) once per tile row. Renumbered, a run walks the tile
// rows of SWZ column tiles, so that block of B stays in cache while A streams. Returns (column tile, row tile).
override SWZ: u32 = 8u;
fn tileOf(wid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
  let l = wid.y * nwg.x + wid.x;
  let per = SWZ * nwg.y;
  let b = l / per;
  let r = l % per;
  let width = min(SWZ, nwg.x - b * SWZ);
  return vec2<u32>(b * SWZ + r % width, r / width);
}

// Set by each entry point: offsets of A(m0 + r, 0) for the tile's 8G rows and the step from A(m, k) to A(m, k + 1).
var<private> aRow: array<u32, 32>;
var<private> aStep: u32;
// TAV: offsets of the vec4 this lane loads for each row group at k = 0 (see TAV).
var<private> aVec: vec4<u32>;

// Tile setup shared by the entry points: sets aRow/aStep and returns the offsets of A(m0 + 8g + lane, 0) for
// g < G, the rows this lane loads (rows past the edge clamped to the last).
fn setupA(baseA: u32, m0: u32, lane: u32) -> vec4<u32> {
  var mStride: u32;
  if (TA) { aStep = P.M; mStride = 1u; } else { aStep = 1u; mStride = P.K; }
  for (var r = 0u; r < 8u * G; r++) { aRow[r] = baseA + min(m0 + r, P.M - 1u) * mStride; }
  // Clamped to the last whole vec4 of a k row: the rows past M it then feeds are never stored.
  if (TAV) { aVec = baseA + (lane >> 1u) * P.M + min(vec4<u32>(m0 + 4u * (lane & 1u)) + vec4<u32>(0u, 8u, 16u, 24u), vec4<u32>(P.M - 4u)); }
  return baseA + min(vec4<u32>(m0 + lane) + vec4<u32>(0u, 8u, 16u, 24u), vec4<u32>(P.M - 1u)) * mStride;
}

// A(m0 + lane, k .. k + 3).
fn ownA(aOwn: u32, k: u32) -> vec4<f32> {
  let o = aOwn + k * aStep;
  if (AV) { return A4[o >> 2u]; }
  return vec4<f32>(aAt(o), aAt(o + aStep), aAt(o + 2u * aStep), aAt(o + 3u * aStep));
}

// ownA for each row group's row (aOwn from setupA). With G == 2 nothing reads groups 2 and 3: their loads are
// dead code.
fn ownRows(aOwn: vec4<u32>, k: u32) -> array<vec4<f32>, 4> {
  if (TAV) {
    let o = (aVec + vec4<u32>(k * P.M)) >> vec4<u32>(2u);
    return array<vec4<f32>, 4>(A4[o.x], A4[o.y], A4[o.z], A4[o.w]);
  }
  return array<vec4<f32>, 4>(ownA(aOwn.x, k), ownA(aOwn.y, k), ownA(aOwn.z, k), ownA(aOwn.w, k));
}

fn fmaRows3(acc: ptr<function, array<vec3<f32>, 8>>, a: array<f32, 8>, b: vec3<f32>) {
  (*acc)[0] = fma(vec3<f32>(a[0]), b, (*acc)[0]); (*acc)[1] = fma(vec3<f32>(a[1]), b, (*acc)[1]);
  (*acc)[2] = fma(vec3<f32>(a[2]), b, (*acc)[2]); (*acc)[3] = fma(vec3<f32>(a[3]), b, (*acc)[3]);
  (*acc)[4] = fma(vec3<f32>(a[4]), b, (*acc)[4]); (*acc)[5] = fma(vec3<f32>(a[5]), b, (*acc)[5]);
  (*acc)[6] = fma(vec3<f32>(a[6]), b, (*acc)[6]); (*acc)[7] = fma(vec3<f32>(a[7]), b, (*acc)[7]);
}

fn fmaRows4(acc: ptr<function, array<vec4<f32>, 8>>, a: array<f32, 8>, b: vec4<f32>) {
  (*acc)[0] = fma(vec4<f32>(a[0]), b, (*acc)[0]); (*acc)[1] = fma(vec4<f32>(a[1]), b, (*acc)[1]);
  (*acc)[2] = fma(vec4<f32>(a[2]), b, (*acc)[2]); (*acc)[3] = fma(vec4<f32>(a[3]), b, (*acc)[3]);
  (*acc)[4] = fma(vec4<f32>(a[4]), b, (*acc)[4]); (*acc)[5] = fma(vec4<f32>(a[5]), b, (*acc)[5]);
  (*acc)[6] = fma(vec4<f32>(a[6]), b, (*acc)[6]); (*acc)[7] = fma(vec4<f32>(a[7]), b, (*acc)[7]);
}

// Four k steps of row group g (8 rows; a: what this lane loaded of them, see ownRows and rows4) for 3 columns
// (main, main_k4): b[i] the columns' B values at k + i. Each accumulator's 4 FMAs back to back, in k order.
fn stepRows3(acc: ptr<function, array<vec3<f32>, 8>>, a: vec4<f32>, k: u32, g: u32, b: array<vec3<f32>, 4>) {
  let x = rows4(a, k, g);
  for (var r = 0u; r < 8u; r++) {
    (*acc)[r] = fma(vec3<f32>(x[3][r]), b[3], fma(vec3<f32>(x[2][r]), b[2], fma(vec3<f32>(x[1][r]), b[1], fma(vec3<f32>(x[0][r]), b[0], (*acc)[r]))));
  }
}

// The same for 4 adjacent columns (main_n4): q[i] their B values at k + i.
fn stepRows4(acc: ptr<function, array<vec4<f32>, 8>>, a: vec4<f32>, k: u32, g: u32, q: array<vec4<f32>, 4>) {
  let x = rows4(a, k, g);
  for (var r = 0u; r < 8u; r++) {
    (*acc)[r] = fma(vec4<f32>(x[3][r]), q[3], fma(vec4<f32>(x[2][r]), q[2], fma(vec4<f32>(x[1][r]), q[1], fma(vec4<f32>(x[0][r]), q[0], (*acc)[r]))));
  }
}

// B's 4 k values of 3 columns (q[j] column j's) as the 4 k steps' column triples.
fn byK3(q: array<vec4<f32>, 3>) -> array<vec3<f32>, 4> {
  return array<vec3<f32>, 4>(vec3<f32>(q[0].x, q[1].x, q[2].x), vec3<f32>(q[0].y, q[1].y, q[2].y),
                             vec3<f32>(q[0].z, q[1].z, q[2].z), vec3<f32>(q[0].w, q[1].w, q[2].w));
}

// Row groups 2 and 3 are dead code when G == 2: the override folds each `G == 4u` test.

// 8G x 24 tiles, lane L owning the interleaved columns n0 + L + 8j (j = 0, 1, 2): any shape and TA/TB.
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let wid = vec3<u32>(tileOf(wg, nwg), wg.z);
  let N = P.N;
  let K = P.K;
  let z = P.zBase + wid.z;
  let m0 = P.mBase + wid.y * 8u * G;
  // This lane's three columns (clamped to the last one).
  let n = vec3<u32>(wid.x * 24u + lane) + vec3<u32>(0u, 8u, 16u);
  let nc = min(n, vec3<u32>(N - 1u));
  var c0: array<vec3<f32>, 8>; // rows 8g .. 8g + 7 of the tile in cg
  var c1: array<vec3<f32>, 8>;
  var c2: array<vec3<f32>, 8>;
  var c3: array<vec3<f32>, 8>;
  for (var zi = z; zi < zEnd(z); zi++) {
    let aOwn = setupA(zi * P.strideA, m0, lane);
    // B's columns and step along k.
    var bCol: vec3<u32>;
    var bStep: u32;
    if (TB) { bCol = zi * P.strideB + nc * K; bStep = 1u; } else { bCol = zi * P.strideB + nc; bStep = N; }
    var k = 0u;
    for (; k + 4u <= K; k += 4u) {
      // A first, then B, then the FMAs: a gather is a branch per lane, and loads between FMAs split the block.
      let a = ownRows(aOwn, k);
      let o = k * bStep;
      let q0 = vec4<f32>(B[bCol.x + o], B[bCol.x + o + bStep], B[bCol.x + o + 2u * bStep], B[bCol.x + o + 3u * bStep]);
      let q1 = vec4<f32>(B[bCol.y + o], B[bCol.y + o + bStep], B[bCol.y + o + 2u * bStep], B[bCol.y + o + 3u * bStep]);
      let q2 = vec4<f32>(B[bCol.z + o], B[bCol.z + o + bStep], B[bCol.z + o + 2u * bStep], B[bCol.z + o + 3u * bStep]);
      let b = byK3(array<vec4<f32>, 3>(q0, q1, q2));
      stepRows3(&c0, a[0], k, 0u, b);
      stepRows3(&c1, a[1], k, 1u, b);
      if (G == 4u) {
        stepRows3(&c2, a[2], k, 2u, b);
        stepRows3(&c3, a[3], k, 3u, b);
      }
    }
    // The k tail, compiled only where K % 4 may be nonzero (see K4).
    for (; !K4 && !AV && k < K; k++) {
      let o = k * bStep;
      let b = vec3<f32>(B[bCol.x + o], B[bCol.y + o], B[bCol.z + o]);
      fmaRows3(&c0, rowsA(aAt(aOwn.x + k * aStep), k, 0u), b);
      fmaRows3(&c1, rowsA(aAt(aOwn.y + k * aStep), k, 1u), b);
      if (G == 4u) {
        fmaRows3(&c2, rowsA(aAt(aOwn.z + k * aStep), k, 2u), b);
        fmaRows3(&c3, rowsA(aAt(aOwn.w + k * aStep), k, 3u), b);
      }
    }
  }
  storeRows3(z, m0, n, c0, c1, c2, c3, lane);
}

// The tile's rows (those < M) at columns n (those < N).
fn storeRows3(z: u32, m0: u32, n: vec3<u32>, c0: array<vec3<f32>, 8>, c1: array<vec3<f32>, 8>, c2: array<vec3<f32>, 8>, c3: array<vec3<f32>, 8>, lane: u32) {
  let b = tileBias(m0, lane);
  store3(z, m0, n, c0, b[0]);
  store3(z, m0 + 8u, n, c1, b[1]);
  if (G == 4u) {
    store3(z, m0 + 16u, n, c2, b[2]);
    store3(z, m0 + 24u, n, c3, b[3]);
  }
}

// C rows m0 .. m0 + 7 (those < M) at columns n (those < N).
fn store3(z: u32, m0: u32, n: vec3<u32>, acc: array<vec3<f32>, 8>, bias: array<f32, 8>) {
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + r;
    if (m >= P.M) { break; }
    let o = (z * P.M + m) * P.N;
    if (n.x < P.N) { C[o + n.x] = epilogue1(acc[r].x, bias[r], o + n.x); }
    if (n.y < P.N) { C[o + n.y] = epilogue1(acc[r].y, bias[r], o + n.y); }
    if (n.z < P.N) { C[o + n.z] = epilogue1(acc[r].z, bias[r], o + n.z); }
  }
}

// What the store adds (a 1x1 conv with a folded BatchNorm ends a block here, src/nn/conv-norm.ts): BIAS, Bias[m]
// per row of C; RES, the residual Res (C's shape; callers bind A otherwise); RELU, a clamp at 0.
override BIAS: bool = false;
override RES: bool = false;
override RELU: bool = false;
@group(0) @binding(4) var<storage, read> Bias: array<f32>;
@group(0) @binding(5) var<storage, read> Res4: array<vec4<f32>>;

// C[i] = act(v + bias + residual) (bias: the row's, 0 without BIAS).
fn epilogue1(v: f32, bias: f32, i: u32) -> f32 {
  var y = v + bias;
  if (RES) { y += Res4[i >> 2u][i & 3u]; }
  if (RELU) { y = max(y, 0.0); }
  return y;
}

// The same for the aligned vec4 C4[i4].
fn epilogue4(v: vec4<f32>, bias: f32, i4: u32) -> vec4<f32> {
  var y = v + vec4<f32>(bias);
  if (RES) { y += Res4[i4]; }
  if (RELU) { y = max(y, vec4<f32>(0.0)); }
  return y;
}

// The biases of the tile's rows m0 + 8g + r per row group g (zeros without BIAS), from `biasRows` of the variant
// (kernels/matmul.wgsl: one gather a lane and broadcasts). Before any lane of the workgroup returns.
fn tileBias(m0: u32, lane: u32) -> array<array<f32, 8>, 4> {
  var b: array<array<f32, 8>, 4>;
  if (BIAS) {
    b[0] = biasRows(m0, lane);
    b[1] = biasRows(m0 + 8u, lane);
    if (G == 4u) {
      b[2] = biasRows(m0 + 16u, lane);
      b[3] = biasRows(m0 + 24u, lane);
    }
  }
  return b;
}

// 8G x 32 tiles, lane L owning columns n0 + 4L .. n0 + 4L + 3 read as one vec4. Needs !TB, N % 4 == 0 and
// strideB % 4 == 0 (TA is free).
@compute @workgroup_size(8)
fn main_n4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let wid = vec3<u32>(tileOf(wg, nwg), wg.z);
  let N = P.N;
  let K = P.K;
  let z = P.zBase + wid.z;
  let m0 = P.mBase + wid.y * 8u * G;
  let N4 = N / 4u;
  let n = wid.x * 32u + lane * 4u;
  var c0: array<vec4<f32>, 8>;
  var c1: array<vec4<f32>, 8>;
  var c2: array<vec4<f32>, 8>;
  var c3: array<vec4<f32>, 8>;
  for (var zi = z; zi < zEnd(z); zi++) {
    let aOwn = setupA(zi * P.strideA, m0, lane);
    let bCol = zi * (P.strideB / 4u) + min(n / 4u, N4 - 1u);
    var k = 0u;
    for (; k + 4u <= K; k += 4u) {
      let a = ownRows(aOwn, k);
      let o = bCol + k * N4;
      let q = array<vec4<f32>, 4>(B4[o], B4[o + N4], B4[o + 2u * N4], B4[o + 3u * N4]);
      stepRows4(&c0, a[0], k, 0u, q);
      stepRows4(&c1, a[1], k, 1u, q);
      if (G == 4u) {
        stepRows4(&c2, a[2], k, 2u, q);
        stepRows4(&c3, a[3], k, 3u, q);
      }
    }
    // The k tail, compiled only where K % 4 may be nonzero (see K4).
    for (; !K4 && !AV && k < K; k++) {
      let q = B4[bCol + k * N4];
      fmaRows4(&c0, rowsA(aAt(aOwn.x + k * aStep), k, 0u), q);
      fmaRows4(&c1, rowsA(aAt(aOwn.y + k * aStep), k, 1u), q);
      if (G == 4u) {
        fmaRows4(&c2, rowsA(aAt(aOwn.z + k * aStep), k, 2u), q);
        fmaRows4(&c3, rowsA(aAt(aOwn.w + k * aStep), k, 3u), q);
      }
    }
  }
  let b = tileBias(m0, lane);
  if (n >= N) { return; }
  if (STATS) {
    tileStats(z, m0, n, c0, b[0]);
    tileStats(z, m0 + 8u, n, c1, b[1]);
    if (G == 4u) {
      tileStats(z, m0 + 16u, n, c2, b[2]);
      tileStats(z, m0 + 24u, n, c3, b[3]);
    }
  }
  store4(z, m0, n, c0, b[0]);
  store4(z, m0 + 8u, n, c1, b[1]);
  if (G == 4u) {
    store4(z, m0 + 16u, n, c2, b[2]);
    store4(z, m0 + 24u, n, c3, b[3]);
  }
}

// STATS (main_n4, without RES and RELU): partial statistics of what the store writes, for a following groupNorm
// (kernels/norm.wgsl stats_partials combines them instead of reading C again in a statistics pass). Per row group (8
// rows; 8 must divide M and the norm's rows per group) and lane (4 columns; those past N are not written): (mean,
// M2), M2 the sum of squared deviations from that mean, in Part[(z * M / 8 + m / 8) * N / 4 + n / 4]. Each lane its
// own: lavapipe sums across lanes lane by lane, and a sum over the tile's 8 lanes per block cost a K = 64 product
// 15-20% against 2-10% for this. (Blocks of 2 or 4 rows worked too, but each block size was one more pipeline to
// compile, and a uniform block size cost the K = 64 product 12%.)
override STATS: bool = false;
@group(0) @binding(6) var<storage, read_write> Part: array<vec2<f32>>;

// Rows m0 .. m0 + 7 of the tile (all < M or none, as 8 divides M): acc this lane's 4 columns n .. n + 3 of them
// (n < N), bias their biases.
fn tileStats(z: u32, m0: u32, n: u32, acc: array<vec4<f32>, 8>, bias: array<f32, 8>) {
  if (m0 >= P.M) { return; }
  // Sums of d = y - (the block's first value): the shift keeps M2's cancellation small. One loop of 8 with constant
  // trip count, as store4's: NIR unrolls it and acc is indexed by constants (indexed at run time, lavapipe kept every
  // accumulator in memory through the k loop: a K = 64 product ran 20% slower).
  let shift = acc[0].x + bias[0];
  var t = vec2<f32>(0.0);
  for (var r = 0u; r < 8u; r++) {
    let d = acc[r] + vec4<f32>(bias[r] - shift);
    t += vec2<f32>(d.x + d.y + d.z + d.w, dot(d, d));
  }
  Part[(z * (P.M / 8u) + m0 / 8u) * (P.N / 4u) + n / 4u] = vec2<f32>(shift + t.x / 32.0, t.y - t.x * t.x / 32.0);
}

// C rows m0 .. m0 + 7 (those < M) at columns n .. n + 3 (main_n4 only: it binds C as C4).
fn store4(z: u32, m0: u32, n: u32, acc: array<vec4<f32>, 8>, bias: array<f32, 8>) {
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + r;
    if (m >= P.M) { break; }
    // N % 4 == 0 and n % 4 == 0 here: one aligned vec4 store instead of 4 scattered scalar ones.
    let i4 = ((z * P.M + m) * P.N + n) >> 2u;
    C4[i4] = epilogue4(acc[r], bias[r], i4);
  }
}

// main's 8G x 24 tiles for B stored [N, K] (TB) with each column's 4 k values read as one vec4. Needs TB,
// K % 4 == 0 and strideB % 4 == 0 (TA is free).
@compute @workgroup_size(8)
fn main_k4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let wid = vec3<u32>(tileOf(wg, nwg), wg.z);
  let N = P.N;
  let K = P.K;
  let z = P.zBase + wid.z;
  let m0 = P.mBase + wid.y * 8u * G;
  let n = vec3<u32>(wid.x * 24u + lane) + vec3<u32>(0u, 8u, 16u);
  var c0: array<vec3<f32>, 8>;
  var c1: array<vec3<f32>, 8>;
  var c2: array<vec3<f32>, 8>;
  var c3: array<vec3<f32>, 8>;
  for (var zi = z; zi < zEnd(z); zi++) {
    let aOwn = setupA(zi * P.strideA, m0, lane);
    let bCol = zi * (P.strideB / 4u) + min(n, vec3<u32>(N - 1u)) * (K / 4u);
    for (var k = 0u; k < K; k += 4u) {
      let a = ownRows(aOwn, k);
      let b = byK3(array<vec4<f32>, 3>(B4[bCol.x + k / 4u], B4[bCol.y + k / 4u], B4[bCol.z + k / 4u]));
      stepRows3(&c0, a[0], k, 0u, b);
      stepRows3(&c1, a[1], k, 1u, b);
      if (G == 4u) {
        stepRows3(&c2, a[2], k, 2u, b);
        stepRows3(&c3, a[3], k, 3u, b);
      }
    }
  }
  storeRows3(z, m0, n, c0, c1, c2, c3, lane);
}
