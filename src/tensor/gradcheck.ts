// Finite-difference gradient checks for ops and layers (built-in and custom): central differences of
// sum(fn(inputs) * w) for a fixed random w, accumulated in float64 on the host, against autograd.
// The function itself runs in float32 on the GPU, so with eps 1e-2 the truncation error is O(eps^2)
// and the rounding error O(1e-7 / eps): agreement to about 1e-3 relative is what to expect.
import { tensor } from '../ops/creation.ts';
import { mul } from '../ops/elementwise.ts';
import { sum } from '../ops/reduce.ts';
import { noGrad } from './autograd.ts';
import { backward } from './backward.ts';
import { scope } from './scope.ts';
import { Tensor } from './tensor.ts';

export interface GradcheckInput {
  data: ArrayLike<number>;
  shape: readonly number[];
}

export interface GradcheckOptions {
  /** Perturbation (default 1e-2: float32 evaluation needs a large one). */
  eps?: number;
  /** An element passes when |analytic - numeric| <= atol + rtol * |numeric| (defaults 1e-3, 2e-2). */
  atol?: number;
  rtol?: number;
  /** Inputs (by position) to check; default every input. */
  check?: readonly number[];
  /** Seed of the random projection w. */
  seed?: number;
}

export interface GradcheckFailure {
  input: number;
  index: number;
  analytic: number;
  numeric: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic - numeric| / max(|numeric|, 1% of the input's largest numeric gradient). */
  maxRelativeError: number;
  maxAbsoluteError: number;
  /** Up to 10 elements that failed the atol/rtol test, worst first. */
  failures: GradcheckFailure[];
}

/** Uniform values in [-1, 1) from mulberry32: well mixed even for neighbouring seeds. */
export function seededUniform(n: number, seed: number): Float32Array {
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

function asInput(x: Tensor | GradcheckInput): Promise<GradcheckInput> | GradcheckInput {
  return x instanceof Tensor ? x.toArray().then((data) => ({ data, shape: x.shape })) : x;
}

/**
 * Checks autograd's gradients of `fn` against central finite differences for every element of every
 * input (keep shapes small: two evaluations per element). Inputs are host arrays or tensors (read once).
 */
export async function gradcheck(
  fn: (inputs: Tensor[]) => Tensor,
  inputs: readonly (Tensor | GradcheckInput)[],
  opts: GradcheckOptions = {},
): Promise<GradcheckResult> {
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 1e-3;
  const rtol = opts.rtol ?? 2e-2;
  const host = await Promise.all(inputs.map(asInput));
  const checked = opts.check ?? host.map((_, i) => i);
  return scope(async () => {
    const leaves = host.map((h) => {
      const t = tensor(Float32Array.from(h.data), h.shape);
      t.requiresGrad = true;
      return t;
    });
    const out = fn(leaves);
    if (!(out instanceof Tensor)) throw new Error('gradcheck: fn must return a Tensor');
    const w = seededUniform(out.size, opts.seed ?? 7);
    backward(sum(mul(out, tensor(w, out.shape))));
    const projected = async (k: number, data: Float32Array): Promise<number> => {
      const ys = await scope(async () => {
        const xs = host.map((h, j) => tensor(j === k ? data : Float32Array.from(h.data), h.shape));
        return noGrad(() => fn(xs)).toArray();
      });
      let acc = 0;
      for (let i = 0; i < ys.length; i++) acc += ys[i]! * w[i]!;
      return acc;
    };
    let maxRel = 0;
    let maxAbs = 0;
    const failures: GradcheckFailure[] = [];
    for (const k of checked) {
      const base = Float32Array.from(host[k]!.data);
      const grad = leaves[k]!.grad;
      const analytic = grad ? await grad.toArray() : new Float32Array(base.length);
      const numeric = new Float64Array(base.length);
      for (let e = 0; e < base.length; e++) {
        const plus = Float32Array.from(base);
        const minus = Float32Array.from(base);
        plus[e] = base[e]! + eps;
        minus[e] = base[e]! - eps;
        // The step actually taken, after rounding the perturbed inputs to float32.
        numeric[e] = ((await projected(k, plus)) - (await projected(k, minus))) / (plus[e]! - minus[e]!);
      }
      let peak = 0;
      for (const n of numeric) peak = Math.max(peak, Math.abs(n));
      const floor = Math.max(peak * 1e-2, 1e-6);
      for (let e = 0; e < base.length; e++) {
        const a = analytic[e]!;
        const n = numeric[e]!;
        const diff = Math.abs(a - n);
        maxAbs = Math.max(maxAbs, diff);
        maxRel = Math.max(maxRel, diff / Math.max(Math.abs(n), floor));
        if (!(diff <= atol + rtol * Math.abs(n))) failures.push({ input: k, index: e, analytic: a, numeric: n });
      }
    }
    failures.sort((p, q) => Math.abs(q.analytic - q.numeric) - Math.abs(p.analytic - p.numeric));
    return { ok: failures.length === 0, maxRelativeError: maxRel, maxAbsoluteError: maxAbs, failures: failures.slice(0, 10) };
  });
}
