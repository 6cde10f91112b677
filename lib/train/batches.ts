/**
 * Training batches from label targets. One labelled window becomes one query group of `groupSize`
 * slots: the window's documents with their graded gains (labels/convert.ts, the only place labels are
 * converted), padded with label -1; teacher-missing documents are flagged as hard negatives (RankNet
 * up-weights listed > missing pairs). Groups are shuffled per epoch with deriveSeed(seed, `epoch-${e}`)
 * and cut into batches of `groupsPerBatch`; each batch is packed `[CLS] q [SEP] d [SEP]` row by row
 * (group-major: row = group * groupSize + slot), with Token Selection arrays when the TCL is on.
 */
import { ShapeError } from "../core/errors";
import { createRng, deriveSeed } from "../core/rng";
import type { Dataset } from "../data/types";
import { zScores } from "../eval/fusion";
import { windowTargets } from "../labels/convert";
import type { MissingPolicy } from "../labels/parse";
import { computeTokenSelection, packSelections, type TokenSelection } from "../models/token-selection";
import type { EncoderBatch } from "../models/types";
import type { WindowRecord } from "../store/labels";
import { normalizedWords } from "../tokenize/normalize";
import { packBatch } from "../tokenize/pack";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";

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
  groups: number;
  groupSize: number;
}

/** Options of packing a batch. */
export interface PackGroupsOptions {
  /** Sequence length of the packed pairs (tokens). */
  maxLength: number;
  /** Token Selection mode, or null when the TCL is off (no selection arrays). */
  tokenSelection: string | null;
  /** IDF per normalized word for Token Selection. */
  idf?: ReadonlyMap<string, number>;
  /** "max" (default): rows of maxLength tokens; "longest": padded to the batch's longest row (inference). */
  padTo?: "max" | "longest";
  /**
   * Exact-match channel: token types 2 (query token whose whole word occurs in the passage) and 3 (passage
   * token whose whole word occurs in the query) instead of 0 / 1, so the encoder sees lexical matches as an
   * input (needs typeVocabSize 4). Used at training and inference alike. Default false.
   */
  matchChannel?: boolean;
  /**
   * With the match channel: also bucket each matched word by its IDF (this map; unseen words get unseenIdf),
   * token type = side + 2 * (1 + bucket) with the buckets of MATCH_IDF_EDGES, so the encoder sees how rare
   * each match is (needs typeVocabSize matchTypeVocab(true)). Default null (one matched type per side).
   */
  matchIdf?: ReadonlyMap<string, number> | null;
}

/** Token types of the exact-match channel: side + 2 * matched (0 query, 1 passage, 2 matched query, 3 matched passage). */
export const MATCH_TYPE_VOCAB = 4;

/** IDF bucket edges of the IDF-bucketed match channel (idf = ln(1 + N / df)): < 2, [2, 4), [4, 6), >= 6. */
export const MATCH_IDF_EDGES: readonly number[] = [2, 4, 6];

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

/**
 * One group per window. Documents whose text is unknown are skipped; windows with fewer than two
 * documents left are dropped. A window larger than `groupSize` keeps its first `groupSize` targets
 * (listed documents by teacher rank, then hard negatives).
 */
export function buildGroups(windows: readonly WindowRecord[], dataset: Dataset, policy: MissingPolicy, groupSize: number): QueryGroup[] {
  if (!Number.isInteger(groupSize) || groupSize < 2) throw new ShapeError(`buildGroups: groupSize must be an integer >= 2, got ${groupSize}`);
  const queries = new Map(dataset.queries.map((q) => [q.qid, q.text]));
  const firstStage = new Map<string, Map<string, number>>();
  for (const l of dataset.lists) {
    const z = zScores(l.candidates.map((c) => c.score));
    firstStage.set(l.qid, new Map(l.candidates.map((c, i) => [c.docid, z[i]])));
  }
  const groups: QueryGroup[] = [];
  for (const w of windows) {
    const query = queries.get(w.qid);
    if (query === undefined) continue;
    const targets = windowTargets(w, policy).filter((t) => dataset.passages.has(t.docid)).slice(0, groupSize);
    if (targets.length < 2) continue;
    const g: QueryGroup = { qid: w.qid, windowId: w.windowId, query, passages: [], docids: [], labels: [], hardNegative: [], firstStage: [] };
    const zs = firstStage.get(w.qid);
    const floor = zs && zs.size ? Math.min(...zs.values()) : 0;
    for (let i = 0; i < groupSize; i++) {
      const t = targets[i];
      g.passages.push(t ? (dataset.passages.get(t.docid)?.text ?? "") : "");
      g.docids.push(t ? t.docid : "");
      g.labels.push(t ? t.gain : -1);
      g.hardNegative.push(t && t.hardNegative ? 1 : 0);
      g.firstStage.push(t ? (zs?.get(t.docid) ?? floor) : 0);
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

/** A word for matching: normalized, with leading and trailing punctuation removed. */
function matchWord(w: string): string {
  return w.replace(/^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu, "");
}

/** IDF of every normalized word over `texts`: ln(1 + N / df). */
export function computeIdf(texts: Iterable<string>): Map<string, number> {
  const df = new Map<string, number>();
  let n = 0;
  for (const t of texts) {
    n++;
    for (const w of new Set(normalizedWords(t).map(matchWord))) if (w) df.set(w, (df.get(w) ?? 0) + 1);
  }
  const idf = new Map<string, number>();
  for (const [w, d] of df) idf.set(w, Math.log(1 + n / d));
  return idf;
}

const unseenIdfCache = new WeakMap<ReadonlyMap<string, number>, number>();

/** IDF of a word the IDF corpus never saw: the largest IDF of the map (a word as rare as the rarest seen); 1 for an empty map. */
export function unseenIdf(idf: ReadonlyMap<string, number>): number {
  let v = unseenIdfCache.get(idf);
  if (v === undefined) {
    v = 1;
    if (idf.size) {
      v = -Infinity;
      for (const x of idf.values()) if (x > v) v = x;
    }
    unseenIdfCache.set(idf, v);
  }
  return v;
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

/** Pack query-passage pairs (and, with a mode, their Token Selection) into an EncoderBatch. */
export function packPairs(tokenizer: WordPieceTokenizer, pairs: ReadonlyArray<{ query: string; passage: string }>, options: PackGroupsOptions): EncoderBatch {
  const packed = packBatch(tokenizer, pairs, { maxLength: options.maxLength, padTo: options.padTo ?? "max" });
  const [B, T] = packed.shape;
  const batch: EncoderBatch = { inputIds: packed.inputIds, tokenTypeIds: packed.tokenTypeIds, attentionMask: packed.attentionMask, batch: B, seqLen: T };
  if (options.tokenSelection === null && !options.matchChannel) return batch;
  const words = pairs.map((p) => ({ queryWords: normalizedWords(p.query).map(matchWord), passageWords: normalizedWords(p.passage).map(matchWord) }));
  const input = (b: number, idf: ReadonlyMap<string, number>) => ({
    wordIds: packed.wordIds.subarray(b * T, (b + 1) * T), sideIds: packed.tokenTypeIds.subarray(b * T, (b + 1) * T), ...words[b], idf, defaultIdf: unseenIdf(idf),
  });
  // a matched word's punctuation pieces ("nicholas," -> nicholas + ",") are not term tokens: never selected, never marked
  const punct = punctuationIds(tokenizer);
  const dropPunctuation = (mask: Float32Array, b: number): Float32Array => {
    for (let i = 0; i < T; i++) if (mask[i] !== 0 && punct.has(packed.inputIds[b * T + i])) mask[i] = 0;
    return mask;
  };
  if (options.tokenSelection !== null) {
    const idf = options.idf ?? new Map<string, number>();
    const sels: TokenSelection[] = pairs.map((_, b) => {
      const sel = computeTokenSelection(input(b, idf), options.tokenSelection as string);
      dropPunctuation(sel.mask, b);
      sel.mask.forEach((m, i) => { if (m === 0) sel.idf[i] = 0; });
      return sel;
    });
    batch.selection = packSelections(sels, T);
  }
  if (options.matchChannel) {
    const types = Int32Array.from(packed.tokenTypeIds);
    const matchIdf = options.matchIdf ?? null;
    for (let b = 0; b < B; b++) {
      const sel = computeTokenSelection(input(b, matchIdf ?? new Map<string, number>()), "exact+query");
      const m = dropPunctuation(sel.mask, b);
      for (let i = 0; i < T; i++) if (m[i] === 1) types[b * T + i] += matchIdf ? 2 * (1 + idfBucket(sel.idf[i])) : 2;
    }
    batch.tokenTypeIds = types;
  }
  return batch;
}

/** Pack the groups at `indices` into one training batch. */
export function packGroups(tokenizer: WordPieceTokenizer, groups: readonly QueryGroup[], indices: readonly number[], options: PackGroupsOptions): TrainBatch {
  const chosen = indices.map((i) => groups[i]);
  const L = chosen[0].labels.length;
  const pairs = chosen.flatMap((g) => g.passages.map((passage) => ({ query: g.query, passage })));
  return {
    encoder: packPairs(tokenizer, pairs, options),
    labels: Float32Array.from(chosen.flatMap((g) => g.labels)),
    hardNegative: Float32Array.from(chosen.flatMap((g) => g.hardNegative)),
    firstStage: Float32Array.from(chosen.flatMap((g) => g.firstStage)),
    groups: chosen.length,
    groupSize: L,
  };
}

/** Moved to labels-file.ts (validated reading of labels.jsonl); re-exported so that imports keep working. */
export { readLabelsJsonl } from "./labels-file";
