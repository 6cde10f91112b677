/**
 * What the Term Control Layer sees and does, pair by pair (DESIGN.md section 2; notebook 04): the
 * selected tokens, the TCL term weights w_i = softplus(u . h_i + c), the serving score s_cls, the term
 * score t and s_cls + t, and where [CLS] looks: attention probabilities of the [CLS] query row,
 * averaged over heads, per layer and over layers. The summary "matched share" is the [CLS] attention
 * mass on passage tokens whose whole word also occurs in the query (Token Selection "exact"), next to
 * the share uniform attention would give (matched tokens / real tokens). Matching is on the analyzer's
 * stems (lexical/match.ts); with TCL v3 the selected tokens are the starts of words carrying a query term
 * and t is the BM25-shaped term score.
 *
 * Every tensor is freed inside tf.tidy; results are plain arrays (./tcl-types.ts) for lib/plots/tcl.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError, show } from "../core/errors";
import type { Lexicon } from "../lexical/lexicon";
import { computeBm25TermScore, computeTermScore, createRraBert, termStartSelection, type RraBert } from "../models/tcl";
import { readTclFile, loadTclInto } from "../models/tcl-file";
import type { EncoderBatch, SelectionArrays, TermArrays } from "../models/types";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";
import { packPairs } from "../train/batches";
import { loadStudent, type Student, type StudentCore } from "../train/rerank";
import type { AttentionComparison, InspectPair, PairInspection } from "./tcl-types";

/** Options of inspectPairs. */
export interface InspectOptions {
  /** Tokens per packed pair (the student's maxLength). Default 128. */
  maxLength?: number;
  /** Pack with the exact-match token types (the student's matchChannel). Default false. */
  matchChannel?: boolean;
  /** Collection statistics (the student's lexicon): idf of matched terms, BM25 parameters of TCL v3. Default null (idf 1). */
  lexicon?: Lexicon | null;
  /** The match channel is IDF-bucketed (the student's matchIdf). Default false. */
  matchIdf?: boolean;
  /** Token Selection mode. Default: the model's. */
  tokenSelection?: string;
  /** Pairs per forward pass. Default 16. */
  batchSize?: number;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const dot = (xs: readonly number[], mask: readonly number[]): number => xs.reduce((a, x, i) => a + x * mask[i], 0);

/** The scores, term weights and [CLS] attention rows of one packed batch (plain arrays, tensors freed). */
function forwardArrays(model: RraBert, batch: EncoderBatch): { sCls: Float32Array; w: Float32Array | null; t: Float32Array | null; att: Float32Array[] } {
  const { batch: B, seqLen: T } = batch;
  let res: { sCls: Float32Array; w: Float32Array | null; t: Float32Array | null; att: Float32Array[] } | undefined;
  tf.tidy(() => {
    const out = model.encoder.forward(batch, { training: false, returnAttentions: true });
    const sCls = model.encoder.scoreHead(out.cls).dataSync() as Float32Array;
    let w: Float32Array | null = null, t: Float32Array | null = null;
    if (model.tcl) {
      const wt = model.tcl.apply(out.hidden) as tf.Tensor2D; // [B, T]
      w = wt.dataSync() as Float32Array;
      t = (model.tclConfig.form === "bm25" ? computeBm25TermScore(wt, batch.terms as TermArrays) : computeTermScore(wt, batch.selection as SelectionArrays, model.tclConfig.norm)).dataSync() as Float32Array;
    }
    const att = (out.attentions ?? []).map((a) => {
      const nh = a.shape[1];
      return tf.reshape(tf.mean(tf.slice(a, [0, 0, 0, 0], [B, nh, 1, T]), 1), [B, T]).dataSync() as Float32Array; // [CLS] row, mean over heads
    });
    res = { sCls, w, t, att };
  });
  return res as NonNullable<typeof res>;
}

/** Inspect query-passage pairs with a model (with or without TCL); see PairInspection. */
export function inspectPairs(model: RraBert, tokenizer: WordPieceTokenizer, pairs: readonly InspectPair[], options: InspectOptions = {}): PairInspection[] {
  const { maxLength = 128, matchChannel = false, matchIdf = false, lexicon = null, tokenSelection = model.tokenSelection, batchSize = 16 } = options;
  const v3 = model.tcl !== undefined && model.tclConfig.form === "bm25";
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`inspectPairs: batchSize must be a positive integer, got ${show(batchSize)}`);
  const out: PairInspection[] = [];
  for (let start = 0; start < pairs.length; start += batchSize) {
    const chunk = pairs.slice(start, start + batchSize);
    const batch = packPairs(tokenizer, chunk, { maxLength, tokenSelection: v3 ? null : tokenSelection, lexicon, matchChannel, matchIdf, padTo: "longest", termArrays: v3 && lexicon !== null });
    const exact = packPairs(tokenizer, chunk, { maxLength, tokenSelection: "exact", lexicon, padTo: "longest" });
    if (exact.seqLen !== batch.seqLen) throw new ShapeError(`inspectPairs: packings differ in length (${exact.seqLen} vs ${batch.seqLen})`);
    if (v3 && !batch.terms) throw new ConfigError("inspectPairs: a TCL v3 model needs the student's lexicon (options.lexicon)");
    const sel = v3 ? termStartSelection(batch.terms as TermArrays, batch.batch, batch.seqLen) : (batch.selection as SelectionArrays);
    const matchMask = (exact.selection as SelectionArrays).mask;
    const T = batch.seqLen;
    const { sCls, w, t, att } = forwardArrays(model, batch);
    chunk.forEach((pair, b) => {
      const n = sum(Array.from(batch.attentionMask.subarray(b * T, (b + 1) * T)));
      const row = <A extends ArrayLike<number>>(a: A): number[] => Array.from({ length: n }, (_, i) => a[b * T + i]);
      const side = row(batch.tokenTypeIds).map((ty) => ty % 2);
      const matched = row(matchMask).map((m, i) => (m > 0 && side[i] === 1 ? 1 : 0));
      const clsAttention = att.map((a) => row(a));
      const clsAttentionMean = Array.from({ length: n }, (_, i) => sum(clsAttention.map((l) => l[i])) / Math.max(1, clsAttention.length));
      out.push({
        label: pair.label ?? `pair ${start + b + 1}`, query: pair.query, passage: pair.passage,
        tokens: row(batch.inputIds).map((id) => tokenizer.idToToken[id]), side, selected: row(sel.mask), matched, idf: row(sel.idf),
        termWeights: w ? row(w) : null, sCls: sCls[b], t: t ? t[b] : null, sTcl: t ? sCls[b] + t[b] : null,
        clsAttention, clsAttentionMean, matchedShare: dot(clsAttentionMean, matched),
        matchedSharePerLayer: clsAttention.map((l) => dot(l, matched)), matchedFraction: sum(matched) / Math.max(1, n),
      });
    });
  }
  return out;
}

/** [CLS] attention share on matched passage tokens for two students (e.g. trained with and without TCL), per pair. */
export function compareAttention(a: StudentCore, b: StudentCore, pairs: readonly InspectPair[], options: Pick<InspectOptions, "batchSize"> = {}): AttentionComparison[] {
  const inspect = (s: StudentCore): PairInspection[] => inspectPairs(s.model, s.tokenizer, pairs, { ...options, maxLength: s.maxLength, matchChannel: s.matchChannel, matchIdf: s.matchIdf, lexicon: s.lexicon });
  const ra = inspect(a), rb = inspect(b);
  return ra.map((r, i) => ({ label: r.label, shareA: r.matchedShare, shareB: rb[i].matchedShare, matchedFraction: r.matchedFraction }));
}

/**
 * Load a model directory with its TCL, for inspection: the student of `loadStudent` rebuilt with
 * tcl: true (TclConfig and Token Selection mode from tcl.json), encoder weights copied, u and c loaded.
 */
export function loadStudentWithTcl(dir: string): Student {
  const file = readTclFile(dir);
  const plain = loadStudent(dir);
  let model: RraBert | undefined;
  try {
    model = createRraBert(plain.model.encoder.config, { tcl: true, tokenSelection: file.tokenSelection, tclConfig: file.config });
    model.encoder.setWeights(plain.model.encoder.getWeights());
    loadTclInto(model, dir);
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    plain.dispose();
  }
  const m = model;
  return { ...plain, model: m, dispose: () => m.dispose() };
}
