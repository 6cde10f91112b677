/**
 * RRA-BERT's encoder: a small BERT-style transformer written with raw tfjs ops (matMul, softmax,
 * moments), which is what trains at a usable speed on the wasm backend (shared/notes/tfjs-on-this-machine.md).
 *
 * Architecture (shapes: B rows, T tokens, H hidden, nh heads, d = H / nh):
 *   x = LN(word[ids] + position[0..T) + segment[tokenTypeIds] (+ match[matchIds])) [B*T, H]
 *   per block, layerNorm "pre" (default):  x += drop(MHA(LN1(x)));  x += drop(FFN(LN2(x)));  final LN
 *              layerNorm "post" (BERT):     x = LN1(x + drop(MHA(x)));  x = LN2(x + drop(FFN(x)))
 *   MHA: fused QKV projection, softmax(q k^T / sqrt(d) + padMask) v, with padMask = -1e9 at padding keys
 *   FFN: GELU between two dense layers: tanh form (x*x*x rather than pow; default) or exact erf form
 *        (config.hiddenAct "gelu_erf", BERT's)
 * A Hugging Face BERT checkpoint is this encoder with layerNorm "post", hiddenAct "gelu_erf" and its own
 * sizes and eps (lib/models/checkpoint/bert.ts maps its tensors onto these variables). The match
 * channel (config.matchVocabSize > 0) is a separate embedding whose rows start at zero, so a loaded
 * checkpoint's outputs are unchanged at step 0 while its token-type rows stay as they were.
 *   cls = hidden[:, 0, :];  score = w . tanh(Wp cls + bp) + b                  (BERT pooler + linear head)
 * The ops with their own gradients and fast forms (dense, gatherRows, tanh, GELU, layer norm, masked
 * softmax; fused native kernels where the wasm backend has them) are in kernels.ts.
 * Every variable is initialised with a seeded truncated normal (std initStd) whose seed is
 * deriveSeed(config.seed, variableName); biases and LN beta start at 0, LN gamma at 1.
 * Dropout is seeded per call (explicit seed, an Rng, or an internal step counter) and off unless training.
 */
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "fs";
import { join } from "path";
import { ConfigError, ShapeError, show } from "../core/errors";
import { deriveSeed, Rng } from "../core/rng";
import { checkEncoderConfig, EncoderConfig } from "./presets";
import { assignWeights, readWeightsDir, variablesToWeights, writeWeightsDir, type NamedWeights } from "./weights-file";
import { EncoderBatch } from "./types";

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Dropout on (training) or off (inference). Default false. */
  training?: boolean;
  /** Dropout seed of this call; else drawn from `rng`; else from the encoder's step counter. */
  seed?: number;
  /** Stream to draw this call's dropout seed from. */
  rng?: Rng;
  /** Also return the attention probabilities of each layer, [B, nh, T, T]. Default false. */
  returnAttentions?: boolean;
}

/** What a forward pass returns. */
export interface EncoderOutput {
  /** Final hidden state of [CLS]. [B, H] */
  cls: tf.Tensor2D;
  /** Final hidden states. [B, T, H] */
  hidden: tf.Tensor3D;
  /** Attention probabilities per layer, [B, nh, T, T], when asked. */
  attentions?: tf.Tensor4D[];
}

/** Plain-data weights by variable name: for save files, copies between models and plots. */
export type EncoderWeights = NamedWeights;

/** A transformer encoder with a [CLS] score head. */
export interface Encoder {
  readonly config: Readonly<EncoderConfig>;
  /** Hidden states and [CLS] vector of a batch. */
  forward(batch: EncoderBatch, options?: ForwardOptions): EncoderOutput;
  /** Score head on [CLS] vectors. [B, H] -> [B] */
  scoreHead(cls: tf.Tensor2D): tf.Tensor1D;
  /** Relevance score of each pair from [CLS] (inference by default). [B] */
  score(batch: EncoderBatch, options?: ForwardOptions): tf.Tensor1D;
  /** Trainable variables, for optimizer.minimize(varList). */
  trainableVariables(): tf.Variable[];
  /** Copy of all weights as plain arrays. */
  getWeights(): EncoderWeights;
  /** Overwrite weights; every name and shape must match (or, with partial, only the names given). */
  setWeights(weights: EncoderWeights, options?: { partial?: boolean }): void;
  /** Write config.json, weights.json (manifest) and weights.bin (float32 little-endian) to dir. */
  save(dir: string): void;
  /** Number of scalar parameters. */
  countParams(): number;
  /** Free the variables. */
  dispose(): void;
}

const WEIGHTS_FORMAT = "rra-encoder-weights/1";
let instanceCounter = 0;

/** Variable names and shapes of an encoder with this config, in a fixed order. */
export function encoderVariableShapes(c: Readonly<EncoderConfig>): Array<[string, number[]]> {
  const H = c.hiddenSize;
  const out: Array<[string, number[]]> = [
    ["embeddings/word", [c.vocabSize, H]], ["embeddings/position", [c.maxLen, H]], ["embeddings/segment", [c.typeVocabSize, H]],
    ["embeddings/ln/gamma", [H]], ["embeddings/ln/beta", [H]],
  ];
  if ((c.matchVocabSize ?? 0) > 0) out.push(["embeddings/match", [c.matchVocabSize as number, H]]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `layer${l}`;
    out.push([`${p}/attn/qkv/kernel`, [H, 3 * H]], [`${p}/attn/qkv/bias`, [3 * H]], [`${p}/attn/out/kernel`, [H, H]], [`${p}/attn/out/bias`, [H]],
      [`${p}/ln1/gamma`, [H]], [`${p}/ln1/beta`, [H]],
      [`${p}/ffn/in/kernel`, [H, c.ffnSize]], [`${p}/ffn/in/bias`, [c.ffnSize]], [`${p}/ffn/out/kernel`, [c.ffnSize, H]], [`${p}/ffn/out/bias`, [H]],
      [`${p}/ln2/gamma`, [H]], [`${p}/ln2/beta`, [H]]);
  }
  if (c.layerNorm === "pre") out.push(["final/ln/gamma", [H]], ["final/ln/beta", [H]]);
  out.push(["pooler/kernel", [H, H]], ["pooler/bias", [H]], ["head/kernel", [H, 1]], ["head/bias", [1]]);
  return out;
}

/** Seeded initial value of a variable by its name: LN gamma 1, beta, biases and the match embedding 0, else truncated normal(0, initStd). */
export function initialValue(c: Readonly<Pick<EncoderConfig, "initStd" | "seed">>, name: string, shape: number[]): tf.Tensor {
  if (name.endsWith("/gamma")) return tf.ones(shape);
  if (name.endsWith("/beta") || name.endsWith("/bias") || name === "embeddings/match") return tf.zeros(shape);
  return tf.truncatedNormal(shape, 0, c.initStd, "float32", deriveSeed(c.seed, name));
}

/** Check a batch against a config at the boundary; throws ShapeError naming the offending value. */
export function checkBatch(batch: EncoderBatch, c: Readonly<EncoderConfig>, where = "encoder"): void {
  const { batch: B, seqLen: T } = batch;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) throw new ShapeError(`${where}: batch and seqLen must be positive integers, got ${B} x ${T}`);
  if (T > c.maxLen) throw new ShapeError(`${where}: seqLen ${T} exceeds maxLen ${c.maxLen}`);
  for (const key of ["inputIds", "tokenTypeIds", "attentionMask"] as const) {
    if (batch[key].length !== B * T) throw new ShapeError(`${where}: ${key} has ${batch[key].length} entries, expected batch*seqLen = ${B}*${T} = ${B * T}`);
  }
  for (let i = 0; i < B * T; i++) {
    const id = batch.inputIds[i], ty = batch.tokenTypeIds[i];
    if (id < 0 || id >= c.vocabSize) throw new ShapeError(`${where}: inputIds[${i}] = ${id} outside the vocabulary [0, ${c.vocabSize})`);
    if (ty < 0 || ty >= c.typeVocabSize) throw new ShapeError(`${where}: tokenTypeIds[${i}] = ${ty} outside [0, ${c.typeVocabSize})`);
  }
  if (batch.matchIds !== undefined) {
    const M = c.matchVocabSize ?? 0;
    if (M === 0) throw new ShapeError(`${where}: the batch has matchIds but the config has no match embedding (matchVocabSize 0)`);
    if (batch.matchIds.length !== B * T) throw new ShapeError(`${where}: matchIds has ${batch.matchIds.length} entries, expected batch*seqLen = ${B}*${T} = ${B * T}`);
    for (let i = 0; i < B * T; i++) {
      const m = batch.matchIds[i];
      if (m < 0 || m >= M) throw new ShapeError(`${where}: matchIds[${i}] = ${m} outside [0, ${M})`);
    }
  }
}

export { dense, fastTanh, gatherRows, gelu, geluErf, layerNorm, matMul2d } from "./kernels";
import { fusedActive } from "../backend/fused";
import { dense as denseOp, denseGelu, dropout, fastTanh, fusedAttention, gatherRows, layerNorm, maskedSoftmax } from "./kernels";

/** Build an encoder from a resolved config, with seeded initial weights. */
export function createEncoder(config: Readonly<EncoderConfig>): Encoder {
  const c = checkEncoderConfig(config);
  const uid = `rra-encoder-${++instanceCounter}`;
  const shapes = encoderVariableShapes(c);
  const vars = new Map<string, tf.Variable>();
  for (const [name, shape] of shapes) {
    vars.set(name, tf.tidy(() => tf.variable(initialValue(c, name, shape), true, `${uid}/${name}`)));
  }
  const v = (name: string): tf.Variable => vars.get(name) as tf.Variable;
  const H = c.hiddenSize, nh = c.numHeads, dh = H / nh;
  const erfGelu = c.hiddenAct === "gelu_erf";
  let dropoutCalls = 0;
  let disposed = false;

  const dense = (x: tf.Tensor, name: string): tf.Tensor => denseOp(x, v(`${name}/kernel`), v(`${name}/bias`));
  const ln = (x: tf.Tensor, name: string): tf.Tensor => layerNorm(x, v(`${name}/gamma`), v(`${name}/beta`), c.layerNormEps);

  function forward(batch: EncoderBatch, options: ForwardOptions = {}): EncoderOutput {
    if (disposed) throw new ConfigError(`${uid}: used after dispose()`);
    checkBatch(batch, c);
    const B = batch.batch, T = batch.seqLen;
    const training = options.training === true && c.dropout > 0;
    const callSeed = !training ? 0 : options.seed ?? (options.rng ? options.rng.int(0x7fffffff) : deriveSeed(c.seed, `dropout/step-${dropoutCalls++}`));
    const drop = (x: tf.Tensor, site: string): tf.Tensor => (training ? dropout(x, c.dropout, deriveSeed(callSeed, site)) : x);
    return tf.tidy(() => {
      const ids = tf.tensor1d(batch.inputIds, "int32");
      const types = tf.tensor1d(batch.tokenTypeIds, "int32");
      const word = tf.reshape(gatherRows(v("embeddings/word"), ids), [B, T, H]);
      const pos = tf.slice(v("embeddings/position"), [0, 0], [T, H]);
      const seg = tf.reshape(gatherRows(v("embeddings/segment"), types), [B, T, H]);
      let emb: tf.Tensor = tf.add(tf.add(word, pos), seg);
      if (batch.matchIds !== undefined) emb = tf.add(emb, tf.reshape(gatherRows(v("embeddings/match"), tf.tensor1d(batch.matchIds, "int32")), [B, T, H]));
      let x: tf.Tensor = tf.reshape(emb, [B * T, H]);
      x = drop(ln(x, "embeddings/ln"), "embeddings");
      // Real keys (1) and padding (0), masked with -1e9 before the softmax. [B, T]
      const keep = tf.tensor2d(batch.attentionMask, [B, T], "float32");
      const attentions: tf.Tensor4D[] = [];
      const heads = (t: tf.Tensor): tf.Tensor4D => tf.transpose(tf.reshape(t, [B, T, nh, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
      let lastProbs: tf.Tensor4D | null = null;
      // the fused attention core where the native kernels serve (not when the probabilities are asked for)
      const fused = fusedActive() && !options.returnAttentions;
      const attention = (h: tf.Tensor, p: string): tf.Tensor => {
        if (fused) {
          const rate = training ? c.dropout : 0;
          return dense(fusedAttention(dense(h, `${p}/attn/qkv`) as tf.Tensor2D, keep, nh, 1 / Math.sqrt(dh), rate, rate > 0 ? deriveSeed(callSeed, `${p}/attn/probs`) : 0), `${p}/attn/out`);
        }
        const [q, k, val] = tf.split(dense(h, `${p}/attn/qkv`), 3, 1); // each [B*T, H]
        const probs = maskedSoftmax(tf.matMul(heads(q), heads(k), false, true), keep, 1 / Math.sqrt(dh)); // [B, nh, T, T]
        lastProbs = probs;
        const ctx = tf.matMul(drop(probs, `${p}/attn/probs`) as tf.Tensor4D, heads(val)); // [B, nh, T, dh]
        return dense(tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [B * T, H]), `${p}/attn/out`);
      };
      const ffn = (h: tf.Tensor, p: string): tf.Tensor => dense(denseGelu(h, v(`${p}/ffn/in/kernel`), v(`${p}/ffn/in/bias`), erfGelu), `${p}/ffn/out`);
      // Each sub-layer in a tidy of its own: a sub-layer's intermediates are freed when it ends instead of
      // when the whole forward does (what backward needs is saved by the engine and survives). Without
      // this, a 4-layer H256 forward held ~48 MB per 128-token pair and inference over 128 pairs
      // outgrew the wasm heap (4 GiB).
      // the attention sub-layer's tidy also hands its probabilities up when they are asked for (tracked by
      // the forward's own tidy, so a caller's tidy still frees them)
      const attentionBlock = (f: () => tf.Tensor): tf.Tensor => {
        const [out, probs] = tf.tidy(() => {
          const y = f();
          return options.returnAttentions && lastProbs ? [y, lastProbs] : [y];
        });
        if (probs) attentions.push(probs as tf.Tensor4D);
        return out;
      };
      for (let l = 0; l < c.numLayers; l++) {
        const p = `layer${l}`;
        const h = x;
        if (c.layerNorm === "pre") {
          x = attentionBlock(() => tf.add(h, drop(attention(ln(h, `${p}/ln1`), p), `${p}/attn/res`)));
          const a = x;
          x = tf.tidy(() => tf.add(a, drop(ffn(ln(a, `${p}/ln2`), p), `${p}/ffn/res`)));
        } else {
          x = attentionBlock(() => ln(tf.add(h, drop(attention(h, p), `${p}/attn/res`)), `${p}/ln1`));
          const a = x;
          x = tf.tidy(() => ln(tf.add(a, drop(ffn(a, p), `${p}/ffn/res`)), `${p}/ln2`));
        }
      }
      if (c.layerNorm === "pre") x = ln(x, "final/ln");
      const hidden = tf.reshape(x, [B, T, H]) as tf.Tensor3D;
      const cls = tf.reshape(tf.slice(hidden, [0, 0, 0], [B, 1, H]), [B, H]) as tf.Tensor2D;
      return options.returnAttentions ? { cls, hidden, attentions } : { cls, hidden };
    }) as EncoderOutput;
  }

  function scoreHead(cls: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.reshape(dense(fastTanh(dense(cls, "pooler")), "head"), [-1]) as tf.Tensor1D);
  }

  const getWeights = (): EncoderWeights => variablesToWeights(vars);
  const setWeights = (weights: EncoderWeights, options: { partial?: boolean } = {}): void => assignWeights(vars, weights, uid, options);

  return {
    config: c,
    forward,
    scoreHead,
    score: (batch, options = {}) => tf.tidy(() => scoreHead(forward(batch, options).cls)),
    trainableVariables: () => [...vars.values()],
    getWeights,
    setWeights,
    save(dir: string) {
      writeWeightsDir(dir, WEIGHTS_FORMAT, c, getWeights(), shapes.map(([name]) => name));
    },
    countParams: () => shapes.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0),
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const variable of vars.values()) variable.dispose();
    },
  };
}

/** Read the weights a saved encoder directory holds (weights.json manifest + weights.bin). */
export function readEncoderWeights(dir: string): EncoderWeights {
  return readWeightsDir(dir, WEIGHTS_FORMAT);
}

/** Rebuild a saved encoder: config.json + weights. Scores equal the saved model's exactly. */
export function loadEncoder(dir: string): Encoder {
  const config = checkEncoderConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")), join(dir, "config.json"));
  const encoder = createEncoder(config);
  try {
    encoder.setWeights(readEncoderWeights(dir));
  } catch (e) {
    encoder.dispose();
    throw e;
  }
  return encoder;
}

/**
 * Warm start: copy every weight of a saved checkpoint whose name and shape match this encoder's
 * (e.g. a larger vocabulary or maxLen keeps its fresh embedding); returns what was loaded and skipped.
 */
export function warmStartEncoder(encoder: Encoder, dir: string): { loaded: string[]; skipped: string[] } {
  const saved = readEncoderWeights(dir);
  const shapes = new Map(encoderVariableShapes(encoder.config).map(([n, s]) => [n, s.join(",")]));
  const take: EncoderWeights = {};
  const skipped: string[] = [];
  for (const [name, w] of Object.entries(saved)) {
    if (shapes.get(name) === w.shape.join(",")) take[name] = w;
    else skipped.push(name);
  }
  encoder.setWeights(take, { partial: true });
  return { loaded: Object.keys(take), skipped };
}
