/**
 * One student training step (RRA-BERT): the batch's groups in micro-batches, each micro-batch's seeded
 * loss (`partLoss`), gradients summed in micro-batch order, clipping and one AdamW step. Shared by the
 * single-thread step (`createTrainStep`, used by loop.ts and the bench) and the data-parallel step
 * (parallel.ts and its worker, parallel-worker.ts), so the two cannot drift apart.
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "../core/rng";
import { getLoss } from "../losses/index";
import type { EncoderBatch } from "../models/types";
import type { Compose, RraBert } from "../models/tcl";
import type { TrainBatch } from "./batches";
import type { TrainConfig } from "./config";
import { accumulateAndApply, type AdamW } from "./schedule";

/** One training step, as a function of (batch, step index); everything it allocates is freed. */
export type TrainStep = (batch: TrainBatch, step: number) => { loss: number; gradNorm: number };

/** What a step's loss depends on beyond the model: the ranking loss, the dropout seed and whether the network is scored. */
export type StepLossConfig = Pick<TrainConfig, "loss" | "seed"> & { network?: boolean };

/** The rows of groups [from, to) of a batch, as a batch of its own (selection arrays included). */
export function sliceBatch(batch: TrainBatch, from: number, to: number): TrainBatch {
  const L = batch.groupSize, e = batch.encoder, T = e.seqLen;
  const r0 = from * L, r1 = to * L;
  const encoder: EncoderBatch = {
    inputIds: e.inputIds.subarray(r0 * T, r1 * T), tokenTypeIds: e.tokenTypeIds.subarray(r0 * T, r1 * T),
    attentionMask: e.attentionMask.subarray(r0 * T, r1 * T), batch: r1 - r0, seqLen: T,
  };
  if (e.selection) encoder.selection = { mask: e.selection.mask.subarray(r0 * T, r1 * T), idf: e.selection.idf.subarray(r0 * T, r1 * T) };
  if (e.terms) {
    const J = e.terms.terms;
    encoder.terms = { counts: e.terms.counts.subarray(r0 * T * J, r1 * T * J), extra: e.terms.extra.subarray(r0 * J, r1 * J), weight: e.terms.weight.subarray(r0 * J, r1 * J), norm: e.terms.norm.subarray(r0, r1), terms: J };
  }
  const F = batch.featureCount;
  return {
    encoder, labels: batch.labels.subarray(from * L, to * L), hardNegative: batch.hardNegative.subarray(from * L, to * L),
    firstStage: batch.firstStage.subarray(from * L, to * L), features: batch.features.subarray(r0 * F, r1 * F), featureCount: F, groups: to - from, groupSize: L,
  };
}

/** The composition of a batch part's network scores (models/composition.ts), or the identity for a model without one. */
export function batchCompose(model: RraBert, part: TrainBatch): Compose {
  const comp = model.composition;
  if (!comp) return (x) => x;
  return (sNet) => comp.compose(sNet, tf.tensor2d(part.firstStage, [part.groups, part.groupSize]), part.featureCount ? tf.tensor2d(part.features, [part.groups * part.groupSize, part.featureCount]) : null);
}

/** Groups per micro-batch of a batch of `groups` groups with the `microBatch` setting (0 or >= groups: the whole batch). */
export function partSize(groups: number, microBatch: number): number {
  return microBatch > 0 && microBatch < groups ? microBatch : groups;
}

/**
 * The loss of micro-batch `k` (groups [k * size, (k + 1) * size) of `batch`) at optimizer step `step`,
 * weighted by its share of the batch's groups, with dropout from deriveSeed(seed, `dropout/step-N/mb-k`)
 * (`dropout/step-N` when one part is the whole batch). Call inside tf.tidy / tf.variableGrads.
 */
export function partLoss(model: RraBert, config: StepLossConfig, batch: TrainBatch, step: number, size: number, k: number): tf.Scalar {
  const rankLoss = getLoss(config.loss);
  const from = k * size;
  const whole = size === batch.groups;
  const part = whole ? batch : sliceBatch(batch, from, Math.min(batch.groups, from + size));
  const weight = part.groups / batch.groups;
  const seed = deriveSeed(config.seed, whole ? `dropout/step-${step}` : `dropout/step-${step}/mb-${k}`);
  const labels = tf.tensor2d(part.labels, [part.groups, part.groupSize]);
  const hardNegativeMask = tf.tensor2d(part.hardNegative, [part.groups, part.groupSize]);
  const compose = batchCompose(model, part);
  // network off: s_net = 0, only the composition (features, prior) is scored and trained
  const l = config.network === false
    ? rankLoss(compose(tf.zeros([part.groups, part.groupSize]) as tf.Tensor2D), labels, { hardNegativeMask })
    : model.trainingLoss(part.encoder, labels, (sc, y) => rankLoss(sc, y, { hardNegativeMask }), { training: true, seed }, compose);
  return (weight === 1 ? l : tf.mul(l, weight)) as tf.Scalar;
}

/**
 * Build the step function: seeded dropout, the RRA-BERT loss (every term on the composed ranking score),
 * grads, clipping and AdamW, all inside tf.tidy. With `microBatch` > 0 and smaller than the batch, the
 * groups are run `microBatch` at a time: each micro-batch's loss is weighted by its share of the groups, its
 * gradients are added up, and one clipped AdamW step follows, so only one micro-batch's activations are
 * alive at a time. The update equals the full-batch one when every group contributes to the loss (listwise
 * losses average over contributing groups) and dropout is off; micro-batch k of step N draws dropout from
 * deriveSeed(seed, `dropout/step-N/mb-k`).
 */
export function createTrainStep(model: RraBert, optimizer: AdamW, config: Pick<TrainConfig, "loss" | "clip" | "seed"> & { microBatch?: number; network?: boolean }, lrAt: (step: number) => number): TrainStep {
  getLoss(config.loss); // an unknown loss fails here, not at the first step
  const vars = optimizer.variables as tf.Variable[];
  const micro = config.microBatch ?? 0;
  return (batch, step) => {
    const [loss, norm] = tf.tidy(() => {
      const size = partSize(batch.groups, micro);
      const r = accumulateAndApply(vars, optimizer, Math.ceil(batch.groups / size), (k) => partLoss(model, config, batch, step, size, k), config.clip, lrAt(step));
      return [r.loss, r.norm];
    });
    const out = { loss: loss.dataSync()[0], gradNorm: norm.dataSync()[0] };
    tf.dispose([loss, norm]);
    return out;
  };
}
