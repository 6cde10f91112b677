/**
 * The one input contract every ranking loss shares, and the small masking helpers they use.
 *
 * Inputs (B = lists in the batch, L = slots per list):
 * - `scores` [B, L]: student scores (logits), higher = more relevant.
 * - `labels` [B, L]: the training target of each slot, produced by labels/convert.ts (never converted
 *   inside a loss): graded gain in [0, 1] ((m - r + 1) / m for teacher rank r of m listed documents,
 *   0 for missing ones) or any other non-negative teacher relevance. A negative value (by convention
 *   -1) marks a padded slot: it takes part in no sum, no softmax and no pair, and gets zero gradient.
 * - `opts`: what only some losses need (see `LossOptions`).
 *
 * Reduction: every loss returns the mean over the lists (rows) that contribute at least one term
 * (pointwiseBce: over valid slots; rankNet: weighted mean over pairs). A batch in which nothing
 * contributes gives 0, never NaN.
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, ShapeError } from "../core/errors";

/** Options some losses read; the others ignore them. */
export interface LossOptions {
  /** [B, L]: 1 where the slot is a document the teacher left out (a hard negative), else 0. rankNet up-weights listed > missing pairs. */
  hardNegativeMask?: tf.Tensor2D;
  /** rankNet: weight of a pair whose better document is listed and worse one is a hard negative. Default 2. */
  missingWeight?: number;
  /** rankNet: `uniform` (default) weighs every pair 1; `gainDifference` weighs pair (i, j) by |y_i - y_j|. */
  pairWeighting?: "uniform" | "gainDifference";
  /** rankNet / lambdaNdcg2: the scale sigma of score differences in the logistic. Default 1. */
  sigma?: number;
  /** [B, L]: teacher scores (logits) for marginMse and klDistill; required by them. Padded slots are read from `labels`. */
  teacherScores?: tf.Tensor2D;
  /** klDistill: softmax temperature T for both teacher and student. Default 1. */
  temperature?: number;
}

/** A ranking loss: `(scores [B, L], labels [B, L] with -1 = padding, opts) => Scalar`. */
export type RankingLoss = (scores: tf.Tensor2D, labels: tf.Tensor2D, opts?: LossOptions) => tf.Scalar;

/** Score given to padded slots before a softmax / logsumexp: exp underflows to exactly 0. */
export const MASKED_LOGIT = -1e9;

const shapeText = (t: tf.Tensor): string => `[${t.shape.join(",")}]`;

/** Check that scores, labels and every tensor option are [B, L] of the same shape; throws ShapeError naming both shapes. */
export function checkLossInputs(loss: string, scores: tf.Tensor, labels: tf.Tensor, opts: LossOptions = {}): void {
  if (scores.rank !== 2) throw new ShapeError(`${loss}: scores must be 2-D [B, L], got ${shapeText(scores)}`);
  const same = (name: string, t: tf.Tensor | undefined): void => {
    if (t === undefined) return;
    if (t.rank !== 2 || t.shape[0] !== scores.shape[0] || t.shape[1] !== scores.shape[1]) {
      throw new ShapeError(`${loss}: scores and ${name} must have the same shape, got ${shapeText(scores)} and ${shapeText(t)}`);
    }
  };
  same("labels", labels);
  same("hardNegativeMask", opts.hardNegativeMask);
  same("teacherScores", opts.teacherScores);
}

/** Check a positive numeric option; throws ConfigError naming the value. */
export function positiveOption(loss: string, name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new ConfigError(`${loss}: option ${name} must be a positive number, got ${String(value)}`);
  return v;
}

/** [B, L] float mask: 1 for real slots (label >= 0), 0 for padding. */
export function validMask(labels: tf.Tensor2D): tf.Tensor2D {
  return tf.cast(tf.greaterEqual(labels, 0), "float32") as tf.Tensor2D;
}

/** Labels with padded slots set to 0 (so they can be multiplied safely). */
export function cleanLabels(labels: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(tf.relu(labels), mask) as tf.Tensor2D;
}

/** Scores with padded slots replaced by MASKED_LOGIT; the gradient to padded scores is exactly 0. */
export function maskScores(scores: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.where(tf.cast(mask, "bool"), scores, tf.fill(scores.shape, MASKED_LOGIT)) as tf.Tensor2D;
}

/** Scores with padded slots replaced by 0, so that no inf/NaN in a padded slot can reach a sum (gradient there is 0). */
export function zeroPadded(scores: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.where(tf.cast(mask, "bool"), scores, tf.zerosLike(scores)) as tf.Tensor2D;
}

/** sum(values) / max(count, 1): a mean that is 0 (not NaN) when nothing contributes. */
export function safeMean(sum: tf.Tensor, count: tf.Tensor): tf.Scalar {
  return tf.div(sum, tf.maximum(count, 1)) as tf.Scalar;
}

/** Mean of per-row losses [B] over the rows where `active` [B] is 1. */
export function meanOverRows(rowLoss: tf.Tensor1D, active: tf.Tensor1D): tf.Scalar {
  return safeMean(tf.sum(tf.mul(rowLoss, active)), tf.sum(active));
}

/**
 * Wrap a non-differentiable function of the scores (comparisons, ranks) so that the tape sees one
 * node with zero gradient: tfjs has no gradient for Greater/Equal and no public stopGradient.
 */
export function noGradient(f: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = inputs[0] as tf.Tensor;
    const shape = x.shape.slice();
    return { value: f(x), gradFunc: () => tf.zeros(shape) };
  }) as (x: tf.Tensor) => tf.Tensor;
}
