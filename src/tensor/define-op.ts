// Differentiable user ops, the analogue of torch.autograd.Function: a forward (a WGSL kernel, or existing
// ops) and the backward that maps the output's gradient to the inputs' gradients. The op joins the same
// tape, scopes and one-pass recording as the built-in ops: its output is an ordinary tensor.
import { noGrad, record } from './autograd.ts';
import type { Tensor } from './tensor.ts';

/** What a forward leaves for its backward. */
export interface OpContext<O> {
  /** The op's name (for messages). */
  readonly name: string;
  /** The op's options as passed to the call. */
  readonly options: O;
  /** Per input: whether the backward must produce its gradient (PyTorch's ctx.needs_input_grad). */
  readonly needsInputGrad: readonly boolean[];
  /**
   * Keeps tensors for the backward (intermediates the forward made). Like the inputs of built-in ops, they
   * live as long as the scope the forward ran in: run forward and backward in one `scope` or `tidy`.
   */
  save(...tensors: Tensor[]): void;
  readonly saved: readonly Tensor[];
}

export interface OpDefinition<O> {
  /** Names the op in the tape and in errors. */
  name: string;
  /**
   * Computes the output from the inputs; runs without recording (its internal ops are not differentiated
   * one by one), so it may launch any kernel. Must return a new tensor, not an input.
   */
  forward(inputs: readonly Tensor[], ctx: OpContext<O>): Tensor;
  /**
   * Gradients of the inputs, one per input, in order: a tensor with the input's shape, or null where
   * `ctx.needsInputGrad` is false (or the input gets none). Runs without recording. Omit it for an op that
   * is not differentiable; backward through it then fails naming the op.
   */
  backward?(grad: Tensor, ctx: OpContext<O> & { readonly inputs: readonly Tensor[]; readonly output: Tensor }): readonly (Tensor | null)[];
}

export type CustomOp<O> = undefined extends O
  ? (inputs: readonly Tensor[], options?: O) => Tensor
  : (inputs: readonly Tensor[], options: O) => Tensor;

/** Defines a differentiable op; call the result as `op([x, w], options)`. */
export function defineOp<O = undefined>(def: OpDefinition<O>): CustomOp<O> {
  if (!def.name) throw new Error('defineOp: an op needs a name');
  const call = (inputs: readonly Tensor[], options?: O): Tensor => {
    if (!Array.isArray(inputs)) throw new Error(`${def.name}: inputs must be an array of tensors`);
    const saved: Tensor[] = [];
    const ctx: OpContext<O> = {
      name: def.name,
      options: options as O,
      needsInputGrad: inputs.map((t) => t.requiresGrad),
      save: (...t) => void saved.push(...t),
      saved,
    };
    const output = noGrad(() => def.forward(inputs, ctx));
    if (!output || typeof (output as Tensor).shape !== 'object') throw new Error(`${def.name}: forward must return a Tensor`);
    if (inputs.includes(output)) throw new Error(`${def.name}: forward returned one of its inputs; return a new tensor (clone it if the op is the identity)`);
    return record(output, def.name, inputs, (grad) => {
      if (!def.backward) throw new Error(`${def.name}: the op defines no backward, so no gradient flows through it (inputs that require a gradient: ${ctx.needsInputGrad.map((n, i) => (n ? i : -1)).filter((i) => i >= 0).join(', ')})`);
      const grads = def.backward(grad, { ...ctx, inputs, output });
      if (!Array.isArray(grads) || grads.length !== inputs.length)
        throw new Error(`${def.name}: backward returned ${Array.isArray(grads) ? grads.length : typeof grads} gradient(s) for ${inputs.length} input(s); return one per input (null where none)`);
      grads.forEach((g, i) => {
        if (!g) return;
        const want = inputs[i]!.shape.join(', ');
        if (g.shape.join(', ') !== want) throw new Error(`${def.name}: backward's gradient ${i} has shape [${g.shape.join(', ')}], but input ${i} is [${want}]`);
      });
      return grads;
    });
  };
  return call as CustomOp<O>;
}
