// The tape: each result of a differentiable op keeps the op's inputs and a closure that maps the
// gradient of the result to gradients of the inputs. `backward` (src/tensor/backward.ts) walks it.
import type { Tensor } from './tensor.ts';

export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Gradients for `inputs`, in order; null where an input needs none. Results may alias `grad`. */
  readonly backward: (grad: Tensor) => readonly (Tensor | null)[];
}

let enabled = true;

/** Whether ops are being recorded for autograd (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return enabled;
}

/** Runs `fn` without recording gradients (inference, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  const before = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = before;
  }
}

/** Whether `record` will put an op on these inputs on the tape (so its output will be differentiated). */
export function willRecord(inputs: readonly (Tensor | null)[]): boolean {
  return enabled && inputs.some((t) => t?.requiresGrad);
}

/** Attaches a gradient rule to `out` when any input requires a gradient. */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: GradNode['backward']): Tensor {
  if (willRecord(inputs)) {
    out.requiresGrad = true;
    out.gradFn = { op, inputs, backward };
  }
  return out;
}
