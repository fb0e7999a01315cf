// The tests' finite-difference check is the public one (src/tensor/gradcheck.ts); this keeps the tests'
// short form: the largest relative error, to compare with a tolerance.
import { gradcheck as check, seededUniform } from '../../src/tensor/gradcheck.ts';
import type { Tensor } from '../../src/index.ts';

/** Largest relative error between numeric and analytic gradients of sum(fn(inputs) * w) over every input. */
export async function gradcheck(fn: (xs: Tensor[]) => Tensor, inputs: { data: Float32Array; shape: number[] }[], eps = 1e-2): Promise<number> {
  return (await check(fn, inputs, { eps })).maxRelativeError;
}

export function randomInput(shape: number[], seed: number, low = -1, high = 1): { data: Float32Array; shape: number[] } {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = seededUniform(n, seed);
  return { data: u.map((v) => low + ((v + 1) / 2) * (high - low)), shape };
}
