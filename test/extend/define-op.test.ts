// The public extension API for ops: defineOp with a user WGSL kernel (forward and backward), a composite
// op built from existing ops, gradcheck on both, the errors a user meets, and memory in a loop.
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import type { Tensor } from '../../src/index.ts';
import { useGpu } from '../helpers/gpu.ts';
import { runFlatLoop } from '../helpers/memory.ts';

const engine = useGpu();

// y = x * w + b elementwise (same shapes), and its backward: dx = g * w, dw = g * x (db = g).
const FMA_WGSL = /* wgsl */ `
struct U { n: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < u.n) { y[i] = fma(x[i], w[i], b[i]); }
}`;
const FMA_BACKWARD_WGSL = /* wgsl */ `
struct U { n: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> dw: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < u.n) { dx[i] = g[i] * w[i]; dw[i] = g[i] * x[i]; }
}`;
const fmaKernel = dg.defineKernel('test_fma', FMA_WGSL);
const fmaBackwardKernel = dg.defineKernel('test_fma_backward', FMA_BACKWARD_WGSL);

const fma = dg.defineOp({
  name: 'fma',
  forward([x, w, b]) {
    for (const t of [w!, b!]) if (t.shape.join() !== x!.shape.join()) throw new Error('fma: shapes must match');
    const y = dg.Tensor.empty(x!.shape);
    const n = x!.size;
    dg.engine().dispatch(fmaKernel, [Math.ceil(n / 64)], [x!.buffer, w!.buffer, b!.buffer, y.buffer], new dg.Uniforms().u32(n));
    return y;
  },
  backward(g, { inputs: [x, w], needsInputGrad }) {
    const dx = dg.Tensor.empty(x!.shape);
    const dw = dg.Tensor.empty(x!.shape);
    const n = x!.size;
    dg.engine().dispatch(fmaBackwardKernel, [Math.ceil(n / 64)], [g.buffer, x!.buffer, w!.buffer, dx.buffer, dw.buffer], new dg.Uniforms().u32(n));
    return [needsInputGrad[0] ? dx : null, needsInputGrad[1] ? dw : null, needsInputGrad[2] ? dg.mulScalar(g, 1) : null];
  },
});

// log(cosh(x)) * scale, from existing ops, saving tanh(x) for the backward: d/dx = scale * tanh(x).
const logCosh = dg.defineOp<{ scale: number }>({
  name: 'logCosh',
  forward([x], ctx) {
    ctx.save(dg.tanh(x!));
    // log(cosh x) = log((e^x + e^-x) / 2)
    return dg.mulScalar(dg.addScalar(dg.log(dg.add(dg.exp(x!), dg.exp(dg.neg(x!)))), -Math.LN2), ctx.options.scale);
  },
  backward(g, ctx) {
    return [dg.mul(g, dg.mulScalar(ctx.saved[0]!, ctx.options.scale))];
  },
});

const host = (n: number, seed: number) => dg.seededUniform(n, seed);

describe('defineOp with a WGSL kernel', () => {
  it('computes the forward with the user kernel', async () => {
    const [x, w, b] = [host(100, 1), host(100, 2), host(100, 3)];
    const y = await fma([dg.tensor(x, [10, 10]), dg.tensor(w, [10, 10]), dg.tensor(b, [10, 10])]).toArray();
    for (let i = 0; i < 100; i++) expect(y[i]).toBeCloseTo(x[i]! * w[i]! + b[i]!, 5);
  });

  it('passes gradcheck for every input, and joins a larger graph', async () => {
    const inputs = [3, 4, 5].map((s) => ({ data: host(12, s), shape: [3, 4] }));
    const r = await dg.gradcheck(([x, w, b]) => dg.tanh(fma([dg.mul(x!, x!), w!, b!])), inputs);
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.maxRelativeError).toBeLessThan(1e-2);
  });

  it('asks only for the gradients that are needed', async () => {
    const x = dg.tensor(host(8, 1), [8]);
    const w = dg.tensor(host(8, 2), [8]);
    const b = dg.tensor(host(8, 3), [8]);
    w.requiresGrad = true;
    let seen: readonly boolean[] = [];
    const probe = dg.defineOp({
      name: 'probe',
      forward: ([a]) => dg.mulScalar(a!, 2),
      backward: (g, ctx) => {
        seen = ctx.needsInputGrad;
        return [dg.mulScalar(g, 2), null];
      },
    });
    dg.sum(probe([fma([x, w, b]), x])).backward();
    expect(seen).toEqual([true, false]);
    expect(x.grad).toBeNull();
    expect(b.grad).toBeNull();
    const gw = await w.grad!.toArray();
    const xs = host(8, 1);
    for (let i = 0; i < 8; i++) expect(gw[i]).toBeCloseTo(2 * xs[i]!, 5);
  });

  it('a wrong backward fails gradcheck, naming the element', async () => {
    const wrong = dg.defineOp({ name: 'wrongSquare', forward: ([x]) => dg.mul(x!, x!), backward: (g, { inputs: [x] }) => [dg.mul(g, x!)] });
    const r = await dg.gradcheck(([x]) => wrong([x!]), [{ data: host(6, 9), shape: [6] }]);
    expect(r.ok).toBe(false);
    expect(r.failures.length).toBeGreaterThan(0);
    const f = r.failures[0]!;
    expect(f.numeric).toBeCloseTo(2 * f.analytic, 2);
  });
});

describe('defineOp from existing ops', () => {
  it('saves tensors for its backward and passes gradcheck with options', async () => {
    const r = await dg.gradcheck(([x]) => logCosh([x!], { scale: 1.5 }), [{ data: host(20, 11).map((v) => 2 * v), shape: [4, 5] }]);
    expect(r.ok).toBe(true);
    const y = await logCosh([dg.tensor([0, 1, -2], [3])], { scale: 2 }).toArray();
    expect(Array.from(y).map((v) => +v.toFixed(5))).toEqual([0, 2 * Math.log(Math.cosh(1)), 2 * Math.log(Math.cosh(2))].map((v) => +v.toFixed(5)));
  });
});

describe('defineOp errors', () => {
  const x = () => {
    const t = dg.tensor([1, 2, 3], [3]);
    t.requiresGrad = true;
    return t;
  };

  it('an op without a backward fails at backward(), naming the op', () => {
    const noBackward = dg.defineOp({ name: 'roundTrip', forward: ([a]) => dg.round(a!) });
    const t = x();
    expect(() => dg.sum(noBackward([t])).backward()).toThrow(/roundTrip: the op defines no backward.*inputs that require a gradient: 0/);
  });

  it('a forward that returns its input, or no tensor, is refused', () => {
    const identity = dg.defineOp({ name: 'identity', forward: ([a]) => a! });
    expect(() => identity([x()])).toThrow(/identity: forward returned one of its inputs/);
    const nothing = dg.defineOp({ name: 'nothing', forward: () => 3 as unknown as Tensor });
    expect(() => nothing([x()])).toThrow(/nothing: forward must return a Tensor/);
  });

  it('a backward with the wrong number of gradients or a wrong shape is refused', () => {
    const tooFew = dg.defineOp({ name: 'tooFew', forward: ([a, b]) => dg.add(a!, b!), backward: (g) => [g] });
    expect(() => dg.sum(tooFew([x(), x()])).backward()).toThrow(/tooFew: backward returned 1 gradient\(s\) for 2 input\(s\)/);
    const badShape = dg.defineOp({ name: 'badShape', forward: ([a]) => dg.mulScalar(a!, 2), backward: () => [dg.zeros([4])] });
    expect(() => dg.sum(badShape([x()])).backward()).toThrow(/badShape: backward's gradient 0 has shape \[4\], but input 0 is \[3\]/);
  });

  it('inputs must be an array', () => {
    expect(() => (fma as unknown as (t: Tensor) => Tensor)(dg.tensor([1], [1]))).toThrow(/fma: inputs must be an array of tensors/);
  });
});

it('a training loop through a custom op keeps the buffer count flat', async () => {
  const x = dg.tensor(host(64, 21), [64]);
  const w = dg.tensor(host(64, 22), [64]);
  const b = dg.tensor(host(64, 23), [64]);
  const target = dg.tensor(host(64, 24), [64]);
  for (const p of [w, b]) p.requiresGrad = true;
  const step = () =>
    dg.tidy(() => {
      const loss = dg.mean(dg.square(dg.sub(logCosh([fma([x, w, b])], { scale: 1 }), target)));
      loss.backward();
      dg.noGrad(() => {
        for (const p of [w, b]) {
          p.assign(dg.sub(p, dg.mulScalar(p.grad!, 0.5)));
          p.grad!.dispose();
          p.grad = null;
        }
      });
      return loss;
    });
  const r = await runFlatLoop(engine, step, 200, 199);
  expect(r.liveAtEnd).toBe(r.liveAfterFirst);
  expect(r.lastLoss).toBeLessThan(r.firstLoss);
});
