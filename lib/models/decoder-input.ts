/**
 * Prompt packing for RRA-GPT (lib/models/decoder.ts). The decoder reuses the WordPiece vocabulary of
 * the encoder (lib/tokenize/wordpiece.ts): [CLS] serves as beginning-of-sequence, [SEP] as end of the
 * rationale, [PAD] as padding, so one tokenizer serves both students.
 *
 * Layout of one example (T real tokens):
 *   [CLS] query : q_1..q_a document : d_1..d_b relevant ?  |  r_1..r_k [SEP]
 *   \___________________________ prompt ________________/     \_ rationale _/
 *   promptLength = index of the last prompt token ("?"), whose hidden state feeds the ranking and
 *   classification heads and predicts r_1.
 *   lmTargets[i] = ids[i + 1] when position i + 1 is a rationale token (r_1..r_k, [SEP]), else -1
 *   (teacher forcing: the token at i predicts the next one).
 * Truncation to maxLength: the passage loses tokens first, then the rationale (its [SEP] goes first),
 * then the query; the template words always stay.
 */
import { ConfigError, show } from "../core/errors";
import { WordPieceTokenizer } from "../tokenize/wordpiece";
import type { DecoderBatch } from "./decoder";

/** Options of packDecoderExample. */
export interface DecoderPackConfig {
  /** Longest packed example (tokens, BOS and template included). Default 128. */
  maxLength: number;
}

/** Defaults of decoder packing. */
export const DECODER_PACK_DEFAULTS: Readonly<DecoderPackConfig> = Object.freeze({ maxLength: 128 });

/** One packed example (not padded). */
export interface DecoderExample {
  /** Token ids, prompt then rationale. */
  ids: number[];
  /** Index of the last prompt token. */
  promptLength: number;
  /** Next-token target of each position (-1 where no rationale token follows). Same length as ids. */
  lmTargets: number[];
  /** Tokens dropped from query, passage and rationale by truncation. */
  dropped: { query: number; passage: number; rationale: number };
}

/** What packing needs of a tokenizer: the project's WordPiece, or a checkpoint's byte-level BPE (bos = clsId, eos = sepId). */
export type DecoderTokenizer = Pick<WordPieceTokenizer, "clsId" | "sepId"> & { encode(text: string): { ids: number[] } };

/** Pack "query: q document: d relevant?" plus an optional rationale (see the module comment). */
export function packDecoderExample(tokenizer: DecoderTokenizer, query: string, passage: string, rationale?: string, options: Partial<DecoderPackConfig> = {}): DecoderExample {
  const unknown = Object.keys(options).filter((k) => !(k in DECODER_PACK_DEFAULTS));
  if (unknown.length) throw new ConfigError(`packDecoderExample: unknown option(s) ${unknown.map((k) => show(k)).join(", ")}; expected maxLength`);
  const c = { ...DECODER_PACK_DEFAULTS, ...options };
  const q = tokenizer.encode(query).ids, d = tokenizer.encode(passage).ids;
  const r = rationale === undefined ? [] : [...tokenizer.encode(rationale).ids, tokenizer.sepId];
  const tQuery = tokenizer.encode("query:").ids, tDoc = tokenizer.encode("document:").ids, tRel = tokenizer.encode("relevant?").ids;
  const fixed = 1 + tQuery.length + tDoc.length + tRel.length;
  if (!Number.isInteger(c.maxLength) || c.maxLength < fixed) {
    throw new ConfigError(`packDecoderExample: maxLength must be an integer >= ${fixed} (BOS + template tokens), got ${show(c.maxLength)}`);
  }
  let over = fixed + q.length + d.length + r.length - c.maxLength;
  const cut = (n: number): number => {
    const k = Math.max(0, Math.min(n, over));
    over -= k;
    return k;
  };
  const dropped = { passage: cut(d.length), rationale: cut(r.length), query: cut(q.length) };
  const prompt = [tokenizer.clsId, ...tQuery, ...q.slice(0, q.length - dropped.query), ...tDoc, ...d.slice(0, d.length - dropped.passage), ...tRel];
  const ids = [...prompt, ...r.slice(0, r.length - dropped.rationale)];
  const promptLength = prompt.length - 1;
  const lmTargets = ids.map((_, i) => (i >= promptLength && i + 1 < ids.length ? ids[i + 1] : -1));
  return { ids, promptLength, lmTargets, dropped };
}

/** Right-pad examples into a DecoderBatch (padding id `padId`, mask 0, target -1). padTo defaults to the longest example. */
export function packDecoderBatch(examples: readonly DecoderExample[], padId: number, padTo?: number): DecoderBatch {
  if (examples.length === 0) throw new ConfigError("packDecoderBatch: expected at least one example, got 0");
  const longest = Math.max(...examples.map((e) => e.ids.length));
  const T = padTo ?? longest;
  if (T < longest) throw new ConfigError(`packDecoderBatch: padTo ${T} is shorter than the longest example (${longest} tokens)`);
  const B = examples.length;
  const inputIds = new Int32Array(B * T).fill(padId), attentionMask = new Int32Array(B * T), lmTargets = new Int32Array(B * T).fill(-1);
  const promptLength = new Int32Array(B);
  examples.forEach((e, b) => {
    e.ids.forEach((id, i) => {
      inputIds[b * T + i] = id;
      attentionMask[b * T + i] = 1;
      lmTargets[b * T + i] = e.lmTargets[i];
    });
    promptLength[b] = e.promptLength;
  });
  return { inputIds, attentionMask, promptLength, lmTargets, batch: B, seqLen: T };
}
