import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/tf";
import { installNativeMatMul, nativeMatMulStatus, uninstallNativeMatMul } from "../../lib/backend/native-matmul";
import { installWasmKernels, uninstallWasmKernels } from "../../lib/backend/wasm-kernels";
import { dense, dropout, fastTanh } from "../../lib/models/kernels";

const BUILT = existsSync(join(resolve(__dirname, "..", ".."), "native", "rra-blas", "build", "Release", "rra_blas.node"));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe("kernels: the native OpenBLAS matMul, the fast gather, dense with its own gradient, fastTanh, dropout", function () {
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

  it("the fast wasm GatherV2 equals the stock kernel on embedding lookups and keeps its out-of-range error", function () {
    if (tf.getBackend() !== "wasm") this.skip();
    const table = tf.randomNormal([50, 7], 0, 1, "float32", 21), ids = tf.tensor1d([3, 0, 49, 3, 17], "int32"), ids2 = tf.tensor2d([[1, 2], [48, 0]], [2, 2], "int32");
    assert.equal(installWasmKernels(), true);
    const fast = [tf.gather(table, ids), tf.gather(table, ids2)].map((t) => ({ shape: t.shape, v: Array.from(t.dataSync()) }));
    assert.throws(() => tf.gather(table, tf.tensor1d([50], "int32")).dataSync(), /GatherV2: the index value 50 is not in \[0, 49\]/);
    uninstallWasmKernels();
    const stock = [tf.gather(table, ids), tf.gather(table, ids2)].map((t) => ({ shape: t.shape, v: Array.from(t.dataSync()) }));
    installWasmKernels();
    assert.deepEqual(fast, stock);
    // other shapes (axis 1) go to the stock kernel
    assert.deepEqual(tf.gather(table, tf.tensor1d([6, 0], "int32"), 1).shape, [50, 2]);
  });

  it("the fast wasm Slice equals the stock kernel on contiguous and strided slices (float32, int32, 1-D to 4-D)", function () {
    if (tf.getBackend() !== "wasm") this.skip();
    const x = tf.randomNormal([6, 5, 4], 0, 1, "float32", 31), v = tf.randomNormal([100], 0, 1, "float32", 32);
    const w = tf.randomNormal([3, 4, 5, 6], 0, 1, "float32", 33), ints = tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], "int32");
    const cases = () => [tf.slice(v, [10], [37]), tf.slice(x, [2, 0, 0], [3, 5, 4]), tf.slice(x, [1, 2, 0], [1, 2, 4]), tf.slice(x, [0, 1, 1], [6, 3, 2]), tf.slice(v, [99], [0]),
      // strided: the [CLS] row of [B, T, H], an inner block, a 4-D corner, int32 columns, a scalar-like
      tf.slice(x, [0, 0, 0], [6, 1, 4]), tf.slice(x, [1, 1, 1], [4, 3, 2]), tf.slice(w, [1, 0, 2, 3], [2, 4, 2, 3]), tf.slice(w, [0, 1, 0, 0], [3, 2, 5, 6]),
      tf.slice(ints, [0, 1], [2, 2]), tf.slice(x, [5, 4, 3], [1, 1, 1]), tf.slice(x, [0, 2, 0], [6, 0, 4])]
      .map((t) => ({ shape: t.shape, dtype: t.dtype, v: Array.from(t.dataSync()) }));
    installWasmKernels();
    const fast = cases();
    uninstallWasmKernels();
    const stock = cases();
    installWasmKernels();
    assert.deepEqual(fast, stock);
    tf.dispose([x, v, w, ints]);
  });

  it("the shared wasm Identity: a clone keeps its values after the original is disposed, and leaks nothing", function () {
    if (tf.getBackend() !== "wasm") this.skip();
    installWasmKernels();
    const before = tf.memory().numTensors;
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
    b.dispose();
    assert.equal(tf.memory().numTensors, before);
    // gradients through ops that save their inputs (clones) still match finite differences
    const x = tf.tensor1d([0.5, -1.5, 2]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mul(t, t), tf.div(t, 3))))(x).dataSync();
    Array.from(x.dataSync()).forEach((v, i) => assert.ok(Math.abs(g[i] - v * v) < 1e-5, `d/dx x^3/3 at ${v}: ${g[i]}`));
  });

  it("dropout: seeded (same seed, same mask), scaled by 1 / keep, dropping about the rate", () => {
    const x = tf.ones([200, 100]);
    const a = dropout(x, 0.1, 1234).dataSync(), b = dropout(x, 0.1, 1234).dataSync(), c = dropout(x, 0.1, 99).dataSync();
    assert.deepEqual(Array.from(a), Array.from(b));
    assert.notDeepEqual(Array.from(a), Array.from(c));
    const zeros = Array.from(a).filter((v) => v === 0).length;
    assert.ok(Math.abs(zeros / a.length - 0.1) < 0.01, `dropped ${zeros / a.length}`);
    assert.ok(Array.from(a).every((v) => v === 0 || Math.abs(v - 1 / 0.9) < 1e-6));
    assert.equal(dropout(x, 0, 5), x, "rate 0 is the identity");
  });
});
