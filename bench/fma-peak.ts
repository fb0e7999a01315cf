// Peak FMA rate of the adapter (GFLOP/s): the ceiling that kernel benchmarks report a fraction of.
// Run: npx tsx bench/fma-peak.ts   (try LP_NUM_THREADS=4 too; lavapipe defaults to one thread per core)
import { init } from '../src/index.ts';
import { fmaVariants, measureFmaVariant, type FmaVariant, type PeakResult } from './lib/fma-peak.ts';
import { printTable, writeResults } from './lib/harness.ts';

const e = await init();
console.log(`adapter: ${e.adapter.info.description || e.adapter.info.vendor}, subgroups: ${e.device.features.has('subgroups')}`);
const rows: PeakResult[] = [];
for (const v of Object.keys(fmaVariants) as FmaVariant[]) rows.push(await measureFmaVariant(v, { runs: 7 }));
const best = rows.reduce((a, b) => (b.gflops > a.gflops ? b : a));
printTable(rows.map((r) => ({ variant: r.variant, accumulators: r.accumulators, 'GFLOP': r.gflop, 'median ms': r.medianMs, 'GFLOP/s': r.gflops })), 'FMA peak probe (kernels/fma_peak.wgsl)');
console.log(`\npeak: ${best.gflops.toFixed(1)} GFLOP/s (${best.variant}); pipeline compile ${e.compileMs.toFixed(0)} ms (creation only; lavapipe compiles at first dispatch)`);
console.log(`results: ${writeResults('fma-peak', { rows, peak: best })}`);
process.exit(0);
