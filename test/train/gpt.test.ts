import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type { Kysely } from "kysely";
import { initBackend } from "../../lib/backend/tf";
import { main } from "../../lib/cli/main";
import { ConfigError, DataError } from "../../lib/core/errors";
import { hash8 } from "../../lib/core/hash";
import { loadDataset } from "../../lib/data/datasets";
import { readRun } from "../../lib/data/trec";
import type { Dataset } from "../../lib/data/types";
import { evaluateRun } from "../../lib/eval/evaluate";
import { createRraGpt, resolveDecoderConfig } from "../../lib/models/decoder";
import { closeStore, openStore } from "../../lib/store/db";
import type { WindowRecord } from "../../lib/store/labels";
import type { Database } from "../../lib/store/schema";
import { buildGptGroups, templateRationale, trainGpt } from "../../lib/train/gpt-loop";
import { loadGptStudent, rerankGptLists, saveGptStudent } from "../../lib/train/gpt-student";
import { shippedLexicon } from "../../lib/lexical/shipped";
import { resolveTrainConfig, studentTokenizer, trainRunId, trainStudent, TRAIN_DEFAULTS, type CurvePoint, type TrainConfig } from "../../lib/train/loop";
import { loadReranker, studentKind } from "../../lib/train/reranker";

const dir = mkdtempSync(join(tmpdir(), "rra-gpt-train-"));
/** 2 groups x 4 docs x 48 tokens per step, 2 steps per epoch (seeded dropout 0.1 stays on). */
const SMALL: Partial<TrainConfig> = {
  arch: "gpt", preset: "tiny", vocabSize: 2000, maxLength: 48, groupSize: 4, groupsPerBatch: 2, trainQueries: 4, devQueries: 1, patience: 0,
  epochs: 4, lr: 3e-3, warmupSteps: 0, rationale: "template",
};
const losses = (curves: CurvePoint[]): number[] => curves.filter((c) => c.split === "train" && c.metric === "loss").map((c) => c.value);

/** A hand-made window: docids a..e, teacher ranks given (null = missing). */
function windowOf(ranks: Array<number | null>): WindowRecord {
  const docids = ranks.map((_, i) => `d${i}`);
  return {
    jobId: "j", windowId: "w1", qid: "q1", ord: 0, docids, shuffleSeed: null, callId: null, anomalies: {},
    facts: ranks.map((r, i) => ({ qid: "q1", docid: docids[i], positionShown: i + 1, teacherRank: r, missing: r === null, flags: {} })),
  };
}

describe("RRA-GPT training and re-ranking (lib/train/gpt-loop.ts)", function () {
  this.timeout(300000);
  let db: Kysely<Database>;
  let datasets: Record<string, Dataset>;
  before(async () => {
    await initBackend({ quiet: true });
    db = await openStore(":memory:");
    datasets = { dl19: loadDataset("dl19"), dl20: loadDataset("dl20") };
  });
  after(async () => {
    await closeStore(db);
  });

  describe("config and rationales", () => {
    it("accepts arch gpt, validates its fields; the run id hashes every field with the recipe version", () => {
      const c = resolveTrainConfig({ arch: "gpt", clsWeight: 1, lmWeight: 0, rationale: "none" });
      assert.equal(c.arch, "gpt");
      assert.throws(() => resolveTrainConfig({ rationale: "llm" }), (e: Error) => e instanceof ConfigError && /rationale must be one of auto, template, none, got "llm"/.test(e.message));
      assert.throws(() => resolveTrainConfig({ clsWeight: -1 }), /clsWeight must be a non-negative number, got -1/);
      // every field but out (and init when it is empty, workers when it is 1, so that run ids from before they existed stay valid), with the recipe version (3: lexical statistics, residual composition, TCL v3)
      const { out: _o, init: _i, workers: _w, ...fields } = TRAIN_DEFAULTS;
      assert.equal(trainRunId(resolveTrainConfig({})), `student-${hash8({ ...fields, recipe: 3 })}`);
      assert.equal(trainRunId(resolveTrainConfig({ init: "models/bert" })), `student-${hash8({ ...fields, init: "models/bert", recipe: 3 })}`);
      assert.notEqual(trainRunId(resolveTrainConfig({ arch: "gpt" })), trainRunId(resolveTrainConfig({ arch: "gpt", lmWeight: 1 })));
    });

    it("builds template rationales from facts (NOT an LLM rationale) and prefers stored ones for listed documents", () => {
      assert.equal(templateRationale("Do cats eat fish?", "Cats eat fish daily.", { listed: true, rank: 3, of: 12 }), "ranked 3 of 12; matches: cats eat fish");
      assert.equal(templateRationale("cats", "dogs bark", { listed: false, rank: null, of: 12 }), "not ranked by the teacher; matches: none");
      const ds = {
        queries: [{ qid: "q1", text: "cats" }], lists: [], qrels: new Map(),
        passages: new Map(["d0", "d1", "d2"].map((d, i) => [d, { docid: d, text: ["cats here", "nothing", "cats again"][i] }])),
      } as unknown as Dataset;
      const w = windowOf([2, null, 1]);
      const cfg = { missing: "hardNegative" as const, groupSize: 4, rationale: "auto" };
      const t = buildGptGroups([w], ds, cfg).groups[0];
      assert.deepEqual(t.docids, ["d2", "d0", "d1", ""]);
      assert.deepEqual(t.listed, [1, 1, 0, 0]);
      assert.deepEqual(t.rationales, ["ranked 1 of 2; matches: cats", "ranked 2 of 2; matches: cats", "not ranked by the teacher; matches: none", null]);
      const s = buildGptGroups([w], ds, cfg, new Map([["w1", "cats are the topic"]]));
      assert.deepEqual(s.groups[0].rationales, ["cats are the topic", "cats are the topic", "not ranked by the teacher; matches: none", null]);
      assert.deepEqual(s.rationale, { mode: "auto", storedWindows: 1, templateSlots: 1 });
      assert.deepEqual(buildGptGroups([w], ds, { ...cfg, rationale: "none" }).groups[0].rationales, [null, null, null, null]);
    });
  });

  describe("trainGpt", () => {
    const out1 = join(dir, "gpt-a"), out2 = join(dir, "gpt-b");
    let first: Awaited<ReturnType<typeof trainGpt>>;

    it("lowers the loss, repeats the same curve with the same seed, leaks no tensors, and records the run", async () => {
      const before = tf.memory().numTensors;
      first = await trainStudent(db, { ...SMALL, out: out1 }, { quiet: true, datasets }); // dispatches to trainGpt
      assert.equal(tf.memory().numTensors, before);
      const again = await trainGpt(db, { ...SMALL, out: out2 }, { quiet: true, datasets });
      assert.equal(first.runId, again.runId);
      assert.equal(first.steps, 8);
      assert.deepEqual(again.curves, first.curves);
      const l = losses(first.curves);
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      assert.ok(mean(l.slice(-2)) < 0.9 * mean(l.slice(0, 2)), `loss ${l.map((x) => x.toFixed(3)).join(" ")}`);
      const rec = JSON.parse(readFileSync(join(out1, "training.json"), "utf8"));
      assert.equal(rec.arch, "gpt");
      assert.equal(rec.config.rationale, "template");
      assert.ok(rec.rationale.templateSlots > 0 && rec.backend && rec.versions && rec.throughput.examplesPerSec > 0);
      assert.equal(first.curves.filter((c) => c.split === "dev").length, 5, "epoch 0 (the untrained student) and every epoch");
    });

    it("micro-batches give the full-batch update (dropout and LM loss off)", async () => {
      const o = { ...SMALL, dropout: 0, lmWeight: 0, epochs: 1, maxSteps: 2 };
      const full = await trainGpt(db, { ...o, out: join(dir, "gpt-full") }, { quiet: true, datasets });
      const micro = await trainGpt(db, { ...o, microBatch: 1, out: join(dir, "gpt-micro") }, { quiet: true, datasets });
      const a = losses(full.curves), b = losses(micro.curves);
      assert.equal(a.length, 2);
      a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-4, `step ${i + 1}: ${x} vs ${b[i]}`));
    });

    it("a rerun of the finished run returns its record without training", async () => {
      const t0 = Date.now();
      const r = await trainGpt(db, { ...SMALL, out: out1 }, { quiet: true, datasets });
      assert.equal(r.reused, true);
      assert.equal(r.steps, first.steps);
      assert.deepEqual(r.curves, first.curves);
      assert.deepEqual(r.best, first.best);
      assert.ok(Date.now() - t0 < 15000, `rerun took ${Date.now() - t0} ms`);
    });

    it("the saved directory is a gpt model that reproduces the best dev nDCG@10", async () => {
      assert.equal(studentKind(out1), "gpt");
      const reranker = await loadReranker(out1);
      try {
        assert.equal(reranker.kind, "gpt");
        const run = await reranker.rerank(datasets.dl20.lists.slice(0, 1));
        const ndcg = evaluateRun(datasets.dl20.qrels, run, { metrics: ["ndcg@10"], querySet: "intersection" }).all["ndcg@10"];
        assert.equal(ndcg, first.best?.["ndcg@10"]);
      } finally {
        reranker.dispose();
      }
    });
  });

  describe("gpt model directory", () => {
    it("rerank from a saved directory gives the in-memory model's scores", async () => {
      const tokenizer = studentTokenizer(2000);
      const model = createRraGpt(resolveDecoderConfig({ vocabSize: tokenizer.idToToken.length, seed: 7 }, { preset: "tiny" }));
      const out = join(dir, "gpt-mem");
      try {
        const scoring = { composition: { scale: 1, prior: 0.5, weights: [] }, features: [], lexicon: shippedLexicon(datasets) };
        saveGptStudent(out, { model, tokenizer, maxLength: 48, scoring });
        const lists = datasets.dl20.lists.slice(0, 2).map((l) => ({ ...l, candidates: l.candidates.slice(0, 12) }));
        const mem = await rerankGptLists({ model, tokenizer, maxLength: 48, scoring }, lists, { batchSize: 5 });
        const loaded = loadGptStudent(out);
        try {
          const disk = await rerankGptLists(loaded, lists, { batchSize: 5 });
          assert.deepEqual([...disk.queries.entries()], [...mem.queries.entries()]);
        } finally {
          loaded.dispose();
        }
      } finally {
        model.dispose();
      }
    });

    it("tells the kinds apart and names a bad kind", () => {
      const bert = join(dir, "kind-bert"), bad = join(dir, "kind-bad");
      mkdirSync(bert);
      mkdirSync(bad);
      writeFileSync(join(bert, "config.json"), JSON.stringify({ preset: "tiny" }));
      writeFileSync(join(bad, "config.json"), JSON.stringify({ kind: "rra-t5" }));
      assert.equal(studentKind(bert), "bert");
      assert.throws(() => studentKind(bad), (e: Error) => e instanceof DataError && /rra-t5/.test(e.message));
      assert.throws(() => studentKind(join(dir, "nowhere")), /config.json is missing/);
    });
  });

  describe("CLI", () => {
    const silence = async (fn: () => Promise<number>): Promise<{ code: number; text: string }> => {
      const o = process.stdout.write, e = process.stderr.write;
      const lines: string[] = [];
      process.stdout.write = ((c: unknown) => (lines.push(String(c)), true)) as typeof o;
      process.stderr.write = ((c: unknown) => (lines.push(String(c)), true)) as typeof e;
      try {
        return { code: await fn(), text: lines.join("") };
      } finally {
        process.stdout.write = o;
        process.stderr.write = e;
      }
    };
    it("rra train --help documents --arch gpt and its flags; bad gpt flags exit 2", async () => {
      const help = await silence(() => main(["train", "--help"]));
      assert.equal(help.code, 0);
      for (const flag of ["bert (RRA-BERT) or gpt", "--rationale R", "--cls-weight A", "--lm-weight B", "--micro-batch M", "--pretrain-steps N"]) assert.ok(help.text.includes(flag), flag);
      const bad = await silence(() => main(["train", "--arch", "gpt", "--rationale", "llm", "--out", join(dir, "x"), "--db", ":memory:"]));
      assert.equal(bad.code, 2);
      assert.match(bad.text, /rationale must be one of/);
    });
    it("rra rerank --model serves a gpt directory", async () => {
      const input = join(dir, "input.json"), run = join(dir, "gpt.run");
      const l = datasets.dl20.lists[0];
      writeFileSync(input, JSON.stringify([{ query: l.query, hits: l.candidates.slice(0, 5).map((c, i) => ({ content: c.text, qid: l.qid, docid: c.docid, rank: i + 1, score: 5 - i })) }]));
      const r = await silence(() => main(["rerank", "--model", join(dir, "gpt-a"), "--input", input, "--out", run]));
      assert.equal(r.code, 0, r.text);
      assert.match(r.text, /\(gpt, native, tfjs-wasm(\+blas)?\)/);
      assert.equal(readRun(run).queries.get(l.qid)?.length, 5);
    });
  });
});
