// "Did you mean" for misspelt keys and enum values: the closest candidate by edit distance, if close enough.

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  const target = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const score = editDistance(target, c.toLowerCase());
    if (score < bestScore) [best, bestScore] = [c, score];
  }
  // Allow roughly one typo per three characters; anything further is a different word, not a typo.
  return best !== undefined && bestScore < word.length && bestScore <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}
