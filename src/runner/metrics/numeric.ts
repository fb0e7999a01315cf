// The few numpy behaviours the metrics depend on to the last bit: pairwise summation (np.sum,
// np.mean, np.nansum), np.linspace's arithmetic, stable descending argsort with NaN last, and
// searchsorted(side="left").

/** numpy's pairwise summation of a contiguous float64 array (PW_BLOCKSIZE 128, 8-way unrolled). */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => a[start + j]!);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j]! += a[start + i + j]!;
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** np.mean (NaN if any element is NaN; NaN for an empty array). */
export function mean(a: ArrayLike<number>): number {
  return pairwiseSum(a) / a.length;
}

/** np.nansum: NaNs count as 0. */
export function nanSum(a: ArrayLike<number>): number {
  return pairwiseSum(Array.from(a, (x) => (Number.isNaN(x) ? 0 : x)));
}

export function countNonNaN(a: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i]!)) n++;
  return n;
}

/** np.nanmean: NaN when every element is NaN. */
export function nanMean(a: ArrayLike<number>): number {
  const n = countNonNaN(a);
  return n === 0 ? NaN : nanSum(a) / n;
}

/** np.linspace(start, stop, num) with numpy's arithmetic: i*step + start, the last value exactly stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  const div = num - 1;
  const step = (stop - start) / div;
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** np.argsort(-values, kind="mergesort"): descending, stable, NaN last. */
export function argsortDescending(values: readonly number[]): number[] {
  return values
    .map((_, i) => i)
    .sort((i, j) => {
      const a = -values[i]!;
      const b = -values[j]!;
      if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
      if (Number.isNaN(b)) return -1;
      return a < b ? -1 : a > b ? 1 : 0;
    });
}

/** np.searchsorted(sorted, v, side="left") on a non-decreasing array; NaN sorts after everything. */
export function searchsortedLeft(sorted: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < v) lo = mid + 1; // NaN < v is false: NaN ranks after v, as in numpy
    else hi = mid;
  }
  return lo;
}

/** np.spacing(1) */
export const EPS = 2.220446049250313e-16;
