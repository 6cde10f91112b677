/**
 * Listwise losses over one list of candidates per row: listNet, listMle, lambdaNdcg2.
 * All three are invariant to adding a constant to every score of a row, ignore padded slots
 * (label -1) and average over the rows that contribute at least one term.
 */
import * as tf from "@tensorflow/tfjs";
import { checkLossInputs, cleanLabels, maskScores, meanOverRows, noGradient, positiveOption, validMask, zeroPadded } from "./types";
import type { LossOptions, RankingLoss } from "./types";

const LN2 = Math.log(2);

/**
 * ListNet top-one / softmax cross-entropy on graded targets.
 *
 *   p_i = y_i / sum_valid y            (target distribution from the graded gains)
 *   L_row = -sum_valid p_i log softmax_valid(s)_i
 *
 * Rows whose gains are all 0 (nothing listed) contribute nothing.
 * Paper: Cao et al. 2007, "Learning to Rank: From Pairwise Approach to Listwise Approach" (ICML),
 * top-one probability; the target here is the normalized gain (as tf-ranking's SoftmaxLoss) rather
 * than Cao's softmax of the labels.
 * Relations: with one-hot targets it is softmax cross-entropy (InfoNCE over the list); equal to
 * KL(p || softmax(s)) up to the constant entropy of p, so klDistill with teacher = log p matches its gradient.
 */
export const listNet: RankingLoss = (scores: tf.Tensor2D, labels: tf.Tensor2D, opts: LossOptions = {}): tf.Scalar => {
  checkLossInputs("listNet", scores, labels, opts);
  return tf.tidy(() => {
    const mask = validMask(labels);                                  // [B, L]
    const y = cleanLabels(labels, mask);                             // [B, L]
    const total = tf.sum(y, 1, true);                                // [B, 1]
    const p = tf.div(y, tf.maximum(total, 1e-12));                   // [B, L], 0 on padding
    const logQ = tf.logSoftmax(maskScores(scores, mask));            // [B, L], softmax over valid slots only
    const rowLoss = tf.neg(tf.sum(tf.mul(p, logQ), 1)) as tf.Tensor1D; // [B]
    const active = tf.cast(tf.greater(tf.reshape(total, [-1]), 0), "float32") as tf.Tensor1D;
    return meanOverRows(rowLoss, active);
  });
};

/**
 * ListMLE: negative log-likelihood of the teacher's order under the Plackett-Luce model.
 *
 *   pi = valid slots sorted by label descending, ties broken by slot position (earlier first);
 *        missing documents (gain 0) therefore come last, in the order they were shown
 *   L_row = sum_{k=1..n} [ log sum_{m >= k} exp(s_pi(m)) - s_pi(k) ]
 *
 * Computed without sorting: for slot k the "remaining" set is {j valid: y_j < y_k, or y_j = y_k and j >= k}.
 * Rows with at least one valid slot contribute.
 * Paper: Xia et al. 2008, "Listwise Approach to Learning to Rank: Theory and Algorithm" (ICML).
 * Relations: its first term (k = 1) is softmax cross-entropy with the top document as a one-hot
 * target, i.e. listNet on a one-hot label; listMle uses only the order, not the gain values.
 */
export const listMle: RankingLoss = (scores: tf.Tensor2D, labels: tf.Tensor2D, opts: LossOptions = {}): tf.Scalar => {
  checkLossInputs("listMle", scores, labels, opts);
  return tf.tidy(() => {
    const [b, l] = scores.shape;
    const mask = validMask(labels);                                  // [B, L]
    const y = cleanLabels(labels, mask);
    const yk = tf.reshape(y, [b, l, 1]), yj = tf.reshape(y, [b, 1, l]);
    const pos = tf.range(0, l, 1, "int32");
    const jAtOrAfterK = tf.reshape(tf.greaterEqual(tf.reshape(pos, [1, l]), tf.reshape(pos, [l, 1])), [1, l, l]); // [1, L(k), L(j)]
    const later = tf.logicalOr(tf.less(yj, yk), tf.logicalAnd(tf.equal(yj, yk), jAtOrAfterK));                    // [B, L, L]
    const remaining = tf.logicalAnd(later, tf.cast(tf.broadcastTo(tf.reshape(mask, [b, 1, l]), [b, l, l]), "bool"));
    const sj = tf.broadcastTo(tf.reshape(zeroPadded(scores, mask), [b, 1, l]), [b, l, l]);
    const lse = tf.logSumExp(tf.where(remaining, sj, tf.fill([b, l, l], -1e9)), 2);                                // [B, L]
    const rowLoss = tf.sum(tf.mul(tf.sub(lse, zeroPadded(scores, mask)), mask), 1) as tf.Tensor1D;                // [B]
    const active = tf.cast(tf.greater(tf.sum(mask, 1), 0), "float32") as tf.Tensor1D;
    return meanOverRows(rowLoss, active);
  });
};

/** 1-based rank of each slot of [B, L] values among the valid slots (descending; ties by position). No gradient. */
function ranksOf(values: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  const [b, l] = values.shape;
  const pos = tf.range(0, l, 1, "int32");
  const jBeforeI = tf.reshape(tf.less(tf.reshape(pos, [1, l]), tf.reshape(pos, [l, 1])), [1, l, l]); // [1, L(i), L(j)]
  const vi = tf.reshape(values, [b, l, 1]), vj = tf.reshape(values, [b, 1, l]);
  const beats = tf.logicalOr(tf.greater(vj, vi), tf.logicalAnd(tf.equal(vj, vi), jBeforeI));       // [B, L, L]: j ahead of i
  return tf.add(1, tf.sum(tf.mul(tf.cast(beats, "float32"), tf.reshape(mask, [b, 1, l])), 2)) as tf.Tensor2D;
}

/**
 * LambdaLoss with the NDCG-Loss2 weighting (Wang et al. 2018, "The LambdaLoss Framework for Ranking
 * Metric Optimization", CIKM; the variant the paper recommends, as in allRank's ndcgLoss2_scheme).
 *
 *   G_i      = (2^{y_i} - 1) / maxDCG,  maxDCG = sum_valid (2^{y_i} - 1) / log2(1 + idealRank_i)
 *   r_i      = rank of slot i under the current scores (1-based, ties by position; no gradient)
 *   delta_ij = |1 / log2(1 + |r_i - r_j|) - 1 / log2(2 + |r_i - r_j|)|
 *   L_row    = sum_{i, j valid, y_i > y_j} delta_ij |G_i - G_j| log2(1 + exp(-sigma (s_i - s_j)))
 *
 * Rows with at least one pair (y_i > y_j) contribute. Not the LambdaRank weighting |delta NDCG_ij|.
 * Relations: rankNet with per-pair weights delta_ij |G_i - G_j| (and a log2 instead of ln).
 */
export const lambdaNdcg2: RankingLoss = (scores: tf.Tensor2D, labels: tf.Tensor2D, opts: LossOptions = {}): tf.Scalar => {
  checkLossInputs("lambdaNdcg2", scores, labels, opts);
  const sigma = positiveOption("lambdaNdcg2", "sigma", opts.sigma, 1);
  return tf.tidy(() => {
    const [b, l] = scores.shape;
    const mask = validMask(labels);
    const y = cleanLabels(labels, mask);
    const s = zeroPadded(scores, mask);
    const gain = tf.mul(tf.sub(tf.exp(tf.mul(y, LN2)), 1), mask);                                    // [B, L]: 2^y - 1
    const idealRank = ranksOf(y, mask);
    const maxDcg = tf.sum(tf.div(tf.mul(gain, LN2), tf.log1p(idealRank)), 1, true);                  // [B, 1]
    const g = tf.div(gain, tf.maximum(maxDcg, 1e-12));                                               // [B, L]
    const rank = noGradient((x) => ranksOf(x as tf.Tensor2D, mask))(s);                              // [B, L]
    const rankDiff = tf.maximum(tf.abs(tf.sub(tf.reshape(rank, [b, l, 1]), tf.reshape(rank, [b, 1, l]))), 1);
    const delta = tf.abs(tf.sub(tf.div(LN2, tf.log1p(rankDiff)), tf.div(LN2, tf.log(tf.add(rankDiff, 2)))));
    const yi = tf.reshape(y, [b, l, 1]), yj = tf.reshape(y, [b, 1, l]);
    const pairs = tf.mul(tf.mul(tf.reshape(mask, [b, l, 1]), tf.reshape(mask, [b, 1, l])), tf.cast(tf.greater(yi, yj), "float32"));
    const weight = tf.mul(tf.mul(pairs, delta), tf.abs(tf.sub(tf.reshape(g, [b, l, 1]), tf.reshape(g, [b, 1, l]))));
    const diff = tf.sub(tf.reshape(s, [b, l, 1]), tf.reshape(s, [b, 1, l]));
    const pairLoss = tf.div(tf.softplus(tf.mul(diff, -sigma)), LN2);                                 // -log2 sigmoid(sigma diff)
    const rowLoss = tf.sum(tf.mul(weight, pairLoss), [1, 2]) as tf.Tensor1D;
    const active = tf.cast(tf.greater(tf.sum(pairs, [1, 2]), 0), "float32") as tf.Tensor1D;
    return meanOverRows(rowLoss, active);
  });
};
