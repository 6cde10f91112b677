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
 *
 * Where the fused native kernels serve (lib/backend/fused.ts: wasm with the native matMul), dense,
 * denseGelu, layerNorm, maskedSoftmax and dropout run as one kernel forward and one backward each, and
 * the encoder's attention core as one (fusedAttention); elsewhere they are composed from stock ops as
 * written below. The two agree to float rounding, dropout's mask bit for bit (test/backend/fused.test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { fusedActive, runFused } from "../backend/fused";
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

/** x W + b for x [N, K], W [K, M], b [M], composed from stock ops, with the gradients of the module comment. */
const composedDense = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, w: tf.Tensor | tf.GradSaveFunc, b: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b as tf.Tensor),
    gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => {
      const n = dy.shape[0] as number, m = dy.shape[1] as number;
      return [mm(dy, sw, false, true), mm(sx, dy, true, false), tf.reshape(tf.matMul(tf.ones([1, n]), dy as tf.Tensor2D), [m])];
    },
  };
}) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

const fusedDense = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, w: tf.Tensor | tf.GradSaveFunc, b: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: runFused("RraDense", { x: x as tf.Tensor, w: w as tf.Tensor, b: b as tf.Tensor })[0],
    gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => runFused("RraDenseGrad", { dy, x: sx, w: sw }, { bias: true }),
  };
}) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** x W + b for x [N, K], W [K, M], b [M] (one fused kernel each way where available). */
export function dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return x.rank === 2 && fusedActive() ? fusedDense(x, w, b) : composedDense(x, w, b);
}

/** gelu(x W + b) in the tanh form or, with `erf`, the exact erf form (the FFN's first half). */
export function denseGelu(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, erf: boolean): tf.Tensor {
  if (x.rank !== 2 || !fusedActive()) return (erf ? geluErf : gelu)(composedDense(x, w, b));
  const f = tf.customGrad((xi: tf.Tensor | tf.GradSaveFunc, wi: tf.Tensor | tf.GradSaveFunc, bi: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
    const h = tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D);
    (save as tf.GradSaveFunc)([xi as tf.Tensor, wi as tf.Tensor, h, bi as tf.Tensor]);
    return {
      value: runFused("RraBiasGelu", { x: h, b: bi as tf.Tensor }, { erf })[0],
      gradFunc: (dy: tf.Tensor, [sx, sw, sh, sb]: tf.Tensor[]) => {
        const [dz, db] = runFused("RraBiasGeluGrad", { x: sh, b: sb, dy }, { erf });
        const [dx, dw] = runFused("RraDenseGrad", { dy: dz, x: sx, w: sw }, { bias: false });
        return [dx, dw, db];
      },
    };
  }) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  return f(x, w, b);
}

const fusedLayerNorm = (eps: number) => tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, gamma: tf.Tensor | tf.GradSaveFunc, beta: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  const [y, mean, rstd] = runFused("RraLayerNorm", { x: x as tf.Tensor, gamma: gamma as tf.Tensor, beta: beta as tf.Tensor }, { eps });
  (save as tf.GradSaveFunc)([x as tf.Tensor, gamma as tf.Tensor, mean, rstd]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [sx, sg, sm, sr]: tf.Tensor[]) => runFused("RraLayerNormGrad", { dy, x: sx, gamma: sg, mean: sm, rstd: sr }),
  };
}) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;

/**
 * softmax(scores * scale + (1 - keep) * -1e9) over the last axis: attention probabilities with padding
 * keys masked out. scores [B, nh, Tq, Tk], keep [B, Tk] (1 = real token, 0 = padding; a constant, no gradient).
 */
export function maskedSoftmax(scores: tf.Tensor4D, keep: tf.Tensor2D, scale: number): tf.Tensor4D {
  const [B, , , Tk] = scores.shape;
  if (!fusedActive()) return tf.softmax(tf.add(tf.mul(scores, scale), tf.reshape(tf.mul(tf.sub(1, keep), -1e9), [B, 1, 1, Tk]))) as tf.Tensor4D;
  const f = tf.customGrad((s: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
    const p = runFused("RraMaskedSoftmax", { s: s as tf.Tensor, keep }, { scale })[0];
    (save as tf.GradSaveFunc)([p]);
    return { value: p, gradFunc: (dy: tf.Tensor, [sp]: tf.Tensor[]) => runFused("RraMaskedSoftmaxGrad", { p: sp, dp: dy }, { scale })[0] };
  }) as (s: tf.Tensor) => tf.Tensor;
  return f(scores) as tf.Tensor4D;
}

/** tanh(x) as 2 sigmoid(2x) - 1 (see the module comment). */
export function fastTanh(x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
}

/** Layer norm over the last axis (fused, or composed with tf.moments). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  if (fusedActive()) return fusedLayerNorm(eps)(x, gamma, beta);
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
  if (fusedActive()) {
    const attrs = { seed, keep: 1 - rate };
    const f = tf.customGrad((xi: tf.Tensor | tf.GradSaveFunc) => ({
      value: runFused("RraDropout", { x: xi as tf.Tensor }, attrs)[0],
      gradFunc: (dy: tf.Tensor) => runFused("RraDropout", { x: dy }, attrs)[0],
    })) as (x: tf.Tensor) => tf.Tensor;
    return f(x);
  }
  return tf.mul(x, tf.tensor(dropoutMask(x.size, rate, seed), x.shape, "float32"));
}

/** The inverted-dropout multipliers of `dropout`: 1 / (1 - rate) where kept, 0 where dropped. */
export function dropoutMask(size: number, rate: number, seed: number): Float32Array {
  const keep = 1 - rate, scale = 1 / keep;
  const mask = new Float32Array(size);
  let s = seed | 0;
  for (let i = 0; i < mask.length; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    mask[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 < keep ? scale : 0;
  }
  return mask;
}

/**
 * An encoder layer's attention core, fused (needs fusedActive()): from the QKV projection qkv [B*T, 3H]
 * to the heads' merged context [B*T, H] = dropout(maskedSoftmax(Q K^T, keep, scale)) V per head, with
 * Q, K, V the thirds of qkv split into `heads` heads; the dropout mask over [B, heads, T, T] is
 * dropoutMask(size, dropRate, dropSeed), drawn in C (dropRate 0 = none). The composed form is in
 * encoder.ts; the two agree to float rounding.
 */
export function fusedAttention(qkv: tf.Tensor2D, keep: tf.Tensor2D, heads: number, scale: number, dropRate: number, dropSeed: number): tf.Tensor2D {
  const [B, T] = keep.shape;
  const attrs = { batch: B, seq: T, heads, scale, dropSeed, dropKeep: dropRate > 0 ? 1 - dropRate : 1 };
  const f = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
    const [ctx, probs] = runFused("RraAttention", { qkv: x as tf.Tensor, keep }, attrs);
    (save as tf.GradSaveFunc)([x as tf.Tensor, probs]);
    return {
      value: ctx,
      gradFunc: (dy: tf.Tensor, [sq, sp]: tf.Tensor[]) => runFused("RraAttentionGrad", { dctx: dy, qkv: sq, probs: sp }, attrs)[0],
    };
  }) as (x: tf.Tensor) => tf.Tensor;
  return f(qkv) as tf.Tensor2D;
}
