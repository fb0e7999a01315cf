// softmax and logSoftmax along one axis, composed from reductions and elementwise ops (autograd follows).
import { noGrad } from '../tensor/autograd.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { div, exp, log, sub } from './elementwise.ts';
import { max, sum } from './reduce.ts';

/** exp(x) / sum(exp(x)) along `axis` (default the last), computed stably. */
export function softmax(x: Tensor, axis = -1): Tensor {
  // Subtracting the (constant) max keeps exp finite and does not change the result or its gradient.
  const m = noGrad(() => max(x, axis, true));
  const e = exp(sub(x, m));
  const out = div(e, sum(e, axis, true));
  return out;
}

/** log(softmax(x)) along `axis` (default the last), computed stably. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const m = noGrad(() => max(x, axis, true));
  const shifted = sub(x, m);
  return sub(shifted, log(sum(exp(shifted), axis, true)));
}
