// Seeded, reproducible train/test split. The permutation is a Fisher-Yates shuffle driven by SplitMix32,
// so the same seed gives the same split on every platform.

function splitMix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

export interface Split {
  train: number[];
  test: number[];
}

/** Train size is int(n * fraction), as in DeepLabCut's SplitTrials; both index lists are returned sorted. */
export function makeSplit(n: number, trainFraction: number, seed: number): Split {
  if (!(trainFraction > 0 && trainFraction <= 1)) throw new Error(`train fraction must be in (0, 1], got ${trainFraction}`);
  const random = splitMix32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = Math.floor(n * trainFraction + 1e-9);
  const byValue = (a: number, b: number) => a - b;
  return { train: order.slice(0, cut).sort(byValue), test: order.slice(cut).sort(byValue) };
}
