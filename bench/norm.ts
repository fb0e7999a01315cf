// batchNorm2d and groupNorm on [8, 256, 64, 64]: forward, and forward + backward, as median ms and effective
// GB/s (bytes the kernels move: forward reads x for the statistics and again to normalise, writes y;
// backward reads dy and x for the sums and again for dx, writes dx), and the time in units of one relu pass.
// Run: npx tsx bench/norm.ts [--shape 8,256,64,64] [--runs 5] [--groups 32]
import { parseArgs } from 'node:util';
import * as dg from '../src/index.ts';
import { printTable, timeGpu, writeResults } from './lib/harness.ts';

const { values: opts } = parseArgs({
  options: {
    shape: { type: 'string', default: '8,256,64,64' },
    runs: { type: 'string', default: '5' },
    groups: { type: 'string', default: '32' },
  },
});
const shape = opts.shape.split(',').map(Number);
const runs = Number(opts.runs);
const groups = Number(opts.groups);
const C = shape[1]!;

const e = await dg.init();
console.log(`adapter: ${e.adapter.info.description || e.adapter.info.vendor}; shape [${shape.join(', ')}]; LP_NUM_THREADS=${process.env.LP_NUM_THREADS ?? '(default)'}`);

const x = dg.randn(shape, { seed: 1 });
const dy = dg.randn(shape, { seed: 2 });
const w = dg.ones([C]);
const b = dg.zeros([C]);
const rm = dg.zeros([C]);
const rv = dg.ones([C]);
w.requiresGrad = b.requiresGrad = x.requiresGrad = true;
await e.sync();

const bytes = x.size * 4;
// Traffic of the kernels as written (see the header): forward 2 reads + 1 write, backward 4 reads + 1 write.
const fwdBytes = 3 * bytes;
const bwdBytes = 5 * bytes;

const ops = {
  batchNorm2d: () => dg.batchNorm2d(x, w, b, rm, rv, { training: true }),
  groupNorm: () => dg.groupNorm(x, groups, w, b),
};

// Reference: one elementwise pass (relu: read x, write y) on the same tensor, the floor for any pass here.
const base = await timeGpu('relu (reference)', () => dg.relu(x), { runs });
type Row = { op: string; pass: string; medianMs: number; minMs: number; gbPerS: number; xRelu?: number }
const rows: Row[] = [];
for (const [name, op] of Object.entries(ops)) {
  const fwd = await timeGpu(`${name} forward`, () => dg.noGrad(op), { runs });
  rows.push({ op: name, pass: 'forward', medianMs: fwd.medianMs, minMs: fwd.minMs, gbPerS: fwdBytes / fwd.medianMs / 1e6 });
  const both = await timeGpu(`${name} forward+backward`, () => {
    dg.tidy(() => {
      op().backward(dy);
    });
    for (const t of [x, w, b]) {
      t.grad?.dispose();
      t.grad = null;
    }
  }, { runs });
  rows.push({ op: name, pass: 'forward+backward', medianMs: both.medianMs, minMs: both.minMs, gbPerS: (fwdBytes + bwdBytes) / both.medianMs / 1e6 });
}
rows.push({ op: 'relu (reference)', pass: 'forward', medianMs: base.medianMs, minMs: base.minMs, gbPerS: (2 * bytes) / base.medianMs / 1e6 });
for (const r of rows) r.xRelu = r.medianMs / base.medianMs;
printTable(rows, `normalisation on [${shape.join(', ')}] (groupNorm: ${groups} groups), median of ${runs}`);
console.log(`results: ${writeResults('norm', { shape, groups, runs, rows })}`);
