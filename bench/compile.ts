// Cold pipeline cost of the engine-core kernel set: the first dispatch of each kernel (pipeline build
// plus lavapipe's LLVM compile, which it defers to first use) against a warm dispatch of the same work.
// Run: npx tsx bench/compile.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import * as dg from '../src/index.ts';

const engine = await dg.init();
const a = dg.randn([4, 4], { seed: 1 });
await engine.sync();

const kernels: [string, () => dg.Tensor][] = [
  ['unary', () => dg.exp(a)],
  ['binary', () => dg.add(a, a)],
  ['where', () => dg.where(a, a, a)],
  ['reduce (wide)', () => dg.sum(a, 1)],
  ['reduce (narrow)', () => dg.sum(dg.full([2048, 4], 1), 1)],
  ['copy', () => dg.permute(a, [1, 0])],
  ['fill', () => dg.full([3], 1)],
  ['random', () => dg.randn([3])],
  ['matmul', () => dg.matmul(a, a)],
  ['matmul (A transposed)', () => dg.matmulRaw(a, a, 4, 4, 4, 1, 0, 0, true, false)],
  ['matmul (B transposed)', () => dg.matmulRaw(a, a, 4, 4, 4, 1, 0, 0, false, true)],
];

const rows: { kernel: string; firstMs: number; warmMs: number }[] = [];
for (const [kernel, run] of kernels) {
  const t0 = performance.now();
  run().dispose();
  await engine.sync();
  const t1 = performance.now();
  run().dispose();
  await engine.sync();
  const t2 = performance.now();
  rows.push({ kernel, firstMs: +(t1 - t0).toFixed(1), warmMs: +(t2 - t1).toFixed(2) });
}
const total = rows.reduce((s, r) => s + r.firstMs - r.warmMs, 0);
console.table(rows);
console.log(`kernel set: ${rows.length} pipelines, ${total.toFixed(0)} ms to build cold (${engine.stats().pipelines} pipelines cached)`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/compile.json', import.meta.url), JSON.stringify({ adapter: engine.adapter.info.description, rows, totalMs: total }, null, 2));
process.exit(0);
