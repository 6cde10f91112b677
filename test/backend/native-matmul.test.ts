import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/tf";
import { installNativeMatMul, nativeMatMulStatus, uninstallNativeMatMul } from "../../lib/backend/native-matmul";
import { dense, fastTanh } from "../../lib/models/kernels";

const BUILT = existsSync(join(resolve(__dirname, "..", ".."), "native", "rra-blas", "build", "Release", "rra_blas.node"));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe("kernels: the native OpenBLAS matMul, dense with its own gradient, fastTanh", function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend({ quiet: true });
  });
  after(() => {
    if (BUILT) installNativeMatMul();
  });

  it("fastTanh = 2 sigmoid(2x) - 1 agrees with tf.tanh to float rounding, saturation included", () => {
    const x = tf.linspace(-30, 30, 2001);
    assert.ok(maxDiff(fastTanh(x).dataSync(), tf.tanh(x).dataSync()) < 2e-6);
  });

  it("dense's gradients (bias by a ones-row matMul) equal autodiff of matMul + add", () => {
    const x = tf.randomNormal([37, 11], 0, 1, "float32", 1), w = tf.randomNormal([11, 5], 0, 1, "float32", 2), b = tf.randomNormal([5], 0, 1, "float32", 3);
    const dy = tf.randomNormal([37, 5], 0, 1, "float32", 4);
    const f1 = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(dense(xx, ww, bb), dy));
    const f2 = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.matMul(xx as tf.Tensor2D, ww as tf.Tensor2D), bb), dy));
    const g1 = tf.grads(f1)([x, w, b]), g2 = tf.grads(f2)([x, w, b]);
    g1.forEach((g, i) => assert.ok(maxDiff(g.dataSync(), g2[i].dataSync()) < 1e-4, `gradient ${i}`));
  });

  it("the native kernel is installed on wasm when native/rra-blas is built, and says why when not", function () {
    const s = nativeMatMulStatus();
    if (!BUILT) {
      assert.equal(s.active, false);
      assert.match(s.describe, /not built|RRA_NATIVE_MATMUL=0|backend/);
      this.skip();
    }
    if (tf.getBackend() !== "wasm" || process.env.RRA_NATIVE_MATMUL === "0") this.skip();
    assert.equal(s.active, true);
    assert.match(s.describe, /^OpenBLAS sgemm \(native\/rra-blas, \d+ threads?\)$/);
  });

  it("native and stock BatchMatMul agree on 2-D, batched, transposed and broadcast shapes (seeded inputs)", function () {
    if (!BUILT || tf.getBackend() !== "wasm") this.skip();
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[5, 7], [7, 3], false, false], [[7, 5], [7, 3], true, false], [[5, 7], [3, 7], false, true], [[7, 5], [3, 7], true, true],
      [[2, 4, 6, 8], [2, 4, 8, 6], false, false], [[2, 4, 6, 8], [2, 4, 6, 8], false, true], [[3, 6, 8], [8, 5], false, false], [[5, 8], [3, 5, 4], true, false],
      [[64, 128], [128, 384], false, false],
    ];
    const run = () => cases.map(([sa, sb, ta, tb], i) => tf.tidy(() => tf.matMul(tf.randomNormal(sa, 0, 1, "float32", 10 + i), tf.randomNormal(sb, 0, 1, "float32", 100 + i), ta, tb).dataSync()));
    installNativeMatMul();
    const native = run();
    uninstallNativeMatMul();
    const stock = run();
    installNativeMatMul();
    native.forEach((v, i) => assert.ok(maxDiff(v, stock[i]) < 1e-4, `case ${cases[i].join(" | ")}: max diff ${maxDiff(v, stock[i])}`));
  });

  it("is deterministic: the same product twice gives identical bits", function () {
    if (!BUILT || tf.getBackend() !== "wasm") this.skip();
    installNativeMatMul();
    const a = tf.randomNormal([300, 200], 0, 1, "float32", 5), b = tf.randomNormal([200, 100], 0, 1, "float32", 6);
    assert.deepEqual(Array.from(tf.matMul(a, b).dataSync()), Array.from(tf.matMul(a, b).dataSync()));
  });
});
