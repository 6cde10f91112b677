/**
 * Stage 1 of the residual student: fit the composition (lexical feature weights w and the prior weight
 * beta, models/composition.ts) on every training group at once, with the network score held at 0 and
 * the same ranking loss, before the network trains. The student at epoch 0 is then the teacher-fitted
 * linear ranker over BM25 and the lexical features, and the network learns what they miss (stage 2,
 * with the composition frozen). A few hundred full-batch Adam steps over a handful of weights: about a
 * second, deterministic (no sampling).
 *
 * Why not train w and beta with the network: a few weights moved by mini-batches of 2 lists with the
 * network's step count wander (measured on DL19 held-out folds: nDCG@10 0.506 -> 0.467 after the first
 * epoch, back to 0.506 after six), while the full-batch fit converges.
 */
import * as tf from "@tensorflow/tfjs";
import { getLoss } from "../losses/index";
import type { ScoreComposition } from "../models/composition";
import type { QueryGroup } from "./batches";

/** Settings of the fit. */
export interface CompositionFitConfig {
  /** Ranking loss (lib/losses). */
  loss: string;
  /** Adam steps. Default 300. */
  steps?: number;
  /** Adam learning rate. Default 0.03. */
  lr?: number;
  /** L2 penalty on w (not on beta). Default 1e-3. */
  l2?: number;
}

/** What the fit did. */
export interface CompositionFitResult {
  firstLoss: number;
  lastLoss: number;
  steps: number;
}

/** Fit `composition`'s variables on `groups` (see the file header); leaves no tensors behind. */
export function fitComposition(composition: ScoreComposition, groups: readonly QueryGroup[], config: CompositionFitConfig): CompositionFitResult {
  const vars = composition.variables();
  const G = groups.length;
  if (vars.length === 0 || G === 0) return { firstLoss: NaN, lastLoss: NaN, steps: 0 };
  const L = groups[0].labels.length;
  const F = composition.config.features;
  const rankLoss = getLoss(config.loss);
  const { steps = 300, lr = 0.03, l2 = 1e-3 } = config;
  const labels = tf.tensor2d(groups.flatMap((g) => g.labels), [G, L]);
  const hardNegativeMask = tf.tensor2d(groups.flatMap((g) => g.hardNegative), [G, L]);
  const firstStage = tf.tensor2d(groups.flatMap((g) => g.firstStage), [G, L]);
  const feats = new Float32Array(G * L * F);
  groups.forEach((g, gi) => g.features.forEach((f, k) => feats.set(f, (gi * L + k) * F)));
  const features = F ? tf.tensor2d(feats, [G * L, F]) : null;
  const zeros = tf.zeros([G, L]) as tf.Tensor2D;
  const optimizer = tf.train.adam(lr);
  const weights = F ? vars[0] : null;
  let firstLoss = NaN, lastLoss = NaN;
  try {
    for (let i = 0; i < steps; i++) {
      const loss = optimizer.minimize(() => {
        const s = composition.compose(zeros, firstStage, features);
        const l = rankLoss(s, labels, { hardNegativeMask });
        return (weights && l2 > 0 ? tf.add(l, tf.mul(l2, tf.sum(tf.square(weights)))) : l) as tf.Scalar;
      }, true, vars) as tf.Scalar;
      const v = loss.dataSync()[0];
      loss.dispose();
      if (i === 0) firstLoss = v;
      lastLoss = v;
    }
  } finally {
    optimizer.dispose();
    tf.dispose([labels, hardNegativeMask, firstStage, zeros, ...(features ? [features] : [])]);
  }
  return { firstLoss, lastLoss, steps };
}
