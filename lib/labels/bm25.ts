/**
 * BM25 over one query's candidate pool, the lower-bound pre-ranker of the label pipeline.
 *
 * Statistics (document frequency, average length, N) come from the candidates given, not from the
 * full collection, so scores differ from Pyserini's index-wide BM25 even with the same analyzer
 * (`analyze` in tokenize.ts) and the same k1 = 0.9, b = 0.4.
 *
 * Formula (Lucene's BM25Similarity, 8.0 and later), summed over the distinct query terms t:
 *   qtf(t) * idf(t) * tf / (tf + k1 * (1 - b + b * dl / avgdl)),
 *   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)),
 * where tf is the term's count in the document, dl the document's length in terms, qtf the term's
 * count in the query (Anserini's bag-of-words query boosts a repeated term by its count).
 * Lucene 8 dropped the classic `(k1 + 1)` factor of the numerator (LUCENE-8563). We drop it too so
 * that scores are on Anserini's scale; it multiplies every term's contribution, hence every
 * document's score, by the same constant, so the ranking is unchanged either way.
 * Unlike Lucene, document lengths are exact (Lucene stores them lossily in one byte).
 */
import { ConfigError, DataError, show } from "../core/errors";
import type { Candidate, RankedList } from "../data/types";
import { analyze } from "../lexical/analyzer";
import { bm25Idf } from "../lexical/lucene";

/** BM25 parameters. */
export interface Bm25Config {
  /** Term-frequency saturation; 0 makes tf binary. Default 0.9 (Anserini's MS MARCO setting). */
  k1: number;
  /** Length normalization in [0, 1]; 0 ignores length. Default 0.4 (Anserini's MS MARCO setting). */
  b: number;
}

/** Default BM25 parameters: Pyserini/Anserini's for MS MARCO passage (k1 = 0.9, b = 0.4). */
export const BM25_DEFAULTS: Readonly<Bm25Config> = Object.freeze({ k1: 0.9, b: 0.4 });

/** A document of the pool, analyzed. */
export interface Bm25Doc {
  docid: string;
  /** Term -> count in the document. */
  termFreqs: Map<string, number>;
  /** Number of terms after analysis. */
  length: number;
}

/** An in-memory BM25 index over one pool of documents. */
export interface Bm25Index {
  config: Readonly<Bm25Config>;
  docs: Bm25Doc[];
  /** Term -> number of pool documents containing it. */
  docFreqs: Map<string, number>;
  /** Mean document length in terms over the pool (0 for an empty pool). */
  avgLength: number;
}

/** Check a BM25 config: known keys only, finite k1 >= 0, b in [0, 1]. Returns a frozen copy. */
export function checkBm25Config(config: Bm25Config): Readonly<Bm25Config> {
  const unknown = Object.keys(config).filter((key) => key !== "k1" && key !== "b");
  if (unknown.length) throw new ConfigError(`bm25: unknown option ${unknown.map((u) => show(u)).join(", ")}; expected k1, b`);
  const { k1, b } = config;
  if (typeof k1 !== "number" || !Number.isFinite(k1) || k1 < 0) throw new ConfigError(`bm25: k1 must be a finite number >= 0, got ${show(k1)}`);
  if (typeof b !== "number" || !(b >= 0 && b <= 1)) throw new ConfigError(`bm25: b must be a number in [0, 1], got ${show(b)}`);
  return Object.freeze({ k1, b });
}

/** Build a BM25 index over `docs` (one query's candidates): statistics are over this pool only. */
export function createBm25Index(docs: ReadonlyArray<{ docid: string; text: string }>, config: Bm25Config = BM25_DEFAULTS): Bm25Index {
  const resolved = checkBm25Config(config);
  const seen = new Set<string>();
  const docFreqs = new Map<string, number>();
  let totalLength = 0;
  const indexed = docs.map((d, i): Bm25Doc => {
    if (seen.has(d.docid)) throw new DataError({ file: "createBm25Index", field: `docs[${i}].docid` }, "each docid once per pool", `docid ${show(d.docid)} again`);
    seen.add(d.docid);
    const terms = analyze(d.text);
    const termFreqs = new Map<string, number>();
    for (const t of terms) termFreqs.set(t, (termFreqs.get(t) ?? 0) + 1);
    for (const t of termFreqs.keys()) docFreqs.set(t, (docFreqs.get(t) ?? 0) + 1);
    totalLength += terms.length;
    return { docid: d.docid, termFreqs, length: terms.length };
  });
  return { config: resolved, docs: indexed, docFreqs, avgLength: indexed.length ? totalLength / indexed.length : 0 };
}

export { bm25Idf };

/** Score every document of the index for a query: docid -> BM25 score (0 when no term matches). */
export function scoreBm25(index: Bm25Index, queryText: string): Map<string, number> {
  const { k1, b } = index.config;
  const queryTfs = new Map<string, number>();
  for (const t of analyze(queryText)) queryTfs.set(t, (queryTfs.get(t) ?? 0) + 1);
  const n = index.docs.length;
  const idfs = new Map<string, number>();
  for (const t of queryTfs.keys()) {
    const df = index.docFreqs.get(t);
    if (df !== undefined) idfs.set(t, bm25Idf(n, df));
  }
  const scores = new Map<string, number>();
  for (const doc of index.docs) {
    // avgLength is 0 only when every document is empty; then no term matches and the norm is unused.
    const norm = k1 * (1 - b + (index.avgLength > 0 ? (b * doc.length) / index.avgLength : 0));
    let score = 0;
    for (const [t, idf] of idfs) {
      const tf = doc.termFreqs.get(t);
      if (tf !== undefined) score += (queryTfs.get(t) as number) * idf * (tf / (tf + norm));
    }
    scores.set(doc.docid, score);
  }
  return scores;
}

/**
 * Re-rank a list by BM25 over its own candidates: copies of the candidates with `score` = BM25 score
 * and `rank` = new 1-based rank, best first; ties keep the original order (by `rank`, then position).
 * Every candidate needs its `text`.
 */
export function bm25PreRank(list: RankedList, config: Bm25Config = BM25_DEFAULTS): Candidate[] {
  const docs = list.candidates.map((c, i) => {
    if (typeof c.text !== "string") {
      throw new DataError({ file: `bm25PreRank (qid ${list.qid})`, field: `candidates[${i}].text` }, "the passage text of every candidate", `no text for docid ${c.docid}`, "load the candidates with their text (loadDataset does)");
    }
    return { docid: c.docid, text: c.text };
  });
  const scores = scoreBm25(createBm25Index(docs, config), list.query);
  return list.candidates
    .map((c, position) => ({ c, position, score: scores.get(c.docid) as number }))
    .sort((x, y) => y.score - x.score || x.c.rank - y.c.rank || x.position - y.position)
    .map(({ c, score }, i) => ({ ...c, score, rank: i + 1 }));
}

/**
 * A pre-ranker orders one query's candidates before window selection: BM25 over the pool, the
 * first-stage order, or later any trained student (hence the optional Promise).
 */
export type PreRanker = (list: RankedList) => Promise<Candidate[]> | Candidate[];

/** The BM25-over-the-pool pre-ranker with the given parameters. */
export function bm25PreRanker(config: Bm25Config = BM25_DEFAULTS): PreRanker {
  const resolved = checkBm25Config(config);
  return (list) => bm25PreRank(list, resolved);
}

/** Keep the first-stage order as given (copies of the candidates, scores and ranks untouched). */
export const firstStagePreRanker: PreRanker = (list) => list.candidates.map((c) => ({ ...c }));
