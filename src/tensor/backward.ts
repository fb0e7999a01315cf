// Reverse-mode differentiation over the tape: topological order, gradients accumulated per tensor,
// each node's rule run in a scope that frees its temporaries, and the graph released as it is walked.
import { isGradEnabled, noGrad } from './autograd.ts';
import { keep, tidy } from './scope.ts';
import { Tensor } from './tensor.ts';
import { ones } from '../ops/creation.ts';
import { add } from '../ops/elementwise.ts';
import { sumTo } from '../ops/reduce.ts';

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: deep networks would overflow the call stack.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const input of t.gradFn?.inputs ?? []) if (input.requiresGrad && !seen.has(input)) stack.push([input, false]);
  }
  return order.reverse();
}

/**
 * Accumulates d(root)/d(leaf) into `leaf.grad` for every leaf that requires a gradient. `grad` is the
 * gradient of root (default: 1 for a one-element root). The graph is freed afterwards.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new Error('backward(): the tensor does not require a gradient (no input had requiresGrad, or it was computed under noGrad)');
  if (!grad && root.size !== 1) throw new Error(`backward(): a gradient is needed for a tensor of shape [${root.shape.join(', ')}]`);
  if (!isGradEnabled()) throw new Error('backward() called inside noGrad()');
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, grad ? Tensor.view(grad, root.shape) : keep(ones(root.shape)));
    for (const t of topologicalOrder(root)) {
      const g = grads.get(t);
      grads.delete(t);
      if (!g) continue;
      const node = t.gradFn;
      if (!node) {
        accumulateLeaf(t, g);
        continue;
      }
      let results: readonly (Tensor | null)[];
      const firstNew = Tensor.peekNextId();
      try {
        // A rule may return g itself or another existing tensor: hand out a view, so each gradient is owned once.
        const own = (r: Tensor | null) => (r && r.id < firstNew ? Tensor.view(r, r.shape) : r);
        results = tidy(() => node.backward(g).map(own));
      } catch (e) {
        throw new Error(`backward of ${node.op}: ${(e as Error).message}`);
      }
      node.inputs.forEach((input, i) => {
        const r = results[i];
        if (!r) return;
        keep(r);
        if (!input.requiresGrad) return r.dispose();
        const shaped = sumTo(r, input.shape);
        if (shaped !== r) {
          keep(shaped);
          r.dispose();
        }
        const previous = grads.get(input);
        if (previous) {
          grads.set(input, keep(add(previous, shaped)));
          previous.dispose();
          shaped.dispose();
        } else grads.set(input, shaped);
      });
      g.dispose();
      t.gradFn = null;
    }
  });
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.disposed) return g.dispose();
  if (!leaf.grad) {
    leaf.grad = g;
    return;
  }
  const sum = keep(add(leaf.grad, g));
  leaf.grad.dispose();
  g.dispose();
  leaf.grad = sum;
}
