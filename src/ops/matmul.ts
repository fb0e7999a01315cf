// Batched matrix product with broadcast batch dimensions (torch.matmul for rank >= 2 and vectors).
// Gradients reuse the same kernel with transposed operands (flags; a shared transposed A is copied, see matmulRaw).
import { engine } from '../gpu/current.ts';
import { kernel, type KernelSpec, Uniforms } from '../gpu/kernel.ts';
import { noGrad, record } from '../tensor/autograd.ts';
import { keep } from '../tensor/scope.ts';
import { numel, Tensor } from '../tensor/tensor.ts';
import { broadcastShapes, sameShape } from './layout.ts';
import { keepRowPartials, PARTIAL_ROWS } from './row-partials.ts';
import { sumTo } from './reduce.ts';
import { expand, squeeze, transpose, unsqueeze } from './shape.ts';

// kernels/_matmul.wgsl: 8-invocation workgroups, each a tile of 16 or 32 rows of C (`tileRows`), in three entry
// points: `main` (any shape, x 24 columns), `main_n4` (B read as vec4 along N: !TB, N and B's batch stride divisible
// by 4; x 32) and `main_k4` (B read as vec4 along K: TB, K and B's batch stride divisible by 4; x 24). kernels/matmul.wgsl
// shares the tile's A values with subgroupBroadcast, which needs the 8 invocations inside one subgroup (subgroup
// size >= 8; lavapipe's is 8); other adapters get kernels/matmul_portable.wgsl (lane-uniform loads instead).
/** Workgroups below which 32-row tiles would leave lavapipe's threads (16 here) with too few each. */
const MIN_TILES_FOR_32 = 128;

/**
 * Rows of C per workgroup: 32 (4 row groups, half the B loads per FMA: 8-15% faster) where they waste at most a
 * twentieth more rows than 16-row tiles and still leave enough workgroups to spread over the threads; else 16.
 */
function tileRows(m: number, columnTiles: number): 16 | 32 {
  const rows16 = Math.ceil(m / 16) * 16;
  const rows32 = Math.ceil(m / 32) * 32;
  return rows32 <= rows16 * 1.05 && (rows32 / 32) * columnTiles >= MIN_TILES_FOR_32 ? 32 : 16;
}
/** Invocations per workgroup, which subgroupBroadcast needs inside one subgroup. */
const LANES = 8;

interface MatmulSpecs {
  main: KernelSpec;
  n4: KernelSpec;
  k4: KernelSpec;
  /** The subgroup variant (kernels/matmul.wgsl), which alone has TAV. */
  subgroups: boolean;
}
let specs: { device: GPUDevice; specs: MatmulSpecs } | null = null;

/** The matmul entry points for the current device: the subgroup variant where it is safe, else the portable one. */
function matmulSpecs(): MatmulSpecs {
  const e = engine();
  if (specs?.device !== e.device) {
    const info = e.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number };
    const subgroups = e.device.features.has('subgroups') && (info.subgroupMinSize ?? 0) >= LANES;
    const file = subgroups ? 'matmul' : 'matmul_portable';
    specs = { device: e.device, specs: { main: kernel(file, 'main'), n4: kernel(file, 'main_n4'), k4: kernel(file, 'main_k4'), subgroups } };
  }
  return specs.specs;
}

/**
 * What matmulRaw's store adds to C (a 1x1 conv with a folded BatchNorm, src/nn/conv-norm.ts): `bias` [M] per row,
 * `residual` (C's shape), then a clamp at 0 with `relu`.
 */
export interface MatmulEpilogue {
  bias?: Tensor | null;
  residual?: Tensor | null;
  relu?: boolean;
  /**
   * Rows per statistics group of a groupNorm of the output (its C / groups): also keep partial statistics of the
   * output's rows for it (src/ops/row-partials.ts). Taken by the vec4-column kernel (main_n4) without a residual, a
   * ReLU or a batch sum; ignored elsewhere.
   */
  rowStats?: number;
}

/**
 * C[b] = op(A[b]) x op(B[b]) over `batch` products, where op transposes when ta/tb is set.
 * A is stored [M, K] ([K, M] if ta), B [K, N] ([N, K] if tb); a batch stride of 0 shares an operand.
 * `sumBatch`: C [1, M, N] is the sum of the products, accumulated inside the kernel (kernels/_matmul.wgsl zsum).
 * `epi`: what the store adds (see MatmulEpilogue).
 */
export function matmulRaw(a: Tensor, b: Tensor, m: number, n: number, k: number, batch: number, strideA: number, strideB: number, ta = false, tb = false, sumBatch = false, epi: MatmulEpilogue = {}): Tensor {
  const entries = matmulSpecs();
  // A transposed (a conv's weight in its input gradient, an activation in a weight gradient): the subgroup kernel
  // reads a tile's rows at one k as aligned vec4s spread over the lanes (kernels/_matmul.wgsl TAV), 10-15% faster
  // than 4 scalar k values a lane and than the [M, K] copy below (bench/NOTES.md "matmul" v10).
  const tav = ta && entries.subgroups && m % 4 === 0 && strideA % 4 === 0;
  // Otherwise, A transposed and one matrix (shared by the batch, or batch 1): multiply an [M, K] copy instead, whose 4
  // k values a lane reads as one vec4 (AV) rather than 4 scalars: 5-15% faster on resnet_50's 1x1 input gradients
  // before TAV. The copy (M*K floats) pays where each A value meets many columns (N * batch >= 4096); below that
  // (layer3-4's big weights at 16x16) it cost about what it saved.
  if (ta && !tav && (strideA === 0 || batch === 1) && a.size === m * k && k % 4 === 0 && n >= 64 && n * batch >= 4096) {
    const at = noGrad(() => {
      const view = Tensor.view(a, [k, m]);
      const t = transpose(view);
      view.dispose();
      return t;
    });
    const out = matmulRaw(at, b, m, n, k, batch, 0, strideB, false, tb, sumBatch, epi);
    at.dispose();
    return out;
  }
  const out = Tensor.empty([sumBatch ? 1 : batch, m, n]);
  if (out.size === 0) return out;
  const e = engine();
  // The entry point by shape (see above); each (entry, TA, TB) is one pipeline.
  let spec = entries.main;
  let tileN = 24;
  let constants: Record<string, number> = { TA: ta ? 1 : 0, TB: tb ? 1 : 0 };
  if (!tb && n % 4 === 0 && strideB % 4 === 0) {
    [spec, tileN, constants] = [entries.n4, 32, { TA: ta ? 1 : 0 }];
  } else if (tb && k % 4 === 0 && strideB % 4 === 0) {
    [spec, constants] = [entries.k4, { TA: ta ? 1 : 0 }];
  }
  // A's rows as aligned vec4s along k (see kernels/_matmul.wgsl AV).
  if (!ta && k % 4 === 0 && strideA % 4 === 0) constants = { ...constants, AV: 1 };
  if (tav) constants = { ...constants, TAV: 1 };
  // No k tail to compile (main_k4 has none; AV implies K % 4 == 0).
  if (spec !== entries.k4 && !constants.AV && k % 4 === 0) constants = { ...constants, K4: 1 };
  if (epi.bias) constants = { ...constants, BIAS: 1 };
  if (epi.residual) constants = { ...constants, RES: 1 };
  if (epi.relu) constants = { ...constants, RELU: 1 };
  const tilesN = Math.ceil(n / tileN);
  // Partials in blocks of 8 rows: groups of 2 or 4 keep the norm's statistics pass (see kernels/_matmul.wgsl STATS).
  const rowStats = !!epi.rowStats && epi.rowStats % PARTIAL_ROWS === 0 && m % epi.rowStats === 0 && spec === entries.n4 && !epi.residual && !epi.relu && !sumBatch;
  const partials = rowStats ? keep(Tensor.empty([(batch * m * n) / 4 / PARTIAL_ROWS, 2])) : null;
  if (rowStats) constants = { ...constants, STATS: 1 };
  const buffers = [a.buffer, b.buffer, out.buffer, (epi.bias ?? a).buffer, (epi.residual ?? a).buffer];
  // main_n4 alone declares the partials' binding; without STATS nothing writes it.
  if (spec === entries.n4) buffers.push(partials?.buffer ?? e.spareStorage);
  // Summed, the batch is walked inside each workgroup (the kernel's zsum): one z.
  const zsum = sumBatch && batch > 1;
  const zs = sumBatch ? 1 : batch;
  const rows = tileRows(m, tilesN * zs);
  if (rows === 32) constants = { ...constants, G: 4 };
  // Grids past the per-axis limit are split into several dispatches (first tile row / batch index as uniforms).
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  const tilesM = Math.ceil(m / rows);
  for (let z0 = 0; z0 < zs; z0 += max) {
    for (let t0 = 0; t0 < tilesM; t0 += max) {
      const u = new Uniforms().u32(m).u32(n).u32(k).u32(batch).u32(strideA).u32(strideB).u32(t0 * rows).u32(z0).u32(zsum ? 1 : 0);
      e.dispatch(spec, [tilesN, Math.min(max, tilesM - t0), Math.min(max, zs - z0)], buffers, u, constants);
    }
  }
  if (partials) keepRowPartials(out, { partials, rows: batch * m, cols: n });
  return out;
}

/** torch.matmul: vectors are promoted and their axis removed again; batch dimensions broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) throw new Error('matmul: both operands need at least one dimension');
  if (a.rank === 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.rank === 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) throw new Error(`matmul: [${a.shape.join(', ')}] x [${b.shape.join(', ')}]: inner dimensions ${k} and ${k2} differ`);
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = numel(batchShape);
  // An operand is read in place when its batch equals the result's or is a single matrix; otherwise expanded.
  const operand = (t: Tensor, rows: number, cols: number): [Tensor, number] => {
    const tb = t.shape.slice(0, -2);
    if (numel(tb) === 1) return [t, 0];
    if (sameShape(tb, batchShape)) return [t, rows * cols];
    return [expand(t, [...batchShape, rows, cols]), rows * cols];
  };
  const [ea, sa] = operand(a, m, k);
  const [eb, sb] = operand(b, k, n);
  const out = Tensor.reshapeOwned(matmulRaw(ea, eb, m, n, k, batch, sa, sb), [...batchShape, m, n]);
  if (ea !== a) ea.dispose();
  if (eb !== b) eb.dispose();
  return record(out, 'matmul', [a, b], (g) => [a.requiresGrad ? gradA(g, a, b, m, n, k, batch) : null, b.requiresGrad ? gradB(g, a, b, m, n, k, batch) : null]);
}

// dA = g x B^T, summed over batch dimensions that A broadcast.
function gradA(g: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, batch: number): Tensor {
  const bShared = numel(b.shape.slice(0, -2)) === 1;
  const eb = numel(b.shape.slice(0, -2)) === batch || bShared ? b : expand(b, [...g.shape.slice(0, -2), k, n]);
  const d = matmulRaw(g, eb, m, k, n, batch, m * n, bShared ? 0 : k * n, false, true);
  if (eb !== b) eb.dispose();
  return reduceBatch(d, a.shape, g.shape.slice(0, -2));
}

// dB = A^T x g, summed over batch dimensions that B broadcast.
function gradB(g: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, batch: number): Tensor {
  if (numel(b.shape.slice(0, -2)) === 1 && numel(a.shape.slice(0, -2)) === batch) {
    // B shared across the batch: stack the batch into rows, one [K, batch*M] x [batch*M, N] product.
    return Tensor.reshapeOwned(matmulRaw(a, g, k, n, batch * m, 1, 0, 0, true, false), b.shape);
  }
  const aShared = numel(a.shape.slice(0, -2)) === 1;
  const ea = numel(a.shape.slice(0, -2)) === batch || aShared ? a : expand(a, [...g.shape.slice(0, -2), m, k]);
  const d = matmulRaw(ea, g, k, n, m, batch, aShared ? 0 : m * k, m * n, true, false);
  if (ea !== a) ea.dispose();
  return reduceBatch(d, b.shape, g.shape.slice(0, -2));
}

/** A [batch, r, c] gradient summed over the batch positions the operand of `shape` broadcast. */
function reduceBatch(d: Tensor, shape: readonly number[], batchShape: readonly number[]): Tensor {
  const operandBatch = numel(shape.slice(0, -2));
  if (operandBatch === d.shape[0]) return Tensor.reshapeOwned(d, shape);
  if (operandBatch === 1) {
    const out = sumTo(d, [1, ...d.shape.slice(1)]);
    d.dispose();
    return Tensor.reshapeOwned(out, shape);
  }
  // Partial broadcast (e.g. [4, 1, M, K] against a [4, 3] batch): view the batch axes and sum.
  const full = Tensor.reshapeOwned(d, [...batchShape, ...shape.slice(-2)]);
  const out = sumTo(full, shape);
  if (out !== full) full.dispose();
  return out;
}
