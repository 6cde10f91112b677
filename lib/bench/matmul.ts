/**
 * matMul speed on the current TensorFlow.js backend: the median of `runs` timed calls after `warmup`
 * untimed ones, each including the read-back (`dataSync`), so lazy backends finish the work inside the
 * timing. Inputs are seeded uniform values created once, outside the timing.
 */
import * as tf from "@tensorflow/tfjs";
import { computeMatmulFlops } from "./flops";
import { median } from "./stats";
import type { MatmulResult } from "./types";

/** Options of measureMatmul. */
export interface MatmulOptions {
  /** Leading batch dimension (1 = a plain rank-2 matMul). Default 1. */
  batch?: number;
  /** Multiply by b transposed ([batch, n, k] stored), as attention's Q K^T does. Default false. */
  transposeB?: boolean;
  /** Timed runs. Default 5. */
  runs?: number;
  /** Untimed runs first. Default 1. */
  warmup?: number;
  /** Seed of the input values. Default 0. */
  seed?: number;
}

export { median } from "./stats";

/** Time [batch, m, k] x [batch, k, n] (or its transposeB form) on the current backend. */
export function measureMatmul(m: number, k: number, n: number, options: MatmulOptions = {}): MatmulResult {
  const { batch = 1, transposeB = false, runs = 5, warmup = 1, seed = 0 } = options;
  const aShape = batch === 1 ? [m, k] : [batch, m, k];
  const bShape = batch === 1 ? (transposeB ? [n, k] : [k, n]) : (transposeB ? [batch, n, k] : [batch, k, n]);
  const a = tf.randomUniform(aShape, -1, 1, "float32", seed);
  const b = tf.randomUniform(bShape, -1, 1, "float32", seed + 1);
  const once = (): number => {
    const t0 = performance.now();
    const c = tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, false, transposeB);
    c.dataSync();
    const ms = performance.now() - t0;
    c.dispose();
    return ms;
  };
  try {
    for (let i = 0; i < warmup; i++) once();
    const times = Array.from({ length: runs }, once);
    const medianMs = median(times);
    return { batch, m, k, n, transposeB, runs, medianMs, gflops: computeMatmulFlops(batch, m, k, n) / (medianMs / 1000) / 1e9 };
  } finally {
    tf.dispose([a, b]);
  }
}
