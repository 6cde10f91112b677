/**
 * Sizes of the shipped datasets, for estimates made before anything is loaded (core/estimate.ts); the
 * tests check them against loadDataset.
 */

/** Queries with candidate lists per shipped dataset. */
export const QUERY_COUNTS: Readonly<Record<string, number>> = Object.freeze({ dl19: 43, dl20: 54, noveleval: 21 });

/** Candidates per query in the shipped lists (first-stage top 100; NovelEval's pools hold 20). */
export const CANDIDATES_PER_QUERY: Readonly<Record<string, number>> = Object.freeze({ dl19: 100, dl20: 100, noveleval: 20 });

/** Queries of a dataset name, the parts of a merged name (`dl19+dl20`) summed; an unknown name counts as 50. */
export function queryCount(dataset: string): number {
  return dataset.split("+").reduce((n, d) => n + (QUERY_COUNTS[d.trim()] ?? 50), 0);
}
