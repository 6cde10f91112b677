import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/tf";
import { ConfigError, ShapeError } from "../../lib/core/errors";
import { createRng } from "../../lib/core/rng";
import { createEncoder, loadEncoder, warmStartEncoder } from "../../lib/models/encoder";
import { MODEL_PRESETS, resolveEncoderConfig } from "../../lib/models/presets";
import { EncoderBatch } from "../../lib/models/types";

const VOCAB = 50;

/** Rows `[CLS] q [SEP] d [SEP]` of random ids with the given real lengths, padded to T with id 0. */
function makeBatch(lengths: number[], T: number, seed = 1, rows?: number[][]): EncoderBatch {
  const rng = createRng(seed);
  const B = lengths.length;
  const inputIds = new Int32Array(B * T), tokenTypeIds = new Int32Array(B * T), attentionMask = new Int32Array(B * T);
  lengths.forEach((n, b) => {
    const ids = rows ? rows[b] : Array.from({ length: n }, (_, i) => (i === 0 ? 1 : i === 3 || i === n - 1 ? 2 : 3 + rng.int(VOCAB - 3)));
    for (let i = 0; i < n; i++) {
      inputIds[b * T + i] = ids[i];
      tokenTypeIds[b * T + i] = i > 3 ? 1 : 0;
      attentionMask[b * T + i] = 1;
    }
  });
  return { inputIds, tokenTypeIds, attentionMask, batch: B, seqLen: T };
}

/** The real tokens of each row, for re-padding. */
function rowsOf(batch: EncoderBatch, lengths: number[]): number[][] {
  return lengths.map((n, b) => Array.from(batch.inputIds.slice(b * batch.seqLen, b * batch.seqLen + n)));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("encoder presets (resolveEncoderConfig)", () => {
  it("resolves tiny and small and records the preset and every size", () => {
    for (const name of ["tiny", "small"] as const) {
      const c = resolveEncoderConfig({ vocabSize: VOCAB }, { preset: name });
      assert.equal(c.preset, name);
      for (const [k, v] of Object.entries(MODEL_PRESETS[name])) assert.equal((c as unknown as Record<string, unknown>)[k], v, k);
      assert.ok(Object.isFrozen(c));
    }
    assert.equal(resolveEncoderConfig({ vocabSize: VOCAB }).preset, "tiny");
    const custom = resolveEncoderConfig({ vocabSize: VOCAB, hiddenSize: 32, numHeads: 4 });
    assert.equal(custom.preset, "custom");
    assert.equal(custom.hiddenSize, 32);
  });
  it("rejects a preset with explicit sizes, unknown keys, bad values and a missing vocabSize", () => {
    assert.throws(() => resolveEncoderConfig({ vocabSize: VOCAB, hiddenSize: 32 }, { preset: "tiny" }), (e: Error) => e instanceof ConfigError && /hiddenSize/.test(e.message));
    assert.throws(() => resolveEncoderConfig({ vocabSize: VOCAB, hiddenDim: 32 } as never), (e: Error) => e instanceof ConfigError && /"hiddenDim"/.test(e.message));
    assert.throws(() => resolveEncoderConfig({ vocabSize: VOCAB }, { preset: "huge" }), /unknown preset "huge"/);
    assert.throws(() => resolveEncoderConfig({ vocabSize: VOCAB, hiddenSize: 30, numHeads: 4 }), /divisible/);
    assert.throws(() => resolveEncoderConfig({ vocabSize: VOCAB, dropout: 1 }), /dropout/);
    assert.throws(() => resolveEncoderConfig({} as never), /vocabSize is required/);
  });
});

describe("encoder (createEncoder)", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });
  const config = resolveEncoderConfig({ vocabSize: VOCAB, seed: 7 }, { preset: "tiny" });

  it("returns [B,H] cls, [B,T,H] hidden, [B] scores and per-layer attentions that ignore padding keys", () => {
    const enc = createEncoder(config);
    const batch = makeBatch([10, 6], 12);
    const out = enc.forward(batch, { returnAttentions: true });
    assert.deepEqual(out.cls.shape, [2, 64]);
    assert.deepEqual(out.hidden.shape, [2, 12, 64]);
    assert.equal(out.attentions?.length, 2);
    const att = (out.attentions as tf.Tensor4D[])[0].arraySync();
    assert.deepEqual([att.length, att[0].length, att[0][0].length, att[0][0][0].length], [2, 2, 12, 12]);
    assert.ok(Math.abs(att[1][0][0].reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.equal(att[1][1][0][8], 0); // row 1 has 6 real tokens: key 8 is padding
    const s = enc.score(batch);
    assert.deepEqual(s.shape, [2]);
    tf.dispose([out.cls, out.hidden, ...(out.attentions ?? []), s]);
    assert.ok(enc.countParams() > 100_000);
    enc.dispose();
  });

  for (const layerNorm of ["pre", "post"] as const) {
    it(`gives the same [CLS] score when padding is appended (${layerNorm}-LN)`, () => {
      const enc = createEncoder(resolveEncoderConfig({ vocabSize: VOCAB, seed: 3, layerNorm }, { preset: "tiny" }));
      const lengths = [9, 5, 7];
      const short = makeBatch(lengths, 9, 11);
      const long = makeBatch(lengths, 20, 0, rowsOf(short, lengths));
      const a = enc.score(short), b = enc.score(long);
      assert.ok(maxAbsDiff(a.dataSync(), b.dataSync()) < 1e-5, `${a.dataSync()} vs ${b.dataSync()}`);
      tf.dispose([a, b]);
      enc.dispose();
    });
  }

  it("is deterministic in its seed: same seed, same weights and scores; other seed, different", () => {
    const batch = makeBatch([8, 8], 8);
    const a = createEncoder(config), b = createEncoder(config), c = createEncoder({ ...config, seed: 8 });
    const [sa, sb, sc] = [a.score(batch), b.score(batch), c.score(batch)];
    assert.deepEqual(Array.from(sa.dataSync()), Array.from(sb.dataSync()));
    assert.notDeepEqual(Array.from(sa.dataSync()), Array.from(sc.dataSync()));
    const wa = a.getWeights(), wb = b.getWeights(), wc = c.getWeights();
    assert.deepEqual(wa["layer0/attn/qkv/kernel"].values, wb["layer0/attn/qkv/kernel"].values);
    assert.notDeepEqual(wa["layer0/attn/qkv/kernel"].values, wc["layer0/attn/qkv/kernel"].values);
    // Seeded dropout: the same explicit seed gives the same training-mode scores.
    const d1 = a.score(batch, { training: true, seed: 5 }), d2 = b.score(batch, { training: true, seed: 5 }), d3 = a.score(batch, { training: true, seed: 6 });
    assert.deepEqual(Array.from(d1.dataSync()), Array.from(d2.dataSync()));
    assert.notDeepEqual(Array.from(d1.dataSync()), Array.from(d3.dataSync()));
    tf.dispose([sa, sb, sc, d1, d2, d3]);
    [a, b, c].forEach((e) => e.dispose());
  });

  it("save -> loadEncoder gives identical scores; warm start copies matching weights", () => {
    const dir = mkdtempSync(join(tmpdir(), "rra-enc-"));
    try {
      const enc = createEncoder(config);
      enc.save(dir);
      assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).preset, "tiny");
      const loaded = loadEncoder(dir);
      const batch = makeBatch([8, 5], 8);
      const [s1, s2] = [enc.score(batch), loaded.score(batch)];
      assert.deepEqual(Array.from(s1.dataSync()), Array.from(s2.dataSync()));
      const bigger = createEncoder({ ...config, vocabSize: VOCAB + 10, seed: 99 });
      const r = warmStartEncoder(bigger, dir);
      assert.deepEqual(r.skipped, ["embeddings/word"]);
      assert.deepEqual(bigger.getWeights()["head/kernel"].values, enc.getWeights()["head/kernel"].values);
      assert.throws(() => bigger.setWeights(enc.getWeights()), ShapeError);
      tf.dispose([s1, s2]);
      [enc, loaded, bigger].forEach((e) => e.dispose());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects token ids outside the vocabulary and sequences longer than maxLen", () => {
    const enc = createEncoder(config);
    const bad = makeBatch([4], 4);
    bad.inputIds[2] = VOCAB;
    assert.throws(() => enc.score(bad), /inputIds\[2\] = 50/);
    assert.throws(() => enc.score(makeBatch([4], 200)), /exceeds maxLen 128/);
    enc.dispose();
  });

  /** Pointwise sigmoid cross-entropy without logSigmoid: softplus(s) - y*s. */
  const bce = (s: tf.Tensor1D, y: tf.Tensor1D): tf.Scalar => tf.mean(tf.sub(tf.softplus(s), tf.mul(y, s)));

  function trainCurve(steps: number): { losses: number[]; leaks: number[] } {
    const enc = createEncoder(config);
    const batch = makeBatch([12, 10, 12, 9, 11, 12, 8, 12], 12, 21);
    const y = tf.tensor1d([1, 0, 1, 0, 1, 0, 1, 0]);
    const opt = tf.train.adam(3e-3);
    const losses: number[] = [], leaks: number[] = [];
    for (let step = 0; step < steps; step++) {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const loss = opt.minimize(() => bce(enc.score(batch, { training: true }), y), true, enc.trainableVariables()) as tf.Scalar;
        losses.push(loss.dataSync()[0]);
      });
      if (step > 0) leaks.push(tf.memory().numTensors - before); // step 0 creates Adam's slots
    }
    opt.dispose();
    y.dispose();
    enc.dispose();
    return { losses, leaks };
  }

  it("trains: 20 Adam steps lower a pointwise loss, leak no tensors, and repeat exactly with the same seed", () => {
    const a = trainCurve(20);
    assert.ok(a.losses[19] < a.losses[0] * 0.7, `loss ${a.losses[0]} -> ${a.losses[19]}`);
    assert.deepEqual(a.leaks, new Array(19).fill(0));
    const b = trainCurve(20);
    assert.deepEqual(b.losses, a.losses);
  });

  it("has gradients (own embedding and matMul gradients) that match finite differences", () => {
    const enc = createEncoder({ ...config, dropout: 0 });
    const batch = makeBatch([8, 6], 8, 4);
    const f = (): tf.Scalar => tf.sum(enc.score(batch));
    const names = ["embeddings/word", "layer0/ffn/in/kernel", "layer1/attn/qkv/kernel"];
    const vars = enc.trainableVariables().filter((v) => names.some((n) => v.name.endsWith(`/${n}`)));
    const { grads } = tf.variableGrads(f, vars);
    const eps = 1e-2;
    for (const name of names) {
      const w = enc.getWeights()[name];
      const g = grads[vars[names.indexOf(name)].name].dataSync();
      const idx = name === "embeddings/word" ? batch.inputIds[2] * 64 + 5 : 17; // a row that is looked up
      const at = (delta: number): number => {
        const values = Float32Array.from(w.values);
        values[idx] += delta;
        enc.setWeights({ [name]: { shape: w.shape, values } }, { partial: true });
        return tf.tidy(() => f().dataSync()[0]);
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      at(0);
      assert.ok(Math.abs(numeric - g[idx]) < 2e-3 + 0.05 * Math.abs(numeric), `${name}[${idx}]: numeric ${numeric}, analytic ${g[idx]}`);
    }
    tf.dispose(grads);
    enc.dispose();
  });

  it("leaks no tensors in a forward pass and frees its variables on dispose", () => {
    const start = tf.memory().numTensors;
    const enc = createEncoder(config);
    const afterCreate = tf.memory().numTensors;
    const batch = makeBatch([6, 6], 6);
    tf.tidy(() => {
      enc.forward(batch, { training: true, seed: 1 });
    });
    tf.dispose(enc.score(batch));
    assert.equal(tf.memory().numTensors, afterCreate);
    enc.dispose();
    assert.equal(tf.memory().numTensors, start);
  });
});

describe("encoder configuration options of pretrained checkpoints (hiddenAct, matchVocabSize)", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });
  it("leave the project's presets as they were: no new keys, the same variables", () => {
    const c = resolveEncoderConfig({ vocabSize: VOCAB }, { preset: "tiny" });
    assert.deepEqual(Object.keys(c).filter((k) => k === "hiddenAct" || k === "matchVocabSize"), []);
    // stating the defaults explicitly stores the same config
    assert.deepEqual(resolveEncoderConfig({ vocabSize: VOCAB, hiddenAct: "gelu_tanh", matchVocabSize: 0 }, { preset: "tiny" }), c);
    const enc = createEncoder(c);
    assert.ok(!enc.trainableVariables().some((v) => v.name.endsWith("embeddings/match")));
    enc.dispose();
  });
  it("reject bad values", () => {
    assert.throws(() => resolveEncoderConfig({ vocabSize: VOCAB, hiddenAct: "relu" as never }), (e: Error) => e instanceof ConfigError && /hiddenAct must be "gelu_tanh" or "gelu_erf", got "relu"/.test(e.message));
    assert.throws(() => resolveEncoderConfig({ vocabSize: VOCAB, matchVocabSize: -1 }), /matchVocabSize must be a non-negative integer/);
  });
  it("gelu_erf changes the outputs, and the match embedding starts at zero", () => {
    const base = { vocabSize: VOCAB, dropout: 0, initStd: 0.5, seed: 4 };
    const tanh = createEncoder(resolveEncoderConfig(base));
    const erf = createEncoder(resolveEncoderConfig({ ...base, hiddenAct: "gelu_erf", matchVocabSize: 3 }));
    const batch = makeBatch([8, 6], 8, 2);
    const a = tanh.score(batch), b = erf.score(batch);
    const withMatch = erf.score({ ...batch, matchIds: Int32Array.from(batch.inputIds, (x) => x % 3) });
    assert.ok(maxAbsDiff(a.dataSync(), b.dataSync()) > 1e-6, "erf and tanh GELU differ");
    assert.ok(maxAbsDiff(a.dataSync(), b.dataSync()) < 1e-2, "by about the approximation error");
    assert.deepEqual(Array.from(withMatch.dataSync()), Array.from(b.dataSync()));
    assert.throws(() => tanh.score({ ...batch, matchIds: new Int32Array(16) }), (e: Error) => e instanceof ShapeError && /matchVocabSize 0/.test(e.message));
    assert.throws(() => erf.score({ ...batch, matchIds: new Int32Array(16).fill(3) }), /matchIds\[0\] = 3 outside \[0, 3\)/);
    tf.dispose([a, b, withMatch]);
    tanh.dispose();
    erf.dispose();
  });
});

describe("encoder memory: intermediates are freed layer by layer", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  /** Peak bytes above the weights while one inference forward runs (tf.profile). */
  async function forwardPeak(numLayers: number): Promise<number> {
    const enc = createEncoder(resolveEncoderConfig({ vocabSize: VOCAB, hiddenSize: 64, numHeads: 4, ffnSize: 256, numLayers, maxLen: 64, dropout: 0, seed: 3 }));
    try {
      const batch = makeBatch(Array(8).fill(64), 64);
      const before = tf.memory().numBytes;
      const info = await tf.profile(() => tf.tidy(() => enc.score(batch)));
      tf.dispose(info.result as tf.Tensor);
      return info.peakBytes - before;
    } finally {
      enc.dispose();
    }
  }

  it("the peak of a 4-layer forward is about one layer's, not four (what made 128-pair inference outgrow the wasm heap)", async () => {
    const one = await forwardPeak(1), four = await forwardPeak(4);
    // before each sub-layer got its own tidy the peak grew with the depth: 4 layers held ~4x one layer's intermediates
    assert.ok(four < 1.5 * one, `peak above the weights: 1 layer ${one} bytes, 4 layers ${four} bytes`);
  });

  it("still returns the attentions of every layer when asked, and leaks no tensor", () => {
    const enc = createEncoder(resolveEncoderConfig({ vocabSize: VOCAB, hiddenSize: 32, numHeads: 2, ffnSize: 64, numLayers: 3, maxLen: 16, dropout: 0, seed: 4 }));
    try {
      const before = tf.memory().numTensors;
      const out = enc.forward(makeBatch([10, 16], 16), { returnAttentions: true });
      assert.equal(out.attentions?.length, 3);
      for (const a of out.attentions ?? []) assert.deepEqual(a.shape, [2, 2, 16, 16]);
      tf.dispose([out.cls, out.hidden, ...(out.attentions ?? [])]);
      assert.equal(tf.memory().numTensors, before);
      // a caller's tidy that keeps only the scores frees the attentions too
      tf.tidy(() => enc.forward(makeBatch([10, 16], 16), { returnAttentions: true }).cls).dispose();
      assert.equal(tf.memory().numTensors, before);
    } finally {
      enc.dispose();
    }
  });
});
