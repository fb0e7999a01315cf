// Engine.derived: values computed from a buffer (a conv weight's Winograd F(4x4) transform) are reused while the
// buffer is unchanged and rebuilt after anything that can write it: an optimiser step, an upload, a copy, a
// custom kernel's read_write binding, or its release.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { DerivedCache, writableBindings } from '../src/gpu/derived-cache.ts';
import { expectClose } from './helpers/compare.ts';
import { useGpu } from './helpers/gpu.ts';

describe('writableBindings', () => {
  it('finds read_write storage bindings with their attributes in either order', () => {
    const code = `
      @group(0) @binding(0) var<uniform> P: Params;
      @group(0) @binding(1) var<storage, read> A: array<f32>;
      @group(0) @binding(2) var<storage,read_write> B: array<f32>;
      @binding(3) @group(0) var<storage, read_write> C: array<vec4<f32>>;
      @group(0) @binding(4) var<storage, read> D: array<f32>;`;
    expect([...writableBindings(code)].sort()).toEqual([2, 3]);
  });

  it("per entry point, the bindings it or the functions it calls write, and no other entry's", () => {
    const code = `
      @group(0) @binding(1) var<storage, read> X: array<f32>;
      @group(0) @binding(2) var<storage, read_write> Out: array<f32>;
      @group(0) @binding(2) var<storage, read> In2: array<f32>;   // binding 2 read by another entry
      @group(0) @binding(3) var<storage, read_write> Side: array<f32>;
      fn store(i: u32, v: f32) { if (v > 0.0) { Side[i] = v; } }   // Out[i] only in this comment
      fn helper(i: u32) -> f32 { return X[i]; }
      @compute @workgroup_size(8) fn first(@builtin(global_invocation_id) g: vec3<u32>) { Out[g.x] = helper(g.x); }
      @compute @workgroup_size(8) fn second(@builtin(global_invocation_id) g: vec3<u32>) { store(g.x, In2[g.x]); }
      @compute @workgroup_size(8) fn third(@builtin(global_invocation_id) g: vec3<u32>) { let v = helper(g.x); }`;
    expect([...writableBindings(code, 'first')]).toEqual([2]);
    expect([...writableBindings(code, 'second')]).toEqual([3]);
    expect([...writableBindings(code, 'third')]).toEqual([]);
    expect([...writableBindings(code, 'missing')].sort()).toEqual([2, 3]);
  });
});

describe('DerivedCache', () => {
  // Stand-ins for buffers: the cache only compares identities.
  const buffer = () => ({}) as GPUBuffer;
  it('keeps a value of several sources until any of them is invalidated, and disposes it once', () => {
    const cache = new DerivedCache();
    const [a, b, c] = [buffer(), buffer(), buffer()];
    const disposed: string[] = [];
    cache.set([a, b], 'k', 'ab', (v) => disposed.push(v));
    cache.set([a], 'k2', 'a', (v) => disposed.push(v));
    cache.set([c], 'k', 'c', (v) => disposed.push(v));
    expect(cache.get([a, b], 'k')).toBe('ab');
    expect(cache.get([a], 'k')).toBeUndefined(); // other sources, other value
    expect(cache.get([b, a], 'k')).toBeUndefined();
    expect(cache.entries).toBe(3);
    cache.invalidate(b);
    expect(disposed).toEqual(['ab']);
    expect(cache.get([a, b], 'k')).toBeUndefined();
    expect(cache.get([a], 'k2')).toBe('a');
    cache.invalidate(a);
    cache.invalidate(a);
    expect(disposed).toEqual(['ab', 'a']);
    expect(cache.entries).toBe(1);
    cache.set([c], 'k', 'c2', (v) => disposed.push(v));
    expect(disposed).toEqual(['ab', 'a', 'c']);
    cache.clear();
    expect(disposed).toEqual(['ab', 'a', 'c', 'c2']);
    expect(cache.entries).toBe(0);
    expect(cache.sources).toBe(0);
  });
});

describe('Engine.derived and the Winograd weight transform', () => {
  const engine = useGpu();
  // 64 channels at 12x12: the F(4x4) path of a conv without a tape.
  const shapes = { x: [1, 64, 12, 12], w: [64, 64, 3, 3] };

  /** The conv's output (no tape) and the kernels it ran. */
  async function conv(x: dg.Tensor, w: dg.Tensor): Promise<{ y: Float32Array; kernels: string[] }> {
    engine().startProfile();
    const out = dg.noGrad(() => dg.conv2d(x, w, null, { padding: 1 }));
    const y = await out.toArray();
    out.dispose();
    return { y, kernels: (await engine().stopProfile()).map((d) => d.kernel) };
  }

  /** The same conv by the direct kernel: the reference. */
  async function direct(x: dg.Tensor, w: dg.Tensor): Promise<Float32Array> {
    const before = dg.setConvAlgorithm('direct');
    try {
      const out = dg.noGrad(() => dg.conv2d(x, w, null, { padding: 1 }));
      const y = await out.toArray();
      out.dispose();
      return y;
    } finally {
      dg.setConvAlgorithm(before);
    }
  }

  it('transforms a weight once over repeated forwards, and frees the transform with the weight', async () => {
    const base = engine().stats();
    const x = dg.randn(shapes.x, { seed: 1 });
    const w = dg.randn(shapes.w, { seed: 2, std: 0.05 });
    const first = await conv(x, w);
    expect(first.kernels).toContain('conv_winograd:weights4');
    expect(engine().stats().derived).toBe(base.derived + 1);
    const live = engine().stats().liveBuffers;
    for (let i = 0; i < 3; i++) {
      const again = await conv(x, w);
      expect(again.kernels).toContain('conv_winograd:input4');
      expect(again.kernels).not.toContain('conv_winograd:weights4');
      expect(again.y).toEqual(first.y);
    }
    expect(engine().stats().liveBuffers).toBe(live);
    expectClose(first.y, await direct(x, w), 1e-3, 'F(4x4) against direct');
    w.dispose();
    x.dispose();
    expect(engine().stats().derived).toBe(base.derived);
    expect(engine().stats().liveBuffers).toBe(base.liveBuffers);
  });

  it('rebuilds the transform after an optimiser step writes the weight', async () => {
    const x = dg.randn(shapes.x, { seed: 3 });
    const w = dg.randn(shapes.w, { seed: 4, std: 0.05 });
    w.requiresGrad = true;
    const before = await conv(x, w);
    const opt = new dg.optim.SGD([w], { lr: 0.5 });
    dg.tidy(() => {
      const y = dg.conv2d(x, w, null, { padding: 1 });
      dg.sum(dg.mul(y, y)).backward();
      opt.step();
    });
    const after = await conv(x, w);
    expect(after.kernels).toContain('conv_winograd:weights4');
    expect(Math.max(...after.y.map((v, i) => Math.abs(v - before.y[i]!)))).toBeGreaterThan(1e-2);
    expectClose(after.y, await direct(x, w), 1e-3, 'after the step');
    opt.dispose();
    w.dispose();
    x.dispose();
  });

  it('rebuilds the transform after an upload into the weight, or a copy into it', async () => {
    const x = dg.randn(shapes.x, { seed: 5 });
    const w = dg.randn(shapes.w, { seed: 6, std: 0.05 });
    await conv(x, w);
    const source = dg.randn(shapes.w, { seed: 7, std: 0.05 });
    const fresh = await source.toArray();
    source.dispose();
    engine().write(w.buffer, fresh);
    const uploaded = await conv(x, w);
    expect(uploaded.kernels).toContain('conv_winograd:weights4');
    expectClose(uploaded.y, await direct(x, w), 1e-3, 'after the upload');
    const other = dg.randn(shapes.w, { seed: 8, std: 0.05 });
    engine().copyBuffer(other.buffer, 0, w.buffer, 0, w.size * 4);
    const copied = await conv(x, w);
    expect(copied.kernels).toContain('conv_winograd:weights4');
    expectClose(copied.y, await direct(x, other), 1e-3, 'after the copy');
    for (const t of [x, w, other]) t.dispose();
  });

  it('rebuilds the transform after a custom kernel writes the weight in place', async () => {
    const scale = dg.defineKernel(
      'test_scale_in_place',
      `@group(0) @binding(0) var<storage, read_write> v: array<f32>;
       @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) i: vec3<u32>) {
         if (i.x < arrayLength(&v)) { v[i.x] = v[i.x] * -2.0; }
       }`,
    );
    const x = dg.randn(shapes.x, { seed: 9 });
    const w = dg.randn(shapes.w, { seed: 10, std: 0.05 });
    const before = await conv(x, w);
    engine().dispatch(scale, [Math.ceil(w.size / 64)], [w.buffer]);
    const after = await conv(x, w);
    expect(after.kernels).toContain('conv_winograd:weights4');
    expectClose(after.y, before.y.map((v) => -2 * v), 1e-3, 'after the in-place kernel');
    x.dispose();
    w.dispose();
  });

  it('keeps a weight whose buffer was replaced by assign correct (new buffer, new transform)', async () => {
    const x = dg.randn(shapes.x, { seed: 11 });
    const w = dg.randn(shapes.w, { seed: 12, std: 0.05 });
    await conv(x, w);
    w.assign(dg.randn(shapes.w, { seed: 13, std: 0.05 }));
    const after = await conv(x, w);
    expect(after.kernels).toContain('conv_winograd:weights4');
    expectClose(after.y, await direct(x, w), 1e-3, 'after assign');
    x.dispose();
    w.dispose();
  });
});

describe('Engine.trim', () => {
  const engine = useGpu();
  it('frees what Engine.derived keeps, and the next forward rebuilds it', async () => {
    const x = dg.randn([1, 64, 8, 8], { seed: 21 });
    const w = dg.randn([64, 64, 3, 3], { seed: 22, std: 0.05 });
    const forward = async () => {
      const y = dg.noGrad(() => dg.conv2d(x, w, null, { padding: 1 }));
      const v = await y.toArray();
      y.dispose();
      return v;
    };
    const base = engine().stats().derived;
    const first = await forward();
    expect(engine().stats().derived).toBe(base + 1);
    const live = engine().stats().liveBuffers;
    engine().trim();
    expect(engine().stats().derived).toBe(0);
    expect(engine().stats().liveBuffers).toBeLessThan(live);
    expect(await forward()).toEqual(first);
    expect(engine().stats().derived).toBe(1);
    x.dispose();
    w.dispose();
  });
});

describe('BatchNorm statistics from running mean and variance', () => {
  const engine = useGpu();
  const C = 16;
  /** Eval-mode batchNorm2d and whether it ran from_running. */
  async function bn(x: dg.Tensor, rm: dg.Tensor, rv: dg.Tensor): Promise<{ y: Float32Array; fromRunning: number }> {
    engine().startProfile();
    const out = dg.noGrad(() => dg.batchNorm2d(x, null, null, rm, rv, { training: false }));
    const y = await out.toArray();
    out.dispose();
    return { y, fromRunning: (await engine().stopProfile()).filter((d) => d.kernel === 'norm:from_running').length };
  }
  /** (x - mean) / sqrt(var + 1e-5) on the host. */
  function reference(x: Float32Array, mean: Float32Array, variance: Float32Array, S: number): Float32Array {
    return x.map((v, i) => {
      const c = Math.floor(i / S) % C;
      return (v - mean[c]!) / Math.sqrt(variance[c]! + 1e-5);
    });
  }

  it('are computed once while the running statistics are unchanged, and again after either changes', async () => {
    const x = dg.randn([2, C, 4, 4], { seed: 31 });
    const xs = await x.toArray();
    const mean = Float32Array.from({ length: C }, (_, c) => 0.1 * c - 0.5);
    const variance = Float32Array.from({ length: C }, (_, c) => 0.5 + 0.1 * c);
    const rm = dg.tensor(mean, [C]);
    const rv = dg.tensor(variance, [C]);
    const first = await bn(x, rm, rv);
    expect(first.fromRunning).toBe(1);
    expectClose(first.y, reference(xs, mean, variance, 16), 1e-4, 'first');
    const again = await bn(x, rm, rv);
    expect(again.fromRunning).toBe(0);
    expect(again.y).toEqual(first.y);
    // Either source written: the mean by an upload, the variance by a copy.
    mean.fill(0.25);
    engine().write(rm.buffer, mean);
    const afterMean = await bn(x, rm, rv);
    expect(afterMean.fromRunning).toBe(1);
    expectClose(afterMean.y, reference(xs, mean, variance, 16), 1e-4, 'after the mean changed');
    variance.fill(2);
    const v2 = dg.tensor(variance, [C]);
    engine().copyBuffer(v2.buffer, 0, rv.buffer, 0, C * 4);
    const afterVar = await bn(x, rm, rv);
    expect(afterVar.fromRunning).toBe(1);
    expectClose(afterVar.y, reference(xs, mean, variance, 16), 1e-4, 'after the variance changed');
    for (const t of [x, rm, rv, v2]) t.dispose();
  });

  it('follow a training step that updates the running statistics', async () => {
    const x = dg.randn([4, C, 4, 4], { seed: 32 });
    const rm = dg.zeros([C]);
    const rv = dg.tensor(new Float32Array(C).fill(1), [C]);
    const before = await bn(x, rm, rv);
    dg.tidy(() => { dg.batchNorm2d(x, null, null, rm, rv, { training: true, momentum: 0.5 }); });
    const after = await bn(x, rm, rv);
    expect(after.fromRunning).toBe(1);
    const [mean, variance] = [await rm.toArray(), await rv.toArray()];
    expect(Math.max(...mean.map(Math.abs))).toBeGreaterThan(1e-3);
    expectClose(after.y, reference(await x.toArray(), mean, variance, 16), 1e-4, 'after the step');
    expect(Math.max(...after.y.map((v, i) => Math.abs(v - before.y[i]!)))).toBeGreaterThan(1e-3);
    for (const t of [x, rm, rv]) t.dispose();
  });
});
