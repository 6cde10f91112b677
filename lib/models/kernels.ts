/**
 * The few ops the students are built from that carry their own gradients or a faster form than the stock
 * tfjs op on the wasm backend (measured in notes/speed.md):
 *   gatherRows  embedding lookup; gradient by scatterND (the stock one needs UnsortedSegmentSum, missing on wasm)
 *   matMul2d    rank-2 matMul; gradient by explicit transposes on the stock wasm kernel (its transposeA/B
 *               path is 10-25x slower), by transpose flags when the native OpenBLAS kernel is installed
 *   dense       x W + b with the bias gradient as ones[1, N] x dy (a matMul: 0.5 ms against 9 ms for
 *               the stock Sum over axis 0 on [2048, 512])
 *   fastTanh    tanh(x) = 2 sigmoid(2x) - 1 (wasm's Sigmoid is vectorised, its Tanh is not: 5.5 vs 26 ms on
 *               [2048, 512]; the two agree to float rounding)
 *   dropout     inverted dropout with its keep mask drawn by a seeded mulberry32 stream in a plain loop
 *               (tf.dropout draws through tf.randomUniform, generated value by value with seedrandom:
 *               17 of the 38 ms of a tiny-preset training forward at 32 x 64, notes/speed.md)
 * Carrying the gradients here keeps training independent of the global gradient registry: loading
 * danfojs-node after initBackend re-registers tfjs's stock gradients and silently drops overrides.
 */
import * as tf from "@tensorflow/tfjs";
import { nativeMatMulStatus } from "../backend/native-matmul";

/** Flags (native BLAS: transposes are free) or explicit transposes (stock wasm kernel). */
function mm(a: tf.Tensor, b: tf.Tensor, transA: boolean, transB: boolean): tf.Tensor2D {
  if (nativeMatMulStatus().active) return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, transA, transB);
  return tf.matMul((transA ? tf.transpose(a) : a) as tf.Tensor2D, (transB ? tf.transpose(b) : b) as tf.Tensor2D);
}

export const gatherRows = tf.customGrad((table: tf.Tensor | tf.GradSaveFunc, ids: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  const t = table as tf.Tensor2D, i = ids as tf.Tensor1D; // [V, H], [N]
  (save as tf.GradSaveFunc)([i]);
  return {
    value: tf.gather(t, i), // [N, H]
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.scatterND(tf.reshape(saved[0], [saved[0].size, 1]), dy, t.shape), tf.zerosLike(saved[0])],
  };
});

export const matMul2d = tf.customGrad((a: tf.Tensor | tf.GradSaveFunc, b: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  (save as tf.GradSaveFunc)([a as tf.Tensor, b as tf.Tensor]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), // [N, K] x [K, M]
    gradFunc: (dy: tf.Tensor, [sa, sb]: tf.Tensor[]) => [mm(dy, sb, false, true), mm(sa, dy, true, false)],
  };
});

/** x W + b for x [N, K], W [K, M], b [M], with the gradients of the module comment. */
export const dense = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, w: tf.Tensor | tf.GradSaveFunc, b: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b as tf.Tensor),
    gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => {
      const n = dy.shape[0] as number, m = dy.shape[1] as number;
      return [mm(dy, sw, false, true), mm(sx, dy, true, false), tf.reshape(tf.matMul(tf.ones([1, n]), dy as tf.Tensor2D), [m])];
    },
  };
}) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** tanh(x) as 2 sigmoid(2x) - 1 (see the module comment). */
export function fastTanh(x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
}

/** Layer norm over the last axis with tf.moments. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
}

/** GELU, tanh approximation; x*x*x because pow(x, 3) misbehaves under gradients on wasm. */
export function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, fastTanh(inner)));
}

/** GELU, exact form x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2))): BERT's "gelu" (Hugging Face hidden_act "gelu"). */
export function geluErf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/**
 * Inverted dropout: x * mask / (1 - rate), the mask drawn from mulberry32 seeded with `seed` (a 32-bit
 * integer, e.g. deriveSeed(...)). Same seed, same mask; the gradient is dy * mask / (1 - rate).
 */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (!(rate > 0)) return x;
  const keep = 1 - rate, scale = 1 / keep;
  const mask = new Float32Array(x.size);
  let s = seed | 0;
  for (let i = 0; i < mask.length; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    mask[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 < keep ? scale : 0;
  }
  return tf.mul(x, tf.tensor(mask, x.shape, "float32"));
}
