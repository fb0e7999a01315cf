// The engine's contract: errors that name the kernel, deterministic release, the buffer pool,
// seeded randomness, large grids, and the autograd tape's bookkeeping.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { sizeClass } from '../src/gpu/buffer-pool.ts';
import { moduleSource } from '../src/gpu/kernel.ts';
import { useGpu } from './helpers/gpu.ts';
// @ts-expect-error: a plain .mjs build script without types
import { renderKernelBundle } from '../scripts/bundle-kernels.mjs';

const engine = useGpu();

describe('kernels and errors', () => {
  it('the committed kernel bundle matches kernels/*.wgsl', () => {
    const committed = readFileSync(new URL('../src/gpu/kernel-sources.generated.ts', import.meta.url), 'utf8');
    expect(committed).toBe(renderKernelBundle());
  });

  it('maps lines of a kernel with prepended libraries back to their files', () => {
    const src = moduleSource('binary');
    const libLines = moduleSource('_index').code.split('\n').length - 1;
    const mathLines = moduleSource('_math').code.split('\n').length - 1;
    expect(src.locate(1)).toBe('kernels/_index.wgsl:1');
    expect(src.locate(libLines + 2)).toBe('kernels/_math.wgsl:2');
    expect(src.locate(libLines + mathLines + 3)).toBe('kernels/binary.wgsl:3');
  });

  it("hoists a kernel's enable directives above its libraries and still maps their lines home", () => {
    const src = moduleSource('matmul');
    expect(src.code.startsWith('enable subgroups;\n')).toBe(true);
    expect(src.locate(1)).toBe('kernels/matmul.wgsl:1');
    expect(src.locate(2)).toBe('kernels/_matmul.wgsl:1');
    const body = moduleSource('_matmul').code.split('\n').length - 1;
    expect(src.locate(body + 3)).toBe('kernels/matmul.wgsl:2');
  });

  it('a WGSL compile error names the kernel file and line', async () => {
    // On an engine of its own: a failed kernel poisons its engine by design (errors are sticky).
    const poisoned = await dg.init();
    const broken = dg.defineKernel('broken_for_test', '@group(0) @binding(0) var<storage, read_write> Y: array<f32>;\n@compute @workgroup_size(1)\nfn main() { Y[0] = undefined_name; }\n');
    const y = dg.zeros([4]);
    let error: unknown = null;
    try {
      // Recording goes on after the failure; the readback reports the root cause, not its knock-on errors.
      poisoned.dispatch(broken, [1], [y.buffer]);
      poisoned.dispatch(broken, [1], [y.buffer]);
      await y.toArray();
    } catch (e) {
      error = e;
    }
    await dg.init();
    expect(String(error)).toMatch(/kernels\/broken_for_test\.wgsl:3:\d+: .*undefined_name/);
  });

  it('a custom kernel defined at run time computes', async () => {
    const triple = dg.defineKernel(
      'triple_for_test',
      'struct Params { n: u32 }\n@group(0) @binding(0) var<uniform> P: Params;\n@group(0) @binding(1) var<storage, read> X: array<f32>;\n@group(0) @binding(2) var<storage, read_write> Y: array<f32>;\n@compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) id: vec3<u32>) { if (id.x < P.n) { Y[id.x] = 3.0 * X[id.x]; } }\n',
    );
    const fresh = engine();
    const x = dg.arange(0, 100);
    const y = dg.Tensor.empty([100]);
    fresh.dispatch(triple, [2], [x.buffer, y.buffer], new dg.Uniforms().u32(100));
    const out = await y.toArray();
    expect(out[99]).toBe(297);
    expect(out[1]).toBe(3);
  });
});

describe('tensors and memory', () => {
  it('tidy releases everything but its result', async () => {
    const before = engine().stats().liveBuffers;
    const kept = dg.tidy(() => {
      const a = dg.ones([64]);
      const b = dg.mulScalar(a, 3);
      return dg.add(a, b);
    });
    expect(engine().stats().liveBuffers).toBe(before + 1);
    expect((await kept.toArray())[5]).toBe(4);
    kept.dispose();
    expect(engine().stats().liveBuffers).toBe(before);
  });

  it('a nested tidy hands its result to the outer scope', () => {
    const before = engine().stats().liveBuffers;
    dg.tidy(() => {
      const inner = dg.tidy(() => dg.add(dg.ones([8]), dg.ones([8])));
      expect(inner.disposed).toBe(false);
      return undefined;
    });
    expect(engine().stats().liveBuffers).toBe(before);
  });

  it('freed buffers are reused from the pool', () => {
    dg.zeros([1000]).dispose();
    const pooled = engine().stats().pooledBuffers;
    const t = dg.zeros([1000]);
    expect(engine().stats().pooledBuffers).toBe(pooled - 1);
    t.dispose();
    expect(engine().stats().pooledBuffers).toBe(pooled);
  });

  it('size classes waste at most a quarter', () => {
    for (const n of [1, 255, 4097, 10_000, 1_000_000, 123_456_789]) {
      expect(sizeClass(n)).toBeGreaterThanOrEqual(n);
      expect(sizeClass(n)).toBeLessThanOrEqual(Math.max(256, n * 1.25 + 256));
    }
  });

  it('reshape shares storage until the last view is released', async () => {
    const before = engine().stats().liveBuffers;
    const a = dg.arange(0, 6);
    const b = dg.reshape(a, [2, 3]);
    a.dispose();
    expect(engine().stats().liveBuffers).toBe(before + 1);
    expect(Array.from(await b.toArray())).toEqual([0, 1, 2, 3, 4, 5]);
    b.dispose();
    expect(engine().stats().liveBuffers).toBe(before);
  });

  it('using a disposed tensor fails clearly; dispose twice is harmless', () => {
    const a = dg.ones([3]);
    a.dispose();
    a.dispose();
    expect(() => dg.add(a, a)).toThrow(/used after dispose/);
  });

  it('creation ops', async () => {
    expect(Array.from(await dg.arange(2, 11, 3).toArray())).toEqual([2, 5, 8]);
    expect(Array.from(await dg.full([2, 2], 7.5).toArray())).toEqual([7.5, 7.5, 7.5, 7.5]);
    expect(Array.from(await dg.tensor([[1, 2], [3, 4]]).toArray())).toEqual([1, 2, 3, 4]);
    expect(() => dg.tensor([1, 2, 3], [2, 2])).toThrow(/do not fill shape/);
  });

  it('random numbers are reproducible by seed and have the right moments', async () => {
    const a = await dg.randn([100_000], { seed: 3 }).toArray();
    const b = await dg.randn([100_000], { seed: 3 }).toArray();
    const c = await dg.randn([100_000], { seed: 4 }).toArray();
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 1)).toBeLessThan(0.02);
    const u = await dg.rand([100_000], { seed: 5, low: -2, high: 3 }).toArray();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(3);
    expect(Math.abs(u.reduce((s, v) => s + v, 0) / u.length - 0.5)).toBeLessThan(0.03);
    dg.manualSeed(9);
    const s1 = await dg.rand([16]).toArray();
    dg.manualSeed(9);
    expect(await dg.rand([16]).toArray()).toEqual(s1);
  });

  it('elementwise ops cover more than 65535 workgroups (2-D grids)', async () => {
    const n = 65536 * 256 + 7;
    const y = dg.tidy(() => dg.slice(dg.add(dg.full([n], 2), dg.full([n], 1.5)), [[n - 3]]));
    expect(Array.from(await y.toArray())).toEqual([3.5, 3.5, 3.5]);
    y.dispose();
  });
});

describe('autograd bookkeeping', () => {
  it('gradients accumulate over backward calls and the graph is freed', async () => {
    const w = dg.tensor([1, 2, 3]);
    w.requiresGrad = true;
    for (let i = 0; i < 2; i++) {
      const loss = dg.sum(dg.mul(w, w));
      loss.backward();
      expect(loss.gradFn).toBeNull();
    }
    expect(Array.from(await w.grad!.toArray())).toEqual([4, 8, 12]);
  });

  it('noGrad records nothing; backward without a graph fails clearly', () => {
    const w = dg.ones([2]);
    w.requiresGrad = true;
    const y = dg.noGrad(() => dg.sum(dg.mul(w, w)));
    expect(y.requiresGrad).toBe(false);
    expect(() => y.backward()).toThrow(/does not require a gradient/);
    expect(() => dg.mul(w, w).backward()).toThrow(/a gradient is needed/);
  });
});

describe('submitting while recording', () => {
  const engine = useGpu();
  it('submits every 32 dispatches, so the device starts on a long recording before its readback', async () => {
    await dg.scope(async () => {
      let x = dg.randn([64], { seed: 1 });
      await x.toArray();
      const before = engine().stats().submits;
      for (let i = 0; i < 100; i++) x = dg.add(x, 1);
      // Nothing read back yet: 100 dispatches went out in 3 submits of 32, 4 left recorded.
      expect(engine().stats().submits - before).toBe(3);
      const got = await x.toArray();
      const want = await dg.randn([64], { seed: 1 }).toArray();
      expect(got.every((v, i) => Math.abs(v - (want[i]! + 100)) < 1e-3)).toBe(true);
    });
  });
});
