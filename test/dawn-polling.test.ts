// dawn.node polls for finished GPU work through the global setImmediate, a busy loop while any promise is pending;
// src/gpu/dawn-polling.ts paces it. Counted here by wrapping the global setImmediate that Dawn looks up per tick.
import { describe, expect, it } from 'vitest';
import { pollDelay } from '../src/gpu/dawn-polling.ts';
import { matmul, randn } from '../src/index.ts';
import { useGpu } from './helpers/gpu.ts';

const engine = useGpu();

/** Runs fn with the global setImmediate wrapped; returns how many of its calls passed an anonymous native function. */
async function countingNativeImmediates(fn: () => Promise<void>): Promise<number> {
  const paced = globalThis.setImmediate;
  let n = 0;
  globalThis.setImmediate = Object.assign((cb: (...a: unknown[]) => void, ...args: unknown[]) => {
    if (cb.name === '' && Function.prototype.toString.call(cb).includes('[native code]')) n++;
    return paced(cb, ...args);
  }, { __promisify__: paced.__promisify__ }) as typeof setImmediate;
  try {
    await fn();
  } finally {
    globalThis.setImmediate = paced;
  }
  return n;
}

describe('paced Dawn polling', () => {
  it('polls about once a millisecond while the GPU works, not tens of thousands of times a second', async () => {
    const a = randn([1024, 1024], { seed: 1 });
    await engine().sync();
    let ms = 0;
    const ticks = await countingNativeImmediates(async () => {
      const t0 = performance.now();
      const outs = Array.from({ length: 4 }, () => matmul(a, a));
      await engine().sync();
      ms = performance.now() - t0;
      outs.forEach((o) => o.dispose());
    });
    a.dispose();
    // Unpaced, dawn.node ticked ~40 per millisecond here; paced, one per millisecond plus the first millisecond's.
    expect(ms).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThan(0);
    expect(ticks / ms).toBeLessThan(3);
  });

  it('slows from 1 ms to 8 ms between ticks as a wait grows', () => {
    expect([0, 49, 100, 199, 250, 399, 400, 5000].map(pollDelay)).toEqual([1, 1, 2, 3, 5, 7, 8, 8]);
  });

  it('leaves JavaScript callbacks to setImmediate: they run before timers and can be cleared', async () => {
    const order: string[] = [];
    setTimeout(() => order.push('timeout'), 0);
    setImmediate(() => order.push('immediate'));
    const cleared = setImmediate(() => order.push('cleared'));
    clearImmediate(cleared);
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toContain('immediate');
    expect(order).not.toContain('cleared');
    const v = await new Promise<number>((r) => setImmediate((x: number) => r(x), 7));
    expect(v).toBe(7);
  });
});
