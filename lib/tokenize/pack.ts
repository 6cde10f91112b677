/**
 * Cross-encoder input packing: `[CLS] query [SEP] passage [SEP]`, truncated to `maxLength` tokens and
 * padded with [PAD], with the token type ids, attention mask and per-token word ids a BERT ranker and the
 * Token Selection step need.
 *
 * Truncation (token level; a word may lose its last pieces): the pair has `maxLength - 3` token slots.
 * The passage is cut first. The query keeps all its tokens when they fit beside the whole passage;
 * otherwise it is cut to `maxQueryTokens` (never more), and the passage gets the remaining slots:
 *   keptQuery   = min(queryLen, maxLength - 3, max(maxQueryTokens, maxLength - 3 - passageLen))
 *   keptPassage = min(passageLen, maxLength - 3 - keptQuery)
 * With `truncation: "longest-first"` the pair is cut as Hugging Face's tokenizers do for a pretrained
 * cross-encoder (TruncationStrategy::LongestFirst, huggingface/tokenizers utils/truncation.rs). With
 * n = maxLength - 3 slots and s the shorter side's length:
 *   small = s;  large = s > n ? s : max(s, n - s);  if small + large > n: small = floor(n / 2), large = small + n % 2
 * the shorter side (the query when the two are equally long) keeps at most `small` tokens, the longer at
 * most `large` (maxQueryTokens is not used).
 */
import { ConfigError, ShapeError, show } from "../core/errors";
import type { WordPieceTokenizer } from "./wordpiece";
import { checkInt, resolveOptions } from "./options";

/** Options of pair packing. */
export interface PackConfig {
  /** Total sequence length, specials and padding included (tokens). Default 128. */
  maxLength: number;
  /** Tokens the query keeps when the pair must be truncated. Default 32. */
  maxQueryTokens: number;
  /** "passage-first" (default: the rule above) or "longest-first" (Hugging Face's, for pretrained cross-encoders). */
  truncation: "passage-first" | "longest-first";
}

/** Defaults of pair packing. */
export const PACK_DEFAULTS: Readonly<PackConfig> = Object.freeze({ maxLength: 128, maxQueryTokens: 32, truncation: "passage-first" as const });

/** Tokens each side keeps under Hugging Face's LongestFirst truncation of a pair into `n` slots. */
export function longestFirstKeep(qLen: number, dLen: number, n: number): [number, number] {
  if (qLen + dLen <= n) return [qLen, dLen];
  const swap = qLen > dLen;
  let small = swap ? dLen : qLen;
  let large = small > n ? small : Math.max(small, n - small);
  if (small + large > n) {
    small = Math.floor(n / 2);
    large = small + (n % 2);
  }
  const [a, b] = swap ? [large, small] : [small, large];
  return [Math.min(qLen, a), Math.min(dLen, b)];
}

/** A packed `[CLS] q [SEP] d [SEP] [PAD]...` sequence; every array has `maxLength` entries. */
export interface PackedPair {
  inputIds: number[];
  /** 0 for [CLS] q [SEP] (and padding), 1 for d [SEP]. */
  tokenTypeIds: number[];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[];
  /** Real tokens (specials included), before padding. */
  length: number;
  /** Whether any query or passage token was dropped. */
  truncated: boolean;
  /** Tokens dropped from the query and from the passage. */
  dropped: { query: number; passage: number };
  /** Positions of the query tokens, half-open [start, end). */
  queryTokenSpan: [number, number];
  /** Positions of the passage tokens, half-open [start, end). */
  passageTokenSpan: [number, number];
  /** Per position: index of the whitespace word of the query or passage the token came from; -1 for specials and padding. */
  wordIds: number[];
  /** Per position: index of the pre-token (word split at punctuation) it came from; -1 for specials and padding. */
  preTokenIds: number[];
}

/** Pack one query-passage pair (see the module comment for the truncation rule). */
export function packPair(tokenizer: WordPieceTokenizer, query: string, passage: string, options: Partial<PackConfig> = {}): PackedPair {
  const c = resolveOptions(PACK_DEFAULTS, options, "packPair");
  checkInt("packPair", "maxLength", c.maxLength, 3);
  checkInt("packPair", "maxQueryTokens", c.maxQueryTokens, 0);
  if (c.truncation !== "passage-first" && c.truncation !== "longest-first") throw new ConfigError(`packPair: truncation must be "passage-first" or "longest-first", got ${show(c.truncation)}`);
  const q = tokenizer.encodeWords(query);
  const d = tokenizer.encodeWords(passage);
  const slots = c.maxLength - 3;
  const qLen = q.ids.length;
  const dLen = d.ids.length;
  const [kq, kd] = c.truncation === "longest-first" ? longestFirstKeep(qLen, dLen, slots) : [Math.min(qLen, slots, Math.max(c.maxQueryTokens, slots - dLen)), 0];
  const keptPassage = c.truncation === "longest-first" ? kd : Math.min(dLen, slots - kq);

  const L = c.maxLength;
  const inputIds = new Array<number>(L).fill(tokenizer.padId);
  const tokenTypeIds = new Array<number>(L).fill(0);
  const attentionMask = new Array<number>(L).fill(0);
  const wordIds = new Array<number>(L).fill(-1);
  const preTokenIds = new Array<number>(L).fill(-1);
  let p = 0;
  const put = (id: number, type: number, word: number, pre: number): void => {
    inputIds[p] = id;
    tokenTypeIds[p] = type;
    attentionMask[p] = 1;
    wordIds[p] = word;
    preTokenIds[p] = pre;
    p++;
  };
  put(tokenizer.clsId, 0, -1, -1);
  for (let i = 0; i < kq; i++) put(q.ids[i], 0, q.wordIds[i], q.preTokenIds[i]);
  put(tokenizer.sepId, 0, -1, -1);
  for (let i = 0; i < keptPassage; i++) put(d.ids[i], 1, d.wordIds[i], d.preTokenIds[i]);
  put(tokenizer.sepId, 1, -1, -1);
  return {
    inputIds, tokenTypeIds, attentionMask, length: p,
    truncated: kq < qLen || keptPassage < dLen,
    dropped: { query: qLen - kq, passage: dLen - keptPassage },
    queryTokenSpan: [1, 1 + kq],
    passageTokenSpan: [2 + kq, 2 + kq + keptPassage],
    wordIds, preTokenIds,
  };
}

/** A query-passage pair to pack. */
export interface TextPair {
  query: string;
  passage: string;
}

/** Packed pairs as flat row-major Int32Arrays of shape [batch, seqLength]. */
export interface PackedBatch {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
  wordIds: Int32Array;
  /** [batch, seqLength]. */
  shape: [number, number];
  /** Real tokens per row. */
  lengths: Int32Array;
  /** Rows whose query or passage was truncated. */
  truncatedRows: number;
}

/** Options of batch packing: pair packing plus how far rows are padded. */
export interface PackBatchConfig extends PackConfig {
  /** "max": every row has `maxLength` tokens (default); "longest": rows are padded to the longest row of the batch. */
  padTo: "max" | "longest";
}

/** Defaults of batch packing. */
export const PACK_BATCH_DEFAULTS: Readonly<PackBatchConfig> = Object.freeze({ ...PACK_DEFAULTS, padTo: "max" as const });

/** Pack many pairs into flat Int32Arrays (`[batch, seqLength]`), e.g. for `tf.tensor2d(inputIds, shape, "int32")`. */
export function packBatch(tokenizer: WordPieceTokenizer, pairs: readonly TextPair[], options: Partial<PackBatchConfig> = {}): PackedBatch {
  const c = resolveOptions(PACK_BATCH_DEFAULTS, options, "packBatch");
  if (c.padTo !== "max" && c.padTo !== "longest") throw new ConfigError(`packBatch: padTo must be "max" or "longest", got ${show(c.padTo)}`);
  if (pairs.length === 0) throw new ShapeError("packBatch: expected at least one pair, got an empty batch");
  const packed = pairs.map((pr) => packPair(tokenizer, pr.query, pr.passage, { maxLength: c.maxLength, maxQueryTokens: c.maxQueryTokens, truncation: c.truncation }));
  const seq = c.padTo === "max" ? c.maxLength : Math.max(...packed.map((x) => x.length));
  const B = packed.length;
  const out: PackedBatch = {
    inputIds: new Int32Array(B * seq), tokenTypeIds: new Int32Array(B * seq), attentionMask: new Int32Array(B * seq),
    wordIds: new Int32Array(B * seq), shape: [B, seq], lengths: new Int32Array(B), truncatedRows: 0,
  };
  packed.forEach((x, b) => {
    out.inputIds.set(x.inputIds.slice(0, seq), b * seq);
    out.tokenTypeIds.set(x.tokenTypeIds.slice(0, seq), b * seq);
    out.attentionMask.set(x.attentionMask.slice(0, seq), b * seq);
    out.wordIds.set(x.wordIds.slice(0, seq), b * seq);
    out.lengths[b] = x.length;
    if (x.truncated) out.truncatedRows++;
  });
  return out;
}

/**
 * Group item indices into batches of similar length (less padding with `padTo: "longest"`): indices are
 * sorted by length (ties by index) and cut into consecutive batches of `batchSize`. Deterministic; shuffle
 * the batch order with a seeded RNG if training needs it.
 */
export function bucketByLength(lengths: readonly number[], batchSize: number): number[][] {
  checkInt("bucketByLength", "batchSize", batchSize, 1);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}
