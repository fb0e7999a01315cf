// Scopes release every tensor created inside them, except what the scope returns or `keep`s.
import type { Tensor } from './tensor.ts';

const stack: Set<Tensor>[] = [];

export function trackInScope(t: Tensor): void {
  const top = stack[stack.length - 1];
  if (top) {
    top.add(t);
    t.scope = top;
  }
}

export function untrackFromScope(t: Tensor): void {
  t.scope?.delete(t);
  t.scope = null;
}

/** Takes a tensor out of every scope: the caller now owns it and must dispose it. */
export function keep<T extends Tensor>(t: T): T {
  untrackFromScope(t);
  return t;
}


function collect(value: unknown, out: Set<Tensor>, isTensor: (v: unknown) => v is Tensor): void {
  if (isTensor(value)) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, out, isTensor);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collect(v, out, isTensor);
}

function closeScope(scope: Set<Tensor>, result: unknown): void {
  const kept = new Set<Tensor>();
  collect(result, kept, (v): v is Tensor => v !== null && typeof v === 'object' && scope.has(v as Tensor));
  for (const t of [...scope]) {
    if (kept.has(t)) {
      t.scope = null;
      trackInScope(t);
    } else t.dispose();
  }
}

/**
 * Runs `fn` and disposes every tensor it created, except tensors in its result (which move to the
 * enclosing scope). `fn` must be synchronous: awaiting inside would let other work join the scope.
 */
export function tidy<T>(fn: () => T): T {
  const s = new Set<Tensor>();
  stack.push(s);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy() takes a synchronous function; use scope() for async work');
  } finally {
    stack.pop();
  }
  closeScope(s, result);
  return result;
}

/**
 * The asynchronous form of `tidy`, for code that reads results back inside. Tensors created by
 * other work while `fn` awaits would join this scope, so do not run two at once.
 */
export async function scope<T>(fn: () => Promise<T>): Promise<T> {
  const s = new Set<Tensor>();
  stack.push(s);
  let result: T;
  try {
    result = await fn();
  } finally {
    const i = stack.lastIndexOf(s);
    if (i >= 0) stack.splice(i, 1);
  }
  closeScope(s, result);
  return result;
}
