// Peak FMA rate of the current adapter, measured with kernels/fma_peak.wgsl (independent vec4 FMA chains,
// no memory traffic). Other benchmarks call `fmaPeak()` to print "fraction of peak".
import { engine, kernel, Uniforms } from '../../src/index.ts';
import { gflops, timeGpu, type TimeOptions } from './harness.ts';

export const fmaVariants = { acc4: 4, acc8: 8, acc16: 16 } as const;
export type FmaVariant = keyof typeof fmaVariants;

export interface PeakResult {
  variant: FmaVariant;
  accumulators: number;
  invocations: number;
  iters: number;
  gflop: number;
  medianMs: number;
  gflops: number;
}

/** Steps written out per loop iteration in kernels/fma_peak.wgsl. */
const STEPS = 16;

/** Times one entry point: `workgroups` x 64 invocations, each `iters` x 16 x NACC vec4 FMAs. */
export async function measureFmaVariant(variant: FmaVariant, { workgroups = 256, iters = 400, ...time }: TimeOptions & { workgroups?: number; iters?: number } = {}): Promise<PeakResult> {
  const e = engine();
  const invocations = workgroups * 64;
  const out = e.createStorage(invocations * 4);
  const spec = kernel('fma_peak', variant);
  const u = () => new Uniforms().u32(iters).f32(0.9999).f32(1e-6).u32(0);
  const flop = invocations * iters * STEPS * fmaVariants[variant] * 4 * 2;
  const t = await timeGpu(`fma_peak ${variant}`, () => e.dispatch(spec, [workgroups], [out], u()), { warmup: 1, runs: 5, ...time });
  e.releaseStorage(out);
  return { variant, accumulators: fmaVariants[variant], invocations, iters, gflop: flop / 1e9, medianMs: t.medianMs, gflops: gflops(flop, t.medianMs) };
}

let cached: PeakResult | null = null;

/** The best of the probe's variants, in GFLOP/s (measured once per process). */
export async function fmaPeak(options: TimeOptions = {}): Promise<PeakResult> {
  if (cached) return cached;
  const results: PeakResult[] = [];
  for (const v of Object.keys(fmaVariants) as FmaVariant[]) results.push(await measureFmaVariant(v, options));
  cached = results.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  return cached;
}
