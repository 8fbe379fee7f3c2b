/**
 * "did you mean" for unknown config keys: the known key closest to the unknown one, when it is
 * within 2 edits (optimal string alignment: insertions, deletions, substitutions and swaps of two
 * neighbours) or differs only in case, `_` or `-`. Off the hot path: run once per unknown key.
 */

/** Optimal-string-alignment distance (Damerau–Levenshtein without repeated edits of one substring). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/** Most edits for a suggestion; short keys get fewer (a 3-letter key 2 edits away is another word). */
export const MAX_SUGGESTION_DISTANCE = 2;

function fold(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '');
}

/** The known key the unknown one most likely meant, or undefined. */
export function closestKey(unknown: string, known: Iterable<string>): string | undefined {
  const limit = unknown.length <= 4 ? 1 : MAX_SUGGESTION_DISTANCE;
  const folded = fold(unknown);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    if (k === unknown) return undefined;
    const d = fold(k) === folded ? 0 : editDistance(unknown, k);
    if (d < bestDistance || (d === bestDistance && best !== undefined && k < best)) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** `" (did you mean 'flushInterval'?)"` or ''. */
export function didYouMean(unknown: string, known: Iterable<string>, prefix = ''): string {
  const k = closestKey(unknown, known);
  return k === undefined ? '' : ` (did you mean '${prefix}${k}'?)`;
}
