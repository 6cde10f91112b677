/**
 * Training batches from label targets. One labelled window becomes one query group of `groupSize`
 * slots: the window's documents with their graded gains (labels/convert.ts, the only place labels are
 * converted), padded with label -1; teacher-missing documents are flagged as hard negatives (RankNet
 * up-weights listed > missing pairs). Each slot also carries its candidate's z-scored first-stage score
 * (the residual student's prior) and lexical features (lexical-inputs.ts), computed over the query's whole
 * candidate list. Groups are shuffled per epoch with deriveSeed(seed, `epoch-${e}`) and cut into batches
 * of `groupsPerBatch`; each batch is packed `[CLS] q [SEP] d [SEP]` row by row (group-major: row =
 * group * groupSize + slot), with the match channel, Token Selection and TCL term arrays when asked.
 *
 * Matching is on the analyzer's terms (lexical/match.ts: stems, stop words dropped, the same analyzer on
 * both sides), word by word, so "fleas" matches "flea"; idf comes from the lexicon.
 */
import { ShapeError } from "../core/errors";
import { createRng, deriveSeed } from "../core/rng";
import type { Dataset } from "../data/types";
import { windowTargets, type TargetForm } from "../labels/convert";
import type { MissingPolicy } from "../labels/parse";
import { termIdf, type Lexicon } from "../lexical/lexicon";
import { lengthNorm } from "../lexical/lucene";
import { matchPair, type PairMatch } from "../lexical/match";
import { computeTokenSelection, packSelections, type TokenSelection } from "../models/token-selection";
import type { EncoderBatch, TermArrays } from "../models/types";
import type { WindowRecord } from "../store/labels";
import { packBatch } from "../tokenize/pack";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";
import { zScores } from "../eval/fusion";
import type { ListInputs } from "./lexical-inputs";

/** One training list: a window's documents with their targets, padded to the group size. */
export interface QueryGroup {
  qid: string;
  windowId: string;
  query: string;
  /** Passage texts per slot ("" for padded slots). [groupSize] */
  passages: string[];
  /** Docids per slot ("" for padded slots). [groupSize] */
  docids: string[];
  /** Graded gain per slot; -1 = padding. [groupSize] */
  labels: number[];
  /** 1 for teacher-missing documents (hard negatives), else 0. [groupSize] */
  hardNegative: number[];
  /** z-score of each slot's first-stage score within its query's candidate list (0 for padded slots). [groupSize] */
  firstStage: number[];
  /** Standardised lexical features per slot (zeros for padded slots). [groupSize][F] */
  features: Float32Array[];
  /** idf of this query's terms (the lexicon, the query's pool left out); absent without a lexicon. */
  idf?: (term: string) => number;
}

/** A packed batch of groups. */
export interface TrainBatch {
  encoder: EncoderBatch;
  /** [groups, groupSize] row-major, -1 = padding. */
  labels: Float32Array;
  /** [groups, groupSize] row-major. */
  hardNegative: Float32Array;
  /** [groups, groupSize] row-major: first-stage z-scores (QueryGroup.firstStage). */
  firstStage: Float32Array;
  /** [groups * groupSize, F] row-major lexical features. */
  features: Float32Array;
  /** Features per row F. */
  featureCount: number;
  groups: number;
  groupSize: number;
}

/** A query-passage pair to pack, with the idf of its query's terms. */
export interface PairInput {
  query: string;
  passage: string;
  /** idf of a query term; default: the lexicon's (no pool left out), or 1 without a lexicon. */
  idf?: (term: string) => number;
}

/** Options of packing a batch. */
export interface PackGroupsOptions {
  /** Sequence length of the packed pairs (tokens). */
  maxLength: number;
  /** Token Selection mode, or null when the TCL is off (no selection arrays). */
  tokenSelection: string | null;
  /** Collection statistics: idf of matched words and, for TCL term arrays, BM25's k1, b and avgdl. */
  lexicon?: Lexicon | null;
  /** "max" (default): rows of maxLength tokens; "longest": padded to the batch's longest row (inference). */
  padTo?: "max" | "longest";
  /**
   * Exact-match channel: token types 2 (query token whose word shares a term with the passage) and 3
   * (passage token whose word carries a query term) instead of 0 / 1, so the encoder sees lexical matches
   * as an input (needs typeVocabSize 4). Used at training and inference alike. Default false.
   */
  matchChannel?: boolean;
  /**
   * With the match channel: also bucket each matched word by its idf (MATCH_IDF_EDGES), token type = side
   * + 2 * (1 + bucket), so the encoder sees how rare each match is (needs typeVocabSize matchTypeVocab(true)).
   * Default false.
   */
  matchIdf?: boolean;
  /** Fill the TCL v3 term arrays (batch.terms). Default false. */
  termArrays?: boolean;
  /** Query term slots of the term arrays (longer queries keep their rarest terms). Default 16. */
  maxTerms?: number;
}

/** Token types of the exact-match channel: side + 2 * matched (0 query, 1 passage, 2 matched query, 3 matched passage). */
export const MATCH_TYPE_VOCAB = 4;

/**
 * IDF bucket edges of the IDF-bucketed match channel, on the collection's idf scale (Lucene's idf over
 * the 8.8M MS MARCO passages): < 3.5 (question words such as "what", "how"), [3.5, 5.5) (common words),
 * [5.5, 7.5) (topical words), >= 7.5 (rare words and names).
 */
export const MATCH_IDF_EDGES: readonly number[] = [3.5, 5.5, 7.5];

/** Token type vocabulary of the match channel: 4 without IDF buckets, 2 + 2 * buckets with them. */
export function matchTypeVocab(idfBuckets: boolean): number {
  return idfBuckets ? 2 + 2 * (MATCH_IDF_EDGES.length + 1) : MATCH_TYPE_VOCAB;
}

/** The IDF bucket of a word's idf (0 .. MATCH_IDF_EDGES.length). */
export function idfBucket(idf: number): number {
  let b = 0;
  while (b < MATCH_IDF_EDGES.length && idf >= MATCH_IDF_EDGES[b]) b++;
  return b;
}

/** Options of buildGroups. */
export interface BuildGroupsOptions {
  /** Per-list inputs (lexical-inputs.ts): first-stage z-scores, features and idf. Default: none (zeros). */
  inputs?: ReadonlyMap<string, ListInputs>;
  /** How teacher ranks become gains. Default linear. */
  targets?: TargetForm;
}

/**
 * One group per window. Documents whose text is unknown are skipped; windows with fewer than two
 * documents left are dropped. A window larger than `groupSize` keeps its first `groupSize` targets
 * (listed documents by teacher rank, then hard negatives).
 */
export function buildGroups(windows: readonly WindowRecord[], dataset: Dataset, policy: MissingPolicy, groupSize: number, options: BuildGroupsOptions = {}): QueryGroup[] {
  if (!Number.isInteger(groupSize) || groupSize < 2) throw new ShapeError(`buildGroups: groupSize must be an integer >= 2, got ${groupSize}`);
  const queries = new Map(dataset.queries.map((q) => [q.qid, q.text]));
  // without inputs, the first stage still gives its z-scores (over each query's whole list)
  const ownZ = new Map<string, Map<string, number>>();
  if (!options.inputs) for (const l of dataset.lists) {
    const z = zScores(l.candidates.map((c) => c.score));
    ownZ.set(l.qid, new Map(l.candidates.map((c, i) => [c.docid, z[i]])));
  }
  const groups: QueryGroup[] = [];
  for (const w of windows) {
    const query = queries.get(w.qid);
    if (query === undefined) continue;
    const targets = windowTargets(w, policy, options.targets).filter((t) => dataset.passages.has(t.docid)).slice(0, groupSize);
    if (targets.length < 2) continue;
    const inputs = options.inputs?.get(w.qid);
    const zs = inputs?.firstStage ?? ownZ.get(w.qid);
    const floor = zs && zs.size ? Math.min(...zs.values()) : 0;
    const F = inputs ? (inputs.features.values().next().value?.length ?? 0) : 0;
    const g: QueryGroup = { qid: w.qid, windowId: w.windowId, query, passages: [], docids: [], labels: [], hardNegative: [], firstStage: [], features: [], idf: inputs?.idf };
    for (let i = 0; i < groupSize; i++) {
      const t = targets[i];
      g.passages.push(t ? (dataset.passages.get(t.docid)?.text ?? "") : "");
      g.docids.push(t ? t.docid : "");
      g.labels.push(t ? t.gain : -1);
      g.hardNegative.push(t && t.hardNegative ? 1 : 0);
      g.firstStage.push(t ? (zs?.get(t.docid) ?? floor) : 0);
      g.features.push((t && inputs?.features.get(t.docid)) || new Float32Array(F));
    }
    groups.push(g);
  }
  return groups;
}

/** The group order of epoch `epoch` (0-based): a seeded permutation of 0..n-1. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  return createRng(deriveSeed(seed, `epoch-${epoch}`)).shuffle(Array.from({ length: n }, (_, i) => i));
}

/** Batches of group indices for one epoch (the last batch may be smaller). */
export function epochBatches(n: number, seed: number, epoch: number, groupsPerBatch: number): number[][] {
  const order = epochOrder(n, seed, epoch);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += groupsPerBatch) out.push(order.slice(i, i + groupsPerBatch));
  return out;
}

const punctuationCache = new WeakMap<WordPieceTokenizer, Set<number>>();

/** Ids of the vocabulary's punctuation-only tokens ("," "##." ...), memoised per tokenizer. */
export function punctuationIds(tokenizer: WordPieceTokenizer): Set<number> {
  let ids = punctuationCache.get(tokenizer);
  if (!ids) {
    ids = new Set<number>();
    tokenizer.idToToken.forEach((t, id) => { if (/^[\p{P}\p{S}]+$/u.test(t.replace(/^##/, ""))) ids?.add(id); });
    punctuationCache.set(tokenizer, ids);
  }
  return ids;
}

/** The idf lookup of a pair: its own, else the lexicon's, else 1. */
function pairIdf(pair: PairInput, lexicon: Lexicon | null | undefined): (term: string) => number {
  if (pair.idf) return pair.idf;
  if (lexicon) return (t) => termIdf(lexicon, t);
  return () => 1;
}

/** Pack query-passage pairs (and, with a mode, their Token Selection, match channel and TCL term arrays) into an EncoderBatch. */
export function packPairs(tokenizer: WordPieceTokenizer, pairs: readonly PairInput[], options: PackGroupsOptions): EncoderBatch {
  const packed = packBatch(tokenizer, pairs, { maxLength: options.maxLength, padTo: options.padTo ?? "max" });
  const [B, T] = packed.shape;
  const batch: EncoderBatch = { inputIds: packed.inputIds, tokenTypeIds: packed.tokenTypeIds, attentionMask: packed.attentionMask, batch: B, seqLen: T };
  if (options.tokenSelection === null && !options.matchChannel && !options.termArrays) return batch;
  const matches: PairMatch[] = pairs.map((p) => matchPair(p.query, p.passage, pairIdf(p, options.lexicon)));
  const input = (b: number) => {
    const m = matches[b];
    return {
      wordIds: packed.wordIds.subarray(b * T, (b + 1) * T), sideIds: packed.tokenTypeIds.subarray(b * T, (b + 1) * T),
      queryWords: m.queryKeys, passageWords: m.passageKeys,
      idf: new Map(m.terms.map((t, j) => [t, m.idf[j]])), defaultIdf: 0,
    };
  };
  // a matched word's punctuation pieces ("nicholas," -> nicholas + ",") are not term tokens: never selected, never marked
  const punct = punctuationIds(tokenizer);
  const dropPunctuation = (mask: Float32Array, b: number): Float32Array => {
    for (let i = 0; i < T; i++) if (mask[i] !== 0 && punct.has(packed.inputIds[b * T + i])) mask[i] = 0;
    return mask;
  };
  if (options.tokenSelection !== null) {
    const sels: TokenSelection[] = pairs.map((_, b) => {
      const sel = computeTokenSelection(input(b), options.tokenSelection as string);
      dropPunctuation(sel.mask, b);
      sel.mask.forEach((m, i) => { if (m === 0) sel.idf[i] = 0; });
      return sel;
    });
    batch.selection = packSelections(sels, T);
  }
  if (options.matchChannel) {
    const types = Int32Array.from(packed.tokenTypeIds);
    for (let b = 0; b < B; b++) {
      const sel = computeTokenSelection(input(b), "exact+query");
      const m = dropPunctuation(sel.mask, b);
      for (let i = 0; i < T; i++) if (m[i] === 1) types[b * T + i] += options.matchIdf ? 2 * (1 + idfBucket(sel.idf[i])) : 2;
    }
    batch.tokenTypeIds = types;
  }
  if (options.termArrays) batch.terms = termArrays(packed.wordIds, packed.tokenTypeIds, packed.inputIds, punct, matches, B, T, options);
  return batch;
}

/**
 * TCL v3 term arrays: per row, the query's analyzed terms (at most maxTerms, the rarest kept) with
 * weight qtf * idf; per passage token that starts a matched word (its first non-punctuation piece), the
 * occurrences of each term in that word; occurrences in words cut off by truncation; and the passage's
 * BM25 length normaliser over its whole analyzed length.
 */
function termArrays(wordIds: Int32Array, sides: Int32Array, ids: Int32Array, punct: ReadonlySet<number>, matches: readonly PairMatch[], B: number, T: number, options: PackGroupsOptions): TermArrays {
  const lex = options.lexicon;
  if (!lex) throw new ShapeError("packPairs: TCL term arrays need a lexicon (BM25's k1, b, avgdl and idf)");
  const J = Math.max(1, Math.min(options.maxTerms ?? 16, Math.max(...matches.map((m) => m.terms.length), 1)));
  const counts = new Float32Array(B * T * J), extra = new Float32Array(B * J), weight = new Float32Array(B * J), norm = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const m = matches[b];
    // the J rarest terms keep a slot (in query order)
    const keep = m.terms.map((_, j) => j).sort((x, y) => m.idf[y] - m.idf[x] || x - y).slice(0, J).sort((x, y) => x - y);
    const slot = new Map(keep.map((j, s) => [j, s]));
    keep.forEach((j, s) => { weight[b * J + s] = m.qtf[j] * m.idf[j]; });
    norm[b] = lengthNorm(m.length, lex);
    const seen = new Set<number>();
    for (let i = 0; i < T; i++) {
      const w = wordIds[b * T + i];
      if (w < 0 || sides[b * T + i] !== 1 || seen.has(w) || punct.has(ids[b * T + i])) continue;
      seen.add(w);
      for (const [j, c] of m.passageCounts[w] ?? []) {
        const s = slot.get(j);
        if (s !== undefined) counts[(b * T + i) * J + s] += c;
      }
    }
    m.passageCounts.forEach((cs, w) => {
      if (seen.has(w)) return;
      for (const [j, c] of cs) {
        const s = slot.get(j);
        if (s !== undefined) extra[b * J + s] += c;
      }
    });
  }
  return { counts, extra, weight, norm, terms: J };
}

/** Pack the groups at `indices` into one training batch. */
export function packGroups(tokenizer: WordPieceTokenizer, groups: readonly QueryGroup[], indices: readonly number[], options: PackGroupsOptions): TrainBatch {
  const chosen = indices.map((i) => groups[i]);
  const L = chosen[0].labels.length;
  const F = chosen[0].features[0]?.length ?? 0;
  const pairs = chosen.flatMap((g) => g.passages.map((passage) => ({ query: g.query, passage, idf: g.idf })));
  const features = new Float32Array(chosen.length * L * F);
  chosen.forEach((g, gi) => g.features.forEach((f, k) => features.set(f, (gi * L + k) * F)));
  return {
    encoder: packPairs(tokenizer, pairs, options),
    labels: Float32Array.from(chosen.flatMap((g) => g.labels)),
    hardNegative: Float32Array.from(chosen.flatMap((g) => g.hardNegative)),
    firstStage: Float32Array.from(chosen.flatMap((g) => g.firstStage)),
    features, featureCount: F,
    groups: chosen.length,
    groupSize: L,
  };
}

/** Moved to labels-file.ts (validated reading of labels.jsonl); re-exported so that imports keep working. */
export { readLabelsJsonl } from "./labels-file";
