/**
 * Candidate lists analyzed once for every lexical computation (statistics recovery, BM25 re-scoring,
 * features, Token Selection): the query's term counts and, per candidate, its term counts and analyzed
 * length, with the first-stage score. Passage analyses are memoised by text, so a passage shared by
 * several lists (or analyzed again at test time) costs one analysis per process.
 */
import type { RankedList } from "../data/types";
import { DataError } from "../core/errors";
import { analyze } from "./analyzer";

/** One passage, analyzed. */
export interface AnalyzedDoc {
  docid: string;
  /** Analyzed term -> count. */
  tf: ReadonlyMap<string, number>;
  /** Number of analyzed terms (stop words removed): Lucene's field length before quantization. */
  length: number;
  /** The analyzed terms in text order (positions for proximity features). */
  terms: readonly string[];
  /** The first-stage score given with the candidate (NaN when the list has none). */
  score: number;
}

/** One query with its candidates, analyzed. */
export interface AnalyzedList {
  qid: string;
  query: string;
  /** Distinct analyzed query terms -> count in the query (qtf), in order of first occurrence. */
  queryTerms: ReadonlyMap<string, number>;
  docs: AnalyzedDoc[];
}

const passageCache = new Map<string, { tf: Map<string, number>; length: number; terms: string[] }>();
const CACHE_LIMIT = 200_000;

/** Term counts and length of one text (memoised by text). */
export function analyzeText(text: string): { tf: ReadonlyMap<string, number>; length: number; terms: readonly string[] } {
  let a = passageCache.get(text);
  if (!a) {
    const terms = analyze(text);
    const tf = new Map<string, number>();
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
    a = { tf, length: terms.length, terms };
    if (passageCache.size >= CACHE_LIMIT) passageCache.clear();
    passageCache.set(text, a);
  }
  return a;
}

/** Distinct analyzed terms of a query with their counts, in order of first occurrence. */
export function queryTermCounts(query: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of analyze(query)) out.set(t, (out.get(t) ?? 0) + 1);
  return out;
}

/** Analyze candidate lists (every candidate needs its text). */
export function analyzeLists(lists: readonly RankedList[]): AnalyzedList[] {
  return lists.map((l) => ({
    qid: l.qid,
    query: l.query,
    queryTerms: queryTermCounts(l.query),
    docs: l.candidates.map((c, i) => {
      if (typeof c.text !== "string") throw new DataError({ file: `candidates of qid ${l.qid}`, field: `candidates[${i}].text` }, "the passage text of every candidate", `no text for docid ${c.docid}`);
      const a = analyzeText(c.text);
      return { docid: c.docid, tf: a.tf, length: a.length, terms: a.terms, score: Number.isFinite(c.score) ? c.score : NaN };
    }),
  }));
}
