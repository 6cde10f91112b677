/**
 * Deterministic choice of a few judged query-passage pairs that show term matching (notebook 04): a
 * relevant passage with clear term overlap, a non-relevant passage that also overlaps, and the
 * longest query's best-overlapping relevant passage. Overlap is idf-weighted: the idf share of the
 * distinct analyzed query terms (stems, stop words dropped: lexical/analyzer.ts) that occur in the
 * passage, as Token Selection and the TCL match them.
 */
import { ConfigError, show } from "../core/errors";
import type { Dataset } from "../data/types";
import { analyze } from "../lexical/analyzer";
import { termIdf, type Lexicon } from "../lexical/lexicon";
import { normalizedWords } from "../tokenize/normalize";
import type { InspectPair } from "./tcl-types";

/** A chosen pair with its provenance. */
export interface ExamplePair extends InspectPair {
  label: string;
  qid: string;
  docid: string;
  /** The NIST grade of the passage. */
  rel: number;
  /** idf-weighted share of the query's distinct words found in the passage. */
  overlap: number;
}

/** Options of selectExamplePairs. */
export interface ExamplePairOptions {
  /** Collection statistics weighing each term by its idf. Default: every term weighs 1. */
  lexicon?: Lexicon | null;
  /** Longest passage (words) considered, so the heatmap stays readable. Default 60. */
  maxPassageWords?: number;
  /** Lowest grade that counts as relevant. Default 2. */
  minRelevant?: number;
}

/** Words as Token Selection compares them: normalized, leading/trailing punctuation removed. */
function words(text: string): string[] {
  return normalizedWords(text).map((w) => w.replace(/^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu, "")).filter((w) => w !== "");
}

/** idf-weighted share of the distinct analyzed query terms that occur in the passage. */
export function termOverlap(query: string, passage: string, lexicon?: Lexicon | null): number {
  const q = [...new Set(analyze(query))];
  const p = new Set(analyze(passage));
  const weight = (t: string): number => (lexicon ? termIdf(lexicon, t) : 1);
  const total = q.reduce((a, w) => a + weight(w), 0);
  return total > 0 ? q.filter((w) => p.has(w)).reduce((a, w) => a + weight(w), 0) / total : 0;
}

/** Relevant with overlap, non-relevant with overlap, long query: three judged pairs (ties: dataset order). */
export function selectExamplePairs(dataset: Dataset, options: ExamplePairOptions = {}): ExamplePair[] {
  const { lexicon = null, maxPassageWords = 60, minRelevant = 2 } = options;
  const candidates: ExamplePair[] = [];
  for (const q of dataset.queries) {
    for (const [docid, rel] of dataset.qrels.get(q.qid) ?? new Map<string, number>()) {
      const passage = dataset.passages.get(docid)?.text;
      if (passage === undefined || words(passage).length > maxPassageWords) continue;
      candidates.push({ label: "", qid: q.qid, docid, rel, query: q.text, passage, overlap: termOverlap(q.text, passage, lexicon) });
    }
  }
  const best = (pool: ExamplePair[]): ExamplePair | undefined => pool.reduce<ExamplePair | undefined>((b, c) => (b === undefined || c.overlap > b.overlap ? c : b), undefined);
  const relevant = candidates.filter((c) => c.rel >= minRelevant);
  const longest = Math.max(...relevant.map((c) => words(c.query).length));
  const longQuery = best(relevant.filter((c) => words(c.query).length === longest));
  const rel = best(relevant.filter((c) => c.qid !== longQuery?.qid));
  const nonRel = best(candidates.filter((c) => c.rel === 0 && c.qid !== longQuery?.qid && c.qid !== rel?.qid));
  const out: ExamplePair[] = [];
  if (rel) out.push({ ...rel, label: `relevant (q${rel.qid})` });
  if (nonRel) out.push({ ...nonRel, label: `non-relevant (q${nonRel.qid})` });
  if (longQuery) out.push({ ...longQuery, label: `long query (q${longQuery.qid})` });
  if (out.length === 0) throw new ConfigError(`selectExamplePairs: no judged passage of at most ${show(maxPassageWords)} words with text in ${show(dataset.name)}`);
  return out;
}
