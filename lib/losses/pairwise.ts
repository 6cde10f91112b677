/**
 * RankNet: logistic loss on every ordered pair of a list, with the RRADistill up-weight for pairs
 * "listed document > missing document" (the teacher's hard negatives).
 *
 *   pairs   P = {(i, j): i, j valid, y_i > y_j}
 *   l_ij    = log(1 + exp(-sigma (s_i - s_j)))           (= -log sigmoid(sigma (s_i - s_j)))
 *   w_ij    = base_ij * (missingWeight if j is a hard negative and i is not, else 1)
 *   base_ij = 1 (pairWeighting "uniform", default) or |y_i - y_j| ("gainDifference")
 *   L       = sum_{b, (i,j) in P} w_ij l_ij / sum_{b, (i,j) in P} w_ij     (weighted mean over the batch)
 *
 * Inputs: scores [B, L]; labels [B, L] graded gains (-1 = padding); opts.hardNegativeMask [B, L]
 * (1 = missing document; without it no pair is up-weighted), opts.missingWeight (default 2),
 * opts.sigma (default 1), opts.pairWeighting.
 * Paper: Burges et al. 2005, "Learning to Rank using Gradient Descent" (ICML).
 * Relations: with gainDifference weights and sigma = 1 it is the pairwise part of LambdaRank without
 * the |delta NDCG| factor; lambdaNdcg2 (listwise.ts) adds rank-dependent NDCG weights to the same
 * pair terms. Invariant to a constant shift of the scores (only differences enter).
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../core/errors";
import { checkLossInputs, cleanLabels, positiveOption, safeMean, validMask, zeroPadded } from "./types";
import type { LossOptions, RankingLoss } from "./types";

/** Default up-weight of listed > missing pairs. */
export const DEFAULT_MISSING_WEIGHT = 2;

/** RankNet pairwise logistic loss with optional gain-difference weights and the missing up-weight. */
export const rankNet: RankingLoss = (scores: tf.Tensor2D, labels: tf.Tensor2D, opts: LossOptions = {}): tf.Scalar => {
  checkLossInputs("rankNet", scores, labels, opts);
  const sigma = positiveOption("rankNet", "sigma", opts.sigma, 1);
  const missingWeight = positiveOption("rankNet", "missingWeight", opts.missingWeight, DEFAULT_MISSING_WEIGHT);
  const weighting = opts.pairWeighting ?? "uniform";
  if (weighting !== "uniform" && weighting !== "gainDifference") {
    throw new ConfigError(`rankNet: option pairWeighting must be "uniform" or "gainDifference", got ${JSON.stringify(weighting)}`);
  }
  return tf.tidy(() => {
    const [b, l] = scores.shape;
    const mask = validMask(labels);                                    // [B, L]
    const y = cleanLabels(labels, mask);                               // [B, L]
    const yi = tf.reshape(y, [b, l, 1]), yj = tf.reshape(y, [b, 1, l]);
    const both = tf.mul(tf.reshape(mask, [b, l, 1]), tf.reshape(mask, [b, 1, l]));    // [B, L, L]
    const pairs = tf.mul(both, tf.cast(tf.greater(yi, yj), "float32"));              // [B, L, L]: i better than j
    let weight = weighting === "gainDifference" ? tf.mul(pairs, tf.sub(yi, yj)) : pairs;
    if (opts.hardNegativeMask !== undefined) {
      const hn = tf.mul(tf.cast(tf.greater(opts.hardNegativeMask, 0), "float32"), mask);
      const listedOverMissing = tf.mul(tf.sub(1, tf.reshape(hn, [b, l, 1])), tf.reshape(hn, [b, 1, l])); // [B, L, L]
      weight = tf.mul(weight, tf.add(1, tf.mul(listedOverMissing, missingWeight - 1)));
    }
    const s = zeroPadded(scores, mask);
    const diff = tf.sub(tf.reshape(s, [b, l, 1]), tf.reshape(s, [b, 1, l])); // [B, L, L]: s_i - s_j
    const pairLoss = tf.softplus(tf.mul(diff, -sigma));                              // -log sigmoid(sigma diff)
    return safeMean(tf.sum(tf.mul(weight, pairLoss)), tf.sum(weight));
  });
};
