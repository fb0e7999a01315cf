// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_), without a readback: the scale is
// a one-element tensor multiplied into each gradient on the GPU.
import { noGrad } from '../tensor/autograd.ts';
import { tidy, keep } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { addScalar, clamp, div, mul, sqrt, square } from '../ops/elementwise.ts';
import { concat, reshape } from '../ops/shape.ts';
import { sum } from '../ops/reduce.ts';
import { full } from '../ops/creation.ts';

/** Scales gradients so their joint L2 norm is at most maxNorm; returns the norm before clipping (a [] tensor). */
export function clipGradNorm(params: Tensor[], maxNorm: number): Tensor {
  return noGrad(() =>
    tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return keep(full([], 0));
      const norm = sqrt(sum(concat(grads.map((g) => reshape(sum(square(g)), [1])))));
      // PyTorch: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1.
      const coef = clamp(div(full([], maxNorm), addScalar(norm, 1e-6)), -Infinity, 1);
      for (const p of params) if (p.grad) p.grad.assign(mul(p.grad, coef));
      return keep(reshape(norm, []));
    }),
  );
}
