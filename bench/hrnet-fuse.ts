// HRNet-W32 stage-4 fuse layer at a 256x256 input (batch 8): for output branch 0 (32 channels at 64x64),
// the upsampled branches 1-3 (64 @ 32x32, 128 @ 16x16, 256 @ 8x8, each after its 1x1 conv + BN to 32 channels)
// are added to branch 0 and ReLU'd. Fused: one kernel per branch adds the nearest-upsampled source in place of
// materialising it; unfused: interpolate, add, then relu. Forward and forward+backward, median ms.
// Run: npx tsx bench/hrnet-fuse.ts [--runs 7]
import * as dg from '../src/index.ts';
import { printTable, timeGpu, writeResults, type Row } from './lib/harness.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 7;
await dg.init();
const acc = dg.randn([8, 32, 64, 64], { seed: 1 });
// Branches 1-3 already projected to branch 0's 32 channels (the 1x1 conv + BN of the fuse layer).
const sources = [32, 16, 8].map((s, i) => dg.randn([8, 32, s, s], { seed: 2 + i }));
const scales = [2, 4, 8];

function fused(): dg.Tensor {
  let y = acc;
  sources.forEach((s, i) => (y = dg.hrnetUpsampleAdd(y, s, scales[i]!, { relu: i === sources.length - 1 })));
  return y;
}
function unfused(): dg.Tensor {
  let y = acc;
  sources.forEach((s, i) => (y = dg.add(y, dg.interpolate(s, { scaleFactor: scales[i]!, mode: 'nearest' }))));
  return dg.relu(y);
}

const rows: Row[] = [];
for (const [name, f] of [['fused', fused], ['unfused (interpolate + add + relu)', unfused]] as const) {
  const fwd = await timeGpu(`${name} fwd`, () => dg.tidy(() => dg.noGrad(() => void f())), { runs });
  for (const t of [acc, ...sources]) t.requiresGrad = true;
  const both = await timeGpu(`${name} fwd+bwd`, () => {
    dg.tidy(() => dg.sum(f()).backward());
    for (const t of [acc, ...sources]) {
      t.grad?.dispose();
      t.grad = null;
    }
  }, { runs });
  for (const t of [acc, ...sources]) t.requiresGrad = false;
  rows.push({ variant: name, fwdMs: +fwd.medianMs.toFixed(2), fwdBwdMs: +both.medianMs.toFixed(2) });
}
printTable(rows, `HRNet-W32 stage-4 fuse into branch 0, batch 8, 256x256 input, median of ${runs}`);
console.log(`results: ${writeResults('hrnet-fuse', { runs, rows })}`);
process.exit(0);
