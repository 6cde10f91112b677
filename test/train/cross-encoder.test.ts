/**
 * Pretrained cross-encoders as re-rankers and teachers (issue 13 item 6): Hugging Face packing
 * (longest-first truncation) against the Rust tokenizers, scoring of a BertForSequenceClassification
 * folder (the reference checkpoint of test/fixtures/hf-checkpoints.py), `rra rerank --model DIR|hf:...`,
 * and the `crossencoder:` teacher through `rra label`.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import * as hf from "@anush008/tokenizers";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/tf";
import { main } from "../../lib/cli/main";
import { DataError } from "../../lib/core/errors";
import { readRun } from "../../lib/data/trec";
import { repoCacheDir } from "../../lib/hub/cache";
import { createPretrainedEncoder, loadPretrainedEncoder } from "../../lib/models/checkpoint/pretrained";
import { longestFirstKeep } from "../../lib/tokenize/pack";
import { createCrossEncoderTeacher, loadCrossEncoder, packCrossEncoderPairs } from "../../lib/train/cross-encoder";
import { loadReranker } from "../../lib/train/reranker";
import { HARD_TEXTS } from "../fixtures/hard-texts";
import { hfFixtures } from "../fixtures/hf-fixtures";

const work = mkdtempSync(join(tmpdir(), "rra-ce-"));

async function quietly<T>(f: () => Promise<T>): Promise<{ value: T; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => out.push(a.map(String).join(" "));
  console.error = (...a: unknown[]) => err.push(a.map(String).join(" "));
  try {
    return { value: await f(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe("pretrained cross-encoders", function () {
  this.timeout(300_000);
  let ceDir: string;
  before(async () => {
    await initBackend({ quiet: true });
    ceDir = join(hfFixtures(), "bert-cls-safetensors");
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("longestFirstKeep follows huggingface/tokenizers' LongestFirst rule", () => {
    assert.deepEqual(longestFirstKeep(5, 100, 50), [5, 45]);
    assert.deepEqual(longestFirstKeep(100, 5, 50), [45, 5]);
    assert.deepEqual(longestFirstKeep(30, 30, 51), [25, 26]);
    assert.deepEqual(longestFirstKeep(40, 30, 51), [26, 25]);
    assert.deepEqual(longestFirstKeep(60, 70, 20), [10, 10]);
    assert.deepEqual(longestFirstKeep(3, 4, 20), [3, 4]);
  });

  it("packs [CLS] q [SEP] d [SEP] with token types and truncation exactly as the Rust tokenizers", async () => {
    const vocab = readFileSync(join(ceDir, "vocab.txt"), "utf8").trim().split("\n");
    const rust = new hf.Tokenizer(hf.WordPiece.init(Object.fromEntries(vocab.map((t, i) => [t, i])), { unkToken: "[UNK]" }));
    rust.setNormalizer(hf.bertNormalizer({ lowercase: true, stripAccents: true, handleChineseChars: true, cleanText: true }));
    rust.setPreTokenizer(hf.bertPreTokenizer());
    rust.setPostProcessor(hf.bertProcessing(["[SEP]", vocab.indexOf("[SEP]")], ["[CLS]", vocab.indexOf("[CLS]")]));
    const pre = loadPretrainedEncoder(ceDir);
    const texts = HARD_TEXTS.filter((t) => t.trim() !== "");
    const pairs = texts.flatMap((q, i) => [{ query: q, passage: texts[(i * 7 + 3) % texts.length] }, { query: q.slice(0, 12), passage: q }]);
    for (const maxLength of [16, 17, 40]) {
      rust.setTruncation(maxLength, { strategy: hf.TruncationStrategy.LongestFirst });
      for (const p of pairs) {
        const e = await rust.encode(p.query, p.passage);
        const b = packCrossEncoderPairs(pre.tokenizer, [p], maxLength);
        assert.deepEqual(Array.from(b.inputIds), e.getIds(), `${maxLength}: ${JSON.stringify(p).slice(0, 80)}`);
        assert.deepEqual(Array.from(b.tokenTypeIds), e.getTypeIds());
      }
    }
  });

  it("scores pairs with the checkpoint's classifier: the same logits as the encoder on the packed batch, in input order", () => {
    const ce = loadCrossEncoder(ceDir);
    const enc = createPretrainedEncoder(loadPretrainedEncoder(ceDir));
    try {
      const pairs = [{ query: "what is a search engine", passage: "the search engine ranks passages" }, { query: "how many", passage: "cafe naive" }, { query: "query", passage: "passage of the query" }];
      const got = ce.scorePairs(pairs, 2);
      pairs.forEach((p, i) => {
        const s = enc.score(packCrossEncoderPairs(ce.tokenizer, [p], ce.maxLength));
        assert.ok(Math.abs(s.dataSync()[0] - got[i]) < 1e-5);
        s.dispose();
      });
      assert.equal(ce.maxLength, 40);
    } finally {
      ce.dispose();
      enc.dispose();
    }
    assert.equal(tf.memory().numTensors >= 0, true);
  });

  it("a BERT folder without a classifier is not a re-ranker", () => {
    assert.throws(() => loadCrossEncoder(join(hfFixtures(), "bert-safetensors")), (e: Error) => e instanceof DataError && /one-label classifier/.test(e.message) && /not a re-ranker/.test(e.message));
  });

  it("loadReranker recognises a Hugging Face folder and re-ranks lists by the logit", async () => {
    const r = await loadReranker(ceDir);
    try {
      assert.equal(r.format, "hf");
      assert.equal(r.kind, "bert");
      const scores = await r.score("search engine", ["the search engine", "naive cafe", "rank"]);
      assert.equal(scores.length, 3);
      const run = await r.rerank([{ qid: "q1", query: "search engine", candidates: ["the search engine", "naive cafe", "rank"].map((text, i) => ({ docid: `d${i}`, text, score: 3 - i, rank: i + 1 })) }]);
      const order = [...scores].map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i).map((x) => `d${x.i}`);
      assert.deepEqual(run.queries.get("q1")?.map((d) => d.docid), order);
    } finally {
      r.dispose();
    }
  });

  it("rra rerank --model hf:ORG/NAME scores from the Hugging Face cache; a bad model writes no run", async () => {
    const cache = join(work, "hub");
    const snap = join(repoCacheDir("rra-test/tiny-ce", cache), "snapshots", "local");
    mkdirSync(snap, { recursive: true });
    cpSync(ceDir, snap, { recursive: true });
    mkdirSync(join(repoCacheDir("rra-test/tiny-ce", cache), "refs"), { recursive: true });
    writeFileSync(join(repoCacheDir("rra-test/tiny-ce", cache), "refs", "main"), "local");
    const input = join(work, "input.json");
    const full = JSON.parse(readFileSync(join(__dirname, "..", "..", "data", "trec-dl-2019-2020", "bm25_retrieve_results_dl20.json"), "utf8")) as Array<{ query: string; hits: unknown[] }>;
    writeFileSync(input, JSON.stringify(full.slice(0, 2).map((q) => ({ ...q, hits: q.hits.slice(0, 5) }))));
    const env = { HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE };
    process.env.HF_HUB_CACHE = cache;
    process.env.HF_HUB_OFFLINE = "1";
    try {
      const out = join(work, "run.txt");
      const r = await quietly(() => main(["rerank", "--model", "hf:rra-test/tiny-ce", "--input", input, "--out", out]));
      assert.equal(r.value, 0, r.err.join("\n"));
      const run = readRun(out);
      assert.equal(run.queries.size, 2);
      assert.match(r.err.join("\n"), /re-ranked with hf:rra-test\/tiny-ce \(bert, hf, tfjs-/);
      const bad = join(work, "bad-run.txt");
      const b = await quietly(() => main(["rerank", "--model", join(hfFixtures(), "bert-safetensors"), "--input", input, "--out", bad]));
      assert.equal(b.value, 1);
      assert.match(b.err.join("\n"), /not a re-ranker/);
      assert.ok(!existsSync(bad));
      const missing = await quietly(() => main(["rerank", "--model", "hf:rra-test/absent", "--input", input, "--out", bad]));
      assert.equal(missing.value, 1);
      assert.match(missing.err.join("\n"), /place its files by hand/);
      assert.ok(!existsSync(bad));
    } finally {
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });

  it("the crossencoder: teacher ranks a window by the logit and labels through rra label with its own report row", async () => {
    const t = createCrossEncoderTeacher(ceDir);
    try {
      assert.equal(t.kind, "local");
      assert.equal(t.canMiss, false);
      const docs = ["the search engine", "naive cafe", "rank", "query passage"].map((text, i) => ({ docid: `d${i}`, text }));
      const a = await t.rank({ window: { windowId: "w", qid: "q", query: "search engine", docs, shuffleSeed: null }, templateVersion: "x", messages: [], prompt: "", maxTokens: 0 });
      assert.match(a.response, /^\[\d\] > \[\d\] > \[\d\] > \[\d\]$/);
      assert.equal(new Set(a.response.match(/\d/g)).size, 4);
      assert.equal(a.promptTokens, null);
    } finally {
      await t.close?.();
    }
    const db = join(work, "labels.sqlite");
    const r = await quietly(() => main(["label", "--dataset", "dl19", "--teacher", `crossencoder:${ceDir}`, "--limit", "2", "--db", db, "--json"]));
    assert.equal(r.value, 0, r.err.join("\n"));
    const summary = JSON.parse(r.out.join("\n")) as { teacher: string; calls: number; windows: number };
    assert.equal(summary.teacher, `crossencoder:${ceDir}`);
    assert.equal(summary.windows, 2);
    assert.equal(summary.calls, 2);
    const report = await quietly(() => main(["label", "report", "--db", db]));
    assert.equal(report.value, 0);
    assert.match(report.out.join("\n"), /crossencoder:/);
  });
});
