import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/tf";
import { ConfigError, ShapeError } from "../../lib/core/errors";
import { resolveEncoderConfig } from "../../lib/models/presets";
import { computeBm25TermScore, computeRraLoss, computeTermScore, createRraBert, RankingLossFn, resolveTclConfig, rowZScores, tclVersion, TermControlLayer, UNIT_IMPACT_BIAS } from "../../lib/models/tcl";
import { computeTokenSelection, packSelections, parseSelectionMode, TokenSelectionInput } from "../../lib/models/token-selection";
import { EncoderBatch } from "../../lib/models/types";

/*
 * Hand example. Query "seoul food market", passage "the seoul night market sells street food".
 * Tokens: [CLS] seoul food mar ##ket [SEP] the seoul night mar ##ket sells street food [SEP] [PAD]
 * idf: seoul 2.0, market 3.0, food 1.5 (matched words in passage order: seoul, market, food).
 */
const QUERY = ["seoul", "food", "market"];
const PASSAGE = ["the", "seoul", "night", "market", "sells", "street", "food"];
const WORD_IDS = [-1, 0, 1, 2, 2, -1, 0, 1, 2, 3, 3, 4, 5, 6, -1, -1];
const SIDE_IDS = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
const IDF = { seoul: 2, market: 3, food: 1.5, the: 0.1 };
const input: TokenSelectionInput = { wordIds: WORD_IDS, sideIds: SIDE_IDS, queryWords: QUERY, passageWords: PASSAGE, idf: IDF };
const positions = (m: Float32Array): number[] => Array.from(m).flatMap((v, i) => (v ? [i] : []));

describe("token selection (computeTokenSelection)", () => {
  it("exact: every passage token of a whole word that also occurs in the query", () => {
    const s = computeTokenSelection(input, "exact");
    assert.deepEqual(positions(s.mask), [7, 9, 10, 13]);
    assert.deepEqual(Array.from(s.idf), [0, 0, 0, 0, 0, 0, 0, 2, 0, 3, 3, 0, 0, 1.5, 0, 0]);
    assert.deepEqual(s.words, ["market", "seoul", "food"]);
  });
  it("topk:<k>: only the k matched words with the highest idf", () => {
    assert.deepEqual(positions(computeTokenSelection(input, "topk:1").mask), [9, 10]);
    assert.deepEqual(positions(computeTokenSelection(input, "topk:2").mask), [7, 9, 10]);
    assert.deepEqual(positions(computeTokenSelection(input, "topk:9").mask), [7, 9, 10, 13]);
  });
  it("+query: query-side tokens of the selected words too", () => {
    assert.deepEqual(positions(computeTokenSelection(input, "exact+query").mask), [1, 2, 3, 4, 7, 9, 10, 13]);
    const s = computeTokenSelection(input, "topk:1+query");
    assert.deepEqual(positions(s.mask), [3, 4, 9, 10]);
    assert.equal(s.idf[3], 3);
  });
  it("matches whole words only, uses defaultIdf for unknown words, and rejects bad modes and shapes", () => {
    const sub = computeTokenSelection({ ...input, queryWords: ["seo", "foods", "markets"] }, "exact");
    assert.deepEqual(positions(sub.mask), []);
    const unk = computeTokenSelection({ ...input, idf: {}, defaultIdf: 0.5 }, "exact");
    assert.deepEqual(Array.from(unk.idf).filter((v) => v), [0.5, 0.5, 0.5, 0.5]);
    for (const bad of ["topk", "topk:0", "all", "exact+doc"]) assert.throws(() => parseSelectionMode(bad), ConfigError, bad);
    assert.throws(() => computeTokenSelection({ ...input, sideIds: [0] }, "exact"), ShapeError);
    const packed = packSelections([computeTokenSelection(input, "exact"), computeTokenSelection(input, "topk:1")], 16);
    assert.equal(packed.mask.length, 32);
    assert.deepEqual(positions(packed.mask), [7, 9, 10, 13, 25, 26]);
  });
});

/** Two pairs built from the hand example's token layout (ids arbitrary), padded to 16. */
function makeBatch(): EncoderBatch {
  const T = 16, B = 2;
  const ids = [1, 10, 11, 12, 13, 2, 14, 10, 15, 12, 13, 16, 17, 11, 2, 0];
  const ids2 = [1, 20, 21, 2, 22, 23, 20, 24, 2, 0, 0, 0, 0, 0, 0, 0];
  const inputIds = Int32Array.from([...ids, ...ids2]);
  const tokenTypeIds = Int32Array.from([...SIDE_IDS.map((s, i) => (i < 15 ? s : 0)), ...ids2.map((_, i) => (i >= 4 && i < 9 ? 1 : 0))]);
  const attentionMask = Int32Array.from([...ids.map((_, i) => (i < 15 ? 1 : 0)), ...ids2.map((_, i) => (i < 9 ? 1 : 0))]);
  const sel2 = computeTokenSelection({ wordIds: [-1, 0, 1, -1, 0, 1, 2, 3, -1, -1, -1, -1, -1, -1, -1, -1], sideIds: Array.from(tokenTypeIds.slice(16)),
    queryWords: ["a", "b"], passageWords: ["c", "d", "a", "e"], idf: { a: 1.2 } }, "exact");
  const selection = packSelections([computeTokenSelection(input, "exact"), sel2], T);
  return { inputIds, tokenTypeIds, attentionMask, batch: B, seqLen: T, selection };
}

const mse: RankingLossFn = (s, y) => tf.tidy(() => {
  const valid = tf.cast(tf.notEqual(y, -1), "float32");
  const d = tf.sub(s, y);
  return tf.div(tf.sum(tf.mul(tf.mul(d, d), valid)), tf.sum(valid)) as tf.Scalar;
});

describe("Term Control Layer and RRA-BERT (createRraBert)", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });
  const config = resolveEncoderConfig({ vocabSize: 30, seed: 5 }, { preset: "tiny" });
  const v2 = tclVersion(2);

  it("gives identical inference scores with and without the TCL (same encoder weights)", () => {
    const withTcl = createRraBert(config, { tcl: true, tokenSelection: "exact", tclConfig: v2 });
    const without = createRraBert(config, { tcl: false, tokenSelection: "exact" });
    const batch = makeBatch();
    // Train the TCL model a few steps so the weights are not just the shared seeded init.
    const opt = tf.train.adam(1e-2);
    const labels = tf.tensor2d([[1, 0]]);
    for (let i = 0; i < 3; i++) tf.tidy(() => { opt.minimize(() => withTcl.trainingLoss(batch, labels, mse), false, withTcl.trainableVariables()); });
    without.encoder.setWeights(withTcl.encoder.getWeights());
    const a = withTcl.inferenceScores(batch), b = without.inferenceScores(batch);
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    tf.dispose([a, b, labels]);
    opt.dispose();
    withTcl.dispose();
    without.dispose();
  });

  it("has no TCL variables when built with tcl: false, and exactly two (u, c) with tcl: true", () => {
    const n0 = tf.memory().numTensors;
    const off = createRraBert(config, { tcl: false, tokenSelection: "exact" });
    const nOff = tf.memory().numTensors - n0;
    const on = createRraBert(config, { tcl: true, tokenSelection: "exact" });
    const nOn = tf.memory().numTensors - n0 - nOff;
    assert.equal(off.tcl, undefined);
    assert.equal(off.trainableVariables().length, off.encoder.trainableVariables().length);
    assert.equal(nOn - nOff, 2);
    assert.deepEqual(on.tcl?.variables().map((v) => v.shape), [[64], []]);
    // With the TCL off the training loss is exactly L_rank(s_cls).
    const batch = makeBatch();
    const labels = tf.tensor2d([[1, 0]]);
    const l = off.trainingLoss(batch, labels, mse, { training: false });
    const s = off.inferenceScores(batch);
    const ref = tf.tidy(() => mse(tf.reshape(s, [1, 2]) as tf.Tensor2D, labels));
    assert.equal(l.dataSync()[0], ref.dataSync()[0]);
    tf.dispose([l, s, ref, labels]);
    off.dispose();
    on.dispose();
    assert.equal(tf.memory().numTensors, n0);
  });

  it("puts positive term weights at selected positions only", () => {
    const model = createRraBert(config, { tcl: true, tokenSelection: "exact", tclConfig: v2 });
    const batch = makeBatch();
    const w = model.termWeights(batch);
    const mask = (batch.selection as { mask: Float32Array }).mask;
    assert.equal(w.length, 2);
    w.flat().forEach((v, i) => (mask[i] ? assert.ok(v > 0, `w[${i}] = ${v}`) : assert.equal(v, 0)));
    model.dispose();
  });

  it("computes t = sum idf*w / norm and a loss whose align term does not push s_cls + t", () => {
    const w = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const sel = { mask: Float32Array.from([1, 0, 1, 0, 0, 0]), idf: Float32Array.from([2, 0, 1, 0, 0, 0]) };
    assert.deepEqual(Array.from(computeTermScore(w, sel, "count").dataSync()), [2.5, 0]);
    assert.deepEqual(Array.from(computeTermScore(w, sel, "none").dataSync()), [5, 0]);
    assert.ok(Math.abs(computeTermScore(w, sel, "sqrt").dataSync()[0] - 5 / Math.SQRT2) < 1e-6);
    const labels = tf.tensor2d([[1, 0, -1]]);
    const g = tf.grads((sCls: tf.Tensor, sTcl: tf.Tensor) =>
      computeRraLoss({ sCls: sCls as tf.Tensor1D, sTcl: sTcl as tf.Tensor1D }, labels, mse, { rankWeight: 0, alignWeight: 1 }));
    const [gCls, gTcl] = g([tf.tensor1d([0.5, 0.5, 9]), tf.tensor1d([1, 0, 0])]);
    assert.deepEqual(Array.from(gTcl.dataSync()), [0, 0, 0]);
    assert.ok(Math.abs(gCls.dataSync()[1] - (2 * 0.5 / 2 + 2 * 0.5 / 2)) < 1e-6, `${gCls.dataSync()}`);
    assert.throws(() => resolveTclConfig({ norm: "l2" } as never), /norm/);
    assert.throws(() => resolveTclConfig({ alpha: 1 } as never), /unknown key "alpha"/);
  });

  it("has a listwise (kl) align term that stops pushing once s_cls ranks like s_cls + t", () => {
    const labels = tf.tensor2d([[1, 0, -1]]);
    const g = tf.grads((sCls: tf.Tensor, sTcl: tf.Tensor) =>
      computeRraLoss({ sCls: sCls as tf.Tensor1D, sTcl: sTcl as tf.Tensor1D }, labels, (sc) => tf.mul(tf.sum(sc), 0) as tf.Scalar, { rankWeight: 0, alignWeight: 1, align: "kl" }));
    // s_cls + t = s_cls + 3 on every slot: same softmax, zero gradient (the mse form would give -2 * 3 per slot)
    const [same, gT] = g([tf.tensor1d([0.5, 0.2, 9]), tf.tensor1d([3.5, 3.2, 12])]);
    Array.from(same.dataSync()).forEach((v) => assert.ok(Math.abs(v) < 1e-6, `${same.dataSync()}`));
    assert.deepEqual(Array.from(gT.dataSync()), [0, 0, 0]);
    // s_cls + t prefers slot 0 more: the gradient raises s_cls[0] and lowers s_cls[1] by softmax(s) - softmax(s + t), padded slot untouched
    const [d] = g([tf.tensor1d([0, 0, 9]), tf.tensor1d([1, 0, 0])]);
    const p0 = Math.exp(1) / (Math.exp(1) + 1);
    const v = d.dataSync();
    assert.ok(Math.abs(v[0] - (0.5 - p0)) < 1e-5 && Math.abs(v[1] - (0.5 - (1 - p0))) < 1e-5 && v[2] === 0, `${v}`);
    assert.equal(resolveTclConfig().align, "kl");
    assert.throws(() => resolveTclConfig({ align: "l1" } as never), /align must be "kl" or "mse"/);
  });

  it("is a registered tf.layers.Layer whose getConfig round-trips", () => {
    const layer = new TermControlLayer({ initStd: 0.05, biasInit: 0.3, seed: 4 });
    const h = tf.randomNormal([1, 3, 8], 0, 1, "float32", 1) as tf.Tensor3D;
    const w1 = layer.apply(h) as tf.Tensor;
    const cfg = layer.getConfig();
    assert.equal(cfg.biasInit, 0.3);
    const cls = tf.serialization.SerializationMap.getMap().classNameMap.TermControlLayer;
    assert.ok(cls, "TermControlLayer is registered");
    const copy = tf.layers.Layer.fromConfig(TermControlLayer, { ...cfg, name: "tcl_copy" }) as TermControlLayer;
    const w2 = copy.apply(h) as tf.Tensor;
    assert.deepEqual(Array.from(w2.dataSync()), Array.from(w1.dataSync()));
    tf.dispose([h, w1, w2]);
    layer.dispose();
    copy.dispose();
  });

  it("trains with the TCL: the loss goes down and gradients reach u and c", () => {
    const model = createRraBert(config, { tcl: true, tokenSelection: "exact", tclConfig: { ...v2, rankWeight: 1, alignWeight: 0.5 } });
    const batch = makeBatch();
    const labels = tf.tensor2d([[1, 0]]);
    const before = model.tcl?.variables().map((v) => Array.from(v.dataSync())) ?? [];
    const opt = tf.train.adam(3e-3);
    const losses: number[] = [];
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      tf.tidy(() => { losses.push(opt.minimize(() => model.trainingLoss(batch, labels, mse), true, model.trainableVariables())?.dataSync()[0] ?? NaN); });
    }
    assert.ok(losses[9] < losses[0], `${losses}`);
    const after = model.tcl?.variables().map((v) => Array.from(v.dataSync())) ?? [];
    assert.notDeepEqual(after[0], before[0]);
    assert.notDeepEqual(after[1], before[1]);
    assert.ok(tf.memory().numTensors - n0 > 0); // Adam slots only
    assert.throws(() => model.trainingLoss({ ...batch, selection: undefined }, labels, mse), /selection is missing/);
    tf.dispose(labels);
    opt.dispose();
    model.dispose();
  });

  it("v3: impacts start at 1 (u = 0, c = ln(e - 1)) and t = sum_j weight_j a_j / (a_j + norm), a_j = sum of impacts x counts + extra", () => {
    assert.ok(Math.abs(Math.log1p(Math.exp(UNIT_IMPACT_BIAS)) - 1) < 1e-12);
    const layer = new TermControlLayer({ initStd: 0, biasInit: UNIT_IMPACT_BIAS });
    const h = tf.randomNormal([2, 4, 8], 0, 1, "float32", 3) as tf.Tensor3D;
    const w = layer.apply(h) as tf.Tensor2D;
    Array.from(w.dataSync()).forEach((x) => assert.ok(Math.abs(x - 1) < 1e-6, `impact ${x}`));
    // row 0: term 0 twice (tokens 1, 3), term 1 once (token 2) + 1 cut off; row 1: nothing matched
    const J = 2, T = 4;
    const counts = new Float32Array(2 * T * J);
    counts[(0 * T + 1) * J + 0] = 1; counts[(0 * T + 3) * J + 0] = 1; counts[(0 * T + 2) * J + 1] = 1;
    const terms = { counts, extra: Float32Array.from([0, 1, 0, 0]), weight: Float32Array.from([2, 3, 2, 3]), norm: Float32Array.from([0.5, 0.7]), terms: J };
    const impacts = tf.tensor2d([[9, 1.5, 2, 0.5], [1, 1, 1, 1]]);
    const t = Array.from(computeBm25TermScore(impacts, terms).dataSync());
    // a_0 = 1.5 + 0.5 = 2, a_1 = 2 + 1 = 3: t = 2 * 2 / 2.5 + 3 * 3 / 3.5 (hand-computed)
    assert.ok(Math.abs(t[0] - (2 * 2 / 2.5 + 3 * 3 / 3.5)) < 1e-5, `${t}`);
    assert.equal(t[1], 0);
    assert.throws(() => computeBm25TermScore(tf.zeros([1, 3]) as tf.Tensor2D, terms), /do not fit/);
    tf.dispose([h, w, impacts]);
    layer.dispose();
  });

  it("v3 loss: L_rank(aug) trains only the term score (stop-gradient on s), the align term pulls s towards aug, z(t) is per list over valid slots", () => {
    const two = tf.tensor2d([[1, 0.5, -1]]);
    const z = Array.from(rowZScores(tf.tensor2d([[3, 1, 100]]), two).dataSync());
    assert.ok(Math.abs(z[0] - 1) < 1e-3 && Math.abs(z[1] + 1) < 1e-3 && z[2] === 0, `${z}`);
    const labels = tf.tensor2d([[1, 0.5, 0.25, -1]]);
    const cfg = { ...resolveTclConfig({}), rankWeight: 1, alignWeight: 0 };
    const loss = (sCls: tf.Tensor, term: tf.Tensor) => computeRraLoss({ sCls: sCls as tf.Tensor1D, sTcl: sCls as tf.Tensor1D, term: term as tf.Tensor1D }, labels, (sc, y) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(tf.where(tf.equal(y, -1), tf.fill(sc.shape, -1e9), sc)), tf.maximum(y, 0)))) as tf.Scalar, cfg);
    const [gs, gt] = tf.grads(loss)([tf.tensor1d([0.1, 0.2, 0.3, 0]), tf.tensor1d([1, 2, 4, 0])]);
    // gs comes from L_rank(s) alone: with the aug term dropped it is the same
    const gsOnly = tf.grad((sCls: tf.Tensor) => computeRraLoss({ sCls: sCls as tf.Tensor1D, sTcl: sCls as tf.Tensor1D }, labels, (sc, y) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(tf.where(tf.equal(y, -1), tf.fill(sc.shape, -1e9), sc)), tf.maximum(y, 0)))) as tf.Scalar, cfg, false))(tf.tensor1d([0.1, 0.2, 0.3, 0]));
    Array.from(gs.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - gsOnly.dataSync()[i]) < 1e-6, `s gradient ${gs.dataSync()} vs ${gsOnly.dataSync()}`));
    assert.ok(Math.abs(gt.dataSync()[0]) > 1e-4, "the term score gets a gradient from L_rank(aug)");
    assert.equal(gt.dataSync()[3], 0);
    // align only: zero gradient on t, a push on s towards aug's order (aug prefers slot 1 through z(t))
    const [ga, gta] = tf.grads((sCls: tf.Tensor, term: tf.Tensor) => computeRraLoss({ sCls: sCls as tf.Tensor1D, sTcl: sCls as tf.Tensor1D, term: term as tf.Tensor1D }, labels, (sc) => tf.mul(tf.sum(sc), 0) as tf.Scalar, { ...cfg, rankWeight: 0, alignWeight: 1 }))([tf.tensor1d([0, 0, 0, 0]), tf.tensor1d([1, 2, 4, 0])]);
    assert.deepEqual(Array.from(gta.dataSync()), [0, 0, 0, 0]);
    // aug prefers slot 2 (the largest t): the gradient of the KL lowers its loss by raising s[2] (negative gradient) and lowering s[0]
    assert.ok(ga.dataSync()[2] < 0 && ga.dataSync()[0] > 0 && ga.dataSync()[3] === 0, `${ga.dataSync()}`);
  });

  it("v3 trains: gradients reach u, c and the encoder through the impacts", () => {
    const model = createRraBert(config, { tcl: true, tokenSelection: "exact", tclConfig: { alignWeight: 0 } });
    const batch = makeBatch();
    const J = 2, T = batch.seqLen;
    const counts = new Float32Array(2 * T * J);
    counts[(0 * T + 5) * J + 0] = 1; counts[(0 * T + 6) * J + 1] = 2; counts[(1 * T + 5) * J + 0] = 1;
    batch.terms = { counts, extra: new Float32Array(2 * J), weight: Float32Array.from([1.5, 3, 1.5, 3]), norm: Float32Array.from([0.9, 0.9]), terms: J };
    const labels = tf.tensor2d([[0, 1]]);
    const g = tf.variableGrads(() => model.trainingLoss(batch, labels, mse, { training: false }), model.tcl?.variables());
    assert.ok(Object.values(g.grads).some((x) => Math.abs(x.dataSync()[0]) > 0), "u or c gets a gradient");
    tf.dispose([labels, g.value, ...Object.values(g.grads)]);
    assert.throws(() => model.trainingLoss({ ...batch, terms: undefined }, tf.tensor2d([[0, 1]]), mse), /batch\.terms is missing/);
    model.dispose();
  });
});
