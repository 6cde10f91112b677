/**
 * The bench's inputs, all from the shipped DL19 data (no synthetic text):
 *   - inference pairs: the first lists' candidates in list order (a re-ranking workload, 100 per query);
 *   - training groups: each list's candidates cut in rank order into groups of `groupSize`, graded with
 *     the DL19 qrels (0 when unjudged), visited in a seeded order;
 *   - the reference shape: the same texts packed to exactly `seq` tokens (truncated or padded).
 * Plus the batch shapes scorePairs will compute, for the FLOP count.
 */
import { createRng, deriveSeed } from "../core/rng";
import type { Lexicon } from "../lexical/lexicon";
import type { Dataset } from "../data/types";
import type { EncoderBatch } from "../models/types";
import type { QueryGroup } from "../train/batches";
import { packPairs } from "../train/batches";
import { lengthOrder } from "../train/rerank";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";

/** A query-passage pair. */
export interface TextPair {
  query: string;
  passage: string;
}

/** The first `n` candidate pairs of the dataset's lists, in list order (candidates without text skipped). */
export function benchPairs(dataset: Dataset, n: number): TextPair[] {
  const out: TextPair[] = [];
  for (const l of dataset.lists) {
    for (const c of l.candidates) {
      if (out.length >= n) return out;
      if (c.text !== undefined) out.push({ query: l.query, passage: c.text });
    }
  }
  return out;
}

/** Every list cut into groups of `groupSize` candidates (rank order; a short tail is dropped), graded by the qrels. */
export function benchGroups(dataset: Dataset, groupSize: number): QueryGroup[] {
  const groups: QueryGroup[] = [];
  for (const l of dataset.lists) {
    const cands = l.candidates.filter((c) => c.text !== undefined);
    const grades = dataset.qrels.get(l.qid);
    for (let i = 0; i + groupSize <= cands.length; i += groupSize) {
      const part = cands.slice(i, i + groupSize);
      groups.push({
        qid: l.qid, windowId: `${l.qid}/${i}`, query: l.query, passages: part.map((c) => c.text as string), docids: part.map((c) => c.docid),
        labels: part.map((c) => grades?.get(c.docid) ?? 0), hardNegative: part.map(() => 0), firstStage: part.map(() => 0), features: part.map(() => new Float32Array(0)),
      });
    }
  }
  return groups;
}

/** `count` batches of `perBatch` group indices over a seeded permutation (wrapping around when needed). */
export function benchGroupBatches(groupCount: number, perBatch: number, count: number, seed: number): number[][] {
  const order = createRng(deriveSeed(seed, "bench/groups")).shuffle(Array.from({ length: groupCount }, (_, i) => i));
  return Array.from({ length: count }, (_, b) => Array.from({ length: perBatch }, (_, j) => order[(b * perBatch + j) % groupCount]));
}

/** Padded length and real tokens of a packed batch. */
export function batchShape(batch: EncoderBatch): { rows: number; seqLen: number; tokens: number } {
  let tokens = 0;
  for (let i = 0; i < batch.attentionMask.length; i++) tokens += batch.attentionMask[i];
  return { rows: batch.batch, seqLen: batch.seqLen, tokens };
}

/** Packing settings of a bench student (the exact-match channel on, as the training default). */
export interface PackSettings {
  maxLength: number;
  matchChannel: boolean;
  matchIdf?: boolean;
  lexicon?: Lexicon | null;
}

/**
 * The batches scorePairs (lib/train/rerank.ts) computes for `pairs`: length order, `batchSize` at a
 * time, each padded to its longest row. Packs them (outside any timing) to learn their shapes.
 */
export function scoringShapes(tokenizer: WordPieceTokenizer, pairs: readonly TextPair[], batchSize: number, settings: PackSettings): Array<{ rows: number; seqLen: number; tokens: number }> {
  const order = lengthOrder(pairs);
  const out: Array<{ rows: number; seqLen: number; tokens: number }> = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    out.push(batchShape(packPairs(tokenizer, idx.map((j) => pairs[j]), { maxLength: settings.maxLength, tokenSelection: null, padTo: "longest", matchChannel: settings.matchChannel, matchIdf: settings.matchIdf ?? false, lexicon: settings.lexicon ?? null })));
  }
  return out;
}
