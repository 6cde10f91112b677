/**
 * A pretrained cross-encoder (a Hugging Face BertForSequenceClassification folder with one label, e.g.
 * cross-encoder/ms-marco-MiniLM-L-6-v2) as a re-ranker and as a teacher:
 *   - scoring: `[CLS] query [SEP] passage [SEP]` packed with the checkpoint's own tokenizer, cut to the
 *     model's maximum length with Hugging Face's longest-first truncation (pack.ts), token types 0 / 1,
 *     one logit per pair (the raw logit: sentence-transformers' sigmoid does not change the order);
 *   - teaching: `crossencoder:DIR|hf:ORG/NAME` ranks each label window by that logit, a cheap local
 *     teacher beside the LLM ones. It never leaves a document out; its cost row in the label report is
 *     its compute time per window (no LLM tokens).
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "fs";
import { basename, join } from "path";
import { DataError } from "../core/errors";
import { cachedSnapshot, parseRepoRef } from "../hub/cache";
import { notAFolder } from "../hub/pull";
import { isHubRef } from "../hub/resolve";
import { permutationText } from "../labels/parse";
import type { Teacher, TeacherAnswer, TeacherRequest } from "../labels/types";
import { createPretrainedEncoder, loadPretrainedEncoder } from "../models/checkpoint/pretrained";
import type { Encoder } from "../models/encoder";
import type { EncoderBatch } from "../models/types";
import { packBatch } from "../tokenize/pack";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";
import { lengthOrder } from "./rerank";

/** A loaded cross-encoder. */
export interface CrossEncoder {
  dir: string;
  encoder: Encoder;
  tokenizer: WordPieceTokenizer;
  /** Longest packed pair (tokens): the tokenizer's model_max_length, at most the model's positions. */
  maxLength: number;
  /** Raw logits of query-passage pairs, in input order. */
  scorePairs(pairs: ReadonlyArray<{ query: string; passage: string }>, batchSize?: number): Float32Array;
  dispose(): void;
}

/** True when `dir` looks like a Hugging Face model folder (config.json with a model_type). */
export function isHfModelFolder(config: { model_type?: unknown; format?: unknown }): boolean {
  return typeof config.model_type === "string" && config.format === undefined;
}

/** Pack pairs as Hugging Face does for a BERT cross-encoder (longest-first truncation, padded to the longest row). */
export function packCrossEncoderPairs(tokenizer: WordPieceTokenizer, pairs: ReadonlyArray<{ query: string; passage: string }>, maxLength: number): EncoderBatch {
  const p = packBatch(tokenizer, pairs, { maxLength, truncation: "longest-first", padTo: "longest" });
  return { inputIds: p.inputIds, tokenTypeIds: p.tokenTypeIds, attentionMask: p.attentionMask, batch: p.shape[0], seqLen: p.shape[1] };
}

/** Load a BertForSequenceClassification folder with one label; DataError when it has no such classifier. */
export function loadCrossEncoder(dir: string): CrossEncoder {
  const pre = loadPretrainedEncoder(dir, { head: "checkpoint", dropout: 0 });
  if (!pre.hasScoreHead) {
    throw new DataError({ file: pre.weightFile, field: "classifier" }, "a one-label classifier (a cross-encoder: BertForSequenceClassification with num_labels 1)", "none", "a plain BERT folder is a backbone to fine-tune (--init), not a re-ranker");
  }
  const encoder = createPretrainedEncoder(pre);
  const scorePairs = (pairs: ReadonlyArray<{ query: string; passage: string }>, batchSize = 64): Float32Array => {
    const out = new Float32Array(pairs.length);
    const order = lengthOrder(pairs);
    for (let i = 0; i < order.length; i += batchSize) {
      const idx = order.slice(i, i + batchSize);
      const batch = packCrossEncoderPairs(pre.tokenizer, idx.map((j) => pairs[j]), pre.maxLength);
      const s = tf.tidy(() => encoder.score(batch));
      const v = s.dataSync();
      s.dispose();
      idx.forEach((j, k) => { out[j] = v[k]; });
    }
    return out;
  };
  return { dir, encoder, tokenizer: pre.tokenizer, maxLength: pre.maxLength, scorePairs, dispose: () => encoder.dispose() };
}

/** The folder of a `crossencoder:` argument: a folder, or hf:ORG/NAME from the cache (no download here; rra pull first). */
export function crossEncoderDir(ref: string): string {
  if (isHubRef(ref)) {
    const dir = cachedSnapshot(parseRepoRef(ref));
    if (!dir) throw new DataError({ file: ref }, "a model in the Hugging Face cache", "none", `run rra pull ${ref.slice(3)} first`);
    return dir;
  }
  if (!existsSync(join(ref, "config.json"))) throw notAFolder(ref);
  return ref;
}

/** The `crossencoder:DIR|hf:ORG/NAME` teacher (see the module comment). */
export function createCrossEncoderTeacher(ref: string, options: { batchSize?: number } = {}): Teacher {
  const dir = crossEncoderDir(ref);
  const ce = loadCrossEncoder(dir);
  const model = isHubRef(ref) ? parseRepoRef(ref).repo : basename(dir.replace(/\/+$/, ""));
  return {
    kind: "local",
    name: `crossencoder:${ref}`,
    model,
    canMiss: false,
    async rank(request: TeacherRequest): Promise<TeacherAnswer> {
      const t0 = Date.now();
      const w = request.window;
      const scores = ce.scorePairs(w.docs.map((d) => ({ query: w.query, passage: d.text })), options.batchSize);
      const order = w.docs.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
      return { response: permutationText(order), promptTokens: null, completionTokens: null, latencyMs: Date.now() - t0, cached: false };
    },
    async close() {
      ce.dispose();
    },
  };
}
