/**
 * How a student's network score becomes its ranking score (reconstruction v3, DESIGN.md):
 *
 *   s = k * s_net + w . f + beta * z
 *
 * - s_net: the network's score ([CLS] head of RRA-BERT, ranking layer of RRA-GPT); k the logit scale;
 * - f: the pair's standardised lexical features (lexical/features.ts), w zero-initialised and trained;
 * - z: the candidate's first-stage score standardised within its list; beta the prior weight (the
 *   residual student). beta starts at `prior` and is trained when `learnPrior`.
 * With a zero-initialised score head (s_net = 0) and w = 0, step 0 ranks exactly as the first stage does,
 * and training learns the teacher's correction of it. Every loss term sees this same s.
 *
 * At inference the same composition is applied to plain arrays (composeScores); exports keep s_net in the
 * graph and the composition in score.json, applied by the re-ranker that reads them.
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError, show } from "../core/errors";

/** Settings of a composition. */
export interface CompositionConfig {
  /** Logit scale k of the network score. Default 1. */
  scale: number;
  /** Initial prior weight beta (0 = no first-stage prior). Default 0. */
  prior: number;
  /** Train beta (only when prior > 0). Default true. */
  learnPrior: boolean;
  /** Number of lexical features F (0 = none). Default 0. */
  features: number;
}

/** The trained values of a composition (what score.json keeps). */
export interface CompositionValues {
  scale: number;
  prior: number;
  weights: number[];
}

/** A composition with its trainable variables. */
export interface ScoreComposition {
  readonly config: Readonly<CompositionConfig>;
  /** w [F] (when F > 0) and beta (when learned), in that order. */
  variables(): tf.Variable[];
  /** s [Q, L] from s_net [Q, L], z [Q, L] and features [Q * L, F]. */
  compose(sNet: tf.Tensor2D, firstStage: tf.Tensor2D | null, features: tf.Tensor2D | null): tf.Tensor2D;
  values(): CompositionValues;
  dispose(): void;
}

/** Check a composition config; ConfigError naming the bad field. */
export function checkCompositionConfig(c: Partial<CompositionConfig>): CompositionConfig {
  const out: CompositionConfig = { scale: c.scale ?? 1, prior: c.prior ?? 0, learnPrior: c.learnPrior ?? true, features: c.features ?? 0 };
  if (!(out.scale > 0) || !Number.isFinite(out.scale)) throw new ConfigError(`composition: scale must be a positive number, got ${show(out.scale)}`);
  if (!(out.prior >= 0) || !Number.isFinite(out.prior)) throw new ConfigError(`composition: prior must be a non-negative number, got ${show(out.prior)}`);
  if (!Number.isInteger(out.features) || out.features < 0) throw new ConfigError(`composition: features must be an integer >= 0, got ${show(out.features)}`);
  return out;
}

let counter = 0;

/** Build a composition; w starts at 0 and beta at `prior`. */
export function createComposition(config: Partial<CompositionConfig>): ScoreComposition {
  const c = checkCompositionConfig(config);
  const uid = `rra-composition-${++counter}`;
  // tidy frees the initial values (variables are not tracked by tidy)
  const w = c.features > 0 ? tf.tidy(() => tf.variable(tf.zeros([c.features]), true, `${uid}/features`)) : null;
  const beta = c.prior > 0 ? tf.tidy(() => tf.variable(tf.scalar(c.prior), c.learnPrior, `${uid}/prior`)) : null;
  return {
    config: c,
    variables: () => [...(w ? [w] : []), ...(beta && c.learnPrior ? [beta] : [])],
    compose(sNet, firstStage, features) {
      return tf.tidy(() => {
        const [Q, L] = sNet.shape;
        let s: tf.Tensor = c.scale === 1 ? sNet : tf.mul(sNet, c.scale);
        if (w) {
          if (!features) throw new ShapeError(`composition: ${c.features} feature weights but the batch has no features`);
          if (features.shape[0] !== Q * L || features.shape[1] !== c.features) throw new ShapeError(`composition: features of shape [${features.shape}], expected [${Q * L}, ${c.features}]`);
          s = tf.add(s, tf.reshape(tf.matMul(features, tf.reshape(w, [c.features, 1])), [Q, L]));
        }
        if (beta) {
          if (!firstStage) throw new ShapeError("composition: a first-stage prior but the batch has no first-stage scores");
          s = tf.add(s, tf.mul(firstStage, beta));
        }
        return s as tf.Tensor2D;
      });
    },
    values: () => ({ scale: c.scale, prior: beta ? beta.dataSync()[0] : 0, weights: w ? Array.from(w.dataSync()) : [] }),
    dispose() {
      w?.dispose();
      beta?.dispose();
    },
  };
}

/** Serving scores from plain arrays: s_i = scale * sNet_i + w . f_i + prior * z_i. */
export function composeScores(v: CompositionValues, sNet: ArrayLike<number>, firstStage: ArrayLike<number> | null, features: ReadonlyArray<ArrayLike<number>> | null): Float32Array {
  const out = new Float32Array(sNet.length);
  for (let i = 0; i < sNet.length; i++) {
    let s = v.scale * sNet[i];
    if (v.weights.length && features) for (let j = 0; j < v.weights.length; j++) s += v.weights[j] * features[i][j];
    if (v.prior !== 0 && firstStage) s += v.prior * firstStage[i];
    out[i] = s;
  }
  return out;
}
