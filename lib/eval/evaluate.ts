/**
 * Evaluate a run against qrels with trec_eval's rules:
 * - each query's documents are ordered by score descending, ties by docid descending (never by the
 *   rank column);
 * - the query set is every query of the qrels (`trec_eval -c`): a judged query missing from the run
 *   scores 0, and run queries without judgments are ignored. `querySet: "intersection"` gives
 *   trec_eval's default without -c;
 * - binary measures count grade >= `relThreshold` as relevant (`-l 2`, the TREC DL convention).
 */
import { ConfigError } from "../core/errors";
import { compareTrecEval } from "../data/trec";
import type { Candidate, Qrels, Run } from "../data/types";
import { computeMetric, DEFAULT_METRICS, parseMetric, type JudgedRanking, type MetricSpec } from "./metrics";
import type { EvalResult } from "./types";

/** Options of `evaluateRun`. */
export interface EvalOptions {
  /** Metric keys (see `parseMetric`); default `DEFAULT_METRICS`. */
  metrics?: readonly string[];
  /** Lowest grade counted relevant by binary measures (trec_eval -l). Default 2 (TREC DL). */
  relThreshold?: number;
  /** `qrels` (trec_eval -c, the default) or `intersection` (queries in both run and qrels). */
  querySet?: "qrels" | "intersection";
  /** Only the first n documents of each query after sorting (trec_eval -M). Default: all. */
  maxDocs?: number;
}

/** Order one query's documents as trec_eval does and attach their grades. */
export function judgeRanking(docs: readonly Candidate[] | undefined, judgments: ReadonlyMap<string, number> | undefined, maxDocs = Infinity): JudgedRanking {
  const ranked = (docs ?? []).slice().sort(compareTrecEval).slice(0, maxDocs);
  return {
    grades: ranked.map((d) => judgments?.get(d.docid)),
    judged: judgments ? [...judgments.values()].filter((g) => g >= 0) : [],
  };
}

/** The qids evaluated for a run under a query-set rule, in qrels order. */
export function evaluatedQueries(qrels: Qrels, run: Run, querySet: "qrels" | "intersection" = "qrels"): string[] {
  const qids = [...qrels.keys()];
  return querySet === "qrels" ? qids : qids.filter((q) => run.queries.has(q));
}

/**
 * Parse metric names and keep each canonical key once (`ndcg@10` and `ndcg_cut.10` are one metric), in
 * first-seen order: a metric asked twice must not be summed twice into the same mean.
 */
export function uniqueMetrics(names: readonly string[]): MetricSpec[] {
  const byKey = new Map<string, MetricSpec>();
  for (const name of names) {
    const spec = parseMetric(name);
    if (!byKey.has(spec.key)) byKey.set(spec.key, spec);
  }
  return [...byKey.values()];
}

/** Evaluate a run: the mean of every metric and each query's own values. */
export function evaluateRun(qrels: Qrels, run: Run, options: EvalOptions = {}): EvalResult {
  const { metrics = DEFAULT_METRICS, relThreshold = 2, querySet = "qrels", maxDocs = Infinity } = options;
  if (querySet !== "qrels" && querySet !== "intersection") throw new ConfigError(`evaluateRun: querySet must be "qrels" or "intersection", got ${String(querySet)}`);
  if (!Number.isFinite(relThreshold)) throw new ConfigError(`evaluateRun: relThreshold must be a number, got ${relThreshold}`);
  const specs: MetricSpec[] = uniqueMetrics(metrics);
  const qids = evaluatedQueries(qrels, run, querySet);
  const perQuery: EvalResult["perQuery"] = {};
  const sums: Record<string, number> = {};
  for (const s of specs) sums[s.key] = 0;
  for (const qid of qids) {
    const ranking = judgeRanking(run.queries.get(qid), qrels.get(qid), maxDocs);
    const values: Record<string, number> = {};
    for (const s of specs) {
      values[s.key] = computeMetric(s, ranking, relThreshold);
      sums[s.key] += values[s.key];
    }
    perQuery[qid] = values;
  }
  const all: Record<string, number> = {};
  for (const s of specs) all[s.key] = qids.length > 0 ? sums[s.key] / qids.length : 0;
  return { all, perQuery };
}
