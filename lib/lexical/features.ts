/**
 * Lexical features of (query, candidate) pairs, an input channel of the students (each a named switch):
 *
 * - `firstStage`: the candidate's first-stage score (BM25 for the shipped lists; the lexicon's BM25 when a
 *   list has no scores, e.g. a service request);
 * - `coverage`: IDF-weighted share of the distinct query terms the passage contains, sum_{j in d} idf_j / sum_j idf_j;
 * - `proximity`: with m >= 2 distinct query terms in the passage, m / (the shortest span of analyzed
 *   positions holding all m), 0 otherwise;
 * - `bigrams`: share of the query's consecutive term pairs that occur consecutively in the passage;
 * - `saturation`: sum_j idf_j * tf_j / (tf_j + k1), BM25 without length normalisation (tf saturation);
 * - `length`: ln(1 + analyzed length);
 * - `centroid`: cosine similarity of the passage's tf-idf vector to the centroid of the list's top 10 by
 *   first-stage score (pseudo-relevance feedback);
 * - `answerType`: 1 when the query asks for a kind of answer (a duration, a quantity, a date, a definition,
 *   a person, a place: `answerTypeOf`) and the passage has a cue of it (a number with a time unit, a
 *   number, a year or month, a definitional phrase, a capitalised name, a location phrase), else 0;
 * - `earlyMatch`: 1 - (position of the first query term in the passage) / length (0 without a match);
 * - `density`: the largest IDF-weighted query coverage of any 12-term window of the passage;
 * - `repetition`: share of the passage's term trigrams that occur more than once (copied, boilerplate text).
 *
 * Every feature is standardised within its query's whole candidate list (z-scores over the list, the
 * same list at training and at test time, whatever window a teacher saw), so each says how a candidate
 * compares with the other candidates of its query. Only texts, first-stage scores and the lexicon are
 * read: no qrels, no teacher labels.
 */
import { ConfigError, show } from "../core/errors";
import { didYouMean } from "../core/names";
import type { RankedList } from "../data/types";
import type { AnalyzedList } from "./analyzed";
import { poolDf, scoreList, termIdf, type Lexicon } from "./lexicon";

/** Every feature, in the order of the feature vector. */
export const LEXICAL_FEATURES = ["firstStage", "coverage", "proximity", "bigrams", "saturation", "length", "centroid", "answerType", "earlyMatch", "density", "repetition"] as const;

/** A feature name. */
export type LexicalFeature = (typeof LEXICAL_FEATURES)[number];

/** The features "all" stands for: every one but firstStage, which is the residual student's prior itself (name it to use it as a feature, e.g. in a student without prior). */
export const DEFAULT_FEATURES: readonly LexicalFeature[] = LEXICAL_FEATURES.filter((f) => f !== "firstStage");

/** Check a list of feature names (unknown or repeated names are ConfigErrors with a did-you-mean). */
export function parseFeatureNames(names: readonly string[], where = "features"): LexicalFeature[] {
  const seen = new Set<string>();
  return names.map((n) => {
    if (!(LEXICAL_FEATURES as readonly string[]).includes(n)) {
      throw new ConfigError(`${where}: unknown feature ${show(n)}; expected some of ${LEXICAL_FEATURES.join(", ")}${didYouMean(n, LEXICAL_FEATURES)}`);
    }
    if (seen.has(n)) throw new ConfigError(`${where}: feature ${show(n)} listed twice`);
    seen.add(n);
    return n as LexicalFeature;
  });
}

/** Kinds of answer a query asks for (answerTypeOf). */
export type AnswerType = "duration" | "quantity" | "date" | "definition" | "person" | "place" | null;

/** The kind of answer a question asks for, from its wording (English); null when none is recognised. */
export function answerTypeOf(query: string): AnswerType {
  const q = query.toLowerCase().trim();
  if (/\bhow long\b/.test(q)) return "duration";
  if (/\b(when|what year|what date|what time|what day)\b/.test(q)) return "date";
  if (/\bhow (much|many|far|big|tall|old|heavy|fast|hot|cold|deep|high|wide|large|often)\b|\b(cost|price|salary|population|number of|average|percent|rate|temperature|calories|weigh)\b/.test(q)) return "quantity";
  if (/^who\b|\bwho (is|was|were|are)\b/.test(q)) return "person";
  if (/^where\b|\bwhere (is|are|was|do|does)\b/.test(q)) return "place";
  if (/^(what is|what are|what's|what was|define|definition|meaning)\b|\bwhat does .* mean\b|\bis defined\b/.test(q)) return "definition";
  return null;
}

const TIME_UNITS = new Set(["second", "minut", "hour", "dai", "week", "month", "year", "decad", "centuri", "night", "hr", "min", "sec", "yr"]);
const MONTHS = /\b(january|february|march|april|may|june|july|august|september|october|november|december)\b/i;

/** Whether a passage (raw text and analyzed terms) carries a cue for an answer type. */
export function hasAnswerCue(type: AnswerType, text: string, terms: readonly string[]): boolean {
  const number = terms.some((t) => /^\p{N}/u.test(t)) || /\d/.test(text);
  switch (type) {
    case "duration": return number && terms.some((t) => TIME_UNITS.has(t));
    case "quantity": return number;
    case "date": return /\b(1[0-9]{3}|20[0-9]{2})\b/.test(text) || MONTHS.test(text);
    case "definition": return /\b(is|are) (a|an|the)\b|\brefers? to\b|\bdefined as\b|\bmeans?\b|\bis (a )?(term|name|type|kind) (for|of)\b/i.test(text);
    case "person": return /[a-z,;]\s+[A-Z][a-z]+\s+[A-Z][a-z]+/.test(text);
    case "place": return /\blocated\b|\bin [A-Z][a-z]+|\b(city|county|state|country|region|island|river|mountain)\b/i.test(text);
    default: return false;
  }
}

/** Features of every candidate of one list, before standardisation: rows in candidate order, columns in `names` order. */
export function rawFeatures(lex: Lexicon, list: AnalyzedList, texts: readonly string[], names: readonly LexicalFeature[] = LEXICAL_FEATURES, topK = 10): number[][] {
  const pool = poolDf(list.docs, lex.corpus);
  const terms = [...list.queryTerms.keys()];
  const idf = new Map(terms.map((t) => [t, termIdf(lex, t, pool)]));
  const idfSum = terms.reduce((s, t) => s + (idf.get(t) as number), 0);
  const scores = list.docs.map((d) => d.score);
  const hasScores = scores.every((s) => Number.isFinite(s));
  const first = names.includes("firstStage") ? (hasScores ? scores : scoreList(lex, list, pool)) : [];
  const type = names.includes("answerType") ? answerTypeOf(list.query) : null;
  // query bigrams of consecutive analyzed query terms (in query order, repeats kept once)
  const qSeq = analyzedQuerySequence(list);
  const bigrams = new Set<string>();
  for (let i = 0; i + 1 < qSeq.length; i++) bigrams.add(`${qSeq[i]} ${qSeq[i + 1]}`);
  const centroid = names.includes("centroid") ? listCentroid(lex, list, pool, hasScores ? scores : first, topK) : null;
  return list.docs.map((d, i) => names.map((n): number => {
    switch (n) {
      case "firstStage": return first[i];
      case "coverage": return idfSum > 0 ? terms.reduce((s, t) => s + (d.tf.has(t) ? (idf.get(t) as number) : 0), 0) / idfSum : 0;
      case "proximity": return proximity(d.terms, new Set(terms.filter((t) => d.tf.has(t))));
      case "bigrams": {
        if (bigrams.size === 0) return 0;
        const seen = new Set<string>();
        for (let k = 0; k + 1 < d.terms.length; k++) {
          const bg = `${d.terms[k]} ${d.terms[k + 1]}`;
          if (bigrams.has(bg)) seen.add(bg);
        }
        return seen.size / bigrams.size;
      }
      case "saturation": return terms.reduce((s, t) => { const f = d.tf.get(t) ?? 0; return s + (f > 0 ? (idf.get(t) as number) * f / (f + lex.k1) : 0); }, 0);
      case "length": return Math.log1p(d.length);
      case "centroid": return centroid ? cosine(tfidf(lex, d.tf, pool), centroid) : 0;
      case "answerType": return type !== null && hasAnswerCue(type, texts[i] ?? "", d.terms) ? 1 : 0;
      case "earlyMatch": {
        const k = d.terms.findIndex((t) => idf.has(t));
        return k < 0 ? 0 : 1 - k / Math.max(d.terms.length, 1);
      }
      case "density": return idfSum > 0 ? windowCoverage(d.terms, idf, 12) / idfSum : 0;
      case "repetition": return repetition(d.terms);
    }
  }));
}

/** Standardised features of one list (z-scores per column over the list; constant columns give 0). */
export function listFeatures(lex: Lexicon, list: AnalyzedList, texts: readonly string[], names: readonly LexicalFeature[] = LEXICAL_FEATURES): number[][] {
  const raw = rawFeatures(lex, list, texts, names);
  const n = raw.length;
  for (let j = 0; j < names.length; j++) {
    const mean = raw.reduce((s, r) => s + r[j], 0) / Math.max(n, 1);
    const sd = Math.sqrt(raw.reduce((s, r) => s + (r[j] - mean) ** 2, 0) / Math.max(n, 1));
    for (const r of raw) r[j] = sd > 1e-12 ? (r[j] - mean) / sd : 0;
  }
  return raw;
}

/** Standardised features of every candidate of every list, by qid then docid. */
export function featureTable(lex: Lexicon, lists: readonly RankedList[], analyzed: readonly AnalyzedList[], names: readonly LexicalFeature[] = LEXICAL_FEATURES): Map<string, Map<string, Float32Array>> {
  const out = new Map<string, Map<string, Float32Array>>();
  lists.forEach((l, i) => {
    const rows = listFeatures(lex, analyzed[i], l.candidates.map((c) => c.text ?? ""), names);
    out.set(l.qid, new Map(l.candidates.map((c, k) => [c.docid, Float32Array.from(rows[k])])));
  });
  return out;
}

function analyzedQuerySequence(list: AnalyzedList): string[] {
  // the query's terms in order (queryTerms keeps first occurrences; a repeated term appears once)
  return [...list.queryTerms.keys()];
}

/** m / shortest span holding every term of `want` (m = |want| >= 2), else 0. */
export function proximity(terms: readonly string[], want: ReadonlySet<string>): number {
  const m = want.size;
  if (m < 2) return 0;
  const count = new Map<string, number>();
  let have = 0, best = Infinity, lo = 0;
  for (let hi = 0; hi < terms.length; hi++) {
    const t = terms[hi];
    if (!want.has(t)) continue;
    const c = (count.get(t) ?? 0) + 1;
    count.set(t, c);
    if (c === 1) have++;
    while (have === m) {
      best = Math.min(best, hi - lo + 1);
      const u = terms[lo++];
      if (!want.has(u)) continue;
      const cu = (count.get(u) as number) - 1;
      count.set(u, cu);
      if (cu === 0) have--;
    }
  }
  return Number.isFinite(best) ? m / best : 0;
}

/** The largest sum of idf over the distinct query terms inside any window of `w` consecutive terms. */
export function windowCoverage(terms: readonly string[], idf: ReadonlyMap<string, number>, w: number): number {
  let best = 0;
  const count = new Map<string, number>();
  let sum = 0;
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i];
    if (idf.has(t)) { const c = (count.get(t) ?? 0) + 1; count.set(t, c); if (c === 1) sum += idf.get(t) as number; }
    const out = i - w;
    if (out >= 0 && idf.has(terms[out])) { const u = terms[out]; const c = (count.get(u) as number) - 1; count.set(u, c); if (c === 0) sum -= idf.get(u) as number; }
    if (sum > best) best = sum;
  }
  return best;
}

/** Share of term trigrams that occur more than once in the sequence. */
export function repetition(terms: readonly string[]): number {
  if (terms.length < 3) return 0;
  const seen = new Map<string, number>();
  for (let i = 0; i + 2 < terms.length; i++) { const k = `${terms[i]} ${terms[i + 1]} ${terms[i + 2]}`; seen.set(k, (seen.get(k) ?? 0) + 1); }
  let rep = 0;
  for (const c of seen.values()) if (c > 1) rep += c;
  return rep / (terms.length - 2);
}

function tfidf(lex: Lexicon, tf: ReadonlyMap<string, number>, pool: ReturnType<typeof poolDf>): Map<string, number> {
  const v = new Map<string, number>();
  for (const [t, f] of tf) v.set(t, (1 + Math.log(f)) * termIdf(lex, t, pool));
  return v;
}

function listCentroid(lex: Lexicon, list: AnalyzedList, pool: ReturnType<typeof poolDf>, scores: readonly number[], k: number): Map<string, number> {
  const top = list.docs.map((d, i) => ({ d, s: scores[i], i })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, k);
  const c = new Map<string, number>();
  for (const { d } of top) {
    const v = tfidf(lex, d.tf, pool);
    const norm = Math.sqrt([...v.values()].reduce((s, x) => s + x * x, 0)) || 1;
    for (const [t, x] of v) c.set(t, (c.get(t) ?? 0) + x / norm / top.length);
  }
  return c;
}

function cosine(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let dot = 0, na = 0, nb = 0;
  for (const [t, x] of a) { na += x * x; const y = b.get(t); if (y !== undefined) dot += x * y; }
  for (const y of b.values()) nb += y * y;
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
