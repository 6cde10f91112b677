/**
 * Pointwise binary cross-entropy with logits: each (query, document) slot is an independent
 * classification with the graded gain as the target probability.
 *
 *   l_i = -[y_i log sigmoid(s_i) + (1 - y_i) log(1 - sigmoid(s_i))]
 *       = softplus(s_i) - y_i s_i          (tf.softplus is computed in a stable form)
 *   L   = sum_valid l_i / #valid slots in the batch
 *
 * Inputs: scores [B, L] logits; labels [B, L] targets in [0, 1] (graded gain; a missing document,
 * gain 0, is a negative), -1 = padded slot.
 * Paper: the classic pointwise approach (e.g. monoBERT, Nogueira & Cho 2019, trains on binary
 * relevance this way).
 * Relations: ignores the list structure, so it is not invariant to a shift of the scores (unlike
 * listNet / listMle / lambdaNdcg2); with 0/1 labels it is tf.losses.sigmoidCrossEntropy.
 */
import * as tf from "@tensorflow/tfjs";
import { checkLossInputs, cleanLabels, safeMean, validMask, zeroPadded } from "./types";
import type { LossOptions, RankingLoss } from "./types";

/** Pointwise BCE with logits on graded gains, averaged over the valid slots of the batch. */
export const pointwiseBce: RankingLoss = (scores: tf.Tensor2D, labels: tf.Tensor2D, opts: LossOptions = {}): tf.Scalar => {
  checkLossInputs("pointwiseBce", scores, labels, opts);
  return tf.tidy(() => {
    const mask = validMask(labels);                       // [B, L]
    const y = tf.minimum(cleanLabels(labels, mask), 1);   // [B, L] in [0, 1]
    // softplus rather than tf.logSigmoid, whose gradient breaks in tfjs 4.22 (tfjs-on-this-machine 3.2)
    const s = zeroPadded(scores, mask);
    const perSlot = tf.sub(tf.softplus(s), tf.mul(y, s)); // [B, L]; gradient sigmoid(s) - y
    return safeMean(tf.sum(tf.mul(perSlot, mask)), tf.sum(mask));
  });
};
