/**
 * Loader parity against the independent PyTorch reference (test/fixtures/hf-checkpoints.py): the tiny
 * random BERT / BertForSequenceClassification / GPT-2 checkpoints in both file formats must give the
 * reference's hidden states, pooled output and logits within 1e-5 (float64 reference, float32 here).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../../lib/backend/tf";
import { loadEncoder } from "../../../lib/models/encoder";
import { createPretrainedDecoder, createPretrainedEncoder, loadPretrainedDecoder, loadPretrainedEncoder } from "../../../lib/models/checkpoint/pretrained";
import type { EncoderBatch } from "../../../lib/models/types";
import { hfFixtures, hfReference, type HfReference } from "../../fixtures/hf-fixtures";
import { matchVocabSizeFor, splitMatchTypes } from "../../../lib/models/match-channel";
import { MATCH_TYPE_VOCAB, packPairs } from "../../../lib/train/batches";

const TOL = 1e-5;

/** Largest |a - b| over the real (unmasked) tokens; rows of `width` values per token. */
function maskedDiff(a: ArrayLike<number>, b: ArrayLike<number>, mask: number[], width: number): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) if (mask[Math.floor(i / width)]) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function bertBatch(ref: HfReference): EncoderBatch {
  const i = ref.inputs;
  return { inputIds: Int32Array.from(i.input_ids), tokenTypeIds: Int32Array.from(i.token_type_ids ?? []), attentionMask: Int32Array.from(i.attention_mask), batch: i.batch, seqLen: i.seqLen };
}

describe("pretrained checkpoints: parity with the PyTorch reference", function () {
  this.timeout(300_000);
  before(async () => {
    hfFixtures();
    await initBackend({ quiet: true });
  });

  for (const name of ["bert-safetensors", "bert-pytorch", "bert-legacy-pytorch", "bert-sharded", "bert-fp16-safetensors", "bert-bf16-pytorch"]) {
    it(`BertModel from ${name}: hidden states and pooled output within ${TOL}`, () => {
      const ref = hfReference(name);
      const pre = loadPretrainedEncoder(join(hfFixtures(), name));
      assert.equal(pre.config.layerNorm, "post");
      assert.equal(pre.config.hiddenAct, "gelu_erf");
      assert.equal(pre.config.layerNormEps, 1e-12);
      assert.equal(pre.hasScoreHead, false);
      assert.deepEqual(pre.fresh, ["head/kernel", "head/bias"]);
      const enc = createPretrainedEncoder(pre);
      try {
        const batch = bertBatch(ref);
        const out = enc.forward(batch);
        const H = pre.config.hiddenSize;
        assert.ok(maskedDiff(out.hidden.dataSync(), ref.last_hidden_state, ref.inputs.attention_mask, H) <= TOL);
        // the pooler is the first half of the score head: tanh(W cls + b)
        const pooled = tf.tidy(() => tf.tanh(tf.add(tf.matMul(out.cls, tf.tensor2d(pre.weights["pooler/kernel"].values, [H, H])), tf.tensor1d(pre.weights["pooler/bias"].values))).dataSync());
        assert.ok(maxDiff(pooled, ref.pooler_output as number[]) <= TOL);
        tf.dispose([out.cls, out.hidden]);
      } finally {
        enc.dispose();
      }
    });
  }

  for (const name of ["bert-cls-safetensors", "bert-cls-pytorch"]) {
    it(`BertForSequenceClassification from ${name}: one logit per pair within ${TOL}`, () => {
      const ref = hfReference(name);
      const pre = loadPretrainedEncoder(join(hfFixtures(), name));
      assert.equal(pre.hasScoreHead, true);
      assert.deepEqual(pre.fresh, []);
      const enc = createPretrainedEncoder(pre);
      try {
        const batch = bertBatch(ref);
        const scores = enc.score(batch);
        assert.ok(maxDiff(scores.dataSync(), ref.logits as number[]) <= TOL);
        const out = enc.forward(batch);
        assert.ok(maskedDiff(out.hidden.dataSync(), ref.last_hidden_state, ref.inputs.attention_mask, pre.config.hiddenSize) <= TOL);
        tf.dispose([scores, out.cls, out.hidden]);
      } finally {
        enc.dispose();
      }
    });
  }

  it("a classifier is replaced by a new score head on request, with a warning", () => {
    const pre = loadPretrainedEncoder(join(hfFixtures(), "bert-cls-safetensors"), { head: "new", seed: 3 });
    assert.equal(pre.hasScoreHead, false);
    assert.deepEqual(pre.fresh, ["head/kernel", "head/bias"]);
    assert.match(pre.warnings.join("\n"), /classifier \[1, 32\] is not used \(head: new\)/);
  });

  for (const name of ["gpt2-safetensors", "gpt2-pytorch"]) {
    it(`GPT-2 from ${name}: final hidden states and tied LM logits within ${TOL}`, () => {
      const ref = hfReference(name);
      const pre = loadPretrainedDecoder(join(hfFixtures(), name));
      assert.equal(pre.config.tieEmbeddings, true);
      assert.equal(pre.config.lmBias, false);
      assert.equal(pre.config.layerNormEps, 1e-5);
      assert.deepEqual(pre.fresh, ["rank/kernel", "rank/bias", "cls/kernel", "cls/bias"]);
      const model = createPretrainedDecoder(pre);
      try {
        const { batch: B, seqLen: T } = ref.inputs;
        const out = model.forward({ inputIds: Int32Array.from(ref.inputs.input_ids), attentionMask: Int32Array.from(ref.inputs.attention_mask), promptLength: new Int32Array(B), lmTargets: new Int32Array(B * T), batch: B, seqLen: T });
        const mask = ref.inputs.attention_mask;
        assert.ok(maskedDiff(out.hidden.dataSync(), ref.last_hidden_state, mask, pre.config.hiddenSize) <= TOL);
        assert.ok(maskedDiff((out.lmLogits as tf.Tensor).dataSync(), ref.logits as number[], mask, pre.config.vocabSize) <= TOL);
        tf.dispose([out.score, out.clsLogit, out.hidden, out.lmLogits as tf.Tensor]);
      } finally {
        model.dispose();
      }
    });
  }

  it("the match channel starts at zero: with matchIds, step 0 equals the checkpoint; the token-type rows are the checkpoint's", () => {
    const dir = join(hfFixtures(), "bert-cls-safetensors");
    const ref = hfReference("bert-cls-safetensors");
    const pre = loadPretrainedEncoder(dir, { matchVocabSize: 10 });
    assert.equal(pre.config.typeVocabSize, 2);
    assert.ok(pre.fresh.includes("embeddings/match"));
    const enc = createPretrainedEncoder(pre);
    try {
      const batch = bertBatch(ref);
      const matchIds = Int32Array.from(batch.inputIds, (_, i) => i % 10);
      const withMatch = enc.score({ ...batch, matchIds });
      assert.ok(maxDiff(withMatch.dataSync(), ref.logits as number[]) <= TOL);
      // once the match rows move, the scores move: the channel is wired in
      const w = enc.getWeights()["embeddings/match"];
      enc.setWeights({ "embeddings/match": { shape: w.shape, values: w.values.map((_, i) => (i % 7) * 0.05) } }, { partial: true });
      const moved = enc.score({ ...batch, matchIds });
      assert.ok(maxDiff(moved.dataSync(), ref.logits as number[]) > 1e-3);
      tf.dispose([withMatch, moved]);
    } finally {
      enc.dispose();
    }
  });

  it("a pretrained encoder saves and loads with its activation and match embedding (config round trip)", () => {
    const pre = loadPretrainedEncoder(join(hfFixtures(), "bert-cls-pytorch"), { matchVocabSize: 4 });
    const enc = createPretrainedEncoder(pre);
    const tmp = mkdtempSync(join(tmpdir(), "rra-pre-"));
    try {
      enc.save(tmp);
      const again = loadEncoder(tmp);
      assert.deepEqual(again.config, enc.config);
      const batch = bertBatch(hfReference("bert-cls-pytorch"));
      const a = enc.score(batch), b = again.score(batch);
      assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
      tf.dispose([a, b]);
      again.dispose();
    } finally {
      enc.dispose();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe("match channel for pretrained encoders (splitMatchTypes)", () => {
  it("splits the packer's types into the checkpoint's side ids and match ids", () => {
    const batch = { inputIds: new Int32Array(6), tokenTypeIds: Int32Array.from([0, 2, 0, 1, 3, 9]), attentionMask: new Int32Array(6).fill(1), batch: 1, seqLen: 6 };
    const s = splitMatchTypes(batch);
    assert.deepEqual(Array.from(s.tokenTypeIds), [0, 0, 0, 1, 1, 1]);
    assert.deepEqual(Array.from(s.matchIds as Int32Array), [0, 1, 0, 0, 1, 4]);
    assert.equal(matchVocabSizeFor(4), 2);
    assert.equal(matchVocabSizeFor(10), 5);
    assert.throws(() => matchVocabSizeFor(5), /even/);
  });
  it("with the project's packer (match channel on), a warm-started encoder scores at step 0 as the checkpoint", async () => {
    await initBackend({ quiet: true });
    const pre = loadPretrainedEncoder(join(hfFixtures(), "bert-cls-pytorch"), { matchVocabSize: matchVocabSizeFor(MATCH_TYPE_VOCAB) });
    const enc = createPretrainedEncoder(pre);
    try {
      const pairs = [{ query: "what is the search engine", passage: "the search engine ranks the passage" }, { query: "how many queries", passage: "many queries and passages" }];
      const packed = packPairs(pre.tokenizer, pairs, { maxLength: 32, tokenSelection: null, padTo: "longest", matchChannel: true, matchIdf: false });
      assert.ok(Array.from(packed.tokenTypeIds).some((t) => t >= 2), "some words match");
      const split = splitMatchTypes(packed);
      const withMatch = enc.score(split);
      const plain = enc.score({ ...split, matchIds: undefined });
      assert.deepEqual(Array.from(withMatch.dataSync()), Array.from(plain.dataSync()));
      tf.dispose([withMatch, plain]);
    } finally {
      enc.dispose();
    }
  });
});
