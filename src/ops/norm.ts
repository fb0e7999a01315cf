// Normalisation layers as dedicated kernels (kernels/norm.wgsl): batchNorm (per-channel statistics over
// N and space, running estimates updated in place), groupNorm and layerNorm (per-row statistics). Each
// forward is a statistics pass and one normalise+affine pass; each backward two or three passes. The normalise
// pass can end a ResNet block (NormEpilogue): a residual added and a ReLU, in the same pass.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms, type Constants, type KernelSpec } from '../gpu/kernel.ts';
import { noGrad, record } from '../tensor/autograd.ts';
import { numel, Tensor } from '../tensor/tensor.ts';
import { keep } from '../tensor/scope.ts';
import { full } from './creation.ts';
import { reluBackward } from './elementwise.ts';
import { grid } from './layout.ts';
import { PARTIAL_ROWS, takeRowPartials } from './row-partials.ts';

const K = {
  stats: kernel('norm', 'stats'),
  stats4: kernel('norm', 'stats4'),
  statsPartials: kernel('norm', 'stats_partials'),
  running: kernel('norm', 'running'),
  fromRunning: kernel('norm', 'from_running'),
  normalize: kernel('norm', 'normalize'),
  bnSums: kernel('norm', 'bn_sums'),
  bnSums4: kernel('norm', 'bn_sums4'),
  rowSums: kernel('norm', 'row_sums'),
  rowSumsNarrow: kernel('norm', 'row_sums_narrow'),
  gnCombine: kernel('norm', 'gn_combine'),
  dx: kernel('norm', 'dx'),
  normalizeRows4: kernel('norm', 'normalize_rows4'),
  normalizeRows: kernel('norm', 'normalize_rows'),
  dxRows4: kernel('norm', 'dx_rows4'),
  dxRows: kernel('norm', 'dx_rows'),
  rowSums4: kernel('norm', 'row_sums4'),
};

/** Invocations per workgroup of the row kernels (RW in norm.wgsl). */
const RW = 64;
/** vec4s per invocation of the vec4 row kernels (ROW_STEPS in norm.wgsl). */
const ROW_STEPS = 4;
/** Rows at least this long use the row kernels (shorter ones would leave most of a workgroup idle). */
const MIN_ROW = 64;

/** Grid of the row kernels: x walks a row in `chunks` workgroups, (y, z) count the rows. */
function rowGrid(rows: number, chunks = 1): [number, number, number] {
  const y = Math.min(rows, 65535);
  return [chunks, y, Math.ceil(rows / y)];
}

/** Fields of the kernels' Params struct (unused ones stay 0). */
interface P {
  n?: number; C?: number; S?: number; statL?: number; statG?: number; groups?: number; L?: number; O?: number;
  OS?: number; statDiv?: number; mode?: number; NG?: number; Cg?: number; count?: number; eps?: number; momentum?: number;
  lgLanes?: number;
}

function params(p: P): Uniforms {
  const u = new Uniforms();
  u.u32(p.n ?? 0).u32(p.C ?? 0).u32(p.S ?? 0).u32(p.statL ?? 0);
  u.u32(p.statG ?? 0).u32(p.groups ?? 0).u32(p.L ?? 0).u32(p.O ?? 0);
  u.u32(p.OS ?? 0).u32(p.statDiv ?? 1).u32(p.mode ?? 0).u32(p.NG ?? 0);
  u.u32(p.Cg ?? 0).f32(p.count ?? 0).f32(p.eps ?? 0).f32(p.momentum ?? 0);
  u.u32(p.lgLanes ?? 0).u32(0).u32(0).u32(0);
  return u;
}

/** One workgroup per reduction group. */
const perGroup = (groups: number): [number, number] => grid(groups, 1);

/** (mean, invstd) per statistics group of X: groups of O runs of L elements, OS apart. */
function statsOf(x: Tensor, groups: number, L: number, O: number, OS: number, eps: number): Tensor {
  const stats = Tensor.empty([groups, 2]);
  // Contiguous groups of whole vec4s (groupNorm, layerNorm): `stats4`, 2.5x `stats` on ResNet-50's GroupNorms.
  const spec = O === 1 && L % 4 === 0 ? K.stats4 : K.stats;
  engine().dispatch(spec, perGroup(groups), [x.buffer, stats.buffer], params({ groups, L, O, OS, count: L * O, eps }));
  return stats;
}

/**
 * (mean, invstd) per group of x [N * C rows, S] of Cg consecutive rows, from the row partials a matmul left beside x
 * (src/ops/row-partials.ts) where there are some, else from a statistics pass over x.
 */
function rowGroupStats(x: Tensor, rows: number, S: number, Cg: number, eps: number): Tensor {
  const part = takeRowPartials(x, rows, S, Cg);
  const groups = rows / Cg;
  if (!part) return statsOf(x, groups, Cg * S, 1, 0, eps);
  const stats = Tensor.empty([groups, 2]);
  const u = params({ groups, L: S, Cg: Cg / PARTIAL_ROWS, O: PARTIAL_ROWS, count: Cg * S, eps });
  engine().dispatch(K.statsPartials, perGroup(groups), [part.partials.buffer, stats.buffer], u);
  part.partials.dispose();
  return stats;
}

/**
 * The elementwise passes (normalise, dx) over x viewed as rows of S elements with per-row constants:
 * long rows take the row kernels (vec4 when S allows), short ones the flat kernel that finds each
 * element's row by division. `p` must give C, S, statL, statG and statDiv.
 */
function rowPass(flat: KernelSpec, rows4: KernelSpec, rowsScalar: KernelSpec, x: Tensor, buffers: GPUBuffer[], p: P, constants: Constants = {}, extra4: GPUBuffer[] = []): void {
  const S = p.S!;
  if (S < MIN_ROW) return engine().dispatch(flat, grid(x.size), buffers, params({ ...p, n: x.size }), constants);
  const rows = x.size / S;
  if (!usesRows4(S)) return engine().dispatch(rowsScalar, rowGrid(rows, Math.ceil(S / RW)), buffers, params({ ...p, n: x.size, groups: rows }), constants);
  const lg = passLanes(S / 4);
  const lanes = 1 << lg;
  const g = rowGrid(Math.ceil(rows / (RW / lanes)), Math.ceil(S / 4 / (ROW_STEPS * lanes)));
  engine().dispatch(rows4, g, [...buffers, ...extra4], params({ ...p, n: x.size, groups: rows, lgLanes: lg }), constants);
}

const LG_RW = Math.log2(RW);

/**
 * log2 of the lanes per row of normalize_rows4 / dx_rows4 for rows of S4 vec4s: the most lanes (a workgroup covers
 * ROW_STEPS vec4s per lane of each of its rows) that leave at most a tenth of the covered vec4s idle, else the
 * fewest idle. Rows of 64 vec4s (ResNet's 16x16 maps) take 16 lanes, 4 rows a workgroup; rows of 256 or more, 64.
 */
function passLanes(S4: number): number {
  let best = LG_RW;
  let bestUse = 0;
  for (let lg = LG_RW; lg >= 0; lg--) {
    const span = ROW_STEPS << lg;
    const use = S4 / (Math.ceil(S4 / span) * span);
    if (use >= 0.9) return lg;
    if (use > bestUse) [best, bestUse] = [lg, use];
  }
  return best;
}

/** log2 of the lanes per row of row_sums4, which walks a whole row per lane group: about 16 vec4s per lane. */
function sumLanes(L4: number): number {
  return Math.max(0, Math.min(LG_RW, Math.floor(Math.log2(Math.max(1, L4 / 16)))));
}

/** Whether rows of S elements take the vec4 row kernels (normalize_rows4, dx_rows4, row_sums4). */
const usesRows4 = (S: number) => S >= MIN_ROW && S % 4 === 0;

/**
 * What the normalise pass applies after the affine step, as torch's `relu(norm(x) + residual)`: `residual` (the
 * input's shape) is added, then `relu` clamps at 0. One pass instead of the two or three of separate ops.
 */
export interface NormEpilogue {
  residual?: Tensor | null;
  relu?: boolean;
}

function normalizeRaw(x: Tensor, stats: Tensor, w: Tensor, b: Tensor, p: P, epi: NormEpilogue): Tensor {
  const y = Tensor.empty(x.shape);
  const r = epi.residual ?? null;
  const constants = { RELU: epi.relu ? 1 : 0, RES: r ? 1 : 0 };
  rowPass(K.normalize, K.normalizeRows4, K.normalizeRows, x, [x.buffer, stats.buffer, w.buffer, b.buffer, y.buffer, (r ?? x).buffer], p, constants);
  return y;
}

function checkEpilogue(x: Tensor, epi: NormEpilogue, op: string): void {
  const r = epi.residual;
  if (r && (r.rank !== x.rank || r.shape.some((d, i) => d !== x.shape[i])))
    throw new Error(`${op}: residual [${r.shape.join(', ')}] must have the input's shape [${x.shape.join(', ')}]`);
}

/**
 * The tape entry of a normalisation with its epilogue: the rule gets the gradient at the affine output, or, where
 * `rulesMask` says its kernels can and the ReLU's gradient is needed nowhere else (no residual), the gradient above
 * the ReLU with `mask` set, to zero it where the affine output was not positive inside its own passes.
 */
function recordNorm(y: Tensor, op: string, inputs: [Tensor, Tensor, Tensor], epi: NormEpilogue, rule: (g: Tensor, mask: boolean) => (Tensor | null)[], rulesMask = false): Tensor {
  const r = epi.residual ?? null;
  const fused = !!epi.relu && !r && rulesMask;
  return record(y, op, r ? [...inputs, r] : inputs, (g) => {
    // y > 0 exactly where the pre-ReLU sum is.
    const gz = epi.relu && !fused ? reluBackward(g, y) : g;
    const grads = rule(gz, fused);
    return r ? [...grads, r.requiresGrad ? gz : null] : grads;
  });
}

/** `maskBias` (dx_rows4 only, see recordNorm): g is above a ReLU, masked with the forward's bias given here. */
function dxRaw(g: Tensor, x: Tensor, stats: Tensor, w: Tensor, coef: Tensor, p: P, maskBias: Tensor | null = null): Tensor {
  const dx = Tensor.empty(x.shape);
  // dx_rows4 binds a bias either way (unread without MASK: g stands in).
  rowPass(K.dx, K.dxRows4, K.dxRows, x, [g.buffer, x.buffer, stats.buffer, w.buffer, coef.buffer, dx.buffer], p, { MASK: maskBias ? 1 : 0 }, [(maskBias ?? g).buffer]);
  return dx;
}

function checkParam(t: Tensor | null | undefined, c: number, what: string, op: string): void {
  if (t && t.size !== c) throw new Error(`${op}: ${what} has ${t.size} elements, expected ${c}`);
}

// ---- batchNorm ----

/** Options of {@link batchNorm2d}. */
export interface BatchNormOptions extends NormEpilogue {
  /** Batch statistics (and running-estimate updates) when true; running estimates when false. Default false. */
  training?: boolean;
  /** Running-estimate update factor (PyTorch's convention: new = (1 - m) old + m batch). Default 0.1. */
  momentum?: number;
  eps?: number;
  /**
   * DeepLabCut's freeze_bn_stats: normalise with the running estimates and leave them unchanged even
   * in training; gradients still reach the input, weight and bias.
   */
  frozenStats?: boolean;
}

/**
 * Batch normalisation of x [N, C, ...] (batchNorm2d for [N, C, H, W]). In training the batch's biased
 * variance normalises and the running estimates (if given) are updated in place, without autograd, with
 * the unbiased variance, as in PyTorch. weight and bias are [C] (null: 1 and 0).
 */
export function batchNorm2d(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  if (x.rank < 2) throw new Error(`batchNorm: input must be [N, C, ...], got [${x.shape.join(', ')}]`);
  const { training = false, momentum = 0.1, eps = 1e-5, frozenStats = false } = opts;
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const S = numel(x.shape.slice(2));
  for (const [t, what] of [[weight, 'weight'], [bias, 'bias'], [runningMean, 'runningMean'], [runningVar, 'runningVar']] as const)
    checkParam(t, C, what, 'batchNorm');
  const batchStats = training && !frozenStats;
  if (!batchStats && (!runningMean || !runningVar)) throw new Error('batchNorm: running statistics are needed outside training (or with frozenStats)');
  if (batchStats && N * S <= 1) throw new Error(`batchNorm: expected more than 1 value per channel when training, got input [${x.shape.join(', ')}]`);
  if (x.size === 0) return Tensor.empty(x.shape);

  const geometry: P = { C, S, statL: S, statG: C };
  const computeStats = (): Tensor => {
    if (batchStats) return statsOf(x, C, S, N, C * S, eps);
    // (mean, invstd) from the running statistics: kept while they are unchanged (an evaluation's every frame, a
    // frozen-statistics training run; Engine.derived), not one pass per BatchNorm per forward.
    const e = engine();
    return e.derived(
      [runningMean!.buffer, runningVar!.buffer],
      `batchNorm:running:${C}:${eps}`,
      () => {
        const stats = keep(Tensor.empty([C, 2]));
        e.dispatch(K.fromRunning, grid(C), [runningMean!.buffer, runningVar!.buffer, stats.buffer], params({ C, eps }));
        return stats;
      },
      (t) => t.dispose(),
    );
  };
  const stats = computeStats();
  if (batchStats && runningMean && runningVar) {
    noGrad(() => {
      const m = Tensor.empty([C]);
      const v = Tensor.empty([C]);
      const u = params({ C, count: N * S, eps, momentum });
      engine().dispatch(K.running, grid(C), [stats.buffer, runningMean.buffer, runningVar.buffer, m.buffer, v.buffer], u);
      runningMean.assign(m);
      runningVar.assign(v);
    });
  }
  const w = weight ?? full([C], 1);
  const b = bias ?? full([C], 0);
  checkEpilogue(x, opts, 'batchNorm');
  const y = normalizeRaw(x, stats, w, b, geometry, opts);
  return recordNorm(y, 'batchNorm2d', [x, w, b], opts, (g) => {
    // The saved statistics may have gone with the scope that made y: recompute them from x.
    const st = stats.disposed ? computeStats() : stats;
    const dW = Tensor.empty([C]);
    const dB = Tensor.empty([C]);
    const coef = Tensor.empty([C, 2]);
    const u = params({ groups: C, L: S, O: N, OS: C * S, statDiv: 1, mode: batchStats ? 0 : 1, count: N * S });
    engine().dispatch(S % 4 === 0 ? K.bnSums4 : K.bnSums, perGroup(C), [g.buffer, x.buffer, st.buffer, w.buffer, dW.buffer, dB.buffer, coef.buffer], u);
    const dx = x.requiresGrad ? dxRaw(g, x, st, w, coef, geometry) : null;
    return [dx, weight ? Tensor.reshapeOwned(dW, weight.shape) : null, bias ? Tensor.reshapeOwned(dB, bias.shape) : null];
  });
}

/** Alias: batch normalisation of any [N, C, ...] input. */
export const batchNorm = batchNorm2d;

// ---- groupNorm / layerNorm ----

/** Normalises rows of x viewed as [N, C, S], statistics over groups of Cg consecutive channels (and S); affine per channel. */
function rowNorm(op: string, x: Tensor, N: number, C: number, S: number, Cg: number, weight: Tensor | null, bias: Tensor | null, eps: number, epi: NormEpilogue = {}): Tensor {
  checkParam(weight, C, 'weight', op);
  checkParam(bias, C, 'bias', op);
  if (x.size === 0) return Tensor.empty(x.shape);
  const NG = N * (C / Cg);
  const L = Cg * S;
  const geometry: P = { C, S, statL: L, statG: NG, statDiv: Cg };
  const computeStats = () => rowGroupStats(x, N * C, S, Cg, eps);
  const stats = computeStats();
  const w = weight ?? full([C], 1);
  const b = bias ?? full([C], 0);
  checkEpilogue(x, epi, op);
  const y = normalizeRaw(x, stats, w, b, geometry, epi);
  // The vec4 row kernels can mask a ReLU's gradient, with real affine parameters only: the defaults (full 1 / 0)
  // belong to the forward's scope.
  const fusesMask = usesRows4(S) && !!weight && !!bias;
  return recordNorm(y, op, [x, w, b], epi, (g, mask) => {
    const st = stats.disposed ? computeStats() : stats;
    const rows = Tensor.empty([N * C, 2]);
    const lg = sumLanes(S / 4);
    const u = params({ C, groups: N * C, L: S, statDiv: Cg, lgLanes: lg });
    // row_sums4 binds the weight and bias either way (read with MASK only: g stands in without it).
    if (usesRows4(S)) engine().dispatch(K.rowSums4, rowGrid(Math.ceil((N * C) / (RW >> lg))), [g.buffer, x.buffer, st.buffer, rows.buffer, (mask ? w : g).buffer, (mask ? b : g).buffer], u, { MASK: mask ? 1 : 0 });
    else if (S >= 64 || N * C < 1024) engine().dispatch(K.rowSums, perGroup(N * C), [g.buffer, x.buffer, st.buffer, rows.buffer], u);
    else engine().dispatch(K.rowSumsNarrow, grid(N * C), [g.buffer, x.buffer, st.buffer, rows.buffer], u);
    const dW = Tensor.empty([C]);
    const dB = Tensor.empty([C]);
    const coef = Tensor.empty([NG, 2]);
    const cu = params({ C, O: N, NG, Cg, count: L });
    engine().dispatch(K.gnCombine, grid(Math.max(C, NG)), [rows.buffer, w.buffer, dW.buffer, dB.buffer, coef.buffer], cu);
    const dx = x.requiresGrad ? dxRaw(g, x, st, w, coef, geometry, mask ? b : null) : null;
    return [dx, weight ? Tensor.reshapeOwned(dW, weight.shape) : null, bias ? Tensor.reshapeOwned(dB, bias.shape) : null];
  }, fusesMask);
}

/**
 * Group normalisation of x [N, C, ...] over `groups` groups of C / groups channels; weight and bias [C] (null: none).
 * `epi` adds a residual and/or a ReLU in the same pass (see {@link NormEpilogue}).
 */
export function groupNorm(x: Tensor, groups: number, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5, epi: NormEpilogue = {}): Tensor {
  if (x.rank < 2) throw new Error(`groupNorm: input must be [N, C, ...], got [${x.shape.join(', ')}]`);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) throw new Error(`groupNorm: ${C} channels cannot be split into ${groups} groups`);
  return rowNorm('groupNorm', x, N, C, numel(x.shape.slice(2)), C / groups, weight, bias, eps, epi);
}

/**
 * Layer normalisation over the trailing dimensions `normalizedShape`; weight and bias have that shape
 * (null: none).
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const tail = x.shape.slice(x.rank - ns.length);
  if (ns.length > x.rank || tail.some((d, i) => d !== ns[i]))
    throw new Error(`layerNorm: normalizedShape [${ns.join(', ')}] does not match the end of input [${x.shape.join(', ')}]`);
  const K = numel(ns);
  // Rows of K "channels" of one element each, all in one group: the affine parameters are per element.
  return rowNorm('layerNorm', x, x.size / Math.max(K, 1), K, 1, K, weight, bias, eps);
}
