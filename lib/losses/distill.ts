/**
 * Distillation losses for teachers that give scores (not only an order): marginMse and klDistill.
 * Both read the teacher's scores from `opts.teacherScores` [B, L] and the padding from `labels`
 * (-1 = padded slot; other label values are ignored).
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../core/errors";
import { checkLossInputs, maskScores, meanOverRows, positiveOption, safeMean, validMask, zeroPadded } from "./types";
import type { LossOptions, RankingLoss } from "./types";

function teacherOf(loss: string, opts: LossOptions): tf.Tensor2D {
  if (opts.teacherScores === undefined) throw new ConfigError(`${loss}: needs opts.teacherScores [B, L] (the teacher's scores); got none`);
  return opts.teacherScores;
}

/**
 * Margin-MSE: the student's score margins regress onto the teacher's margins.
 *
 *   L = mean over valid pairs i < j of the batch of ((s_i - s_j) - (t_i - t_j))^2
 *
 * Paper: Hofstätter et al. 2020, "Improving Efficient Neural Ranking Models with Cross-Architecture
 * Knowledge Distillation" (arXiv 2010.02666). The paper uses one (positive, negative) pair per query;
 * here every pair of a list, which is the paper's loss for L = 2.
 * Relations: invariant to a shift of either the student or the teacher scores; unlike klDistill it
 * matches margins on the teacher's (unnormalized) scale.
 */
export const marginMse: RankingLoss = (scores: tf.Tensor2D, labels: tf.Tensor2D, opts: LossOptions = {}): tf.Scalar => {
  checkLossInputs("marginMse", scores, labels, opts);
  const teacher = teacherOf("marginMse", opts);
  return tf.tidy(() => {
    const [b, l] = scores.shape;
    const mask = validMask(labels);
    const d = tf.sub(zeroPadded(scores, mask), zeroPadded(teacher, mask));                        // [B, L]: s - t
    const pos = tf.range(0, l, 1, "int32");
    const iBeforeJ = tf.cast(tf.reshape(tf.less(tf.reshape(pos, [l, 1]), tf.reshape(pos, [1, l])), [1, l, l]), "float32");
    const pairs = tf.mul(tf.mul(tf.reshape(mask, [b, l, 1]), tf.reshape(mask, [b, 1, l])), iBeforeJ); // [B, L, L]
    const err = tf.square(tf.sub(tf.reshape(d, [b, l, 1]), tf.reshape(d, [b, 1, l])));          // (d_i - d_j)^2
    return safeMean(tf.sum(tf.mul(err, pairs)), tf.sum(pairs));
  });
};

/**
 * KL distillation: KL(teacher softmax || student softmax) over the valid slots of each list,
 * with temperature T for both and the usual T^2 factor (Hinton et al. 2015) so that gradient
 * magnitudes do not shrink as T grows.
 *
 *   p = softmax_valid(t / T),  q = softmax_valid(s / T)
 *   L_row = T^2 sum_valid p_i (log p_i - log q_i)
 *
 * Rows with at least one valid slot contribute (a one-document row gives 0).
 * Paper: Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network"; listwise form
 * as in RankDistil / Reddi et al. 2021.
 * Relations: same gradient as listNet with target p (it differs by the constant entropy of p);
 * invariant to a shift of the scores.
 */
export const klDistill: RankingLoss = (scores: tf.Tensor2D, labels: tf.Tensor2D, opts: LossOptions = {}): tf.Scalar => {
  checkLossInputs("klDistill", scores, labels, opts);
  const teacher = teacherOf("klDistill", opts);
  const temperature = positiveOption("klDistill", "temperature", opts.temperature, 1);
  return tf.tidy(() => {
    const mask = validMask(labels);
    const logP = tf.logSoftmax(maskScores(tf.div(zeroPadded(teacher, mask), temperature) as tf.Tensor2D, mask)); // [B, L]
    const logQ = tf.logSoftmax(maskScores(tf.div(zeroPadded(scores, mask), temperature) as tf.Tensor2D, mask));  // [B, L]
    const terms = tf.mul(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), mask);
    const rowLoss = tf.mul(tf.sum(terms, 1), temperature * temperature) as tf.Tensor1D;
    const active = tf.cast(tf.greater(tf.sum(mask, 1), 0), "float32") as tf.Tensor1D;
    return meanOverRows(rowLoss, active);
  });
};
