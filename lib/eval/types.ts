/** Shapes of evaluation results shared by metrics, significance tests, tables, the store and the CLI. */

/** Metric key as trec-style text: `ndcg@10`, `mrr@10`, `map`, `p@10`, `recall@100`, `judged@10`. */
export type MetricName = string;

/** Per-query values: `perQuery[qid][metric]`. */
export type PerQuery = Record<string, Record<MetricName, number>>;

/** What `evaluateRun` returns: the mean over the evaluated queries and every query's own value. */
export interface EvalResult {
  all: Record<MetricName, number>;
  perQuery: PerQuery;
}
