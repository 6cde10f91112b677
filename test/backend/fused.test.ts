import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { fusedActive, useFusedKernels, type RraFused } from "../../lib/backend/fused";
import { nativeAddon } from "../../lib/backend/native-matmul";
import { initBackend } from "../../lib/backend/tf";
import { createEncoder } from "../../lib/models/encoder";
import { dense, denseGelu, dropout, dropoutMask, layerNorm, maskedSoftmax } from "../../lib/models/kernels";
import { resolveEncoderConfig } from "../../lib/models/presets";
import { accumulateAndApply, createAdamW } from "../../lib/train/schedule";

// The fused native kernels (lib/backend/fused.ts) against the stock tfjs composition of the same
// functions (lib/models/kernels.ts with the kernels off): values and gradients to float rounding.
const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let scale = 0, diff = 0;
  for (let i = 0; i < a.length; i++) { scale = Math.max(scale, Math.abs(b[i])); diff = Math.max(diff, Math.abs(a[i] - b[i])); }
  return diff / Math.max(scale, 1e-30);
};

/** Value and gradients of sum(f(inputs) * dy) with the fused kernels on and off. */
function bothWays(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: number): Array<{ value: Float32Array; grads: Float32Array[] }> {
  return [true, false].map((on) => {
    useFusedKernels(on);
    try {
      return tf.tidy(() => {
        const dy = tf.randomNormal(f(...inputs).shape, 0, 1, "float32", seed);
        const value = f(...inputs).dataSync() as Float32Array;
        const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), dy)))(inputs).map((g) => g.dataSync() as Float32Array);
        return { value, grads };
      });
    } finally {
      useFusedKernels(undefined);
    }
  });
}

describe("fused native kernels (dense, GELU, layer norm, masked softmax, AdamW) against the stock tfjs ops", function () {
  this.timeout(120_000);
  before(async function () {
    await initBackend({ quiet: true });
    if (!fusedActive()) this.skip(); // cpu/tensorflow backend, or native/rra-blas not built: the stock ops serve
  });

  const check = (name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: () => tf.Tensor[], tol: number) => {
    it(`${name}: value and every gradient agree (max relative difference < ${tol})`, () => {
      const xs = inputs();
      const [fused, stock] = bothWays(f, xs, 7);
      assert.ok(maxRel(fused.value, stock.value) < tol, `value: ${maxRel(fused.value, stock.value)}`);
      fused.grads.forEach((g, i) => assert.ok(maxRel(g, stock.grads[i]) < tol, `gradient ${i}: ${maxRel(g, stock.grads[i])}`));
      tf.dispose(xs);
    });
  };
  const rn = (shape: number[], seed: number, sd = 1) => tf.randomNormal(shape, 0, sd, "float32", seed);

  check("dense x W + b [37 x 11] x [11 x 5]", dense, () => [rn([37, 11], 1), rn([11, 5], 2), rn([5], 3)], 1e-5);
  check("denseGelu, tanh form", (x, w, b) => denseGelu(x, w, b, false), () => [rn([40, 16], 4), rn([16, 24], 5), rn([24], 6)], 2e-5);
  check("denseGelu, erf form (BERT)", (x, w, b) => denseGelu(x, w, b, true), () => [rn([40, 16], 7), rn([16, 24], 8), rn([24], 9)], 2e-5);
  check("layerNorm over rows of 48, eps 1e-12", (x, g, b) => layerNorm(x, g, b, 1e-12), () => [rn([30, 48], 10, 3), rn([48], 11), rn([48], 12)], 2e-5);
  check("layerNorm of a 3-D input, eps 1e-5", (x, g, b) => layerNorm(x, g, b, 1e-5), () => [rn([3, 7, 16], 13), rn([16], 14), rn([16], 15)], 2e-5);
  it("maskedSoftmax: padding keys get 0, values and gradients agree", () => {
    const s = rn([2, 3, 5, 5], 16, 2) as tf.Tensor4D;
    const keep = tf.tensor2d([1, 1, 1, 0, 0, 1, 1, 1, 1, 1], [2, 5]);
    const [fused, stock] = bothWays((x) => maskedSoftmax(x as tf.Tensor4D, keep, 0.5), [s], 17);
    assert.ok(maxRel(fused.value, stock.value) < 2e-6, `value ${maxRel(fused.value, stock.value)}`);
    assert.ok(maxRel(fused.grads[0], stock.grads[0]) < 2e-5, `gradient ${maxRel(fused.grads[0], stock.grads[0])}`);
    for (let row = 0; row < 15; row++) assert.equal(fused.value[row * 5 + 3] + fused.value[row * 5 + 4], 0, "padding keys of the first batch row");
  });

  it("dropout: the mask drawn in C is the JS mulberry32 stream bit for bit, and the gradient uses the same mask", () => {
    for (const [rate, seed] of [[0.1, 12345], [0.5, -7], [0.3, 3_000_000_000]] as const) {
      const x = rn([10007], 30 + rate * 10);
      const mask = dropoutMask(x.size, rate, seed);
      const got = dropout(x, rate, seed).dataSync();
      const want = Float32Array.from(x.dataSync(), (v, i) => Math.fround(v * mask[i]));
      assert.deepEqual(Array.from(got), Array.from(want), `rate ${rate}, seed ${seed}`);
      const g = tf.grad((t: tf.Tensor) => tf.sum(dropout(t, rate, seed)))(x).dataSync();
      assert.deepEqual(Array.from(g), Array.from(mask), "the gradient of sum(dropout(x)) is the mask");
    }
  });

  it("AdamW with clipping: the fused update equals the stock one (weights, moments) to float rounding", () => {
    const run = (on: boolean) => {
      useFusedKernels(on);
      try {
        const vars = [tf.variable(rn([6, 4], 20), true, `fused-test-${on}/kernel`), tf.variable(rn([4], 21), true, `fused-test-${on}/bias`)];
        const opt = createAdamW(vars, { weightDecay: 0.1 });
        const norms: number[] = [];
        for (let step = 0; step < 3; step++) {
          // clip 0.5 clips (the gradient norm is ~5); lr 1e-2
          const r = tf.tidy(() => accumulateAndApply(vars, opt, 1, () => tf.sum(tf.mul(tf.square(tf.sub(vars[0], 1)), 3)).add(tf.sum(vars[1])) as tf.Scalar, 0.5, 1e-2));
          norms.push(r.norm.dataSync()[0]);
          tf.dispose([r.loss, r.norm]);
        }
        const out = { weights: vars.map((v) => v.dataSync() as Float32Array), state: opt.getState(), norms };
        opt.dispose();
        tf.dispose(vars);
        return out;
      } finally {
        useFusedKernels(undefined);
      }
    };
    const fused = run(true), stock = run(false);
    fused.weights.forEach((w, i) => assert.ok(maxRel(w, stock.weights[i]) < 1e-6, `weights ${i}: ${maxRel(w, stock.weights[i])}`));
    fused.state.m.forEach((m, i) => assert.ok(maxRel(m, stock.state.m[i]) < 1e-5, `m ${i}`));
    fused.state.v.forEach((v, i) => assert.ok(maxRel(v, stock.state.v[i]) < 1e-5, `v ${i}`));
    fused.norms.forEach((n, i) => assert.ok(Math.abs(n - stock.norms[i]) / stock.norms[i] < 1e-6, `norm ${i}: ${n} vs ${stock.norms[i]}`));
    assert.ok(fused.norms[0] > 0.5, "the test clips");
  });

  for (const [label, overrides, training] of [
    ["a BERT-style encoder (post-LN, erf GELU) without dropout", { layerNorm: "post", hiddenAct: "gelu_erf", layerNormEps: 1e-12 }, false],
    ["the students' encoder (pre-LN, tanh GELU) with seeded dropout in training mode", { dropout: 0.1 }, true],
  ] as const) it(`${label}: forward+backward with padding agrees, and leaks no tensor`, () => {
    const config = resolveEncoderConfig({ vocabSize: 50, typeVocabSize: 2, seed: 3, initStd: 0.2, ...overrides }, { preset: "tiny" });
    const enc = createEncoder(config);
    const B = 3, T = 9;
    const inputIds = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % 50), tokenTypeIds = Int32Array.from({ length: B * T }, (_, i) => (i % T > 4 ? 1 : 0));
    const attentionMask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - (i < T ? 3 : 0) ? 1 : 0));
    const batch = { inputIds, tokenTypeIds, attentionMask, batch: B, seqLen: T };
    const run = (on: boolean) => {
      useFusedKernels(on);
      try {
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(enc.score(batch, { training, seed: 11 }))) as tf.Scalar, enc.trainableVariables());
          return { value: value.dataSync()[0], grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array])) };
        });
        assert.equal(tf.memory().numTensors, before, "tensors left behind");
        return out;
      } finally {
        useFusedKernels(undefined);
      }
    };
    const fused = run(true), stock = run(false);
    assert.ok(Math.abs(fused.value - stock.value) / Math.abs(stock.value) < 1e-5, `loss ${fused.value} vs ${stock.value}`);
    for (const [k, g] of Object.entries(stock.grads)) assert.ok(maxRel(fused.grads[k], g) < 1e-3, `${k}: ${maxRel(fused.grads[k], g)}`);
    enc.dispose();
  });

  // big enough that every fused kernel splits (rra_fused.c: PAR_VALUES, PAR_FLOPS); at 128 tokens OpenBLAS
  // would thread the attention's GEMMs itself
  for (const [B, T] of [[8, 64], [4, 128]]) it(`split over 2 threads, the fused kernels of an encoder's forward and backward (dropout, padding, ${B}x${T}) and the softmax give the bits of 1 thread`, () => {
    const addon = nativeAddon() as unknown as RraFused;
    const config = resolveEncoderConfig({ vocabSize: 50, typeVocabSize: 2, seed: 3, initStd: 0.2, dropout: 0.1 }, { preset: "tiny" });
    const enc = createEncoder(config);
    const inputIds = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % 50), tokenTypeIds = Int32Array.from({ length: B * T }, (_, i) => (i % T > 30 ? 1 : 0));
    const attentionMask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - (i % 3) * 9 ? 1 : 0));
    const batch = { inputIds, tokenTypeIds, attentionMask, batch: B, seqLen: T };
    const s = rn([4, 3, 40, 64], 40, 2) as tf.Tensor4D, keep = tf.tensor2d(Array.from({ length: 4 * 64 }, (_, i) => (i % 64 < 50 ? 1 : 0)), [4, 64]);
    // only the fused kernels' count changes: OpenBLAS's GEMMs give other bits on another thread count
    const run = (threads: number) => {
      const before = addon.fusedThreads();
      addon.setFusedThreads(threads);
      try {
        return tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(enc.score(batch, { training: true, seed: 11 }))) as tf.Scalar, enc.trainableVariables());
          const softmax = tf.grads((x: tf.Tensor) => tf.sum(tf.mul(maskedSoftmax(x as tf.Tensor4D, keep, 0.3), x)))([s]);
          return [value, ...Object.values(grads), maskedSoftmax(s, keep, 0.3), ...softmax].map((t) => Array.from(t.dataSync()));
        });
      } finally {
        addon.setFusedThreads(before);
      }
    };
    const one = run(1);
    const jobs = addon.poolStats().splitJobs;
    const two = run(2);
    assert.ok(addon.poolStats().splitJobs - jobs >= 20, `the 2-thread run split its kernels (${addon.poolStats().splitJobs - jobs} split calls)`);
    assert.ok(addon.poolStats().helpers >= 1);
    assert.equal(two.length, one.length);
    one.forEach((a, i) => assert.deepEqual(two[i], a, `output ${i} differs between 1 and 2 threads`));
    enc.dispose();
    tf.dispose([s, keep]);
  });

  it("AdamW split over 2 threads (values of all variables end to end) gives the bits of 1 thread", () => {
    const addon = nativeAddon() as unknown as RraFused;
    const sizes = [10_007, 7, 30_011, 1];
    let seed = 5;
    const rand = (n: number, lo = -1) => Float32Array.from({ length: n }, () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return lo + (seed / 2 ** 31) * (1 - lo); });
    const p = sizes.map((n) => rand(n)), g = sizes.map((n) => rand(n)), m = sizes.map((n) => rand(n)), v = sizes.map((n) => rand(n, 0));
    const run = (threads: number) => {
      const before = addon.fusedThreads();
      addon.setFusedThreads(threads);
      try {
        const out = [0, 1, 2].map(() => sizes.map((n) => new Float32Array(n)));
        addon.adamw(p, g, m, v, out[0], out[1], out[2], [1e-3, 2e-3, 1e-3, 5e-4], [true, false, true, false], 0.7, 0.9, 0.999, 0.19, 0.0199, 1e-8, 0.01);
        return out.flat().map((a) => Array.from(a));
      } finally {
        addon.setFusedThreads(before);
      }
    };
    const one = run(1);
    const jobs = addon.poolStats().splitJobs;
    const two = run(2);
    assert.equal(addon.poolStats().splitJobs - jobs, 1, "the 2-thread call was split");
    one.forEach((a, i) => assert.deepEqual(two[i], a, `array ${i} differs between 1 and 2 threads`));
    assert.ok(one[0].some((x, i) => x !== p[0][i]), "the update moved the weights");
  });
});
