// Relative error as the tests state it: per element, |got - want| / max(|want|, floor), where the floor
// (1% of the largest |want|) keeps values that cancel to near zero from dominating.
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let peak = 0;
  for (let i = 0; i < want.length; i++) peak = Math.max(peak, Math.abs(want[i]!));
  const floor = Math.max(peak * 1e-2, 1e-6);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    worst = Math.max(worst, Math.abs(g - w) / Math.max(Math.abs(w), floor));
  }
  return worst;
}

/** Throws with the worst element when the relative error exceeds `tol`. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = 'values'): void {
  const err = relativeError(got, want);
  if (err <= tol) return;
  let at = 0;
  let worst = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (d > worst) [worst, at] = [d, i];
  }
  throw new Error(`${what}: relative error ${err.toExponential(2)} > ${tol} (length ${got.length} vs ${want.length}; worst at ${at}: got ${got[at]}, want ${want[at]})`);
}

/** Normwise relative error max|got - want| / max|want|: for outputs whose small entries carry amplified rounding. */
export function expectCloseNormwise(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = 'values'): void {
  let peak = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    peak = Math.max(peak, Math.abs(want[i]!));
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  }
  const err = worst / Math.max(peak, 1e-30);
  if (got.length !== want.length || !(err <= tol)) throw new Error(`${what}: normwise relative error ${err.toExponential(2)} > ${tol} (lengths ${got.length} vs ${want.length})`);
}
