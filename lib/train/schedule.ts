/**
 * Optimisation pieces of the training loop: the learning-rate schedule (linear warm-up, then linear
 * decay to 0), gradient clipping by global norm, and AdamW (Loshchilov & Hutter, "Decoupled Weight
 * Decay Regularization"): Adam plus `p -= lr * weightDecay * p`, applied only to weight matrices and
 * embeddings (never to biases or layer-norm gamma/beta), as in BERT and Hugging Face's trainer.
 *
 * The optimizer state (step, first and second moments) is plain data, so checkpoints can store it and
 * a resumed run continues bit-for-bit (tf.train.adam keeps its state in unnamed variables).
 */
import * as tf from "@tensorflow/tfjs";
import { fusedActive, fusedSumSquares, runFused, type AdamWAttrs } from "../backend/fused";
import { ConfigError, ShapeError, show } from "../core/errors";

/** The learning-rate schedule. */
export interface ScheduleConfig {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Linear warm-up steps from lr/warmupSteps to lr (0 = none). */
  warmupSteps: number;
  /** Total optimizer steps; the rate decays linearly to 0 at this step. */
  totalSteps: number;
}

/** Learning rate of optimizer step `step` (0-based): linear warm-up, then linear decay to 0 at totalSteps. */
export function learningRateAt(step: number, { lr, warmupSteps, totalSteps }: ScheduleConfig): number {
  if (warmupSteps > 0 && step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  return lr * Math.max(0, 1 - (step - warmupSteps) / span);
}

/** Whether a clip value clips at all (0 or Infinity = no clipping). */
function clips(clip: number): boolean {
  return clip > 0 && Number.isFinite(clip);
}

/** Scale gradients so that their global L2 norm is at most `clip` (0 or Infinity = no clipping). Returns the norm before clipping. */
export function clipByGlobalNorm(grads: tf.Tensor[], clip: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    if (!clips(clip)) return { grads: grads.map((g) => tf.clone(g)), norm };
    const scale = tf.div(clip, tf.maximum(norm, clip)); // 1 when norm <= clip
    return { grads: grads.map((g) => tf.mul(g, scale)), norm };
  });
}

/** AdamW hyper-parameters. */
export interface AdamWConfig {
  /** Decoupled weight decay coefficient (applied as lr * weightDecay * p). Default 0.01. */
  weightDecay: number;
  /** Default 0.9. */
  beta1: number;
  /** Default 0.999. */
  beta2: number;
  /** Default 1e-6 (BERT). */
  epsilon: number;
  /** Per-variable multipliers of the learning rate (same order as the variables; null = all 1). Default null. */
  lrScale: readonly number[] | null;
}

/** AdamW defaults. */
export const ADAMW_DEFAULTS: Readonly<AdamWConfig> = Object.freeze({ weightDecay: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-6, lrScale: null });

/** Optimizer state as plain arrays, in the order of the variables the optimizer was built with. */
export interface AdamWState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

/** True for variables that get weight decay: everything but biases, layer-norm gamma/beta and the first-stage prior weight. */
export function decaysWeight(name: string): boolean {
  return !/(\/|^)(bias|gamma|beta|prior)(_\d+)?$/.test(name);
}

/** AdamW over a fixed list of variables. */
export interface AdamW {
  readonly variables: readonly tf.Variable[];
  /** Optimizer steps taken. */
  readonly step: number;
  /**
   * Apply one update with learning rate `lr`; `grads[i]` belongs to variables[i] (null = no gradient,
   * skipped). `gradScale` (default 1) multiplies every gradient first: the clipping factor.
   */
  apply(grads: ReadonlyArray<tf.Tensor | null>, lr: number, gradScale?: number): void;
  getState(): AdamWState;
  setState(state: AdamWState): void;
  dispose(): void;
}

/** Create AdamW for `variables` (moments start at 0). */
export function createAdamW(variables: readonly tf.Variable[], overrides: Partial<AdamWConfig> = {}): AdamW {
  for (const k of Object.keys(overrides)) if (!(k in ADAMW_DEFAULTS)) throw new ConfigError(`AdamW: unknown option ${show(k)}; expected some of ${Object.keys(ADAMW_DEFAULTS).join(", ")}`);
  const c = { ...ADAMW_DEFAULTS, ...overrides };
  // tidy frees the zerosLike initial values (variables are not tracked by tidy)
  const m = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  const s = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  const decay = variables.map((v) => decaysWeight(v.name));
  if (c.lrScale && c.lrScale.length !== variables.length) throw new ConfigError(`AdamW: lrScale has ${c.lrScale.length} multipliers for ${variables.length} variables`);
  const scale = c.lrScale;
  let step = 0;
  return {
    variables,
    get step() { return step; },
    apply(grads, lr, gradScale = 1) {
      if (grads.length !== variables.length) throw new ShapeError(`AdamW: ${grads.length} gradients for ${variables.length} variables`);
      step++;
      const bc1 = 1 - Math.pow(c.beta1, step), bc2 = 1 - Math.pow(c.beta2, step);
      if (fusedActive()) {
        // one native call for every variable: the same float32 operations in the same order as below
        const idx = variables.map((_, i) => i).filter((i) => grads[i] !== null);
        if (idx.length === 0) return;
        const inputs: tf.NamedTensorMap = {};
        idx.forEach((i, j) => Object.assign(inputs, { [`p${j}`]: variables[i], [`g${j}`]: grads[i] as tf.Tensor, [`m${j}`]: m[i], [`v${j}`]: s[i] }));
        const attrs: AdamWAttrs = {
          lr: idx.map((i) => (scale ? lr * scale[i] : lr)), decay: idx.map((i) => decay[i] && c.weightDecay !== 0), gradScale,
          beta1: c.beta1, beta2: c.beta2, bc1, bc2, eps: c.epsilon, weightDecay: c.weightDecay,
        };
        tf.tidy(() => {
          const out = runFused("RraAdamW", inputs, attrs as unknown as Record<string, unknown>);
          idx.forEach((i, j) => {
            variables[i].assign(out[j]);
            m[i].assign(out[idx.length + j]);
            s[i].assign(out[2 * idx.length + j]);
          });
        });
        return;
      }
      tf.tidy(() => {
        variables.forEach((p, i) => {
          let g = grads[i];
          if (!g) return;
          if (gradScale !== 1) g = tf.mul(g, gradScale);
          const mi = tf.add(tf.mul(m[i], c.beta1), tf.mul(g, 1 - c.beta1));
          const vi = tf.add(tf.mul(s[i], c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
          m[i].assign(mi);
          s[i].assign(vi);
          let update = tf.div(tf.div(mi, bc1), tf.add(tf.sqrt(tf.div(vi, bc2)), c.epsilon));
          if (decay[i] && c.weightDecay !== 0) update = tf.add(update, tf.mul(p, c.weightDecay));
          p.assign(tf.sub(p, tf.mul(update, scale ? lr * scale[i] : lr)));
        });
      });
    },
    getState: () => ({ step, m: m.map((t) => Float32Array.from(t.dataSync() as Float32Array)), v: s.map((t) => Float32Array.from(t.dataSync() as Float32Array)) }),
    setState(state) {
      if (state.m.length !== variables.length || state.v.length !== variables.length) throw new ShapeError(`AdamW.setState: state holds ${state.m.length} moments for ${variables.length} variables`);
      variables.forEach((p, i) => {
        if (state.m[i].length !== p.size || state.v[i].length !== p.size) throw new ShapeError(`AdamW.setState: moment ${i} has ${state.m[i].length} values, variable ${p.name} has ${p.size}`);
        tf.tidy(() => {
          m[i].assign(tf.tensor(state.m[i], p.shape));
          s[i].assign(tf.tensor(state.v[i], p.shape));
        });
      });
      step = state.step;
    },
    dispose() {
      tf.dispose([...m, ...s]);
    },
  };
}

/** The loss of one micro-batch and its gradients, one per variable in the optimizer's order (null = no gradient). */
export interface PartGrads {
  value: tf.Scalar;
  grads: Array<tf.Tensor | null>;
}

/**
 * One optimizer step over `parts` micro-batches: the gradients of `lossOf(k)` (each already weighted
 * by its share of the batch) are summed over k, clipped by global norm and applied once. Call inside
 * tf.tidy; returns the summed loss and the gradient norm before clipping.
 */
export function accumulateAndApply(vars: readonly tf.Variable[], optimizer: AdamW, parts: number, lossOf: (part: number) => tf.Scalar, clip: number, lr: number): { loss: tf.Scalar; norm: tf.Scalar } {
  return applySummedGrads(vars, optimizer, parts, (k) => {
    const { value, grads } = tf.tidy(() => tf.variableGrads(() => lossOf(k), vars as tf.Variable[]));
    return { value, grads: vars.map((v) => grads[v.name] ?? null) };
  }, clip, lr);
}

/**
 * The body of accumulateAndApply with the gradients of part k from `gradsOf(k)` (computed here, or by
 * another thread: train/parallel.ts): summed in the order k = 0, 1, ..., so the result does not depend on
 * where each part was computed. Takes ownership of the tensors gradsOf returns. Call inside tf.tidy.
 */
export function applySummedGrads(vars: readonly tf.Variable[], optimizer: AdamW, parts: number, gradsOf: (part: number) => PartGrads, clip: number, lr: number): { loss: tf.Scalar; norm: tf.Scalar } {
  let acc: Array<tf.Tensor | null> = vars.map(() => null);
  let total: tf.Scalar | null = null;
  for (let k = 0; k < parts; k++) {
    const { value, grads } = gradsOf(k);
    acc = vars.map((_, i) => {
      const g = grads[i] ?? null;
      const a = acc[i];
      if (!g) return a;
      if (!a) return g;
      const sum = tf.add(a, g);
      tf.dispose([a, g]);
      return sum;
    });
    if (total === null) total = value;
    else { const t: tf.Scalar = tf.add(total, value); tf.dispose([total, value]); total = t; }
  }
  const present = acc.filter((g): g is tf.Tensor => g !== null);
  if (fusedActive()) {
    // the norm from the heap in one pass; the clipping factor goes into the fused AdamW call (as clipByGlobalNorm computes it, in float32)
    const norm = Math.fround(Math.sqrt(fusedSumSquares(present)));
    const f = Math.fround;
    const gradScale = clips(clip) ? f(f(clip) / f(Math.max(norm, f(clip)))) : 1;
    optimizer.apply(acc, lr, gradScale);
    return { loss: total as tf.Scalar, norm: tf.scalar(norm) };
  }
  const clipped = clipByGlobalNorm(present, clip);
  let j = 0;
  optimizer.apply(acc.map((g) => (g ? clipped.grads[j++] : null)), lr);
  return { loss: total as tf.Scalar, norm: clipped.norm };
}
