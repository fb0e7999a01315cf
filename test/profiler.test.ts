// Engine profiling: every dispatch between startProfile and stopProfile comes back with its kernel, the
// caller's label and a GPU time from timestamp queries, also past one query set (2048 dispatches).
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { summarize } from '../src/gpu/profiler.ts';
import { useGpu } from './helpers/gpu.ts';

const gpu = useGpu();

describe('profiler', () => {
  it('times each dispatch under its label', async () => {
    if (!gpu().device.features.has('timestamp-query')) return expect(() => gpu().startProfile()).toThrow(/timestamp-query/);
    const x = dg.randn([64, 1024], { seed: 3 });
    const p = gpu().startProfile();
    p.label = 'matmul';
    const y = dg.matmul(x, dg.transpose(x, 0, 1));
    p.label = 'relu';
    const z = dg.relu(y);
    await z.toArray();
    const times = await gpu().stopProfile();
    const labels = summarize(times, (t) => t.label).map((s) => s.key).sort();
    expect(labels).toEqual(['matmul', 'relu']);
    expect(times.find((t) => t.label === 'relu')!.kernel).toMatch(/^unary:/);
    for (const t of times) expect(t.ms).toBeGreaterThanOrEqual(0);
    expect(times.find((t) => t.kernel.startsWith('matmul:'))!.ms).toBeGreaterThan(0);
    for (const t of [x, y, z]) t.dispose();
    expect(gpu().profiler).toBeNull();
  });

  it('keeps every dispatch past one query set', async () => {
    if (!gpu().device.features.has('timestamp-query')) return;
    let x = dg.randn([256], { seed: 4 });
    gpu().startProfile();
    for (let i = 0; i < 2100; i++) {
      const next = dg.relu(x);
      x.dispose();
      x = next;
    }
    await x.toArray();
    const times = await gpu().stopProfile();
    expect(times.length).toBe(2100);
    x.dispose();
  });
});
