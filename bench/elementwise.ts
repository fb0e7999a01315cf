// Memory-bound engine-core ops on a ResNet-sized activation [8, 256, 64, 64] (32 MiB): how close
// elementwise, broadcast, reduction and copy kernels get to the bytes they must move.
// Run: npx tsx bench/elementwise.ts [--runs 7]
import * as dg from '../src/index.ts';
import { printTable, timeGpu, writeResults, type Row } from './lib/harness.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 7;
await dg.init();
const shape = [8, 256, 64, 64];
const x = dg.randn(shape, { seed: 1 });
const y = dg.randn(shape, { seed: 2 });
const channel = dg.randn([256, 1, 1], { seed: 3 });
const n = x.size;

// [name, work, bytes moved]
const cases: [string, () => dg.Tensor, number][] = [
  ['relu (unary)', () => dg.relu(x), 8 * n],
  ['add same shape', () => dg.add(x, y), 12 * n],
  ['add per-channel [256,1,1]', () => dg.add(x, channel), 8 * n],
  ['sum over N, H, W', () => dg.sum(x, [0, 2, 3]), 4 * n],
  ['sum over all', () => dg.sum(x), 4 * n],
  ['slice (crop 2 px)', () => dg.slice(x, [null, null, [2, -2], [2, -2]]), 8 * n * (60 / 64) ** 2],
  ['permute NCHW -> NHWC', () => dg.permute(x, [0, 2, 3, 1]), 8 * n],
];
const rows: Row[] = [];
for (const [name, work, bytes] of cases) {
  const t = await timeGpu(name, work, { runs });
  rows.push({ op: name, medianMs: +t.medianMs.toFixed(2), minMs: +t.minMs.toFixed(2), gbPerS: +(bytes / t.medianMs / 1e6).toFixed(2) });
}
printTable(rows, `memory-bound ops on [${shape.join(', ')}] float32, median of ${runs}`);
console.log(`results: ${writeResults('elementwise', { shape, runs, rows })}`);
process.exit(0);
