/**
 * Names a user types (config cells, flags): the closest known name for a did-you-mean, and one check that
 * refuses an unknown name with the list of known ones. Case differences count as close ("rankvicuna-7B").
 */
import { ConfigError, show } from "./errors";

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The known name closest to `name` (case-insensitive edit distance), when it is close enough to be a typo; else undefined. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const q = String(name).toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(q, k.toLowerCase());
    if (d < bestDistance) { best = k; bestDistance = d; }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** " (did you mean "x"?)" for a near miss, else "". */
export function didYouMean(name: string, known: readonly string[]): string {
  const near = closestName(name, known);
  return near === undefined ? "" : ` (did you mean ${JSON.stringify(near)}?)`;
}

/** Throw a ConfigError naming `where`, the unknown name, the known ones and the nearest, for the first name not in `known`. */
export function checkNames(where: string, names: readonly string[], known: readonly string[]): void {
  for (const n of names) {
    if (!known.includes(n)) throw new ConfigError(`${where}: unknown name ${show(n)}; expected one of ${known.join(", ")}${didYouMean(n, known)}`);
  }
}
