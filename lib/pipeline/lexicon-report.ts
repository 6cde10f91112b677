/**
 * How well a lexicon matches a first stage: for each set of candidate lists, BM25 re-scored with the
 * lexicon's statistics against the first stage's own scores: nDCG@10 of both (when qrels are given),
 * Kendall's tau per query, and the share of query terms whose idf was recovered from the scores.
 */
import type { Qrels, RankedList, Run } from "../data/types";
import { kendallTau } from "../eval/correlation";
import { evaluateRun } from "../eval/evaluate";
import { analyzeLists } from "../lexical/analyzed";
import { scoreList, type Lexicon } from "../lexical/lexicon";

/** One set of lists, measured. */
export interface LexiconSetReport {
  name: string;
  queries: number;
  /** nDCG@10 of the first stage's own order and of BM25 re-scored with the lexicon (null without qrels). */
  firstStageNdcg10: number | null;
  rescoredNdcg10: number | null;
  /** Kendall's tau-b between re-scored BM25 and the first stage's scores, over each query's candidates. */
  meanTau: number;
  minTau: number;
  /** Share of distinct query terms (over the set) with a recovered idf. */
  recoveredTerms: number;
}

/** The report. */
export interface LexiconReport {
  k1: number;
  b: number;
  avgdl: number;
  recoveredTerms: number;
  corpusPassages: number;
  calibration: Lexicon["calibration"];
  provenance: Record<string, unknown>;
  sets: LexiconSetReport[];
}

/** Measure a lexicon against first stages (see the file header). */
export function lexiconReport(lex: Lexicon, sets: ReadonlyArray<{ name: string; lists: readonly RankedList[]; qrels?: Qrels }>): LexiconReport {
  return {
    k1: lex.k1, b: lex.b, avgdl: lex.avgdl, recoveredTerms: lex.recovered.size, corpusPassages: lex.corpus.docs, calibration: lex.calibration, provenance: lex.provenance,
    sets: sets.map((s) => {
      const analyzed = analyzeLists(s.lists);
      const rescored: Run = { tag: "bm25-rescored", queries: new Map() };
      const taus: number[] = [];
      const terms = new Set<string>();
      analyzed.forEach((l) => {
        const scores = scoreList(lex, l);
        for (const t of l.queryTerms.keys()) terms.add(t);
        const given = l.docs.map((d) => d.score);
        if (given.every((x) => Number.isFinite(x))) taus.push(kendallTau(scores, given));
        rescored.queries.set(l.qid, l.docs.map((d, i) => ({ docid: d.docid, score: scores[i], rank: i + 1 })));
      });
      const ndcg = (run: Run): number | null => (s.qrels ? evaluateRun(s.qrels, run, { metrics: ["ndcg@10"], querySet: "intersection" }).all["ndcg@10"] : null);
      const first: Run = { tag: "first-stage", queries: new Map(s.lists.map((l) => [l.qid, l.candidates])) };
      const valid = taus.filter((t) => Number.isFinite(t));
      return {
        name: s.name, queries: s.lists.length, firstStageNdcg10: ndcg(first), rescoredNdcg10: ndcg(rescored),
        meanTau: valid.length ? valid.reduce((a, b) => a + b, 0) / valid.length : NaN, minTau: valid.length ? Math.min(...valid) : NaN,
        recoveredTerms: terms.size ? [...terms].filter((t) => lex.recovered.has(t)).length / terms.size : 0,
      };
    }),
  };
}

/** The report as a markdown table with a header line. */
export function lexiconReportMarkdown(r: LexiconReport): string {
  const rec = r.provenance.recovery as { listsRecovered?: number; listsFitted?: number; medianR2?: number; candidatesDropped?: number } | undefined;
  const f = (x: number | null, d = 4): string => (x === null || !Number.isFinite(x) ? "-" : x.toFixed(d));
  return [
    `Lexicon: k1 ${r.k1}, b ${r.b}, avgdl ${r.avgdl.toFixed(3)}; ${r.recoveredTerms} terms recovered` +
      (rec ? ` from ${rec.listsRecovered}/${rec.listsFitted} lists (median R^2 ${f(rec.medianR2 ?? null, 6)}, ${rec.candidatesDropped} candidates set aside as analyzer mismatches)` : "") +
      `; corpus fallback over ${r.corpusPassages} passages, calibrated idf = ${r.calibration.intercept.toFixed(3)} + ${r.calibration.slope.toFixed(3)} x corpus idf (R^2 ${f(r.calibration.r2, 3)} over ${r.calibration.pairs} query terms).`,
    "",
    "| candidates | queries | first stage nDCG@10 | BM25 re-scored nDCG@10 | Kendall tau mean (min) | query terms recovered |",
    "|---|---:|---:|---:|---:|---:|",
    ...r.sets.map((s) => `| ${s.name} | ${s.queries} | ${f(s.firstStageNdcg10)} | ${f(s.rescoredNdcg10)} | ${f(s.meanTau)} (${f(s.minTau)}) | ${(100 * s.recoveredTerms).toFixed(1)}% |`),
    "",
  ].join("\n");
}
