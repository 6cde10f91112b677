import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/tf";
import { ConfigError, ShapeError } from "../../lib/core/errors";
import { createRng } from "../../lib/core/rng";
import { LOSSES, LOSS_NAMES, editDistance, getLoss } from "../../lib/losses/index";
import type { LossName, LossOptions } from "../../lib/losses/index";
import { REFERENCE_LOSSES } from "../ref";
import type { RefOptions } from "../ref";

/** A seeded batch shaped like converted labels: graded gains for listed docs, 0 + hard-negative flag for missing ones, -1 for padding. */
interface Batch { scores: number[][]; labels: number[][]; hard: number[][]; teacher: number[][] }

function makeBatch(seed: number, b = 5, l = 8): Batch {
  const rng = createRng(seed);
  const batch: Batch = { scores: [], labels: [], hard: [], teacher: [] };
  for (let r = 0; r < b; r++) {
    const allPadding = r === b - 1;                         // the last row is all padding
    const n = allPadding ? 0 : 2 + rng.int(l - 1);          // real slots: 2..l
    const m = n === 0 ? 0 : 1 + rng.int(n);                 // listed among them: 1..n
    const slots = rng.shuffle(Array.from({ length: l }, (_, i) => i));
    const labels = new Array<number>(l).fill(-1), hard = new Array<number>(l).fill(0);
    slots.slice(0, n).forEach((slot, k) => {
      if (k < m) labels[slot] = (m - k) / m;                 // teacher rank k + 1 of m
      else { labels[slot] = 0; hard[slot] = 1; }
    });
    batch.labels.push(labels);
    batch.hard.push(hard);
    batch.scores.push(Array.from({ length: l }, () => 4 * rng.next() - 2));
    batch.teacher.push(Array.from({ length: l }, () => 6 * rng.next() - 3));
  }
  return batch;
}

/** Options each loss is exercised with (rankNet with the missing up-weight, klDistill at T = 2). */
function optionsFor(name: LossName, batch: Batch): RefOptions {
  if (name === "rankNet") return { hardNegativeMask: batch.hard, missingWeight: 3 };
  if (name === "marginMse") return { teacherScores: batch.teacher };
  if (name === "klDistill") return { teacherScores: batch.teacher, temperature: 2 };
  return {};
}

function tfOptions(o: RefOptions): LossOptions {
  const t = (x: number[][] | undefined) => (x === undefined ? undefined : tf.tensor2d(x));
  return { ...o, hardNegativeMask: t(o.hardNegativeMask), teacherScores: t(o.teacherScores) };
}
const disposeOptions = (o: LossOptions) => tf.dispose([o.hardNegativeMask, o.teacherScores].filter((x): x is tf.Tensor2D => x !== undefined));

/** Loss value and gradient w.r.t. scores, computed by tfjs; frees every tensor it made. */
function tfLoss(name: LossName, scores: number[][], labels: number[][], o: RefOptions): { value: number; grad: number[][] } {
  const s = tf.tensor2d(scores), y = tf.tensor2d(labels), opts = tfOptions(o);
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => LOSSES[name](x as tf.Tensor2D, y, opts))(s);
  const out = { value: value.dataSync()[0], grad: grad.arraySync() as number[][] };
  tf.dispose([s, y, value, grad]);
  disposeOptions(opts);
  return out;
}

function finiteDifference(name: LossName, scores: number[][], labels: number[][], o: RefOptions, h = 1e-5): number[][] {
  const ref = REFERENCE_LOSSES[name];
  return scores.map((row, b) => row.map((_, i) => {
    const at = (d: number) => ref(scores.map((r, bb) => r.map((v, ii) => (bb === b && ii === i ? v + d : v))), labels, o);
    return (at(h) - at(-h)) / (2 * h);
  }));
}

function cosine(a: number[], b: number[]): number {
  const dot = a.reduce((s, x, i) => s + x * b[i], 0);
  return dot / Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));
}

const SHIFT_INVARIANT: readonly LossName[] = ["listNet", "listMle", "lambdaNdcg2", "rankNet", "marginMse", "klDistill"];
const SEEDS = [1, 2, 3];

describe("losses", () => {
  before(async () => { await initBackend({ quiet: true }); });

  for (const name of LOSS_NAMES) {
    describe(name, () => {
      it("matches the plain reference on seeded batches with padding", () => {
        for (const seed of SEEDS) {
          const batch = makeBatch(seed);
          const o = optionsFor(name, batch);
          const got = tfLoss(name, batch.scores, batch.labels, o).value;
          const want = REFERENCE_LOSSES[name](batch.scores, batch.labels, o);
          assert.ok(Math.abs(got - want) < 1e-4, `seed ${seed}: tfjs ${got} vs reference ${want}`);
          assert.ok(want > 0, `seed ${seed}: degenerate reference value ${want}`);
        }
      });

      it("has a finite gradient whose direction matches finite differences of the reference", () => {
        for (const seed of SEEDS) {
          const batch = makeBatch(seed);
          const o = optionsFor(name, batch);
          const g = tfLoss(name, batch.scores, batch.labels, o).grad.flat();
          assert.ok(g.every(Number.isFinite), `seed ${seed}: non-finite gradient`);
          const fd = finiteDifference(name, batch.scores, batch.labels, o).flat();
          const c = cosine(g, fd);
          assert.ok(c > 0.99, `seed ${seed}: cosine ${c}`);
        }
      });

      it("ignores padded slots (label -1): zero gradient, and their scores change nothing", () => {
        const batch = makeBatch(7);
        const o = optionsFor(name, batch);
        const base = tfLoss(name, batch.scores, batch.labels, o);
        const moved = batch.scores.map((row, b) => row.map((v, i) => (batch.labels[b][i] < 0 ? (i % 2 ? 1e4 : -1e4) : v)));
        const other = tfLoss(name, moved, batch.labels, o);
        assert.ok(Math.abs(base.value - other.value) < 1e-6, `${base.value} vs ${other.value}`);
        batch.labels.forEach((row, b) => row.forEach((y, i) => {
          if (y < 0) assert.ok(base.grad[b][i] === 0, `slot [${b},${i}]: ${base.grad[b][i]}`); // -0 counts as 0
          if (y < 0) assert.ok(other.grad[b][i] === 0, `slot [${b},${i}] with a large padded score: ${other.grad[b][i]}`);
        }));
      });

      it("counts all-padding rows as nothing, and an all-padding batch gives 0 (no NaN)", () => {
        const batch = makeBatch(11);
        const o = optionsFor(name, batch);
        const last = batch.labels.length - 1;
        assert.ok(batch.labels[last].every((y) => y === -1));
        const drop = <T>(xs: T[] | undefined) => xs?.slice(0, last);
        const without = { ...o, hardNegativeMask: drop(o.hardNegativeMask), teacherScores: drop(o.teacherScores) };
        const full = tfLoss(name, batch.scores, batch.labels, o).value;
        const part = tfLoss(name, batch.scores.slice(0, last), batch.labels.slice(0, last), without).value;
        assert.ok(Math.abs(full - part) < 1e-5, `${full} vs ${part}`);
        const empty = tfLoss(name, batch.scores, batch.labels.map((r) => r.map(() => -1)), o);
        assert.equal(empty.value, 0);
        assert.ok(empty.grad.flat().every((x) => x === 0));
      });

      if (SHIFT_INVARIANT.includes(name)) {
        it("is invariant to adding a constant to a row's scores", () => {
          const batch = makeBatch(5);
          const o = optionsFor(name, batch);
          const shifted = batch.scores.map((row, b) => row.map((v) => v + 3 * (b + 1)));
          const a = tfLoss(name, batch.scores, batch.labels, o).value, c = tfLoss(name, shifted, batch.labels, o).value;
          assert.ok(Math.abs(a - c) < 1e-4, `${a} vs ${c}`);
        });
      } else {
        it("is not invariant to a shift of the scores (pointwise)", () => {
          const batch = makeBatch(5);
          const a = tfLoss(name, batch.scores, batch.labels, {}).value;
          const c = tfLoss(name, batch.scores.map((r) => r.map((v) => v + 3)), batch.labels, {}).value;
          assert.ok(Math.abs(a - c) > 1e-2);
        });
      }

      it("lowers the loss when the best document's score rises", () => {
        // equal student scores; document 0 is the teacher's first (and has the highest teacher score)
        const scores = [[0, 0, 0, 0]], labels = [[1, 2 / 3, 1 / 3, 0]];
        const o: RefOptions = name === "marginMse" || name === "klDistill" ? { teacherScores: [[3, 2, 1, 0]] } : optionsFor(name, { scores, labels, hard: [[0, 0, 0, 1]], teacher: [] });
        const g = tfLoss(name, scores, labels, o).grad[0];
        assert.ok(g[0] < 0, `d loss / d s_best = ${g[0]}`);
        if (name !== "pointwiseBce") assert.ok(g[3] > 0, `d loss / d s_worst = ${g[3]}`);
      });

      it("throws ShapeError naming both shapes when scores and labels differ", () => {
        const s = tf.tensor2d([[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]), y = tf.tensor2d([[1, 0, 0, 0], [1, 0, 0, 0]]);
        assert.throws(() => LOSSES[name](s, y, { teacherScores: s }), (e: Error) => e instanceof ShapeError && e.message.includes(name) && e.message.includes("[2,5]") && e.message.includes("[2,4]"));
        tf.dispose([s, y]);
      });

      it("leaks no tensors (forward and gradient)", () => {
        const batch = makeBatch(13);
        const s = tf.tensor2d(batch.scores), y = tf.tensor2d(batch.labels), opts = tfOptions(optionsFor(name, batch));
        const before = tf.memory().numTensors;
        LOSSES[name](s, y, opts).dispose();
        assert.equal(tf.memory().numTensors, before, "forward");
        const g = tf.grad((x: tf.Tensor) => LOSSES[name](x as tf.Tensor2D, y, opts))(s);
        g.dispose();
        assert.equal(tf.memory().numTensors, before, "gradient");
        tf.dispose([s, y]);
        disposeOptions(opts);
      });
    });
  }

  describe("rankNet options", () => {
    it("up-weights listed > missing pairs by missingWeight (default 2)", () => {
      const batch = makeBatch(21);
      const plain = tfLoss("rankNet", batch.scores, batch.labels, {}).value;
      const weight1 = tfLoss("rankNet", batch.scores, batch.labels, { hardNegativeMask: batch.hard, missingWeight: 1 }).value;
      assert.ok(Math.abs(plain - weight1) < 1e-6);
      const def = tfLoss("rankNet", batch.scores, batch.labels, { hardNegativeMask: batch.hard }).value;
      assert.ok(Math.abs(def - REFERENCE_LOSSES.rankNet(batch.scores, batch.labels, { hardNegativeMask: batch.hard, missingWeight: 2 })) < 1e-4);
      assert.ok(Math.abs(def - plain) > 1e-4);
    });
    it("supports gain-difference pair weights and sigma", () => {
      const batch = makeBatch(22);
      const o: RefOptions = { hardNegativeMask: batch.hard, pairWeighting: "gainDifference", sigma: 2 };
      assert.ok(Math.abs(tfLoss("rankNet", batch.scores, batch.labels, o).value - REFERENCE_LOSSES.rankNet(batch.scores, batch.labels, o)) < 1e-4);
    });
    it("rejects a non-positive missingWeight with ConfigError", () => {
      const s = tf.tensor2d([[1, 2]]), y = tf.tensor2d([[1, 0]]);
      assert.throws(() => LOSSES.rankNet(s, y, { missingWeight: 0 }), (e: Error) => e instanceof ConfigError && /missingWeight.*0/.test(e.message));
      tf.dispose([s, y]);
    });
  });

  describe("listMle order", () => {
    it("breaks label ties by slot position (earlier first)", () => {
      // two missing documents (gain 0): order [0, 1, 2] under the tie rule
      const scores = [[0.5, -1, 2]], labels = [[1, 0, 0]];
      const lse = (xs: number[]) => Math.log(xs.reduce((a, x) => a + Math.exp(x), 0));
      const want = lse([0.5, -1, 2]) - 0.5 + lse([-1, 2]) + 1 + 0;
      assert.ok(Math.abs(tfLoss("listMle", scores, labels, {}).value - want) < 1e-5);
    });
  });

  describe("distillation losses", () => {
    it("require teacherScores (ConfigError)", () => {
      const s = tf.tensor2d([[1, 2]]), y = tf.tensor2d([[1, 0]]);
      for (const name of ["marginMse", "klDistill"] as const) {
        assert.throws(() => LOSSES[name](s, y), (e: Error) => e instanceof ConfigError && e.message.includes("teacherScores"));
      }
      tf.dispose([s, y]);
    });
    it("klDistill is 0 when the student equals the teacher, at any temperature", () => {
      const batch = makeBatch(31);
      for (const temperature of [0.5, 1, 4]) {
        assert.ok(Math.abs(tfLoss("klDistill", batch.teacher, batch.labels, { teacherScores: batch.teacher, temperature }).value) < 1e-5);
      }
    });
  });

  describe("getLoss", () => {
    it("returns each registered loss by name", () => {
      for (const name of LOSS_NAMES) assert.equal(getLoss(name), LOSSES[name]);
      assert.deepEqual([...LOSS_NAMES].sort(), Object.keys(REFERENCE_LOSSES).sort());
    });
    it("throws ConfigError listing the names, with a did-you-mean suggestion", () => {
      assert.throws(() => getLoss("listnet"), (e: Error) => e instanceof ConfigError
        && e.message === `unknown loss "listnet"; expected one of ${LOSS_NAMES.join(", ")} (did you mean "listNet"?)`);
      assert.throws(() => getLoss("ranknett"), /did you mean "rankNet"\?/);
      assert.throws(() => getLoss("kl"), (e: Error) => e instanceof ConfigError && !e.message.includes("did you mean"));
      assert.throws(() => getLoss("toString"), /unknown loss "toString"/);
    });
    it("computes edit distances", () => {
      assert.equal(editDistance("kitten", "sitting"), 3);
      assert.equal(editDistance("", "abc"), 3);
      assert.equal(editDistance("listnet", "listnet"), 0);
    });
  });
});
