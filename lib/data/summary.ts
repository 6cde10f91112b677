/** Plain-record summaries of datasets and candidate lists, for tables in notebooks and the CLI. */
import { ConfigError, show } from "../core/errors";
import { computeQueryStats } from "./query-stats";
import type { Dataset } from "./types";

/** One row per dataset: sizes, grade distribution, candidates per query, query length and form. */
export function datasetSummary(datasets: readonly Dataset[]): Array<Record<string, string | number>> {
  return datasets.map((d) => {
    const grades = new Map<number, number>();
    let judgments = 0;
    for (const m of d.qrels.values()) for (const g of m.values()) { grades.set(g, (grades.get(g) ?? 0) + 1); judgments++; }
    const stats = computeQueryStats(d.queries);
    const pairs = d.lists.reduce((n, l) => n + l.candidates.length, 0);
    let judgedPairs = 0;
    for (const l of d.lists) for (const c of l.candidates) if (d.qrels.get(l.qid)?.has(c.docid)) judgedPairs++;
    const row: Record<string, string | number> = {
      dataset: d.name,
      queries: d.queries.length,
      judgments,
      candidates_per_query: Math.round((pairs / Math.max(1, d.lists.length)) * 10) / 10,
      judged_candidates: `${(100 * judgedPairs / Math.max(1, pairs)).toFixed(1)}%`,
      mean_query_words: Math.round((stats.reduce((a, s) => a + s.words, 0) / Math.max(1, stats.length)) * 100) / 100,
      question_form: `${(100 * stats.filter((s) => s.form === "question").length / Math.max(1, stats.length)).toFixed(0)}%`,
    };
    for (const g of [...grades.keys()].sort((a, b) => a - b)) row[`grade_${g}`] = grades.get(g) as number;
    return row;
  });
}

/** The first `k` candidates of one query with their judgment (or "unjudged") and a text excerpt. */
export function candidateTable(dataset: Dataset, qid: string, k = 10, excerptChars = 140): Array<Record<string, string | number>> {
  const list = dataset.lists.find((l) => l.qid === qid);
  if (!list) throw new ConfigError(`candidateTable: no query ${show(qid)} in ${dataset.name}; first qids: ${dataset.lists.slice(0, 5).map((l) => l.qid).join(", ")}`);
  const judged = dataset.qrels.get(qid);
  return list.candidates.slice(0, k).map((c) => {
    const text = c.text ?? dataset.passages.get(c.docid)?.text ?? "";
    return {
      rank: c.rank,
      docid: c.docid,
      score: Math.round(c.score * 1000) / 1000,
      grade: judged?.has(c.docid) ? String(judged.get(c.docid)) : "unjudged",
      passage: text.length > excerptChars ? `${text.slice(0, excerptChars - 1)}…` : text,
    };
  });
}
