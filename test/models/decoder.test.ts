import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/tf";
import { ConfigError, ShapeError } from "../../lib/core/errors";
import { createRng } from "../../lib/core/rng";
import { listNet } from "../../lib/losses/listwise";
import { createRraGpt, DecoderBatch, DecoderConfig, loadRraGpt, resolveDecoderConfig } from "../../lib/models/decoder";
import { packDecoderBatch, packDecoderExample } from "../../lib/models/decoder-input";
import { WordPieceTokenizer } from "../../lib/tokenize/wordpiece";

const VOCAB = 40;

/** Rows of random ids: row b has n_b real tokens, the prompt ends at p_b, the rest is a rationale. */
function makeBatch(rows: Array<{ n: number; p: number }>, T: number, seed = 1, fixed?: number[][]): DecoderBatch {
  const rng = createRng(seed);
  const B = rows.length;
  const inputIds = new Int32Array(B * T), attentionMask = new Int32Array(B * T), lmTargets = new Int32Array(B * T).fill(-1), promptLength = new Int32Array(B);
  rows.forEach(({ n, p }, b) => {
    const ids = fixed ? fixed[b] : Array.from({ length: n }, (_, i) => (i === 0 ? 2 : 5 + rng.int(VOCAB - 5)));
    for (let i = 0; i < n; i++) {
      inputIds[b * T + i] = ids[i];
      attentionMask[b * T + i] = 1;
      if (i >= p && i + 1 < n) lmTargets[b * T + i] = ids[i + 1];
    }
    promptLength[b] = p;
  });
  return { inputIds, attentionMask, promptLength, lmTargets, batch: B, seqLen: T };
}

const rowsOf = (batch: DecoderBatch, ns: number[]): number[][] => ns.map((n, b) => Array.from(batch.inputIds.slice(b * batch.seqLen, b * batch.seqLen + n)));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const small = (o: Partial<DecoderConfig> = {}) => resolveDecoderConfig({ vocabSize: VOCAB, numLayers: 2, hiddenSize: 32, numHeads: 2, ffnSize: 64, maxLen: 64, dropout: 0, ...o });

describe("RRA-GPT decoder", function () {
  this.timeout(180000);
  before(async () => {
    await initBackend({ quiet: true });
  });

  describe("config (resolveDecoderConfig)", () => {
    it("takes the preset table sizes and rejects unknown keys, bad values and preset + sizes", () => {
      const c = resolveDecoderConfig({ vocabSize: VOCAB }, { preset: "small" });
      assert.equal(c.preset, "small");
      assert.equal(c.hiddenSize, 128);
      assert.equal(c.tieEmbeddings, true);
      assert.ok(Object.isFrozen(c));
      assert.throws(() => resolveDecoderConfig({ vocabSize: VOCAB, hidden: 32 } as never), (e: Error) => e instanceof ConfigError && /"hidden"/.test(e.message));
      assert.throws(() => resolveDecoderConfig({ vocabSize: VOCAB, numLayers: 1 }, { preset: "tiny" }), /numLayers/);
      assert.throws(() => resolveDecoderConfig({ vocabSize: VOCAB, dropout: 1 }), /dropout/);
      assert.throws(() => resolveDecoderConfig({ vocabSize: VOCAB, tieEmbeddings: "yes" } as never), /tieEmbeddings/);
    });
  });

  describe("packDecoderExample", () => {
    const tok = new WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "query", ":", "document", "relevant", "?", "cats", "dogs", "eat", "fish", "it", "mentions"]);
    const id = (t: string) => tok.vocab.get(t)!;
    it("lays out BOS, template, query, passage, then the rationale with next-token targets", () => {
      const e = packDecoderExample(tok, "cats", "dogs eat fish", "it mentions cats");
      const want = ["[CLS]", "query", ":", "cats", "document", ":", "dogs", "eat", "fish", "relevant", "?", "it", "mentions", "cats", "[SEP]"].map(id);
      assert.deepEqual(e.ids, want);
      assert.equal(e.promptLength, 10);
      assert.deepEqual(e.lmTargets, [...Array(10).fill(-1), id("it"), id("mentions"), id("cats"), id("[SEP]"), -1]);
      const p = packDecoderExample(tok, "cats", "dogs eat fish");
      assert.equal(p.ids.length, 11);
      assert.ok(p.lmTargets.every((t) => t === -1));
    });
    it("truncates the passage first, then the rationale, and rejects a maxLength below the template", () => {
      const e = packDecoderExample(tok, "cats", "dogs eat fish", "it mentions cats", { maxLength: 13 });
      assert.deepEqual(e.dropped, { passage: 2, rationale: 0, query: 0 });
      assert.equal(e.ids.length, 13);
      const f = packDecoderExample(tok, "cats", "dogs eat fish", "it mentions cats", { maxLength: 10 });
      assert.deepEqual(f.dropped, { passage: 3, rationale: 2, query: 0 });
      assert.equal(f.ids[f.promptLength], id("?"));
      assert.throws(() => packDecoderExample(tok, "cats", "dogs", undefined, { maxLength: 6 }), ConfigError);
      const batch = packDecoderBatch([e, f], tok.padId);
      assert.equal(batch.seqLen, 13);
      assert.deepEqual(Array.from(batch.promptLength), [8, 7]);
      assert.equal(batch.attentionMask[13 + 12], 0);
    });
  });

  it("is causal: later tokens change neither earlier hidden states nor the score", () => {
    const m = createRraGpt(small());
    const a = makeBatch([{ n: 12, p: 7 }], 12, 3);
    const ids = rowsOf(a, [12])[0].slice();
    ids[9] = ids[9] === 5 ? 6 : 5;
    const b = makeBatch([{ n: 12, p: 7 }], 12, 3, [ids]);
    const oa = m.forward(a), ob = m.forward(b);
    const ha = oa.hidden.arraySync()[0], hb = ob.hidden.arraySync()[0];
    for (let t = 0; t < 9; t++) assert.ok(maxAbsDiff(ha[t], hb[t]) < 1e-6, `position ${t} changed`);
    assert.ok(maxAbsDiff(ha[9], hb[9]) > 1e-4, "the changed position itself must change");
    assert.ok(maxAbsDiff(oa.score.dataSync(), ob.score.dataSync()) < 1e-6);
    assert.ok(maxAbsDiff(oa.clsLogit.dataSync(), ob.clsLogit.dataSync()) < 1e-6);
    tf.dispose([oa as never, ob as never]);
    m.dispose();
  });

  it("ignores padding: the same rows padded to a longer T score the same, alone or in a batch", () => {
    const m = createRraGpt(small());
    const rows = [{ n: 10, p: 6 }, { n: 14, p: 9 }];
    const a = makeBatch(rows, 14, 5);
    const b = makeBatch(rows, 20, 5, rowsOf(a, [10, 14]));
    const single = makeBatch([rows[0]], 10, 5, rowsOf(a, [10]));
    const sa = m.inferenceScores(a).dataSync(), sb = m.inferenceScores(b).dataSync(), s1 = m.inferenceScores(single).dataSync();
    assert.ok(maxAbsDiff(sa, sb) < 1e-5);
    assert.ok(Math.abs(sa[0] - s1[0]) < 1e-5);
    const la = m.lossTerms(a, [1, 0], { rankLoss: listNet, clsWeight: 1, lmWeight: 1, listShape: [1, 2] });
    const lb = m.lossTerms(b, [1, 0], { rankLoss: listNet, clsWeight: 1, lmWeight: 1, listShape: [1, 2] });
    assert.ok(Math.abs(la.total.dataSync()[0] - lb.total.dataSync()[0]) < 1e-5);
    tf.dispose([la as never, lb as never]);
    m.dispose();
  });

  it("is deterministic per seed (init and dropout) and differs across seeds", () => {
    const batch = makeBatch([{ n: 12, p: 6 }, { n: 9, p: 8 }], 12, 7);
    const m1 = createRraGpt(small({ dropout: 0.2 })), m2 = createRraGpt(small({ dropout: 0.2 })), m3 = createRraGpt(small({ dropout: 0.2, seed: 1 }));
    const s = (m: ReturnType<typeof createRraGpt>, seed: number) => m.forward(batch, { training: true, seed }).score.dataSync();
    assert.deepEqual(Array.from(s(m1, 11)), Array.from(s(m2, 11)));
    assert.ok(maxAbsDiff(s(m1, 11), s(m1, 12)) > 1e-6, "dropout seed must matter");
    assert.ok(maxAbsDiff(m1.inferenceScores(batch).dataSync(), m3.inferenceScores(batch).dataSync()) > 1e-6);
    [m1, m2, m3].forEach((m) => m.dispose());
  });

  it("saves and loads to equal outputs, tied and untied", () => {
    for (const tie of [true, false]) {
      const dir = mkdtempSync(join(tmpdir(), "rra-gpt-"));
      try {
        const m = createRraGpt(small({ tieEmbeddings: tie, seed: 4 }));
        assert.equal(m.getWeights()["lm/kernel"] !== undefined, !tie);
        const batch = makeBatch([{ n: 12, p: 6 }, { n: 9, p: 8 }], 12, 9);
        m.save(dir);
        const l = loadRraGpt(dir);
        assert.equal(l.countParams(), m.countParams());
        assert.deepEqual(l.config, m.config);
        const a = m.forward(batch), b = l.forward(batch);
        assert.deepEqual(Array.from(a.score.dataSync()), Array.from(b.score.dataSync()));
        assert.deepEqual(Array.from(a.lmLogits!.dataSync()), Array.from(b.lmLogits!.dataSync()));
        assert.deepEqual(a.lmLogits!.shape, [5, VOCAB]);
        tf.dispose([a as never, b as never]);
        m.dispose();
        l.dispose();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it("inferenceScores (prompt only) equals the training-mode forward with dropout 0", () => {
    const m = createRraGpt(small());
    const batch = makeBatch([{ n: 16, p: 6 }, { n: 11, p: 10 }, { n: 8, p: 7 }], 16, 13);
    const inf = m.inferenceScores(batch).dataSync(), tr = m.forward(batch, { training: true, seed: 3 }).score.dataSync();
    assert.ok(maxAbsDiff(inf, tr) < 1e-5, `max diff ${maxAbsDiff(inf, tr)}`);
    assert.throws(() => m.forward({ ...batch, promptLength: Int32Array.from([6, 12, 7]) }), ShapeError);
    m.dispose();
  });

  it("reduces to the ranking loss when a = b = 0, and leaks no tensors per step", () => {
    const m = createRraGpt(small());
    const batch = makeBatch(Array.from({ length: 6 }, (_, i) => ({ n: 10 + i, p: 6 + (i % 3) })), 16, 17);
    const labels = [1, 0.5, 0, 1, 0, -1];
    const o = { rankLoss: "listNet", clsWeight: 0, lmWeight: 0, listShape: [2, 3] as [number, number] };
    const total = m.trainingLoss(batch, labels, o).dataSync()[0];
    const ref = tf.tidy(() => listNet(tf.reshape(m.forward(batch).score, [2, 3]) as tf.Tensor2D, tf.tensor2d(labels, [2, 3])).dataSync()[0]);
    assert.ok(Math.abs(total - ref) < 1e-6, `${total} vs ${ref}`);
    const opt = tf.train.adam(1e-3);
    const step = () => tf.dispose(opt.minimize(() => m.trainingLoss(batch, labels, { ...o, clsWeight: 0.5, lmWeight: 0.5, training: true }), true, m.trainableVariables()) ?? []);
    step(); // optimizer slots are created on the first step
    const before = tf.memory().numTensors;
    step();
    tf.dispose(m.inferenceScores(batch));
    assert.equal(tf.memory().numTensors, before);
    opt.dispose();
    m.dispose();
  });

  it("20 Adam steps lower the combined loss and the LM part", () => {
    const m = createRraGpt(small({ dropout: 0.1 }));
    const batch = makeBatch(Array.from({ length: 8 }, (_, i) => ({ n: 14 + (i % 4), p: 8 + (i % 3) })), 18, 21);
    const labels = [1, 0.5, 0, 0, 1, 0.66, 0.33, 0];
    const o = { rankLoss: "listNet", clsWeight: 0.5, lmWeight: 0.5, listShape: [2, 4] as [number, number] };
    const terms = () => tf.tidy(() => {
      const t = m.lossTerms(batch, labels, o);
      return [t.total, t.lm].map((x) => x.dataSync()[0]);
    });
    const [t0, lm0] = terms();
    const opt = tf.train.adam(3e-3);
    for (let s = 0; s < 20; s++) tf.dispose(opt.minimize(() => m.trainingLoss(batch, labels, { ...o, training: true, seed: s }), true, m.trainableVariables()) ?? []);
    const [t1, lm1] = terms();
    assert.ok(t1 < t0 * 0.9, `total ${t0} -> ${t1}`);
    assert.ok(lm1 < lm0 * 0.9, `lm ${lm0} -> ${lm1}`);
    opt.dispose();
    m.dispose();
  });

  (process.env.RRA_BENCH ? it : it.skip)("bench: ms per training step, tiny preset, 8 groups x 20 docs, 96 tokens", () => {
    const m = createRraGpt(resolveDecoderConfig({ vocabSize: 8000 }, { preset: "tiny" }));
    const batch = makeBatch(Array.from({ length: 160 }, (_, i) => ({ n: 96, p: 60 + (i % 20) })), 96, 23);
    const labels = Array.from({ length: 160 }, (_, i) => ((i % 20) < 10 ? (10 - (i % 20)) / 10 : 0));
    const opt = tf.train.adam(1e-3);
    const step = () => tf.dispose(opt.minimize(() => m.trainingLoss(batch, labels, { rankLoss: "listNet", clsWeight: 0.5, lmWeight: 0.5, listShape: [8, 20], training: true }), true, m.trainableVariables()) ?? []);
    step();
    const t = Date.now();
    for (let s = 0; s < 3; s++) step();
    const ms = (Date.now() - t) / 3;
    const t2 = Date.now();
    tf.dispose(m.inferenceScores(batch));
    console.log(`      ${tf.getBackend()}: ${ms.toFixed(0)} ms/training step; inference ${Date.now() - t2} ms for 160 prompts`);
    opt.dispose();
    m.dispose();
  });
});
