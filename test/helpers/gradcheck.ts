// Central finite differences against autograd, for small shapes. In float32 with eps 1e-2 the
// truncation error is O(eps^2) and rounding O(1e-7/eps), so agreement to about 1e-2 is expected.
import * as dg from '../../src/index.ts';
import type { Tensor } from '../../src/index.ts';
import { relativeError } from './compare.ts';

/** Uniform values in [-1, 1) from mulberry32: well mixed even for neighbouring seeds. */
function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Largest relative error between numeric and analytic gradients of sum(fn(inputs) * w) over every input. */
export async function gradcheck(fn: (xs: Tensor[]) => Tensor, inputs: { data: Float32Array; shape: number[] }[], eps = 1e-2): Promise<number> {
  return dg.scope(async () => {
    const leaves = inputs.map((i) => {
      const t = dg.tensor(i.data, i.shape);
      t.requiresGrad = true;
      return t;
    });
    const out = fn(leaves);
    const w = dg.tensor(seeded(out.size, 7), out.shape);
    dg.sum(dg.mul(out, w)).backward();
    const wHost = await w.toArray();
    let worst = 0;
    for (let k = 0; k < inputs.length; k++) {
      const grad = leaves[k]!.grad;
      const analytic = grad ? await grad.toArray() : new Float32Array(inputs[k]!.data.length);
      const numeric = new Float32Array(inputs[k]!.data.length);
      for (let e = 0; e < numeric.length; e++) {
        const value = async (delta: number) => {
          const data = Float32Array.from(inputs[k]!.data);
          data[e]! += delta;
          const ys = await dg.scope(async () => {
            const xs = inputs.map((i, j) => (j === k ? dg.tensor(data, i.shape) : dg.tensor(i.data, i.shape)));
            return dg.noGrad(() => fn(xs)).toArray();
          });
          let acc = 0;
          for (let i = 0; i < ys.length; i++) acc += ys[i]! * wHost[i]!;
          return acc;
        };
        numeric[e] = ((await value(eps)) - (await value(-eps))) / (2 * eps);
      }
      worst = Math.max(worst, relativeError(analytic, numeric));
    }
    return worst;
  });
}

export function randomInput(shape: number[], seed: number, low = -1, high = 1): { data: Float32Array; shape: number[] } {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = seeded(n, seed);
  return { data: u.map((v) => low + ((v + 1) / 2) * (high - low)), shape };
}
