/**
 * The inference paths of both students as InferenceGraphs (graph.ts), built from saved weights. Each
 * mirrors its tfjs forward pass op for op (lib/models/encoder.ts, lib/models/decoder.ts) with dropout
 * off and no TCL; the export parity check (model.ts) compares the two on real pairs.
 *
 * RRA-BERT: inputs input_ids, attention_mask, token_type_ids [batch, sequence] like a Hugging Face
 * cross-encoder (token_type_ids 0 query side, 1 passage side, as a Hugging Face tokenizer gives them),
 * plus match_ids [batch, sequence] when the student reads the exact-match channel (0 = no match, 1 +
 * IDF bucket for a token of a matched word: lib/train/batches.ts packPairs, split by
 * models/match-channel.ts splitMatchTypes). The graph recombines them into the row side + 2 * match of
 * the student's token-type table, so the scores are exactly the student's. Exports written before
 * match_ids existed took the combined value in token_type_ids (`match: "token-types"`, still built for
 * tests of the old layout). Output logits [batch, 1] = scoreScale * (w . tanh(Wp h_[CLS] + bp) + b).
 * A warm-started encoder (post-LN, erf GELU, a separate match embedding) is built from the same blocks: its
 * token-type table is segment[t mod 2] + match[t div 2] for the recombined row t.
 * RRA-GPT: inputs input_ids, attention_mask (the right-padded prompt "[CLS] query: q document: d
 * relevant?", no token types); output logits [batch, 1] = the ranking layer at the last real token.
 * Position ids are cumsum(ones) - 1 along the sequence, and the causal mask compares position ids, so
 * no shape arithmetic is needed.
 */
import { ConfigError, show } from "../core/errors";
import type { EncoderConfig, HiddenAct } from "../models/presets";
import type { DecoderConfig } from "../models/decoder";
import type { NamedWeights } from "../models/weights-file";
import { GraphBuilder, type InferenceGraph } from "./graph";

const NEG = -1e9; // the additive mask value of the tfjs models

/** Columns [from, to) of a [rows, cols] row-major matrix. */
function columns(values: Float32Array, rows: number, cols: number, from: number, to: number): Float32Array {
  const out = new Float32Array(rows * (to - from));
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * cols + from, r * cols + to), r * (to - from));
  return out;
}

/** Shared pieces: weights by name, dense, layer norm, GELU, attention. */
class Blocks {
  constructor(readonly g: GraphBuilder, private readonly w: NamedWeights, private readonly eps: number, private readonly act: HiddenAct = "gelu_tanh") {}

  weight(name: string): string {
    const t = this.w[name];
    if (!t) throw new ConfigError(`export: weight ${show(name)} is missing from the model`);
    return this.g.weight(name.replace(/\//g, "."), t.values, t.shape);
  }

  dense(x: string, name: string, hint?: string): string {
    return this.g.add(this.g.matMul(x, this.weight(`${name}/kernel`)), this.weight(`${name}/bias`), hint);
  }

  /** (x - mean) / sqrt(var + eps) * gamma + beta over the last axis, var = mean((x - mean)^2) as tf.moments. */
  layerNorm(x: string, name: string): string {
    const g = this.g;
    const d = g.sub(x, g.op("ReduceMean", [x], { axis: -1 }));
    const variance = g.op("ReduceMean", [g.mul(d, d)], { axis: -1 });
    const normed = g.div(d, g.op("Sqrt", [g.add(variance, g.scalar(this.eps, "eps"))]));
    return g.add(g.mul(normed, this.weight(`${name}/gamma`)), this.weight(`${name}/beta`), `${name.replace(/\//g, ".")}.out`);
  }

  /** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as encoder.ts gelu; 0.5 x (1 + erf(x / sqrt 2)) for "gelu_erf" (BERT's, kernels.ts geluErf). */
  gelu(x: string): string {
    const g = this.g;
    if (this.act === "gelu_erf") return g.mul(g.mul(g.scalar(0.5), x), g.add(g.scalar(1), g.op("Erf", [g.mul(x, g.scalar(Math.SQRT1_2, "inv_sqrt2"))])));
    const cube = g.mul(g.mul(x, x), x);
    const inner = g.mul(g.scalar(Math.sqrt(2 / Math.PI)), g.add(x, g.mul(g.scalar(0.044715), cube)));
    return g.mul(g.mul(g.scalar(0.5), x), g.add(g.scalar(1), g.op("Tanh", [inner])));
  }

  /** Multi-head attention of [B, T, H] with an additive mask broadcastable to [B, nh, T, T]. */
  attention(h: string, prefix: string, H: number, nh: number, mask: string): string {
    const g = this.g;
    const qkv = this.w[`${prefix}/attn/qkv/kernel`], bias = this.w[`${prefix}/attn/qkv/bias`];
    if (!qkv || !bias) throw new ConfigError(`export: ${prefix}/attn/qkv weights are missing from the model`);
    // the fused [H, 3H] projection, as three [H, H] ones (q, k, v columns, as tf.split(…, 3, 1))
    const part = (i: number, tag: string): string => g.op("SplitHeads", [g.add(
      g.matMul(h, g.weight(`${prefix}.attn.${tag}.kernel`, columns(qkv.values, H, 3 * H, i * H, (i + 1) * H), [H, H])),
      g.weight(`${prefix}.attn.${tag}.bias`, bias.values.slice(i * H, (i + 1) * H), [H]))], { heads: nh });
    const q = part(0, "q"), k = part(1, "k"), v = part(2, "v"); // [B, nh, T, dh]
    const logits = g.add(g.mul(g.matMul(q, k, true), g.scalar(1 / Math.sqrt(H / nh), "inv_sqrt_d")), mask);
    const ctx = g.matMul(g.op("Softmax", [logits]), v); // [B, nh, T, dh]
    return this.dense(g.op("MergeHeads", [ctx]), `${prefix}/attn/out`);
  }

  ffn(h: string, prefix: string): string {
    return this.dense(this.gelu(this.dense(h, `${prefix}/ffn/in`)), `${prefix}/ffn/out`);
  }
}

/** Position ids 0..T-1 of every row: cumsum(ones_like(ids)) - 1. [B, T] index */
function positionIds(g: GraphBuilder, ids: string): string {
  return g.sub(g.op("CumSum", [g.op("OnesLike", [ids])], { axis: 1 }), g.indexConst([1], [], "one"), "position_ids");
}

/** Additive key mask from attention_mask: 0 at real tokens, -1e9 at padding. [B, 1, T] */
function keyMask(g: GraphBuilder, mask: string): string {
  return g.op("Unsqueeze", [g.mul(g.sub(g.scalar(1), g.op("CastFloat", [mask])), g.scalar(NEG, "neg"))], { axis: 1 });
}

/** Refuse what the graph does not build, rather than export a model that scores differently. */
function checkExportable(config: { hiddenAct?: string; matchVocabSize?: number; typeVocabSize?: number }, kind: "rra-bert" | "rra-gpt"): void {
  if (config.hiddenAct !== undefined && config.hiddenAct !== "gelu_tanh" && config.hiddenAct !== "gelu_erf") throw new ConfigError(`export: hiddenAct ${show(config.hiddenAct)} is not exported; expected "gelu_tanh" or "gelu_erf"`);
  if ((config.matchVocabSize ?? 0) > 0 && (kind === "rra-gpt" || config.typeVocabSize !== 2)) {
    throw new ConfigError(`export: a separate match embedding (matchVocabSize ${config.matchVocabSize}) is exported only for RRA-BERT with 2 token types (a BERT checkpoint's), got ${kind} with typeVocabSize ${String(config.typeVocabSize)}`);
  }
}

/**
 * The token-type table a warm-started encoder's graph gathers from: the packer's combined token types
 * t = side + 2 m (train/batches.ts) index rows segment[t mod 2] + match[t div 2], which is what
 * encoderInput (models/match-channel.ts) feeds the tfjs encoder, so token_type_ids keep the meaning they
 * have for every RRA-BERT export. [2 * matchVocabSize, H]
 */
function matchTypeTable(config: Readonly<EncoderConfig>, weights: NamedWeights): Float32Array {
  const H = config.hiddenSize, M = config.matchVocabSize as number;
  const seg = weights["embeddings/segment"], match = weights["embeddings/match"];
  if (!seg || !match) throw new ConfigError("export: embeddings/segment and embeddings/match are needed for the match channel and missing from the model");
  const out = new Float32Array(2 * M * H);
  for (let t = 0; t < 2 * M; t++) for (let j = 0; j < H; j++) out[t * H + j] = seg.values[(t % 2) * H + j] + match.values[(t >> 1) * H + j];
  return out;
}

/** How an RRA-BERT graph takes the exact-match channel. */
export type MatchInput = "separate" | "token-types" | "none";

/** Name of the exact-match input of RRA-BERT graphs. */
export const MATCH_INPUT = "match_ids";

/** Options of bertGraph. */
export interface BertGraphOptions {
  /** Factor on the logit. Default 1 (score.json's scale is applied by the re-ranker). */
  scoreScale?: number;
  /**
   * "separate" (default): token_type_ids 0/1 and a match_ids input; "token-types": the older layout, the
   * match channel inside token_type_ids; "none": a student without the match channel (no match_ids).
   */
  match?: MatchInput;
}

/** RRA-BERT's serving score as a graph (see the module comment). */
export function bertGraph(config: Readonly<EncoderConfig>, weights: NamedWeights, options: BertGraphOptions = {}): InferenceGraph {
  const { scoreScale = 1, match = "separate" } = options;
  if (match !== "separate" && match !== "token-types" && match !== "none") throw new ConfigError(`bertGraph: match must be "separate", "token-types" or "none", got ${show(match)}`);
  checkExportable(config, "rra-bert");
  const g = new GraphBuilder("rra-bert");
  const b = new Blocks(g, weights, config.layerNormEps, config.hiddenAct);
  const H = config.hiddenSize, nh = config.numHeads;
  const ids = g.input("input_ids", "index", ["batch", "sequence"]);
  const mask = g.input("attention_mask", "index", ["batch", "sequence"]);
  let types = g.input("token_type_ids", "index", ["batch", "sequence"]);
  // the student's token-type row: side + 2 * match (lib/train/batches.ts packPairs)
  if (match === "separate") types = g.add(types, g.mul(g.input(MATCH_INPUT, "index", ["batch", "sequence"]), g.indexConst([2], [], "two")), "type_rows");
  const M = config.matchVocabSize ?? 0;
  const typeTable = M > 0 ? g.weight("embeddings.segment_match", matchTypeTable(config, weights), [2 * M, H]) : b.weight("embeddings/segment");
  const emb = g.add(g.add(g.op("Gather", [b.weight("embeddings/word"), ids]), g.op("Gather", [b.weight("embeddings/position"), positionIds(g, ids)])),
    g.op("Gather", [typeTable, types]));
  let x = b.layerNorm(emb, "embeddings/ln"); // [B, T, H]
  const m = g.op("Unsqueeze", [keyMask(g, mask)], { axis: 1 }); // [B, 1, 1, T]
  for (let l = 0; l < config.numLayers; l++) {
    const p = `layer${l}`;
    if (config.layerNorm === "pre") {
      x = g.add(x, b.attention(b.layerNorm(x, `${p}/ln1`), p, H, nh, m));
      x = g.add(x, b.ffn(b.layerNorm(x, `${p}/ln2`), p));
    } else {
      x = b.layerNorm(g.add(x, b.attention(x, p, H, nh, m)), `${p}/ln1`);
      x = b.layerNorm(g.add(x, b.ffn(x, p)), `${p}/ln2`);
    }
  }
  if (config.layerNorm === "pre") x = b.layerNorm(x, "final/ln");
  const cls = g.op("GatherAxis1", [x, g.indexConst([0], [], "cls_index")], {}, "cls"); // [B, H]
  let logits = b.dense(g.op("Tanh", [b.dense(cls, "pooler")]), "head", scoreScale === 1 ? "logits" : "raw_logits"); // [B, 1]
  if (scoreScale !== 1) logits = g.mul(logits, g.scalar(scoreScale, "score_scale"), "logits");
  return g.finish(logits, ["batch", 1]);
}

/** RRA-GPT's ranking-layer score as a graph (see the module comment). */
export function gptGraph(config: Readonly<DecoderConfig>, weights: NamedWeights): InferenceGraph {
  checkExportable(config, "rra-gpt");
  const g = new GraphBuilder("rra-gpt");
  const b = new Blocks(g, weights, config.layerNormEps, config.hiddenAct);
  const H = config.hiddenSize, nh = config.numHeads;
  const ids = g.input("input_ids", "index", ["batch", "sequence"]);
  const mask = g.input("attention_mask", "index", ["batch", "sequence"]);
  const pos = positionIds(g, ids);
  let x = g.add(g.op("Gather", [b.weight("embeddings/word"), ids]), g.op("Gather", [b.weight("embeddings/position"), pos]));
  // causal: -1e9 where key position > query position; plus the padding mask. [B, 1, T, T]
  const future = g.op("GreaterFloat", [g.op("Unsqueeze", [pos], { axis: 1 }), g.op("Unsqueeze", [pos], { axis: 2 })]); // [B, T, T]
  const m = g.op("Unsqueeze", [g.add(g.mul(future, g.scalar(NEG, "neg")), keyMask(g, mask))], { axis: 1 });
  for (let l = 0; l < config.numLayers; l++) {
    const p = `layer${l}`;
    x = g.add(x, b.attention(b.layerNorm(x, `${p}/ln1`), p, H, nh, m));
    x = g.add(x, b.ffn(b.layerNorm(x, `${p}/ln2`), p));
  }
  const h = b.layerNorm(x, "final/ln"); // [B, T, H]
  // the last real token: position == sum(mask) - 1, as a one-hot row [B, 1, T] times h
  const last = g.sub(g.op("ReduceSum", [mask], { axis: 1 }), g.indexConst([1], [], "one")); // [B, 1]
  const onehot = g.op("Unsqueeze", [g.op("EqualFloat", [pos, last])], { axis: 1 });
  const hp = g.op("Reshape", [g.matMul(onehot, h)], { dims: [-1, H] }); // [B, H]
  return g.finish(b.dense(hp, "rank", "logits"), ["batch", 1]);
}
