// "Did you mean …?" for misspelt section names, keys and enum values.

/** Case, `_`, `-`, `.` and spaces do not make names different to a human reader. */
function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_.\s]/g, '');
}

/**
 * The candidate the operator most likely meant: one that differs only in case or separators, else
 * the closest within edit distance 2 (ties go to the earlier candidate), else one that the input
 * starts with or that starts with the input (`warning` → `warn`). null when nothing is close.
 */
export function suggestName(input: string, candidates: readonly string[]): string | null {
  const wanted = normalise(input);
  const variant = candidates.find((c) => normalise(c) === wanted);
  if (variant !== undefined) return variant;

  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(input.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== null) return best;

  // A prefix of four or more characters is a strong hint; shorter ones match too much.
  const isPrefix = (short: string, long: string): boolean => short.length >= 4 && long.startsWith(short);
  return candidates.find((c) => isPrefix(normalise(c), wanted) || isPrefix(wanted, normalise(c))) ?? null;
}

/** Optimal-string-alignment distance: insert, delete, substitute, or swap two neighbours. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}
