// Deterministic weights shared by the detector parity tests and their fixture scripts
// (scripts/fixtures/make_mobilenet_fixtures.py: mulberry32, deterministic_values, fill): every state-dict
// entry, in state-dict order, from mulberry32 with seed = the entry's index, scaled by kind, so that no
// weights need to be stored in fixtures.
import type { Module, StateEntry } from '../../src/nn/module.ts';

/** n outputs of mulberry32(seed) in [0, 1). */
export function mulberry32(seed: number, n: number): Float64Array {
  const out = new Float64Array(n);
  let a = seed | 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

/** n values 2u - 1 in [-1, 1), rounded to float32. */
export const signed = (seed: number, n: number): Float32Array => Float32Array.from(mulberry32(seed, n), (u) => 2 * u - 1);

/** The value of state-dict entry `index` (named `name`): deterministic_values in the fixture script. */
export function deterministicValues(index: number, name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  if (leaf === 'num_batches_tracked') return new Float32Array(n);
  const s = Array.from(mulberry32(index, n), (u) => 2 * u - 1);
  let v: number[];
  if (leaf === 'running_var') v = s.map((x) => 0.75 + (0.5 * (x + 1)) / 2);
  else if (leaf === 'running_mean' || leaf === 'bias') v = s.map((x) => 0.1 * x);
  else if (shape.length === 1) v = s.map((x) => 1 + 0.25 * x);
  else {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const bound = Math.sqrt(5 / fanIn);
    v = s.map((x) => bound * x);
  }
  return Float32Array.from(v);
}

/** Every state-dict entry of `m`, in state-dict order, from deterministicValues (the script's fill). */
export function fillDeterministic(m: Module): void {
  const state = new Map<string, StateEntry>();
  m.stateDictShapes().forEach(([k, shape], i) => state.set(k, { shape, data: deterministicValues(i, k, shape), dtype: 'float32' }));
  m.loadStateDict(state);
}
