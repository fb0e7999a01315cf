// Optimisers against torch.optim (PyTorch 1.13): parameters after each of 6 steps from the same
// gradients, the saved state, state-dict round trips, and clip_grad_norm_.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { optim } from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { expectClose } from './helpers/compare.ts';
import { useGpu } from './helpers/gpu.ts';

interface OptCase {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
  options: Record<string, any>;
  params: number[][];
  shapes: number[][];
  grads: number[][][];
  trace: number[][][];
  state: Record<string, Record<string, number | number[] | null>>;
  param_group_keys: string[];
}
const fx = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as {
  cases: OptCase[];
  clip: { grads: number[][]; shapes: number[][]; max_norm: number; norm: number; clipped: number[][] };
};

const make = (c: OptCase, params: Tensor[]): optim.Optimizer => new optim[c.optimizer](params, c.options as never);

function leaves(c: OptCase): Tensor[] {
  return c.params.map((p, i) => {
    const t = dg.tensor(Float32Array.from(p), c.shapes[i]);
    t.requiresGrad = true;
    return t;
  });
}

function setGrads(params: Tensor[], grads: number[][], shapes: number[][]): void {
  params.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = dg.keep(dg.tensor(Float32Array.from(grads[i]!), shapes[i]));
  });
}

// The update kernels do several elements per invocation (kernels/optim.wgsl STEPS): each case's parameters tiled
// 400 times (thousands of elements, several workgroups, every step of the loop, a partial last one) must follow the
// same PyTorch trace, tiled.
describe('optimisers on long parameters', () => {
  useGpu();
  const R = 400;
  const tile = (v: number[]) => Float32Array.from({ length: v.length * R }, (_, i) => v[i % v.length]!);
  for (const c of fx.cases) {
    it(`${c.optimizer} ${JSON.stringify(c.options)}, ${R} x each parameter`, async () => {
      const params = c.params.map((p) => {
        const t = dg.tensor(tile(p), [p.length * R]);
        t.requiresGrad = true;
        return t;
      });
      const opt = make(c, params);
      for (let s = 0; s < c.grads.length; s++) {
        params.forEach((p, i) => {
          p.grad?.dispose();
          p.grad = dg.keep(dg.tensor(tile(c.grads[s]![i]!), [p.size]));
        });
        opt.step();
        for (let i = 0; i < params.length; i++) expectClose(await params[i]!.toArray(), tile(c.trace[s]![i]!), 1e-4, `step ${s + 1} parameter ${i}`);
      }
      opt.dispose();
      for (const p of params) p.dispose();
    });
  }
});

describe('optimisers match torch.optim', () => {
  useGpu();
  for (const c of fx.cases) {
    it(`${c.optimizer} ${JSON.stringify(c.options)}`, async () => {
      const params = leaves(c);
      const opt = make(c, params);
      for (let s = 0; s < c.grads.length; s++) {
        setGrads(params, c.grads[s]!, c.shapes);
        opt.step();
        for (let i = 0; i < params.length; i++) expectClose(await params[i]!.toArray(), c.trace[s]![i]!, 1e-4, `step ${s + 1} parameter ${i}`);
      }
      const sd = await opt.stateDict();
      for (const [idx, want] of Object.entries(c.state)) {
        const got = sd.state.get(Number(idx))!;
        for (const [k, v] of Object.entries(want)) {
          if (v === null) continue;
          const g = got[k];
          if (typeof v === 'number') expect(g, k).toBe(v);
          else expectClose((g as { data: Float32Array }).data, v, 1e-4, `state ${idx}.${k}`);
        }
      }
      // torch's param_groups keys, so DeepLabCut snapshots hold what torch would write.
      const keys = Object.keys(sd.param_groups[0]!).sort();
      for (const k of c.param_group_keys) expect(keys, `param_groups key ${k}`).toContain(k);
      opt.dispose();
    });
  }

  it('a state dict restored into a new optimiser continues the same trajectory', async () => {
    const c = fx.cases.find((k) => k.optimizer === 'AdamW')!;
    const a = leaves(c);
    const optA = make(c, a);
    for (let s = 0; s < 3; s++) {
      setGrads(a, c.grads[s]!, c.shapes);
      optA.step();
    }
    const saved = await optA.stateDict();
    const b = c.shapes.map((shape, i) => dg.tensor(Float32Array.from(c.trace[2]![i]!), shape));
    b.forEach((t) => (t.requiresGrad = true));
    const optB = make(c, b);
    optB.loadStateDict(saved);
    for (let s = 3; s < c.grads.length; s++) {
      setGrads(b, c.grads[s]!, c.shapes);
      optB.step();
    }
    for (let i = 0; i < b.length; i++) expectClose(await b[i]!.toArray(), c.trace[c.grads.length - 1]![i]!, 1e-4, `parameter ${i}`);
  });

  it('loading a state dict for other parameters fails clearly', async () => {
    const c = fx.cases[0]!;
    const opt = make(c, leaves(c));
    const sd = await opt.stateDict();
    const other = new optim.SGD([dg.zeros([2])], { lr: 0.1 });
    expect(() => other.loadStateDict(sd)).toThrow(/group 0 has 2 parameters, this optimizer 1/);
  });

  it('zeroGrad releases gradients', () => {
    const p = dg.ones([3]);
    p.requiresGrad = true;
    dg.tidy(() => dg.sum(dg.mul(p, p)).backward());
    const opt = new optim.SGD([p], { lr: 0.1 });
    opt.zeroGrad();
    expect(p.grad).toBeNull();
  });

  it('clipGradNorm matches clip_grad_norm_', async () => {
    const k = fx.clip;
    const ps = k.shapes.map((s) => {
      const t = dg.zeros(s);
      t.requiresGrad = true;
      return t;
    });
    setGrads(ps, k.grads, k.shapes);
    const norm = optim.clipGradNorm(ps, k.max_norm);
    expect(await norm.item()).toBeCloseTo(k.norm, 4);
    for (let i = 0; i < ps.length; i++) expectClose(await ps[i]!.grad!.toArray(), k.clipped[i]!, 1e-4, `clipped gradient ${i}`);
  });
});
