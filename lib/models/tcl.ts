/**
 * The Term Control Layer (TCL) and the RRA-BERT model (DESIGN.md section 2: reconstructions v1, v2, v3).
 *
 * TCL v3 (form "bm25", the default): contextual term impacts in a BM25 shape. The TCL turns the final
 * hidden state of each passage token that starts a word carrying a query term into an impact
 * w_i = softplus(u . h_i + c), with u = 0 and c = ln(e - 1) at initialisation so that every w_i = 1; per
 * query term j, a_j = sum of w_i * (occurrences of j in the word at i) + (occurrences cut off by
 * truncation), and
 *   t = sum_j qtf_j * idf_j * a_j / (a_j + k1 (1 - b + b L(dl) / avgdl)),
 * which is Lucene's BM25 of the pair at initialisation (batch.terms, train/batches.ts) and learns
 * contextual term weights (DeepImpact-like). With s the student's ranking score (composition.ts: scale,
 * features and first-stage prior included) and z(t) t standardised within each list:
 *   aug = stopgrad(s) + lambda * z(t)
 *   L = L_rank(s) + a * L_rank(aug) + b * KL(softmax(stopgrad(aug)) || softmax(s)),
 * so L_rank(aug) trains the TCL and, through h_i, the encoder's contextual term representations, while
 * the align term pulls s towards the TCL-augmented ranking.
 *
 * TCL v1 / v2 (form "mean"):
 * TCL (train-only): reads the final hidden states h_i [B, T, H] and gives each token a term weight
 *   w_i = softplus(u . h_i + c)            (u [H], c scalar; positive by construction)
 * Only tokens chosen by Token Selection count; the term score of a pair is
 *   t = sum_i mask_i * idf_i * w_i / norm,  norm = max(1, n_sel) ("count", default), sqrt(max(1, n_sel))
 *   ("sqrt") or 1 ("none"), with n_sel = sum_i mask_i the number of selected tokens.
 * Training loss (a = rankWeight, b = alignWeight):
 *   L = L_rank(s_cls) + a * L_rank(s_cls + t) + b * L_align(s_cls <- stopgrad(s_cls + t)),
 *   L_align ("kl", default since reconstruction v2) = per list, KL(softmax(stopgrad(s_cls + t)) || softmax(s_cls))
 *     over the non-padded slots, averaged over lists: it vanishes once s_cls ranks a list as s_cls + t does;
 *   L_align ("mse", v1) = mean over non-padded slots of (s_cls - stopgrad(s_cls + t))^2. Its gradient on s_cls
 *     is the constant -2t, which never vanishes and makes s_cls regress onto the raw term score (measured:
 *     dev nDCG@10 0.10 against 0.25 without the TCL, tiny preset, DL19 -> DL20); kept as a switch.
 * With the TCL off the model has no TCL variables and L = L_rank(s_cls) exactly. Inference always uses
 * s_cls only (`inferenceScores` never reads the TCL), so serving cost and outputs do not depend on it.
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError, show } from "../core/errors";
import { klDistill } from "../losses/distill";
import { deriveSeed } from "../core/rng";
import { createComposition, type CompositionConfig, type ScoreComposition } from "./composition";
import { createEncoder, Encoder, EncoderOutput, encoderVariableShapes, ForwardOptions } from "./encoder";
import { encoderInput } from "./match-channel";
import { EncoderConfig } from "./presets";
import { parseSelectionMode, TokenSelectionMode } from "./token-selection";
import { EncoderBatch, SelectionArrays, TermArrays } from "./types";

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type LayerVariable = ReturnType<tf.layers.Layer["addWeight"]>;

/** How the term score is normalized by the number of selected tokens n_sel. */
export type TermNorm = "count" | "sqrt" | "none";

/** Form of the align term (see the file header). */
export type AlignForm = "kl" | "mse";

/** Form of the term score: "bm25" (v3) or "mean" (v1, v2). */
export type TermForm = "bm25" | "mean";

/** Configuration of the TCL and of the RRA-BERT training loss. */
export interface TclConfig {
  /** Term score: "bm25" (v3, default) or "mean" (v1/v2). */
  form: TermForm;
  /** v3: weight lambda of z(t) in the augmented score. Default 1. */
  lambda: number;
  /** v3: stop the gradient of s inside the augmented score. Default true. */
  stopGradient: boolean;
  /** Term-score normalization: "count" = max(1, n_sel) (default), "sqrt" = sqrt(max(1, n_sel)), "none" = 1. */
  norm: TermNorm;
  /** a: weight of L_rank(s_cls + t). Default 1. */
  rankWeight: number;
  /** b: weight of L_align(s_cls <- stopgrad(s_cls + t)). Default 1. */
  alignWeight: number;
  /** Form of L_align: "kl" (listwise, default) or "mse" (pointwise, reconstruction v1). */
  align: AlignForm;
  /** Std of u's truncated-normal init (0 = zeros). Default 0 (v3; v1/v2 used 0.02). */
  initStd: number;
  /** Initial c. Default ln(e - 1) = 0.5413, so that softplus(c) = 1 (v3; v1/v2 used 0). */
  biasInit: number;
  /** Seed of u's initializer (through deriveSeed(seed, "tcl/u")). Default 0. */
  seed: number;
}

/** softplus(x) = 1 at this x: the v3 impact bias at initialisation. */
export const UNIT_IMPACT_BIAS = Math.log(Math.E - 1);

/** TCL defaults (reconstruction v3). */
export const TCL_DEFAULTS: Readonly<TclConfig> = Object.freeze({
  form: "bm25" as TermForm, lambda: 1, stopGradient: true, norm: "count" as TermNorm, rankWeight: 1, alignWeight: 1, align: "kl" as AlignForm, initStd: 0, biasInit: UNIT_IMPACT_BIAS, seed: 0,
});

/** The TCL settings of each reconstruction version (DESIGN.md): 1 = mean term score + MSE align, 2 = mean + KL align, 3 = BM25-shaped impacts. */
export function tclVersion(version: number): Partial<TclConfig> {
  switch (version) {
    case 1: return { form: "mean", align: "mse", initStd: 0.02, biasInit: 0 };
    case 2: return { form: "mean", align: "kl", initStd: 0.02, biasInit: 0 };
    case 3: return { form: "bm25", align: "kl", initStd: 0, biasInit: UNIT_IMPACT_BIAS };
    default: throw new ConfigError(`tcl: unknown reconstruction version ${show(version)}; expected 1, 2 or 3`);
  }
}

/** Merge overrides into the defaults; ConfigError on unknown keys or wrong types. Returns a frozen copy. */
export function resolveTclConfig(overrides: Partial<TclConfig> = {}): Readonly<TclConfig> {
  const out = { ...TCL_DEFAULTS } as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in TCL_DEFAULTS)) throw new ConfigError(`tcl config: unknown key ${show(k)}; expected some of ${Object.keys(TCL_DEFAULTS).join(", ")}`);
    if (v !== undefined) out[k] = v;
  }
  if (!["count", "sqrt", "none"].includes(out.norm as string)) throw new ConfigError(`tcl config: norm must be "count", "sqrt" or "none", got ${show(out.norm)}`);
  if (out.align !== "kl" && out.align !== "mse") throw new ConfigError(`tcl config: align must be "kl" or "mse", got ${show(out.align)}`);
  if (out.form !== "bm25" && out.form !== "mean") throw new ConfigError(`tcl config: form must be "bm25" (v3) or "mean" (v1/v2), got ${show(out.form)}`);
  if (typeof out.stopGradient !== "boolean") throw new ConfigError(`tcl config: stopGradient must be true or false, got ${show(out.stopGradient)}`);
  for (const k of ["rankWeight", "alignWeight", "initStd", "biasInit", "seed", "lambda"]) {
    if (typeof out[k] !== "number" || !Number.isFinite(out[k] as number)) throw new ConfigError(`tcl config: ${k} must be a finite number, got ${show(out[k])}`);
  }
  if (!Number.isInteger(out.seed) || (out.seed as number) < 0) throw new ConfigError(`tcl config: seed must be a non-negative integer, got ${show(out.seed)}`);
  return Object.freeze(out as unknown as TclConfig);
}

/** Constructor args of TermControlLayer. */
export interface TermControlLayerArgs extends LayerArgs {
  initStd?: number;
  biasInit?: number;
  seed?: number;
}

/** The TCL as a serializable tf.layers.Layer: hidden [B, T, H] -> term weights w = softplus(h u + c) [B, T]. */
export class TermControlLayer extends tf.layers.Layer {
  /** Serialization name. */
  static className = "TermControlLayer";
  readonly initStd: number;
  readonly biasInit: number;
  readonly seed: number;
  private u: LayerVariable | undefined;
  private c: LayerVariable | undefined;

  constructor(args: TermControlLayerArgs = {}) {
    const { initStd, biasInit, seed, ...layerArgs } = args;
    super(layerArgs);
    this.initStd = initStd ?? TCL_DEFAULTS.initStd;
    this.biasInit = biasInit ?? TCL_DEFAULTS.biasInit;
    this.seed = seed ?? TCL_DEFAULTS.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const H = shape[shape.length - 1];
    if (typeof H !== "number") throw new ShapeError(`TermControlLayer: the hidden size (last axis) must be known, got shape [${shape}]`);
    const init = this.initStd > 0 ? tf.initializers.truncatedNormal({ mean: 0, stddev: this.initStd, seed: deriveSeed(this.seed, "tcl/u") }) : tf.initializers.zeros();
    this.u = this.addWeight("u", [H], "float32", init);
    this.c = this.addWeight("c", [], "float32", tf.initializers.constant({ value: this.biasInit }));
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return shape.slice(0, -1);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const h = Array.isArray(inputs) ? inputs[0] : inputs; // [B, T, H]
      const [B, T, H] = h.shape;
      const u = (this.u as LayerVariable).read(), c = (this.c as LayerVariable).read();
      const logits = tf.add(tf.matMul(tf.reshape(h, [B * T, H]) as tf.Tensor2D, tf.reshape(u, [H, 1]) as tf.Tensor2D), c);
      return tf.reshape(tf.softplus(logits), [B, T]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), initStd: this.initStd, biasInit: this.biasInit, seed: this.seed };
  }

  /** Free u and c; also for a layer built eagerly (createRraBert) and never applied. */
  override dispose(): ReturnType<tf.layers.Layer["dispose"]> {
    if (this.built && this._refCount === null) this._refCount = 1;
    return super.dispose();
  }

  /** The TCL's own trainable variables (u, c), for optimizer.minimize. */
  variables(): tf.Variable[] {
    return this.built ? this.trainableWeights.map((w) => w.read() as tf.Variable) : [];
  }

  /** Term weights as plain arrays [B][T], 0 at unselected positions (for plots). */
  termWeights(hidden: tf.Tensor3D, selection: SelectionArrays): number[][] {
    const [B, T] = hidden.shape;
    const w = tf.tidy(() => (this.apply(hidden) as tf.Tensor).dataSync());
    return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, i) => (selection.mask[b * T + i] > 0 ? w[b * T + i] : 0)));
  }
}
tf.serialization.registerClass(TermControlLayer);

/** Term score t [B] from term weights w [B, T] and a selection (see the file header for the norm). */
export function computeTermScore(w: tf.Tensor2D, selection: SelectionArrays, norm: TermNorm): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, T] = w.shape;
    if (selection.mask.length !== B * T || selection.idf.length !== B * T) {
      throw new ShapeError(`computeTermScore: selection has ${selection.mask.length} mask / ${selection.idf.length} idf entries, expected ${B}*${T}`);
    }
    const mask = tf.tensor2d(selection.mask, [B, T]);
    const raw = tf.sum(tf.mul(tf.mul(w, mask), tf.tensor2d(selection.idf, [B, T])), 1);
    if (norm === "none") return raw as tf.Tensor1D;
    const n = tf.maximum(tf.sum(mask, 1), 1);
    return tf.div(raw, norm === "sqrt" ? tf.sqrt(n) : n) as tf.Tensor1D;
  });
}

/**
 * TCL v3 term score t [B] from impacts w [B, T] and term arrays (see the file header):
 * a_j = sum_t w_t counts[t, j] + extra_j;  t = sum_j weight_j a_j / (a_j + norm).
 */
export function computeBm25TermScore(w: tf.Tensor2D, terms: TermArrays): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, T] = w.shape;
    const J = terms.terms;
    if (terms.counts.length !== B * T * J || terms.extra.length !== B * J || terms.weight.length !== B * J || terms.norm.length !== B) {
      throw new ShapeError(`computeBm25TermScore: term arrays do not fit impacts of shape [${B},${T}] with ${J} term slots`);
    }
    const counts = tf.tensor3d(terms.counts, [B, T, J]);
    const a = tf.add(tf.reshape(tf.matMul(tf.reshape(w, [B, 1, T]), counts), [B, J]), tf.tensor2d(terms.extra, [B, J])); // [B, J]
    const norm = tf.reshape(tf.tensor1d(terms.norm), [B, 1]);
    return tf.sum(tf.mul(tf.tensor2d(terms.weight, [B, J]), tf.div(a, tf.add(a, norm))), 1) as tf.Tensor1D;
  });
}

/** Standardise each row over its valid slots (labels != -1); padded slots get 0. [Q, L] */
export function rowZScores(x: tf.Tensor2D, labels: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const valid = tf.cast(tf.notEqual(labels, -1), "float32");
    const n = tf.maximum(tf.sum(valid, 1, true), 1);
    const mean = tf.div(tf.sum(tf.mul(x, valid), 1, true), n);
    const centred = tf.mul(tf.sub(x, mean), valid);
    const sd = tf.sqrt(tf.add(tf.div(tf.sum(tf.square(centred), 1, true), n), 1e-8));
    return tf.div(centred, sd) as tf.Tensor2D;
  });
}

/** A ranking loss from lib/losses: scores [Q, L], labels [Q, L] (-1 = padded slot) -> Scalar. */
export type RankingLossFn = (scores: tf.Tensor2D, labels: tf.Tensor2D) => tf.Scalar;

const stopGradient = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
  value: tf.add(x as tf.Tensor, 0),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/** Scores of one training forward pass. */
export interface TrainingScores {
  /** s_cls [N]. */
  sCls: tf.Tensor1D;
  /** s_cls + t [N] (= s_cls when the TCL is off; v1/v2). */
  sTcl: tf.Tensor1D;
  /** The term score t [N] (v3; absent when the TCL is off). */
  term?: tf.Tensor1D;
}

/** The ranking score of network scores [Q, L] (composition.ts: scale, features, first-stage prior); identity by default. */
export type Compose = (sNet: tf.Tensor2D) => tf.Tensor2D;

/**
 * The RRA-BERT training loss for `labels` [Q, L]; scores are flat [Q*L] in the row order of `labels`.
 * - TCL off: L_rank(compose(s_cls)).
 * - form "mean" (v1/v2): L_rank(compose(s_cls)) + a * L_rank(compose(s_cls + t)) + b * L_align(s_cls <- stopgrad(s_cls + t)).
 * - form "bm25" (v3): with s = compose(s_cls) and aug = stopgrad(s) + lambda * z(t):
 *   L_rank(s) + a * L_rank(aug) + b * KL(softmax(stopgrad(aug)) || softmax(s)).
 */
export function computeRraLoss(scores: TrainingScores, labels: tf.Tensor2D, rankLoss: RankingLossFn, config: Pick<TclConfig, "rankWeight" | "alignWeight"> & Partial<Pick<TclConfig, "form" | "lambda" | "stopGradient">> & { align?: AlignForm }, tcl = true, compose: Compose = (x) => x): tf.Scalar {
  return tf.tidy(() => {
    const [Q, L] = labels.shape;
    if (scores.sCls.size !== Q * L) throw new ShapeError(`computeRraLoss: ${scores.sCls.size} scores do not fill labels of shape [${Q},${L}]`);
    const sCls = tf.reshape(scores.sCls, [Q, L]) as tf.Tensor2D;
    const s = compose(sCls);
    let loss: tf.Tensor = rankLoss(s, labels);
    if (!tcl) return loss as tf.Scalar;
    if ((config.form ?? "mean") === "bm25") {
      const t = tf.reshape(scores.term ?? tf.zeros([Q * L]), [Q, L]) as tf.Tensor2D;
      const base = config.stopGradient === false ? s : (stopGradient(s) as tf.Tensor2D);
      const aug = tf.add(base, tf.mul(rowZScores(t, labels), config.lambda ?? 1)) as tf.Tensor2D;
      if (config.rankWeight !== 0) loss = tf.add(loss, tf.mul(config.rankWeight, rankLoss(aug, labels)));
      if (config.alignWeight !== 0) loss = tf.add(loss, tf.mul(config.alignWeight, klDistill(s, labels, { teacherScores: stopGradient(aug) as tf.Tensor2D })));
      return loss as tf.Scalar;
    }
    const sTcl = tf.reshape(scores.sTcl, [Q, L]) as tf.Tensor2D;
    if (config.rankWeight !== 0) loss = tf.add(loss, tf.mul(config.rankWeight, rankLoss(compose(sTcl), labels)));
    if (config.alignWeight !== 0 && (config.align ?? "mse") === "kl") {
      loss = tf.add(loss, tf.mul(config.alignWeight, klDistill(sCls, labels, { teacherScores: stopGradient(sTcl) as tf.Tensor2D })));
    } else if (config.alignWeight !== 0) {
      const valid = tf.cast(tf.notEqual(labels, -1), "float32");
      const diff = tf.sub(sCls, stopGradient(sTcl));
      const align = tf.div(tf.sum(tf.mul(tf.mul(diff, diff), valid)), tf.maximum(tf.sum(valid), 1));
      loss = tf.add(loss, tf.mul(config.alignWeight, align));
    }
    return loss as tf.Scalar;
  });
}

/** Options of createRraBert. */
export interface RraBertOptions {
  /** Build the train-only TCL. With false no TCL variables exist. */
  tcl: boolean;
  /** Token Selection mode recorded with the model (the data pipeline fills batch.selection with it). */
  tokenSelection: TokenSelectionMode;
  /** TCL and loss settings (resolved with resolveTclConfig). */
  tclConfig?: Partial<TclConfig>;
  /** Start the score head at zero (the residual student: step 0 scores 0, so the composition's prior alone ranks). Default false. */
  zeroHead?: boolean;
  /** The ranking-score composition (composition.ts); its variables train with the model. Default: none (s = s_cls). */
  composition?: Partial<CompositionConfig>;
}

/** RRA-BERT: the encoder, its [CLS] score, and (train-only) the TCL. */
export interface RraBert {
  readonly encoder: Encoder;
  /** The TCL, or undefined when built with tcl: false. */
  readonly tcl: TermControlLayer | undefined;
  readonly tokenSelection: TokenSelectionMode;
  readonly tclConfig: Readonly<TclConfig>;
  /** The ranking-score composition, when one was asked for. */
  readonly composition: ScoreComposition | undefined;
  /** Serving scores s_cls [B]; never reads the TCL. */
  inferenceScores(batch: EncoderBatch): tf.Tensor1D;
  /** s_cls and s_cls + t from one (dropout-on by default) forward pass. */
  trainingScores(batch: EncoderBatch, options?: ForwardOptions): TrainingScores;
  /** The documented training loss for `labels` [Q, L] (Q*L = batch rows); `compose` turns s_cls into the ranking score. */
  trainingLoss(batch: EncoderBatch, labels: tf.Tensor2D, rankLoss: RankingLossFn, options?: ForwardOptions, compose?: Compose): tf.Scalar;
  /** Term weights [B][T] at selected positions (0 elsewhere), dropout off. */
  termWeights(batch: EncoderBatch): number[][];
  /** Encoder, TCL and composition variables. */
  trainableVariables(): tf.Variable[];
  dispose(): void;
}

function requireTerms(batch: EncoderBatch): TermArrays {
  if (!batch.terms) throw new ShapeError(`RRA-BERT with TCL v3: batch.terms is missing; pack the batch with termArrays: true (train/batches.ts)`);
  return batch.terms;
}

function requireSelection(batch: EncoderBatch): SelectionArrays {
  if (!batch.selection) throw new ShapeError(`RRA-BERT with TCL: batch.selection is missing; fill it with computeTokenSelection/packSelections`);
  return batch.selection;
}

/** Build RRA-BERT from a resolved encoder config. The TCL (if any) is built eagerly so its variables exist. */
export function createRraBert(config: Readonly<EncoderConfig>, options: RraBertOptions): RraBert {
  parseSelectionMode(options.tokenSelection);
  const tclConfig = resolveTclConfig(options.tclConfig);
  const encoder = createEncoder(config);
  if (options.zeroHead) {
    const shapes = new Map(encoderVariableShapes(config));
    encoder.setWeights({ "head/kernel": zeroWeight(shapes.get("head/kernel") as number[]), "head/bias": zeroWeight(shapes.get("head/bias") as number[]) }, { partial: true });
  }
  const composition = options.composition ? createComposition(options.composition) : undefined;
  let tcl: TermControlLayer | undefined;
  if (options.tcl) {
    tcl = new TermControlLayer({ initStd: tclConfig.initStd, biasInit: tclConfig.biasInit, seed: tclConfig.seed });
    tcl.build([null, null, config.hiddenSize]);
  }
  // a separate match embedding (a warm-started checkpoint): the packer's combined token types are split (match-channel.ts)
  const input = (batch: EncoderBatch): EncoderBatch => encoderInput(batch, config);
  const termScores = (out: EncoderOutput, batch: EncoderBatch): TrainingScores => {
    const sCls = encoder.scoreHead(out.cls);
    if (!tcl) return { sCls, sTcl: sCls };
    const w = tcl.apply(out.hidden) as tf.Tensor2D;
    if (tclConfig.form === "bm25") {
      const term = computeBm25TermScore(w, requireTerms(batch));
      return { sCls, sTcl: tf.add(sCls, term) as tf.Tensor1D, term };
    }
    return { sCls, sTcl: tf.add(sCls, computeTermScore(w, requireSelection(batch), tclConfig.norm)) as tf.Tensor1D };
  };
  return {
    encoder,
    tcl,
    tokenSelection: options.tokenSelection,
    tclConfig,
    composition,
    inferenceScores: (batch) => encoder.score(input(batch), { training: false }),
    trainingScores: (batch, fwd = { training: true }) =>
      tf.tidy(() => ({ ...termScores(encoder.forward(input(batch), fwd), batch) })) as unknown as TrainingScores,
    trainingLoss: (batch, labels, rankLoss, fwd = { training: true }, compose) =>
      tf.tidy(() => computeRraLoss(termScores(encoder.forward(input(batch), fwd), batch), labels, rankLoss, tclConfig, tcl !== undefined, compose)),
    termWeights(batch) {
      if (!tcl) throw new ConfigError(`RRA-BERT: termWeights needs a model built with tcl: true`);
      const sel = tclConfig.form === "bm25" && batch.terms ? termStartSelection(batch.terms, batch.batch, batch.seqLen) : requireSelection(batch);
      const out = encoder.forward(input(batch), { training: false });
      try {
        return tcl.termWeights(out.hidden, sel);
      } finally {
        tf.dispose([out.cls, out.hidden]);
      }
    },
    trainableVariables: () => [...encoder.trainableVariables(), ...(tcl ? tcl.variables() : []), ...(composition ? composition.variables() : [])],
    dispose() {
      encoder.dispose();
      composition?.dispose();
      if (tcl && tcl.built) tcl.dispose();
    },
  };
}

function zeroWeight(shape: number[]): { shape: number[]; values: Float32Array } {
  return { shape, values: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

/** Selection arrays of the v3 term-start tokens (for plots): mask 1 where a word carrying a query term starts, idf = its largest term weight. */
export function termStartSelection(terms: TermArrays, B: number, T: number): SelectionArrays {
  const J = terms.terms;
  const mask = new Float32Array(B * T), idf = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < J; j++) {
        if (terms.counts[(b * T + t) * J + j] > 0) {
          mask[b * T + t] = 1;
          idf[b * T + t] = Math.max(idf[b * T + t], terms.weight[b * J + j]);
        }
      }
    }
  }
  return { mask, idf };
}
