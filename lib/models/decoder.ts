/**
 * RRA-GPT (DESIGN.md section 2, reconstruction v1): a small causal decoder over
 * "query: q document: d relevant?" prompts (packing: decoder-input.ts), with three heads read at the
 * last prompt token p (the token before the rationale):
 *   score    = w_r . h_p + b_r          ranking layer (linear)                       [B]
 *   clsLogit = w_c . h_p + b_c          listed (1) vs hard negative / missing (0)    [B]
 *   lmLogits = h_i E^T + b_lm           next-token logits at rationale positions i   [N, V]
 * The LM head is TIED to the word embedding E by default (`tieEmbeddings: false` gives a separate
 * [H, V] kernel). Loss: L = L_rank(score as [groups, L], labels) + a * BCE(clsLogit, listed)
 * + b * CE(lmLogits, next token) averaged over rationale tokens (teacher forced).
 * Inference: one forward pass over the prompt columns only (the batch is cut to max(promptLength) + 1
 * tokens), score from the ranking layer, no LM head.
 *
 * A Hugging Face GPT-2 checkpoint is this decoder with its sizes, layer_norm_epsilon, the tied LM head
 * and `lmBias: false` (lib/models/checkpoint/gpt2.ts maps its fused c_attn / Conv1D tensors onto these
 * variables; Conv1D already stores [in, out], our kernel layout).
 * Blocks are pre-LN (shapes: B rows, T tokens, H hidden, nh heads, d = H / nh):
 *   x = word[ids] + position[0..T);  x += drop(MHA(LN1(x)));  x += drop(FFN(LN2(x)));  h = LN_final(x)
 *   MHA logits get a causal mask (-1e9 where key > query) plus a padding mask (-1e9 at padding keys).
 * Initialisation, dropout seeding, weights and save files follow encoder.ts (its gatherRows / matMul2d
 * customGrads keep training independent of the global gradient registry on wasm).
 */
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "fs";
import { join } from "path";
import { ConfigError, ShapeError, show } from "../core/errors";
import { deriveSeed, Rng } from "../core/rng";
import { getLoss } from "../losses/index";
import type { RankingLoss } from "../losses/types";
import { EncoderSizes, MODEL_PRESETS, type HiddenAct } from "./presets";
import { EncoderWeights, initialValue } from "./encoder";
import { dense as denseOp, denseGelu, dropout, gatherRows, layerNorm, matMul2d } from "./kernels";
import { assignWeights, readWeightsDir, variablesToWeights, writeWeightsDir } from "./weights-file";

/** Configuration of RRA-GPT (createRraGpt takes only resolved configs, see resolveDecoderConfig). */
export interface DecoderConfig extends EncoderSizes {
  /** MODEL_PRESETS name the sizes came from, or "custom". Default "tiny". */
  preset: string;
  /** Token vocabulary size (the WordPiece vocabulary). Required. */
  vocabSize: number;
  /** Dropout on embeddings, attention probabilities and residual branches; 0 = off. Default 0.1. */
  dropout: number;
  /** Layer norm epsilon. Default 1e-6. */
  layerNormEps: number;
  /** Std of the truncated-normal initializer. Default 0.02. */
  initStd: number;
  /** LM head = word embedding transposed (true) or a separate [H, V] kernel. Default true. */
  tieEmbeddings: boolean;
  /** Seed of every initializer, per variable through deriveSeed(seed, name). Default 0. */
  seed: number;
  /** Feed-forward activation; absent = "gelu_tanh" (GPT-2's "gelu_new"). */
  hiddenAct?: HiddenAct;
  /** The LM head adds a bias [V]; absent = true. GPT-2 has none (false). */
  lmBias?: boolean;
}

/** Defaults of every field except vocabSize. */
export const DECODER_DEFAULTS: Readonly<Omit<DecoderConfig, "vocabSize">> = Object.freeze({
  preset: "tiny", ...MODEL_PRESETS.tiny, dropout: 0.1, layerNormEps: 1e-6, initStd: 0.02, tieEmbeddings: true, seed: 0,
});

const SIZE_KEYS: readonly (keyof EncoderSizes)[] = ["numLayers", "hiddenSize", "numHeads", "ffnSize", "maxLen"];
const KNOWN_KEYS: readonly string[] = ["preset", "vocabSize", ...Object.keys(DECODER_DEFAULTS)];
/** Optional fields and what their absence means; stored only when they differ (old configs stay as they were). */
const OPTIONAL_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze({ hiddenAct: "gelu_tanh", lmBias: true });

/** Merge defaults, a preset (or explicit sizes, not both) and overrides into a frozen DecoderConfig. */
export function resolveDecoderConfig(overrides: Partial<Omit<DecoderConfig, "preset">> & { vocabSize: number }, options: { preset?: string } = {}): Readonly<DecoderConfig> {
  const raw = overrides as unknown as Record<string, unknown>;
  if (raw === null || typeof raw !== "object") throw new ConfigError(`decoder config: expected an object, got ${show(raw)}`);
  if ("preset" in raw) throw new ConfigError(`decoder config: give the preset as resolveDecoderConfig(overrides, {preset: ${show(raw.preset)}}), not as a key`);
  const given = SIZE_KEYS.filter((k) => raw[k] !== undefined);
  let sizes: EncoderSizes & { preset: string } = { preset: "tiny", ...MODEL_PRESETS.tiny };
  if (options.preset !== undefined) {
    const p = (MODEL_PRESETS as Record<string, EncoderSizes>)[options.preset];
    if (!p) throw new ConfigError(`decoder config: unknown preset ${show(options.preset)}; expected one of ${Object.keys(MODEL_PRESETS).join(", ")}`);
    if (given.length) throw new ConfigError(`decoder config: preset ${show(options.preset)} given together with explicit sizes (${given.join(", ")}); give one or the other`);
    sizes = { preset: options.preset, ...p };
  } else if (given.length) sizes = { ...sizes, preset: "custom" };
  const defined: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) defined[k] = v;
  return checkDecoderConfig({ ...DECODER_DEFAULTS, ...sizes, ...defined });
}

/** Validate a complete decoder config (e.g. a stored config.json); returns a frozen copy. */
export function checkDecoderConfig(value: unknown, where = "decoder config"): Readonly<DecoderConfig> {
  if (value === null || typeof value !== "object") throw new ConfigError(`${where}: expected an object, got ${show(value)}`);
  const c = value as Record<string, unknown>;
  const unknown = Object.keys(c).filter((k) => !KNOWN_KEYS.includes(k) && !(k in OPTIONAL_DEFAULTS));
  if (unknown.length) throw new ConfigError(`${where}: unknown key(s) ${unknown.map((k) => show(k)).join(", ")}; expected some of ${[...KNOWN_KEYS, ...Object.keys(OPTIONAL_DEFAULTS)].join(", ")}`);
  for (const k of KNOWN_KEYS) if (c[k] === undefined) throw new ConfigError(`${where}: ${k} is required`);
  for (const k of [...SIZE_KEYS, "vocabSize", "seed"]) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < (k === "seed" ? 0 : 1)) throw new ConfigError(`${where}: ${k} must be a ${k === "seed" ? "non-negative" : "positive"} integer, got ${show(v)}`);
  }
  for (const k of ["dropout", "layerNormEps", "initStd"]) if (typeof c[k] !== "number" || !Number.isFinite(c[k] as number)) throw new ConfigError(`${where}: ${k} must be a finite number, got ${show(c[k])}`);
  if ((c.dropout as number) < 0 || (c.dropout as number) >= 1) throw new ConfigError(`${where}: dropout must be in [0, 1), got ${show(c.dropout)}`);
  if (typeof c.tieEmbeddings !== "boolean") throw new ConfigError(`${where}: tieEmbeddings must be a boolean, got ${show(c.tieEmbeddings)}`);
  if (typeof c.preset !== "string") throw new ConfigError(`${where}: preset must be a string, got ${show(c.preset)}`);
  if ((c.hiddenSize as number) % (c.numHeads as number) !== 0) throw new ConfigError(`${where}: hiddenSize ${c.hiddenSize} must be divisible by numHeads ${c.numHeads}`);
  if (c.hiddenAct !== undefined && c.hiddenAct !== "gelu_tanh" && c.hiddenAct !== "gelu_erf") throw new ConfigError(`${where}: hiddenAct must be "gelu_tanh" or "gelu_erf", got ${show(c.hiddenAct)}`);
  if (c.lmBias !== undefined && typeof c.lmBias !== "boolean") throw new ConfigError(`${where}: lmBias must be a boolean, got ${show(c.lmBias)}`);
  const out: Record<string, unknown> = {};
  for (const k of KNOWN_KEYS) out[k] = c[k];
  for (const [k, d] of Object.entries(OPTIONAL_DEFAULTS)) if (c[k] !== undefined && c[k] !== d) out[k] = c[k];
  return Object.freeze(out as unknown as DecoderConfig);
}

/** A batch of packed prompts (+ rationales), row-major [B, T] arrays, right padded. */
export interface DecoderBatch {
  /** Token ids, 0 <= id < vocabSize. [B, T] */
  inputIds: Int32Array;
  /** 1 = real token, 0 = padding. [B, T] */
  attentionMask: Int32Array;
  /** Per row, the index of the last prompt token (where the heads read). [B] */
  promptLength: Int32Array;
  /** Next-token id at rationale positions, -1 elsewhere. [B, T]; optional for inference. */
  lmTargets?: Int32Array;
  batch: number;
  seqLen: number;
}

/** Options of a forward pass. */
export interface DecoderForwardOptions {
  /** Dropout on. Default false. */
  training?: boolean;
  /** Dropout seed of this call; else from `rng`; else from an internal step counter. */
  seed?: number;
  rng?: Rng;
  /** Compute the LM head at rationale positions (lmTargets >= 0). Default true when lmTargets is given. */
  lm?: boolean;
}

/** What forward returns. */
export interface DecoderOutput {
  /** Ranking-layer score at the last prompt token. [B] */
  score: tf.Tensor1D;
  /** Listed-vs-missing logit at the same position. [B] */
  clsLogit: tf.Tensor1D;
  /** Final hidden states. [B, T, H] */
  hidden: tf.Tensor3D;
  /** Next-token logits at the N rationale positions (row-major order). [N, V] */
  lmLogits?: tf.Tensor2D;
  /** The N target ids of lmLogits (plain data). */
  lmTargetIds?: Int32Array;
}

/** Options of trainingLoss. */
export interface DecoderLossOptions {
  /** Ranking loss (function or LOSSES name). */
  rankLoss: RankingLoss | string;
  /** Weight a of the classification BCE. */
  clsWeight: number;
  /** Weight b of the rationale LM cross-entropy. */
  lmWeight: number;
  /** [groups, L]: how the B rows form lists; groups * L = B. */
  listShape: [number, number];
  /** 1 = listed, 0 = hard negative, per row [B]; default label > 0. Rows with label < 0 (padding) are ignored. */
  listed?: ArrayLike<number>;
  training?: boolean;
  seed?: number;
  rng?: Rng;
}

/** The loss terms (scalars). */
export interface DecoderLossTerms { total: tf.Scalar; rank: tf.Scalar; cls: tf.Scalar; lm: tf.Scalar }

/** RRA-GPT. */
export interface RraGpt {
  readonly config: Readonly<DecoderConfig>;
  forward(batch: DecoderBatch, options?: DecoderForwardOptions): DecoderOutput;
  /** One forward pass over the prompt columns only; ranking-layer scores. [B] */
  inferenceScores(batch: DecoderBatch): tf.Tensor1D;
  /** L = L_rank + a * L_cls + b * L_lm, one scalar (for optimizer.minimize). */
  trainingLoss(batch: DecoderBatch, labels: ArrayLike<number>, options: DecoderLossOptions): tf.Scalar;
  /** Every term, for logging. */
  lossTerms(batch: DecoderBatch, labels: ArrayLike<number>, options: DecoderLossOptions): DecoderLossTerms;
  trainableVariables(): tf.Variable[];
  getWeights(): EncoderWeights;
  setWeights(weights: EncoderWeights): void;
  /** config.json + weights.json + weights.bin, as the encoder. */
  save(dir: string): void;
  countParams(): number;
  dispose(): void;
}

const WEIGHTS_FORMAT = "rra-decoder-weights/1";
let instanceCounter = 0;

/** Variable names and shapes, in a fixed order. */
export function decoderVariableShapes(c: Readonly<DecoderConfig>): Array<[string, number[]]> {
  const H = c.hiddenSize, F = c.ffnSize;
  const out: Array<[string, number[]]> = [["embeddings/word", [c.vocabSize, H]], ["embeddings/position", [c.maxLen, H]]];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `layer${l}`;
    out.push([`${p}/ln1/gamma`, [H]], [`${p}/ln1/beta`, [H]], [`${p}/attn/qkv/kernel`, [H, 3 * H]], [`${p}/attn/qkv/bias`, [3 * H]],
      [`${p}/attn/out/kernel`, [H, H]], [`${p}/attn/out/bias`, [H]], [`${p}/ln2/gamma`, [H]], [`${p}/ln2/beta`, [H]],
      [`${p}/ffn/in/kernel`, [H, F]], [`${p}/ffn/in/bias`, [F]], [`${p}/ffn/out/kernel`, [F, H]], [`${p}/ffn/out/bias`, [H]]);
  }
  out.push(["final/ln/gamma", [H]], ["final/ln/beta", [H]], ["rank/kernel", [H, 1]], ["rank/bias", [1]], ["cls/kernel", [H, 1]], ["cls/bias", [1]]);
  if (!c.tieEmbeddings) out.push(["lm/kernel", [H, c.vocabSize]]);
  if (c.lmBias !== false) out.push(["lm/bias", [c.vocabSize]]);
  return out;
}

/** Check a batch at the boundary; throws ShapeError naming the value. */
export function checkDecoderBatch(batch: DecoderBatch, c: Readonly<DecoderConfig>, where = "rra-gpt"): void {
  const { batch: B, seqLen: T } = batch;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) throw new ShapeError(`${where}: batch and seqLen must be positive integers, got ${B} x ${T}`);
  if (T > c.maxLen) throw new ShapeError(`${where}: seqLen ${T} exceeds maxLen ${c.maxLen}`);
  for (const key of ["inputIds", "attentionMask", "lmTargets"] as const) {
    const a = batch[key];
    if (a !== undefined && a.length !== B * T) throw new ShapeError(`${where}: ${key} has ${a.length} entries, expected batch*seqLen = ${B * T}`);
  }
  if (batch.promptLength.length !== B) throw new ShapeError(`${where}: promptLength has ${batch.promptLength.length} entries, expected batch = ${B}`);
  for (let i = 0; i < B * T; i++) {
    const id = batch.inputIds[i];
    if (id < 0 || id >= c.vocabSize) throw new ShapeError(`${where}: inputIds[${i}] = ${id} outside the vocabulary [0, ${c.vocabSize})`);
    const t = batch.lmTargets ? batch.lmTargets[i] : -1;
    if (t < -1 || t >= c.vocabSize) throw new ShapeError(`${where}: lmTargets[${i}] = ${t} outside [-1, ${c.vocabSize})`);
  }
  for (let b = 0; b < B; b++) {
    const p = batch.promptLength[b];
    if (!(p >= 0 && p < T) || batch.attentionMask[b * T + p] !== 1) throw new ShapeError(`${where}: promptLength[${b}] = ${p} must index a real token of the row (0..${T - 1})`);
  }
}

/** Build RRA-GPT from a resolved config, with seeded initial weights. */
export function createRraGpt(config: Readonly<DecoderConfig>): RraGpt {
  const c = checkDecoderConfig(config);
  const uid = `rra-gpt-${++instanceCounter}`;
  const shapes = decoderVariableShapes(c);
  const vars = new Map<string, tf.Variable>();
  for (const [name, shape] of shapes) {
    vars.set(name, tf.tidy(() => tf.variable(initialValue(c, name, shape), true, `${uid}/${name}`)));
  }
  const v = (name: string): tf.Variable => vars.get(name) as tf.Variable;
  const H = c.hiddenSize, nh = c.numHeads, dh = H / nh, V = c.vocabSize;
  const erfGelu = c.hiddenAct === "gelu_erf";
  let dropoutCalls = 0, disposed = false;
  const dense = (x: tf.Tensor, name: string): tf.Tensor => denseOp(x, v(`${name}/kernel`), v(`${name}/bias`));
  const ln = (x: tf.Tensor, name: string): tf.Tensor => layerNorm(x, v(`${name}/gamma`), v(`${name}/beta`), c.layerNormEps);

  function forward(batch: DecoderBatch, options: DecoderForwardOptions = {}): DecoderOutput {
    if (disposed) throw new ConfigError(`${uid}: used after dispose()`);
    checkDecoderBatch(batch, c);
    const B = batch.batch, T = batch.seqLen;
    const training = options.training === true && c.dropout > 0;
    const callSeed = !training ? 0 : options.seed ?? (options.rng ? options.rng.int(0x7fffffff) : deriveSeed(c.seed, `dropout/step-${dropoutCalls++}`));
    const drop = (x: tf.Tensor, site: string): tf.Tensor => (training ? dropout(x, c.dropout, deriveSeed(callSeed, site)) : x);
    const lmPositions: number[] = [], lmTargetIds: number[] = [];
    if (batch.lmTargets && options.lm !== false) {
      for (let i = 0; i < B * T; i++) if (batch.lmTargets[i] >= 0) { lmPositions.push(i); lmTargetIds.push(batch.lmTargets[i]); }
    }
    return tf.tidy(() => {
      const word = tf.reshape(gatherRows(v("embeddings/word"), tf.tensor1d(batch.inputIds, "int32")), [B, T, H]);
      let x: tf.Tensor = drop(tf.reshape(tf.add(word, tf.slice(v("embeddings/position"), [0, 0], [T, H])), [B * T, H]), "embeddings");
      // Additive mask [B, 1, T, T]: -1e9 at future keys (causal) and at padding keys.
      const causal = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9); // [T, T]
      const pad = tf.reshape(tf.mul(tf.sub(1, tf.tensor1d(batch.attentionMask, "float32")), -1e9), [B, 1, 1, T]);
      const mask = tf.add(tf.reshape(causal, [1, 1, T, T]), pad);
      const heads = (t: tf.Tensor): tf.Tensor4D => tf.transpose(tf.reshape(t, [B, T, nh, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
      for (let l = 0; l < c.numLayers; l++) {
        const p = `layer${l}`;
        // each sub-layer in its own tidy, as in encoder.ts: intermediates freed when it ends
        const h = x;
        x = tf.tidy(() => {
          const [q, k, val] = tf.split(dense(ln(h, `${p}/ln1`), `${p}/attn/qkv`), 3, 1); // each [B*T, H]
          const probs = tf.softmax(tf.add(tf.mul(tf.matMul(heads(q), heads(k), false, true), 1 / Math.sqrt(dh)), mask)); // [B, nh, T, T]
          const ctx = tf.matMul(drop(probs, `${p}/attn/probs`) as tf.Tensor4D, heads(val)); // [B, nh, T, dh]
          return tf.add(h, drop(dense(tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [B * T, H]), `${p}/attn/out`), `${p}/attn/res`));
        });
        const a = x;
        x = tf.tidy(() => tf.add(a, drop(dense(denseGelu(ln(a, `${p}/ln2`), v(`${p}/ffn/in/kernel`), v(`${p}/ffn/in/bias`), erfGelu), `${p}/ffn/out`), `${p}/ffn/res`)));
      }
      const h = ln(x, "final/ln"); // [B*T, H]
      const last = gatherRows(h, tf.tensor1d(Array.from(batch.promptLength, (pl, b) => b * T + pl), "int32")); // [B, H]
      const out: DecoderOutput = {
        score: tf.reshape(dense(last, "rank"), [B]) as tf.Tensor1D,
        clsLogit: tf.reshape(dense(last, "cls"), [B]) as tf.Tensor1D,
        hidden: tf.reshape(h, [B, T, H]) as tf.Tensor3D,
      };
      if (lmPositions.length) {
        const hr = gatherRows(h, tf.tensor1d(lmPositions, "int32")); // [N, H]
        const kernel = c.tieEmbeddings ? tf.transpose(v("embeddings/word")) : v("lm/kernel"); // [H, V]
        const logits = matMul2d(hr, kernel); // [N, V]
        out.lmLogits = (c.lmBias === false ? logits : tf.add(logits, v("lm/bias"))) as tf.Tensor2D;
        out.lmTargetIds = Int32Array.from(lmTargetIds);
      }
      return out as unknown as tf.TensorContainer;
    }) as unknown as DecoderOutput;
  }

  function inferenceScores(batch: DecoderBatch): tf.Tensor1D {
    let maxP = 0;
    for (let b = 0; b < batch.batch; b++) maxP = Math.max(maxP, batch.promptLength[b]);
    const T = batch.seqLen, T2 = Math.min(T, maxP + 1);
    const cut = (a: Int32Array): Int32Array => {
      const o = new Int32Array(batch.batch * T2);
      for (let b = 0; b < batch.batch; b++) o.set(a.subarray(b * T + 0, b * T + T2), b * T2);
      return o;
    };
    const prompt: DecoderBatch = { inputIds: cut(batch.inputIds), attentionMask: cut(batch.attentionMask), promptLength: batch.promptLength, batch: batch.batch, seqLen: T2 };
    return tf.tidy(() => forward(prompt, { training: false, lm: false }).score);
  }

  function lossTerms(batch: DecoderBatch, labels: ArrayLike<number>, o: DecoderLossOptions): DecoderLossTerms {
    const B = batch.batch;
    const [G, L] = o.listShape;
    if (G * L !== B) throw new ShapeError(`rra-gpt.trainingLoss: listShape [${G}, ${L}] holds ${G * L} rows, batch has ${B}`);
    if (labels.length !== B) throw new ShapeError(`rra-gpt.trainingLoss: labels has ${labels.length} entries, expected batch = ${B}`);
    if (o.listed && o.listed.length !== B) throw new ShapeError(`rra-gpt.trainingLoss: listed has ${o.listed.length} entries, expected batch = ${B}`);
    for (const k of ["clsWeight", "lmWeight"] as const) if (!(Number.isFinite(o[k]) && o[k] >= 0)) throw new ConfigError(`rra-gpt.trainingLoss: ${k} must be a non-negative number, got ${show(o[k])}`);
    const rankLoss = typeof o.rankLoss === "string" ? getLoss(o.rankLoss) : o.rankLoss;
    const valid = Float32Array.from(labels, (y) => (y >= 0 ? 1 : 0));
    const target = Float32Array.from(labels, (y, i) => (o.listed ? (o.listed[i] > 0 ? 1 : 0) : y > 0 ? 1 : 0));
    return tf.tidy(() => {
      const out = forward(batch, { training: o.training, seed: o.seed, rng: o.rng, lm: o.lmWeight > 0 });
      const rank = rankLoss(tf.reshape(out.score, [G, L]) as tf.Tensor2D, tf.tensor2d(Float32Array.from(labels), [G, L]));
      // Stable BCE with logits, masked before the mean: max(x,0) - x*y + log(1 + exp(-|x|)).
      const x = out.clsLogit, m = tf.tensor1d(valid);
      const bce = tf.add(tf.sub(tf.relu(x), tf.mul(x, tf.tensor1d(target))), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
      const cls = tf.div(tf.sum(tf.mul(bce, m)), Math.max(1, valid.reduce((a, b) => a + b, 0))) as tf.Scalar;
      let lm: tf.Scalar = tf.scalar(0);
      if (out.lmLogits && out.lmTargetIds) {
        // lmLogits holds only rationale positions (the mask is applied by gathering them); token CE = -log p(target).
        const N = out.lmTargetIds.length;
        const picked = tf.mul(tf.logSoftmax(out.lmLogits), tf.oneHot(tf.tensor1d(out.lmTargetIds, "int32"), V)); // [N, V]
        lm = tf.div(tf.neg(tf.sum(picked)), N) as tf.Scalar;
      }
      const total = tf.add(tf.add(rank, tf.mul(o.clsWeight, cls)), tf.mul(o.lmWeight, lm)) as tf.Scalar;
      return { total, rank, cls, lm };
    });
  }

  const getWeights = (): EncoderWeights => variablesToWeights(vars);
  const setWeights = (weights: EncoderWeights): void => assignWeights(vars, weights, uid);

  return {
    config: c,
    forward,
    inferenceScores,
    trainingLoss: (batch, labels, o) => tf.tidy(() => lossTerms(batch, labels, o).total),
    lossTerms,
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

/** Rebuild a saved RRA-GPT (config.json + weights.json + weights.bin); outputs equal the saved model's. */
export function loadRraGpt(dir: string): RraGpt {
  const config = checkDecoderConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")), join(dir, "config.json"));
  const weights = readWeightsDir(dir, WEIGHTS_FORMAT);
  const model = createRraGpt(config);
  try {
    model.setWeights(weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
