import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { initBackend } from "../../lib/backend/tf";
import { loadDataset } from "../../lib/data/datasets";
import { evaluateRun } from "../../lib/eval/evaluate";
import { exportModel, parityPairs, PARITY_TOLERANCE } from "../../lib/export/model";
import { readExportConfig } from "../../lib/export/model-card";
import { ONNX_OPSET, readOnnxSummary } from "../../lib/export/onnx";
import { loadReranker } from "../../lib/train/reranker";
import { makeStudentDir } from "../fixtures/tiny-student";

const ROOT = resolve(__dirname, "..", "..");

describe("rra export (ONNX and TensorFlow.js graph models with a parity check)", function () {
  this.timeout(300_000);
  let tmp: string, bert: string, gpt: string;
  before(async () => {
    await initBackend({ quiet: true });
    tmp = mkdtempSync(join(tmpdir(), "rra-export-test-"));
    bert = makeStudentDir({ kind: "bert", matchIdf: true, dir: join(tmp, "bert") });
    gpt = makeStudentDir({ kind: "gpt", dir: join(tmp, "gpt") });
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("parity pairs are real shipped pairs: 300 of DL20 by default, 20 per query", () => {
    const { pairs, source } = parityPairs("dl20", 300);
    assert.equal(pairs.length, 300);
    assert.equal(new Set(pairs.map((p) => p.query)).size, 15);
    assert.match(source, /dl20: first 20 BM25 candidates of the first 15 queries/);
    assert.ok(pairs.every((p) => p.passage.length > 0));
  });

  for (const kind of ["bert", "gpt"] as const) {
    for (const format of ["onnx", "tfjs"] as const) {
      it(`${kind} -> ${format}: re-loaded scores match the in-memory model within ${PARITY_TOLERANCE} on >= 200 real pairs`, async () => {
        const out = join(tmp, `${kind}-${format}`);
        const r = await exportModel({ model: kind === "bert" ? bert : gpt, format, out, parityPairs: 240 });
        assert.equal(r.kind, kind);
        assert.equal(r.parity.pairs, 240);
        assert.ok(r.parity.maxAbsDiff <= PARITY_TOLERANCE, `max |diff| ${r.parity.maxAbsDiff}`);
        assert.ok(Number.isFinite(r.parity.meanAbsDiff));
        assert.match(r.parity.engine, format === "onnx" ? /^onnxruntime-cpu/ : /^tfjs-/);
        const config = readExportConfig(out);
        assert.equal(config.target, format);
        assert.deepEqual(config.inputs, kind === "bert" ? ["input_ids", "attention_mask", "token_type_ids", "match_ids"] : ["input_ids", "attention_mask"]);
        assert.equal(config.parity.maxAbsDiff, r.parity.maxAbsDiff);
        for (const f of ["README.md", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "packing.json", "model.safetensors", config.file]) assert.ok(existsSync(join(out, f)), f);
        if (kind === "bert") assert.ok(existsSync(join(out, "lexicon.json")) && existsSync(join(out, "score.json")), "the lexicon of the match channel and the score composition travel with the export");
        const card = readFileSync(join(out, "README.md"), "utf8");
        assert.match(card, /## Parity/);
        assert.match(card, new RegExp(`${config.student.params.toLocaleString("en-US")} parameters`));
        assert.ok(!readdirSync(tmp).some((f) => f.includes(".partial-")), "no temporary directory is left behind");
        if (format === "onnx") {
          const s = readOnnxSummary(readFileSync(join(out, "model.onnx")));
          assert.equal(s.irVersion, 8);
          assert.equal(s.opset, ONNX_OPSET);
          assert.deepEqual(s.inputs, config.inputs);
          assert.deepEqual(s.outputs, ["logits"]);
        } else {
          const mj = JSON.parse(readFileSync(join(out, "model.json"), "utf8")) as { format: string; weightsManifest: Array<{ paths: string[] }> };
          assert.equal(mj.format, "graph-model");
          assert.deepEqual(mj.weightsManifest[0].paths, ["group1-shard1of1.bin"]);
        }
      });
    }
  }

  it("rerank through the ONNX export reproduces the in-memory model's nDCG@10 to 4 decimals (DL20, 8 queries x 100)", async () => {
    const ds = loadDataset("dl20");
    const lists = ds.lists.slice(0, 8);
    const native = await loadReranker(bert);
    const onnx = await loadReranker(join(tmp, "bert-onnx"));
    const tfjsGraph = await loadReranker(join(tmp, "bert-tfjs"));
    try {
      assert.equal(onnx.format, "onnx");
      assert.match(onnx.engine, /onnxruntime/, "ONNX Runtime is picked when it is installed");
      const ndcg = async (r: typeof native) => evaluateRun(ds.qrels, await r.rerank(lists), { metrics: ["ndcg@10"], querySet: "intersection" }).all["ndcg@10"];
      const [a, b, c] = [await ndcg(native), await ndcg(onnx), await ndcg(tfjsGraph)];
      assert.equal(b.toFixed(4), a.toFixed(4));
      assert.equal(c.toFixed(4), a.toFixed(4));
      const s1 = await native.score(lists[0].query, lists[0].candidates.slice(0, 5).map((x) => x.text ?? ""));
      const s2 = await onnx.score(lists[0].query, lists[0].candidates.slice(0, 5).map((x) => x.text ?? ""));
      s1.forEach((v, i) => assert.ok(Math.abs(v - s2[i]) <= PARITY_TOLERANCE, `score ${i}: ${v} vs ${s2[i]}`));
    } finally {
      native.dispose(); onnx.dispose(); tfjsGraph.dispose();
    }
  });

  it("a failed parity check writes nothing and keeps the earlier export", async () => {
    const out = join(tmp, "bert-onnx");
    const before = readFileSync(join(out, "config.json"), "utf8");
    // a limit of 0 fails on float rounding alone (ONNX Runtime and tfjs sum in different orders)
    await assert.rejects(exportModel({ model: bert, format: "onnx", out, parityPairs: 200, tolerance: 0 }), /parity check failed: .* differ .* by up to [0-9.e-]+ \(limit 0\).*nothing was written/);
    assert.equal(readFileSync(join(out, "config.json"), "utf8"), before);
    assert.ok(!readdirSync(tmp).some((f) => f.includes(".partial-")));
  });

  it("bad input: too few parity pairs, a looser limit, not a model, an --out that is not an export, engine mismatches", async () => {
    await assert.rejects(exportModel({ model: bert, format: "onnx", out: join(tmp, "x"), parityPairs: 50 }), /at least 200 pairs, got 50/);
    await assert.rejects(exportModel({ model: bert, format: "onnx", out: join(tmp, "x"), tolerance: 1e-3 }), /may tighten 0.0001, not loosen it/);
    await assert.rejects(exportModel({ model: tmp, format: "onnx", out: join(tmp, "x") }), /is not a model directory written by rra train: config.json is missing/);
    const other = join(tmp, "other");
    mkdirSync(other);
    writeFileSync(join(other, "notes.txt"), "keep me");
    await assert.rejects(exportModel({ model: bert, format: "onnx", out: other }), /exists and is not an earlier export/);
    assert.equal(readFileSync(join(other, "notes.txt"), "utf8"), "keep me");
    await assert.rejects(loadReranker(join(tmp, "bert-onnx"), { engine: "tfjs" }), /ONNX export, which runs on ONNX Runtime/);
    await assert.rejects(loadReranker(join(tmp, "bert-tfjs"), { engine: "onnxruntime" }), /TensorFlow.js export; ONNX Runtime needs an ONNX export/);
  });

  it("the CLI: export prints the parity numbers; rerank accepts the export; bad flags exit non-zero", () => {
    const rra = (...args: string[]) => spawnSync(process.execPath, ["bin/rra.js", ...args], { cwd: ROOT, encoding: "utf8" });
    const out = join(tmp, "cli-onnx");
    const r = rra("export", "--model", bert, "--format", "onnx", "--out", out, "--parity-pairs", "200");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /parity: 200 pairs \(dl20: .*\), max \|diff\| [0-9.]+e-?\d+, mean .*, limit 0.0001 \(onnxruntime-cpu/);
    const input = join(tmp, "two.json");
    const raw = JSON.parse(readFileSync(join(ROOT, "data", "trec-dl-2019-2020", "bm25_retrieve_results_dl20.json"), "utf8")) as unknown[];
    writeFileSync(input, JSON.stringify(raw.slice(0, 2)));
    const rr = rra("rerank", "--model", out, "--input", input, "--out", join(tmp, "cli-run.txt"));
    assert.equal(rr.status, 0, rr.stderr);
    assert.match(rr.stderr, /2 queries \(200 pairs\) re-ranked with .* \(bert, onnx, onnxruntime-cpu/);
    assert.equal(readFileSync(join(tmp, "cli-run.txt"), "utf8").trim().split("\n").length, 200);
    assert.equal(rra("export", "--help").status, 0);
    const bad = rra("export", "--model", bert, "--format", "pt", "--out", join(tmp, "y"));
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--format expects onnx or tfjs, got "pt"/);
    assert.ok(!existsSync(join(tmp, "y")));
  });
});
