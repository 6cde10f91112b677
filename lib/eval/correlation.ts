/**
 * Rank correlation of two scorings of the same items: Kendall's tau-b (ties in either scoring counted as
 * in scipy.stats.kendalltau), O(n^2), for lists of a few hundred items.
 */

/** Kendall's tau-b of two equally long score arrays; NaN when either is constant. */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`kendallTau: ${n} and ${b.length} values`);
  let concordant = 0, discordant = 0, tiesA = 0, tiesB = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const da = Math.sign(a[i] - a[j]), db = Math.sign(b[i] - b[j]);
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  const denom = Math.sqrt((concordant + discordant + tiesA) * (concordant + discordant + tiesB));
  return denom > 0 ? (concordant - discordant) / denom : NaN;
}
