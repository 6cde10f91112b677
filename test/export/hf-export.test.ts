/**
 * Export folders as the Hugging Face ecosystem reads them (issue 13 item 7): tokenizer.json in the Rust
 * tokenizers (@anush008/tokenizers) and in tokenizers.js (@huggingface/tokenizers) against the project's
 * own packing on real DL19 pairs; ONNX Runtime scoring from the Rust tokenizer's output + match_ids
 * against the student; model.safetensors read back by this project's readers and its header checked
 * by python3 (json + struct only); an export in the layout written before this issue still loads; and
 * clear errors for a truncated model.safetensors and a tokenizer.json that is not a Hugging Face one.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as rust from "@anush008/tokenizers";
import { Tokenizer as JsTokenizer } from "@huggingface/tokenizers";
import { initBackend } from "../../lib/backend/tf";
import { DataError } from "../../lib/core/errors";
import { loadDataset } from "../../lib/data/datasets";
import { exportModel, PARITY_TOLERANCE } from "../../lib/export/model";
import { readExportConfig, type ExportConfig } from "../../lib/export/model-card";
import { readOnnxSummary, toOnnx } from "../../lib/export/onnx";
import { loadExportedScorer, onnxRuntime } from "../../lib/export/runtime";
import { bertGraph } from "../../lib/export/student-graph";
import { readEncoderWeights } from "../../lib/models/encoder";
import { readWeightsDir } from "../../lib/models/weights-file";
import { packDecoderExample } from "../../lib/models/decoder-input";
import { mapGpt2Tensors } from "../../lib/models/checkpoint/gpt2";
import { gpt2DecoderConfig, readHfConfig } from "../../lib/models/checkpoint/hf-config";
import { loadPretrainedEncoder } from "../../lib/models/checkpoint/pretrained";
import { readSafetensors } from "../../lib/models/checkpoint/safetensors";
import { encodeSafetensors, writeSafetensors } from "../../lib/models/checkpoint/safetensors-write";
import { readCheckpointTensors } from "../../lib/models/checkpoint/folder";
import { checkEncoderConfig } from "../../lib/models/presets";
import { shippedCorpus } from "../../lib/tokenize/corpus";
import { loadHfTokenizerJson, loadVocab } from "../../lib/tokenize/wordpiece";
import { loadReranker } from "../../lib/train/reranker";
import { makeStudentDir } from "../fixtures/tiny-student";

/** The first `perQuery` DL19 candidates of the first `queries` queries. */
function dl19Pairs(queries: number, perQuery: number): Array<{ query: string; passage: string }> {
  return loadDataset("dl19").lists.slice(0, queries).flatMap((l) => l.candidates.slice(0, perQuery).map((c) => ({ query: l.query, passage: c.text ?? "" })));
}

/** Rows of one encoding per pair, right-padded to the longest (as tokenizer.json's BatchLongest padding does). */
function padRows(rows: Array<{ ids: number[]; types: number[]; mask: number[] }>, padId: number): { ids: number[][]; types: number[][]; mask: number[][]; T: number } {
  const T = Math.max(...rows.map((r) => r.ids.length));
  const pad = (a: number[], v: number) => [...a, ...new Array<number>(T - a.length).fill(v)];
  return { ids: rows.map((r) => pad(r.ids, padId)), types: rows.map((r) => pad(r.types, 0)), mask: rows.map((r) => pad(r.mask, 0)), T };
}

/** Row b of a flat [B, T] array. */
const row = (a: Int32Array, b: number, T: number): number[] => Array.from(a.subarray(b * T, (b + 1) * T));

describe("rra export: Hugging Face folders (tokenizer.json, model.safetensors, match_ids)", function () {
  this.timeout(300_000);
  let tmp: string, bert: string, gpt: string, bertOut: string, gptOut: string;
  const pairs = dl19Pairs(10, 20); // 200 real pairs
  before(async () => {
    await initBackend({ quiet: true });
    tmp = mkdtempSync(join(tmpdir(), "rra-hf-export-"));
    bert = makeStudentDir({ kind: "bert", matchIdf: true, dir: join(tmp, "bert") });
    gpt = makeStudentDir({ kind: "gpt", dir: join(tmp, "gpt") });
    bertOut = join(tmp, "bert-onnx");
    gptOut = join(tmp, "gpt-onnx");
    await exportModel({ model: bert, format: "onnx", out: bertOut, parityPairs: 200 });
    await exportModel({ model: gpt, format: "onnx", out: gptOut, parityPairs: 200 });
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("writes the Hugging Face layout: config.json with model_type and sizes, packing.json, tokenizer files, model.safetensors", () => {
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "packing.json", "model.safetensors", "vocab.txt", "model.onnx", "README.md"]) assert.ok(existsSync(join(bertOut, f)), f);
    const c = readExportConfig(bertOut) as ExportConfig & Record<string, unknown>;
    // the tiny preset is pre-LN: not BERT's computation, so a type of its own
    assert.equal(c.model_type, "rra-bert");
    assert.deepEqual(c.architectures, ["RraBertForRanking"]);
    assert.equal(c.hidden_size, c.student.config.hiddenSize);
    assert.equal(c.num_hidden_layers, c.student.config.numLayers);
    assert.equal(c.type_vocab_size, 10);
    assert.equal(c.layer_norm_position, "pre");
    assert.deepEqual(c.inputs, ["input_ids", "attention_mask", "token_type_ids", "match_ids"]);
    assert.equal((c.packing as { format: string }).format, "rra-student-tokenizer/1");
    assert.equal(c.tokenizer, undefined, "the packing settings are no longer under the tokenizer's name");
    assert.deepEqual(JSON.parse(readFileSync(join(bertOut, "packing.json"), "utf8")), c.packing);
    const g = readExportConfig(gptOut) as ExportConfig & Record<string, unknown>;
    assert.equal(g.model_type, "gpt2");
    assert.equal(g.n_layer, g.student.config.numLayers);
    assert.deepEqual(g.inputs, ["input_ids", "attention_mask"]);
    const card = readFileSync(join(bertOut, "README.md"), "utf8");
    assert.match(card, /`match_ids` \(the exact-match channel, a separate input/);
    assert.match(card, /## Files\n- config.json: /);
    assert.match(card, /model_type "rra-bert": this student is pre-LN/);
    assert.match(card, /lib\/train\/scoring\.ts rerankComposed is the reference/);
  });

  it("tokenizer.json loads in the Rust tokenizers and in tokenizers.js; both give our packing's ids, mask and token types on 200 DL19 pairs (Rust: and every shipped text)", async () => {
    const scorer = await loadExportedScorer(bertOut, { engine: "onnxruntime" });
    try {
      const ours = scorer.pack(pairs); // the project's packing: padded to the longest row, types 0/1 + matchIds
      const T = ours.seqLen;
      const maxLength = Number((readExportConfig(bertOut).packing as { maxLength: number }).maxLength);
      // Rust: truncation (LongestFirst) and the pair template come from tokenizer.json
      const tok = rust.Tokenizer.fromFile(join(bertOut, "tokenizer.json"));
      const encs = await Promise.all(pairs.map((p) => tok.encode(p.query, p.passage)));
      const padId = loadVocab(join(bert, "vocab.txt")).padId;
      const r = padRows(encs.map((e) => ({ ids: e.getIds(), types: e.getTypeIds(), mask: e.getAttentionMask() })), padId);
      assert.equal(r.T, T, "the same longest row");
      let truncated = 0;
      for (let b = 0; b < pairs.length; b++) {
        assert.deepEqual(r.ids[b], row(ours.inputIds, b, T), `input_ids of pair ${b}`);
        assert.deepEqual(r.mask[b], row(ours.attentionMask, b, T), `attention_mask of pair ${b}`);
        assert.deepEqual(r.types[b], row(ours.tokenTypeIds as Int32Array, b, T), `token_type_ids of pair ${b}`);
        if (encs[b].getIds().length === maxLength) truncated++;
      }
      assert.ok(truncated >= 20, `the truncation is exercised (${truncated} pairs cut to ${maxLength})`);
      // tokenizers.js: no truncation of its own; the caller cuts the passage (the card says so)
      const js = new JsTokenizer(JSON.parse(readFileSync(join(bertOut, "tokenizer.json"), "utf8")), JSON.parse(readFileSync(join(bertOut, "tokenizer_config.json"), "utf8")));
      const cut = (a: number[]) => (a.length <= maxLength ? a : [...a.slice(0, maxLength - 1), a[a.length - 1]]);
      const jr = padRows(pairs.map((p) => {
        const e = js.encode(p.query, { text_pair: p.passage, return_token_type_ids: true });
        return { ids: cut(e.ids), types: cut(e.token_type_ids), mask: cut(e.attention_mask) };
      }), padId);
      assert.deepEqual(jr.ids, r.ids);
      assert.deepEqual(jr.types, r.types);
      assert.deepEqual(jr.mask, r.mask);
      // every shipped text (DL19, DL20, NovelEval queries and passages) alone: the same ids from tokenizer.json
      const corpus = shippedCorpus();
      const ourTok = loadVocab(join(bert, "vocab.txt"));
      const whole = rust.Tokenizer.fromFile(join(bertOut, "tokenizer.json"));
      whole.disableTruncation();
      whole.disablePadding(); // tokenizer.json pads a batch to its longest text
      const all = await whole.encodeBatch(corpus, { addSpecialTokens: false });
      const differ = corpus.filter((t, i) => JSON.stringify(all[i].getIds()) !== JSON.stringify(ourTok.encode(t).ids));
      assert.deepEqual(differ.slice(0, 3), [], `${corpus.length - differ.length}/${corpus.length} shipped texts agree`);
      assert.ok(corpus.length > 9000, `${corpus.length} texts`);
      // and the project's own reader of Hugging Face tokenizer files reads it as vocab.txt
      assert.deepEqual(loadHfTokenizerJson(join(bertOut, "tokenizer.json")).idToToken, loadVocab(join(bert, "vocab.txt")).idToToken);
    } finally {
      scorer.dispose();
    }
  });

  it("ONNX Runtime scores the Rust tokenizer's output + match_ids as the student does (<= 1e-4); without match_ids it would not", async () => {
    const ort = onnxRuntime();
    assert.ok(ort, "onnxruntime-node is installed");
    const summary = readOnnxSummary(readFileSync(join(bertOut, "model.onnx")));
    assert.deepEqual(summary.inputs, ["input_ids", "attention_mask", "token_type_ids", "match_ids"]);
    const tok = rust.Tokenizer.fromFile(join(bertOut, "tokenizer.json"));
    const encs = await Promise.all(pairs.map((p) => tok.encode(p.query, p.passage)));
    const r = padRows(encs.map((e) => ({ ids: e.getIds(), types: e.getTypeIds(), mask: e.getAttentionMask() })), 0);
    const scorer = await loadExportedScorer(bertOut, { engine: "onnxruntime" });
    const native = await loadReranker(bert);
    const session = await ort.InferenceSession.create(join(bertOut, "model.onnx"));
    try {
      const match = scorer.pack(pairs).matchIds as Int32Array;
      const B = pairs.length, T = r.T;
      const long = (rows: ArrayLike<number>) => new ort.Tensor("int64", BigInt64Array.from(Array.from(rows), (x) => BigInt(x)), [B, T]);
      const feeds = { input_ids: long(r.ids.flat()), attention_mask: long(r.mask.flat()), token_type_ids: long(r.types.flat()), match_ids: long(match) };
      const got = (await session.run(feeds)).logits.data as Float32Array;
      const want = await native.scorePairs(pairs);
      let maxAbs = 0;
      for (let i = 0; i < B; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i] - want[i]));
      assert.ok(maxAbs <= PARITY_TOLERANCE, `max |diff| ${maxAbs}`);
      assert.ok(match.some((m) => m > 1), "IDF buckets above the first occur");
      const blind = (await session.run({ ...feeds, match_ids: long(new Int32Array(B * T)) })).logits.data as Float32Array;
      assert.ok(Math.max(...Array.from(blind, (x, i) => Math.abs(x - want[i]))) > 1e-2, "the match channel matters to the score");
    } finally {
      await session.release();
      scorer.dispose();
      native.dispose();
    }
  });

  it("RRA-GPT: tokenizer.json + the prompt text give the packer's ids, and ONNX Runtime scores them as the student (<= 1e-4)", async () => {
    const ort = onnxRuntime();
    assert.ok(ort);
    const maxLength = Number((readExportConfig(gptOut).packing as { maxLength: number }).maxLength);
    const tokenizer = loadVocab(join(gpt, "vocab.txt"));
    const fits = pairs.filter((p) => packDecoderExample(tokenizer, p.query, p.passage, undefined, { maxLength: 10_000 }).ids.length <= maxLength).slice(0, 40);
    assert.ok(fits.length >= 10, `${fits.length} prompts fit ${maxLength} tokens`);
    const tok = rust.Tokenizer.fromFile(join(gptOut, "tokenizer.json"));
    const encs = await Promise.all(fits.map((p) => tok.encode(`query: ${p.query} document: ${p.passage} relevant?`)));
    encs.forEach((e, i) => assert.deepEqual(e.getIds(), packDecoderExample(tokenizer, fits[i].query, fits[i].passage, undefined, { maxLength }).ids, `prompt ${i}`));
    const r = padRows(encs.map((e) => ({ ids: e.getIds(), types: e.getTypeIds(), mask: e.getAttentionMask() })), tokenizer.padId);
    const session = await ort.InferenceSession.create(join(gptOut, "model.onnx"));
    const native = await loadReranker(gpt);
    try {
      const long = (rows: number[]) => new ort.Tensor("int64", BigInt64Array.from(rows, (x) => BigInt(x)), [fits.length, r.T]);
      const got = (await session.run({ input_ids: long(r.ids.flat()), attention_mask: long(r.mask.flat()) })).logits.data as Float32Array;
      const want = await native.scorePairs(fits);
      fits.forEach((_, i) => assert.ok(Math.abs(got[i] - want[i]) <= PARITY_TOLERANCE, `pair ${i}: ${got[i]} vs ${want[i]}`));
    } finally {
      await session.release();
      native.dispose();
    }
  });

  it("an independent reference (python3-torch, test/fixtures/hf-export-reference.py) scores the folder as BERT / GPT-2 from the Rust tokenizer's output as the student does", async () => {
    // a post-LN student with BERT's erf GELU is plain BERT: model_type "bert"
    const post = makeStudentDir({ kind: "bert", matchIdf: true, dir: join(tmp, "bert-post"), encoder: { layerNorm: "post", hiddenAct: "gelu_erf", layerNormEps: 1e-12 } });
    const postOut = join(tmp, "bert-post-onnx");
    const exported = await exportModel({ model: post, format: "onnx", out: postOut, parityPairs: 200 });
    assert.ok(exported.parity.maxAbsDiff <= PARITY_TOLERANCE);
    const c = readExportConfig(postOut);
    assert.equal(c.model_type, "bert");
    assert.deepEqual(c.architectures, ["BertForSequenceClassification"]);
    const python = (dir: string, inputs: Record<string, unknown>): number[] => {
      const r = spawnSync("/usr/bin/python3", [join(__dirname, "..", "fixtures", "hf-export-reference.py"), dir], { input: JSON.stringify(inputs), encoding: "utf8", maxBuffer: 1 << 26 });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as number[];
    };
    const some = pairs.slice(0, 40);
    for (const [dir, student] of [[postOut, post], [bertOut, bert]] as const) {
      const tok = rust.Tokenizer.fromFile(join(dir, "tokenizer.json"));
      const encs = await Promise.all(some.map((p) => tok.encode(p.query, p.passage)));
      const r = padRows(encs.map((e) => ({ ids: e.getIds(), types: e.getTypeIds(), mask: e.getAttentionMask() })), 0);
      const scorer = await loadExportedScorer(dir, { engine: "onnxruntime" });
      const native = await loadReranker(student);
      try {
        const match = Array.from(scorer.pack(some).matchIds as Int32Array);
        const inputs = { batch: some.length, seqLen: r.T, input_ids: r.ids.flat(), attention_mask: r.mask.flat(), token_type_ids: r.types.flat(), match_ids: match };
        const want = await native.scorePairs(some);
        if (dir === bertOut) {
          // the pre-LN student is no BERT: the reference refuses its model_type rather than score it
          const x = spawnSync("/usr/bin/python3", [join(__dirname, "..", "fixtures", "hf-export-reference.py"), dir], { input: JSON.stringify(inputs), encoding: "utf8" });
          assert.notEqual(x.status, 0);
          assert.match(x.stderr, /model_type 'rra-bert' is not a Hugging Face architecture/);
          continue;
        }
        const got = python(dir, inputs);
        got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) <= PARITY_TOLERANCE, `BERT pair ${i}: reference ${x} vs student ${want[i]}`));
      } finally {
        scorer.dispose();
        native.dispose();
      }
    }
    // GPT-2: the prompt text through tokenizer.json, the reference's GPT2Model and rra_rank_head
    const tokenizer = loadVocab(join(gpt, "vocab.txt"));
    const maxLength = Number((readExportConfig(gptOut).packing as { maxLength: number }).maxLength);
    const fits = pairs.filter((p) => packDecoderExample(tokenizer, p.query, p.passage, undefined, { maxLength: 10_000 }).ids.length <= maxLength).slice(0, 20);
    const gtok = rust.Tokenizer.fromFile(join(gptOut, "tokenizer.json"));
    const genc = await Promise.all(fits.map((p) => gtok.encode(`query: ${p.query} document: ${p.passage} relevant?`)));
    const gr = padRows(genc.map((e) => ({ ids: e.getIds(), types: e.getTypeIds(), mask: e.getAttentionMask() })), tokenizer.padId);
    const gnative = await loadReranker(gpt);
    try {
      const want = await gnative.scorePairs(fits);
      const got = python(gptOut, { batch: fits.length, seqLen: gr.T, input_ids: gr.ids.flat(), attention_mask: gr.mask.flat() });
      got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) <= PARITY_TOLERANCE, `GPT-2 prompt ${i}: reference ${x} vs student ${want[i]}`));
    } finally {
      gnative.dispose();
    }
  });

  it("model.safetensors round-trips through this project's readers (safetensors reader, loadPretrainedEncoder, the GPT-2 mapping)", () => {
    // the writer alone: values, shapes, metadata, 8-byte aligned data
    const t = [{ name: "a.weight", shape: [2, 3], values: Float32Array.of(1, -2, 3.5, 1e-8, -0, 65504) }, { name: "b", shape: [], values: Float32Array.of(Math.PI) }];
    const small = join(tmp, "small.safetensors");
    writeSafetensors(small, t, { format: "pt" });
    const back = readSafetensors(small);
    assert.deepEqual([...back.keys()], ["a.weight", "b"]);
    assert.deepEqual(back.get("a.weight")?.values, t[0].values);
    assert.deepEqual(back.get("b")?.shape, []);
    assert.equal(encodeSafetensors(t).readBigUInt64LE(0) % 8n, 0n);
    // RRA-BERT: every weight of the student, under BERT's names, read back by the checkpoint loader
    const pre = loadPretrainedEncoder(bertOut);
    const config = checkEncoderConfig(JSON.parse(readFileSync(join(bert, "config.json"), "utf8")), "config.json");
    assert.equal(pre.config.layerNorm, "pre");
    assert.equal(pre.config.typeVocabSize, config.typeVocabSize);
    assert.equal(pre.config.hiddenAct ?? "gelu_tanh", config.hiddenAct ?? "gelu_tanh"); // the default is not stored
    assert.deepEqual(pre.fresh, []);
    assert.ok(pre.hasScoreHead);
    const src = readEncoderWeights(bert);
    assert.deepEqual(Object.keys(pre.weights).sort(), Object.keys(src).sort());
    for (const [name, w] of Object.entries(src)) {
      assert.deepEqual(pre.weights[name].shape, w.shape, name);
      assert.deepEqual(pre.weights[name].values, w.values, name);
    }
    assert.deepEqual(pre.tokenizer.idToToken, loadVocab(join(bert, "vocab.txt")).idToToken);
    // RRA-GPT: the GPT-2 names plus rra_rank_head / rra_cls_head (its WordPiece tokenizer is not GPT-2's BPE, so the tensors alone)
    const hf = readHfConfig(gptOut);
    const dc = gpt2DecoderConfig(hf);
    const mapped = mapGpt2Tensors(readCheckpointTensors(gptOut).tensors, dc, "model.safetensors");
    const gsrc = readWeightsDir(gpt, "rra-decoder-weights/1");
    assert.deepEqual(mapped.fresh, []);
    for (const [name, w] of Object.entries(gsrc)) {
      if (name === "lm/bias") continue; // a training head GPT-2 has no place for (hf-checkpoint.ts)
      assert.deepEqual(mapped.weights[name]?.values, w.values, name);
    }
  });

  it("python3 reads model.safetensors' header with json + struct alone: F32 tensors, contiguous offsets, the file size, format pt, BERT names", () => {
    const script = `
import json, struct, sys
f = open(sys.argv[1], "rb"); data = f.read()
n = struct.unpack("<Q", data[:8])[0]
h = json.loads(data[8:8 + n].decode("utf-8"))
meta = h.pop("__metadata__")
ends = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in h.items())
pos = 0
for b, e, k in ends:
    assert b == pos, (k, b, pos)
    cnt = 1
    for d in h[k]["shape"]: cnt *= d
    assert h[k]["dtype"] == "F32" and e - b == 4 * cnt, k
    pos = e
assert 8 + n + pos == len(data), (8 + n + pos, len(data))
w = h["bert.embeddings.word_embeddings.weight"]
first = struct.unpack("<4f", data[8 + n + w["data_offsets"][0]: 8 + n + w["data_offsets"][0] + 16])
print(json.dumps({"format": meta.get("format"), "count": len(h), "aligned": (8 + n) % 8 == 0, "word_shape": w["shape"], "first": first,
  "names": sorted(h)[:3], "qkv": "bert.encoder.layer.0.attention.self.query.weight" in h, "classifier": h["classifier.weight"]["shape"]}))
`;
    const r = spawnSync("python3", ["-c", script, join(bertOut, "model.safetensors")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { format: string; count: number; aligned: boolean; word_shape: number[]; first: number[]; qkv: boolean; classifier: number[] };
    const src = readEncoderWeights(bert);
    assert.equal(out.format, "pt");
    assert.equal(out.aligned, true);
    assert.equal(out.qkv, true);
    assert.deepEqual(out.classifier, [1, src["head/kernel"].shape[0]]);
    assert.deepEqual(out.word_shape, src["embeddings/word"].shape);
    out.first.forEach((x, i) => assert.equal(Math.fround(x), src["embeddings/word"].values[i]));
    // every student weight is there: the fused qkv kernel becomes three tensors
    const layers = Number(readExportConfig(bertOut).student.config.numLayers);
    assert.equal(out.count, Object.keys(src).length + 4 * layers);
  });

  it("an export in the layout written before this issue (tokenizer.json = packing settings, match channel in token_type_ids) still loads and scores", async () => {
    const old = join(tmp, "old-layout");
    cpSync(bertOut, old, { recursive: true });
    const c = readExportConfig(old);
    // the older writer's files: model.onnx of the combined token types, config.json without the Hugging Face fields
    writeFileSync(join(old, "model.onnx"), toOnnx(bertGraph(checkEncoderConfig(JSON.parse(readFileSync(join(bert, "config.json"), "utf8")), "config.json"), readEncoderWeights(bert), { match: "token-types" })));
    const legacy = { format: "rra-export/1", target: c.target, file: c.file, student: c.student, inputs: ["input_ids", "attention_mask", "token_type_ids"], output: c.output, tokenizer: c.packing, firstStagePrior: c.firstStagePrior, features: c.features, source: c.source, parity: c.parity, exportedAt: c.exportedAt, versions: c.versions };
    writeFileSync(join(old, "config.json"), JSON.stringify(legacy, null, 2));
    writeFileSync(join(old, "tokenizer.json"), JSON.stringify(c.packing));
    for (const f of ["packing.json", "tokenizer_config.json", "special_tokens_map.json", "model.safetensors"]) rmSync(join(old, f));
    const r = await loadReranker(old);
    const native = await loadReranker(bert);
    try {
      assert.equal(r.format, "onnx");
      const [a, b] = [await r.scorePairs(pairs.slice(0, 60)), await native.scorePairs(pairs.slice(0, 60))];
      a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= PARITY_TOLERANCE, `pair ${i}: ${x} vs ${b[i]}`));
      const s = await r.score(pairs[0].query, pairs.slice(0, 5).map((p) => p.passage));
      assert.equal(s.length, 5);
    } finally {
      r.dispose();
      native.dispose();
    }
  });

  it("bad input: a truncated model.safetensors, a tokenizer.json that is not a Hugging Face tokenizer, an export without packing settings", () => {
    const bad = join(tmp, "bad");
    cpSync(bertOut, bad, { recursive: true });
    const st = join(bad, "model.safetensors");
    truncateSync(st, statSync(st).size - 100);
    assert.throws(() => loadPretrainedEncoder(bad), (e: unknown) => e instanceof DataError && e.file === st && /data_offsets\): .*the file is truncated/.test(e.message));
    truncateSync(st, 5);
    assert.throws(() => readSafetensors(st), (e: unknown) => e instanceof DataError && e.message.startsWith(`${st}: expected a safetensors file`));
    // the older layout's packing settings under the tokenizer's name
    const tj = join(bad, "tokenizer.json");
    writeFileSync(tj, readFileSync(join(bad, "packing.json")));
    assert.throws(() => loadHfTokenizerJson(tj), (e: unknown) => e instanceof DataError && e.file === tj && /\(model\): expected an object with type "WordPiece", got undefined/.test(e.message));
    assert.throws(() => rust.Tokenizer.fromFile(tj));
    const c = JSON.parse(readFileSync(join(bad, "config.json"), "utf8")) as Record<string, unknown>;
    delete c.packing;
    writeFileSync(join(bad, "config.json"), JSON.stringify(c));
    assert.throws(() => readExportConfig(bad), (e: unknown) => e instanceof DataError && /config\.json \(packing\): expected the packing settings/.test(e.message));
  });
});
