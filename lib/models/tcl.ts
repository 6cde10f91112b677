/**
 * The Term Control Layer (TCL) and the RRA-BERT model (DESIGN.md section 2, our reconstruction v1).
 *
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
import { createEncoder, Encoder, EncoderOutput, ForwardOptions } from "./encoder";
import { EncoderConfig } from "./presets";
import { parseSelectionMode, TokenSelectionMode } from "./token-selection";
import { EncoderBatch, SelectionArrays } from "./types";

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type LayerVariable = ReturnType<tf.layers.Layer["addWeight"]>;

/** How the term score is normalized by the number of selected tokens n_sel. */
export type TermNorm = "count" | "sqrt" | "none";

/** Form of the align term (see the file header). */
export type AlignForm = "kl" | "mse";

/** Configuration of the TCL and of the RRA-BERT training loss. */
export interface TclConfig {
  /** Term-score normalization: "count" = max(1, n_sel) (default), "sqrt" = sqrt(max(1, n_sel)), "none" = 1. */
  norm: TermNorm;
  /** a: weight of L_rank(s_cls + t). Default 1. */
  rankWeight: number;
  /** b: weight of L_align(s_cls <- stopgrad(s_cls + t)). Default 1. */
  alignWeight: number;
  /** Form of L_align: "kl" (listwise, default) or "mse" (pointwise, reconstruction v1). */
  align: AlignForm;
  /** Std of u's truncated-normal init. Default 0.02. */
  initStd: number;
  /** Initial c (softplus(0) = 0.69 term weight at start). Default 0. */
  biasInit: number;
  /** Seed of u's initializer (through deriveSeed(seed, "tcl/u")). Default 0. */
  seed: number;
}

/** TCL defaults. */
export const TCL_DEFAULTS: Readonly<TclConfig> = Object.freeze({ norm: "count" as TermNorm, rankWeight: 1, alignWeight: 1, align: "kl" as AlignForm, initStd: 0.02, biasInit: 0, seed: 0 });

/** Merge overrides into the defaults; ConfigError on unknown keys or wrong types. Returns a frozen copy. */
export function resolveTclConfig(overrides: Partial<TclConfig> = {}): Readonly<TclConfig> {
  const out = { ...TCL_DEFAULTS } as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in TCL_DEFAULTS)) throw new ConfigError(`tcl config: unknown key ${show(k)}; expected some of ${Object.keys(TCL_DEFAULTS).join(", ")}`);
    if (v !== undefined) out[k] = v;
  }
  if (!["count", "sqrt", "none"].includes(out.norm as string)) throw new ConfigError(`tcl config: norm must be "count", "sqrt" or "none", got ${show(out.norm)}`);
  if (out.align !== "kl" && out.align !== "mse") throw new ConfigError(`tcl config: align must be "kl" or "mse", got ${show(out.align)}`);
  for (const k of ["rankWeight", "alignWeight", "initStd", "biasInit", "seed"]) {
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
    this.u = this.addWeight("u", [H], "float32", tf.initializers.truncatedNormal({ mean: 0, stddev: this.initStd, seed: deriveSeed(this.seed, "tcl/u") }));
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
  /** s_cls + t [N] (= s_cls when the TCL is off). */
  sTcl: tf.Tensor1D;
}

/**
 * L = L_rank(s_cls) + a * L_rank(s_cls + t) + b * L_align(s_cls <- stopgrad(s_cls + t)).
 * Scores are flat [Q*L] in the row order of `labels` [Q, L]. With `tcl` false only L_rank(s_cls) is computed.
 */
export function computeRraLoss(scores: TrainingScores, labels: tf.Tensor2D, rankLoss: RankingLossFn, config: Pick<TclConfig, "rankWeight" | "alignWeight"> & { align?: AlignForm }, tcl = true): tf.Scalar {
  return tf.tidy(() => {
    const [Q, L] = labels.shape;
    if (scores.sCls.size !== Q * L) throw new ShapeError(`computeRraLoss: ${scores.sCls.size} scores do not fill labels of shape [${Q},${L}]`);
    const sCls = tf.reshape(scores.sCls, [Q, L]) as tf.Tensor2D;
    let loss: tf.Tensor = rankLoss(sCls, labels);
    if (!tcl) return loss as tf.Scalar;
    const sTcl = tf.reshape(scores.sTcl, [Q, L]) as tf.Tensor2D;
    if (config.rankWeight !== 0) loss = tf.add(loss, tf.mul(config.rankWeight, rankLoss(sTcl, labels)));
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
}

/** RRA-BERT: the encoder, its [CLS] score, and (train-only) the TCL. */
export interface RraBert {
  readonly encoder: Encoder;
  /** The TCL, or undefined when built with tcl: false. */
  readonly tcl: TermControlLayer | undefined;
  readonly tokenSelection: TokenSelectionMode;
  readonly tclConfig: Readonly<TclConfig>;
  /** Serving scores s_cls [B]; never reads the TCL. */
  inferenceScores(batch: EncoderBatch): tf.Tensor1D;
  /** s_cls and s_cls + t from one (dropout-on by default) forward pass. */
  trainingScores(batch: EncoderBatch, options?: ForwardOptions): TrainingScores;
  /** The documented training loss for `labels` [Q, L] (Q*L = batch rows). */
  trainingLoss(batch: EncoderBatch, labels: tf.Tensor2D, rankLoss: RankingLossFn, options?: ForwardOptions): tf.Scalar;
  /** Term weights [B][T] at selected positions (0 elsewhere), dropout off. */
  termWeights(batch: EncoderBatch): number[][];
  /** Encoder and TCL variables. */
  trainableVariables(): tf.Variable[];
  dispose(): void;
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
  let tcl: TermControlLayer | undefined;
  if (options.tcl) {
    tcl = new TermControlLayer({ initStd: tclConfig.initStd, biasInit: tclConfig.biasInit, seed: tclConfig.seed });
    tcl.build([null, null, config.hiddenSize]);
  }
  const termScores = (out: EncoderOutput, batch: EncoderBatch): TrainingScores => {
    const sCls = encoder.scoreHead(out.cls);
    if (!tcl) return { sCls, sTcl: sCls };
    const w = tcl.apply(out.hidden) as tf.Tensor2D;
    return { sCls, sTcl: tf.add(sCls, computeTermScore(w, requireSelection(batch), tclConfig.norm)) as tf.Tensor1D };
  };
  return {
    encoder,
    tcl,
    tokenSelection: options.tokenSelection,
    tclConfig,
    inferenceScores: (batch) => encoder.score(batch, { training: false }),
    trainingScores: (batch, fwd = { training: true }) =>
      tf.tidy(() => ({ ...termScores(encoder.forward(batch, fwd), batch) })) as unknown as TrainingScores,
    trainingLoss: (batch, labels, rankLoss, fwd = { training: true }) =>
      tf.tidy(() => computeRraLoss(termScores(encoder.forward(batch, fwd), batch), labels, rankLoss, tclConfig, tcl !== undefined)),
    termWeights(batch) {
      if (!tcl) throw new ConfigError(`RRA-BERT: termWeights needs a model built with tcl: true`);
      const sel = requireSelection(batch);
      const out = encoder.forward(batch, { training: false });
      try {
        return tcl.termWeights(out.hidden, sel);
      } finally {
        tf.dispose([out.cls, out.hidden]);
      }
    },
    trainableVariables: () => [...encoder.trainableVariables(), ...(tcl ? tcl.variables() : [])],
    dispose() {
      encoder.dispose();
      if (tcl && tcl.built) tcl.dispose();
    },
  };
}
