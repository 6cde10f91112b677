/**
 * The label quality and cost report: per job (teacher x selection), LLM calls, prompt and completion
 * tokens per query, latency, anomaly rates, the teacher ranking's nDCG@10 and the hard-negative
 * precision of missing documents. Pure: summaries in, rows and text out.
 */
import type { LabelSummary } from "./pipeline";

/** One row of the report. */
export interface LabelReportRow {
  job: string;
  dataset: string;
  teacher: string;
  selection: string;
  queries: number;
  callsPerQuery: number;
  promptTokensPerQuery: number;
  completionTokensPerQuery: number;
  /** Mean latency per call in ms (replayed and offline teachers: lookup time, not the LLM's). */
  latencyMsPerCall: number;
  /** Share of shown documents the teacher left out. */
  missingRate: number;
  /** Duplicate ids per window. */
  duplicatesPerWindow: number;
  /** Share of windows answered with the prompt order unchanged. */
  echoRate: number;
  /** Share of windows the teacher could not answer. */
  failedRate: number;
  /** Windows the teacher answered. */
  answeredWindows: number;
  /** nDCG@10 of the teacher's ranking; null when it answered no window (the ranking would be the pre-ranked order). */
  teacherNdcg10: number | null;
  preRankNdcg10: number;
  /** Share of judged missing documents judged non-relevant (grade <= 1); null when none was judged. */
  hardNegativePrecision: number | null;
  /** The same share among judged listed documents. */
  listedNonRelevant: number | null;
}

/** Rows of the report, one per summary, in the given order. */
export function labelReportRows(summaries: readonly LabelSummary[]): LabelReportRow[] {
  return summaries.map((s) => {
    const q = Math.max(1, s.queries);
    const shown = Math.max(1, s.windows * (s.selection.startsWith("sliding") ? Number(s.selection.slice(7).split("/")[0]) : Number(/top(\d+)/.exec(s.selection)?.[1] ?? 0) + Number(/bottom(\d+)/.exec(s.selection)?.[1] ?? 0)));
    return {
      job: s.job, dataset: s.dataset, teacher: s.teacher, selection: s.selection, queries: s.queries,
      callsPerQuery: s.calls / q,
      promptTokensPerQuery: s.promptTokens / q,
      completionTokensPerQuery: s.completionTokens / q,
      latencyMsPerCall: s.calls ? s.latencyMs / s.calls : 0,
      missingRate: s.missing / shown,
      duplicatesPerWindow: s.windows ? s.duplicates / s.windows : 0,
      echoRate: s.windows ? s.echo / s.windows : 0,
      failedRate: s.windows ? s.failed / s.windows : 0,
      answeredWindows: s.windows - s.failed,
      teacherNdcg10: s.windows - s.failed > 0 ? s.teacherNdcg10 : null,
      preRankNdcg10: s.preRankNdcg10,
      hardNegativePrecision: s.hardNegativePrecision.missing,
      listedNonRelevant: s.hardNegativePrecision.listed,
    };
  });
}

const pct = (x: number | null): string => (x === null ? "–" : `${(100 * x).toFixed(1)}%`);

/** The report as a Markdown table with a legend. */
export function labelReportMarkdown(rows: readonly LabelReportRow[]): string {
  const head = "| dataset | teacher | selection | calls/q | prompt tok/q | compl. tok/q | missing | dup/window | echo | nDCG@10 (pre-rank) | HN precision | listed non-rel |";
  const sep = "| :--- | :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";
  const ndcg = (x: number | null): string => (x === null ? "– (no window answered)" : x.toFixed(4));
  const body = rows.map((r) => `| ${r.dataset} | ${r.teacher} | ${r.selection} | ${r.callsPerQuery.toFixed(1)} | ${Math.round(r.promptTokensPerQuery)} | ${Math.round(r.completionTokensPerQuery)} | ${pct(r.missingRate)} | ${r.duplicatesPerWindow.toFixed(2)} | ${pct(r.echoRate)} | ${ndcg(r.teacherNdcg10)} (${r.preRankNdcg10.toFixed(4)}) | ${pct(r.hardNegativePrecision)} | ${pct(r.listedNonRelevant)} |`);
  return [head, sep, ...body, "",
    "Tokens: reported by the endpoint for live teachers; counted with the LLaMA tokenizer for replayed RankVicuna/Vicuna prompts and as the stand-in LLM's prompt for projected teachers; none for the oracle and BM25 bounds. " +
    "nDCG@10 of the teacher's ranking (listed, then missing, then unshown candidates) against the qrels; in parentheses the pre-ranked order it started from. " +
    "HN precision: share of judged missing documents with grade <= 1; listed non-rel: the same share among listed documents."].join("\n");
}
