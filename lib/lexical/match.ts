/**
 * Which words of a query-passage pair match, on the analyzer's terms (the same analyzer on both sides:
 * possessives stripped, Lucene's stop words dropped, Porter stems), word by word, so that token-level
 * signals (the match channel, Token Selection, the TCL) line up with the packed pair's `wordIds`.
 *
 * Words are the whitespace words of the BERT-normalised text (tokenize/normalize.ts `normalizedWords`,
 * the words `wordIds` index). Each is analyzed on its own; a passage word matches when one of its terms
 * is a query term, and its match key is that term (the rarest one, by idf, when it carries several). A
 * query word's key is its rarest term; a stop word has none. Keys let whole-word Token Selection
 * (models/token-selection.ts) run unchanged on stems: "fleas" and "flea" share the key "flea".
 */
import { normalizedWords } from "../tokenize/normalize";
import { analyze } from "./analyzer";

/** Key of a word that matches nothing (never equal to a term). */
export const NO_QUERY_KEY = "\u0001q";
/** Key of a passage word that matches no query term. */
export const NO_PASSAGE_KEY = "\u0001p";

/** The matching of one query-passage pair. */
export interface PairMatch {
  /** Distinct analyzed query terms in order of first occurrence, with their counts (qtf). */
  terms: string[];
  qtf: number[];
  /** idf of each term (the caller's lookup). */
  idf: number[];
  /** Per normalised query word: its key (its rarest term) or NO_QUERY_KEY. */
  queryKeys: string[];
  /** Per normalised passage word: the query term it matches (the rarest) or NO_PASSAGE_KEY. */
  passageKeys: string[];
  /** Per normalised passage word: occurrences of each query term it carries, as [term index, count] pairs. */
  passageCounts: Array<Array<[number, number]>>;
  /** Analyzed length of the passage (sum over its words). */
  length: number;
}

const wordCache = new Map<string, string[]>();

/** The analyzer's terms of one normalised word (memoised). */
export function wordTerms(word: string): string[] {
  let t = wordCache.get(word);
  if (!t) {
    t = analyze(word);
    if (wordCache.size > 500_000) wordCache.clear();
    wordCache.set(word, t);
  }
  return t;
}

/** Match a query and a passage word by word; `idfOf` gives a query term's idf. */
export function matchPair(query: string, passage: string, idfOf: (term: string) => number): PairMatch {
  const qWords = normalizedWords(query);
  const terms: string[] = [], qtf: number[] = [];
  const index = new Map<string, number>();
  const queryKeys = qWords.map((w) => {
    const ts = wordTerms(w);
    for (const t of ts) {
      const j = index.get(t);
      if (j === undefined) { index.set(t, terms.length); terms.push(t); qtf.push(1); } else qtf[j]++;
    }
    return ts.length ? ts[0] : NO_QUERY_KEY;
  });
  const idf = terms.map(idfOf);
  const rarest = (ts: readonly string[]): string | null => {
    let best: string | null = null, bi = -Infinity;
    for (const t of ts) {
      const j = index.get(t);
      if (j !== undefined && idf[j] > bi) { best = t; bi = idf[j]; }
    }
    return best;
  };
  for (let i = 0; i < qWords.length; i++) queryKeys[i] = rarest(wordTerms(qWords[i])) ?? NO_QUERY_KEY;
  let length = 0;
  const passageKeys: string[] = [];
  const passageCounts: Array<Array<[number, number]>> = [];
  for (const w of normalizedWords(passage)) {
    const ts = wordTerms(w);
    length += ts.length;
    const counts: Array<[number, number]> = [];
    for (const t of ts) {
      const j = index.get(t);
      if (j === undefined) continue;
      const c = counts.find((x) => x[0] === j);
      if (c) c[1]++;
      else counts.push([j, 1]);
    }
    passageCounts.push(counts);
    passageKeys.push(counts.length ? (rarest(ts) as string) : NO_PASSAGE_KEY);
  }
  return { terms, qtf, idf, queryKeys, passageKeys, passageCounts, length };
}
