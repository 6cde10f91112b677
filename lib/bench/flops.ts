/**
 * Analytic FLOPs of RRA-BERT's forward pass (pure, tfjs-free). Only matrix products are counted, each
 * as 2 x its multiply-adds; embedding lookups, layer norms, softmax, GELU and biases are left out (they
 * are O(T*H) per layer, under 2% here). For one pair of T tokens (T = the padded row length actually
 * computed), L layers, hidden H, feed-forward F (heads do not change the count: nh * d = H):
 *
 *   per layer   QKV projection  2 * T * H * 3H
 *               Q K^T           2 * T * T * H      (nh heads of [T, d] x [d, T])
 *               P V             2 * T * T * H      (nh heads of [T, T] x [T, d])
 *               output proj.    2 * T * H * H
 *               FFN in + out    2 * T * H * F * 2
 *             = 8 T H^2 + 4 T H F + 4 T^2 H
 *   head        pooler 2 H^2 on [CLS], score 2 H
 *
 *   forwardFlops(T) = L * (8 T H^2 + 4 T H F + 4 T^2 H) + 2 H^2 + 2 H
 *
 * A training example is counted as 3 x forward (backward ~ 2 x forward); the TCL (H per token) is ignored.
 */
import type { EncoderSizes } from "../models/presets";

/** Forward FLOPs of one pair padded to `seqLen` tokens (formula in the file header). */
export function computeForwardFlops(sizes: Pick<EncoderSizes, "numLayers" | "hiddenSize" | "ffnSize">, seqLen: number): number {
  const { numLayers: L, hiddenSize: H, ffnSize: F } = sizes;
  const T = seqLen;
  return L * (8 * T * H * H + 4 * T * H * F + 4 * T * T * H) + 2 * H * H + 2 * H;
}

/** Training FLOPs of one example: 3 x forward. */
export function computeTrainFlops(sizes: Pick<EncoderSizes, "numLayers" | "hiddenSize" | "ffnSize">, seqLen: number): number {
  return 3 * computeForwardFlops(sizes, seqLen);
}

/** FLOPs of a batched matMul [batch, m, k] x [batch, k, n]: 2 * batch * m * k * n. */
export function computeMatmulFlops(batch: number, m: number, k: number, n: number): number {
  return 2 * batch * m * k * n;
}

/** Forward FLOPs of batches given as (rows, padded length): sum of rows * forwardFlops(length). */
export function computeBatchesFlops(sizes: Pick<EncoderSizes, "numLayers" | "hiddenSize" | "ffnSize">, batches: ReadonlyArray<{ rows: number; seqLen: number }>): number {
  return batches.reduce((sum, b) => sum + b.rows * computeForwardFlops(sizes, b.seqLen), 0);
}
