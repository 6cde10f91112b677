import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type { Kysely } from "kysely";
import { initBackend } from "../../lib/backend/tf";
import { main } from "../../lib/cli/main";
import { ConfigError } from "../../lib/core/errors";
import { loadDataset } from "../../lib/data/datasets";
import { readRun } from "../../lib/data/trec";
import type { Dataset } from "../../lib/data/types";
import { resolveEncoderConfig } from "../../lib/models/presets";
import { createRraBert } from "../../lib/models/tcl";
import { closeStore, openStore } from "../../lib/store/db";
import type { Database } from "../../lib/store/schema";
import { buildGroups, epochOrder, packGroups, readLabelsJsonl } from "../../lib/train/batches";
import { shippedLexicon } from "../../lib/lexical/shipped";
import { createTrainStep, loadTrainCurves, resolveTrainConfig, studentTokenizer, trainRunId, trainStudent, type CurvePoint, type TrainConfig } from "../../lib/train/loop";
import { loadStudent } from "../../lib/train/rerank";
import { clipByGlobalNorm, createAdamW, decaysWeight, learningRateAt } from "../../lib/train/schedule";
import { runLabelJob } from "../../lib/labels/pipeline";
import { loadWindows } from "../../lib/store/labels";
import { writeLabelsJsonl } from "../../lib/labels/jsonl";

const dir = mkdtempSync(join(tmpdir(), "rra-train-"));
/** Small, fast settings: tiny preset, small vocabulary, short pairs, a handful of queries. */
const SMALL: Partial<TrainConfig> = { preset: "tiny", vocabSize: 2000, maxLength: 64, groupsPerBatch: 2, trainQueries: 4, devQueries: 1, patience: 0 };
const losses = (curves: CurvePoint[]): number[] => curves.filter((c) => c.split === "train" && c.metric === "loss").map((c) => c.value);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("student training (lib/train)", () => {
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

  describe("schedule", () => {
    it("warms up linearly, then decays linearly to 0", () => {
      const s = { lr: 1, warmupSteps: 4, totalSteps: 12 };
      assert.deepEqual([0, 1, 3, 4, 8, 12].map((i) => learningRateAt(i, s)), [0.25, 0.5, 1, 1, 0.5, 0]);
    });
    it("clips by global norm and decays weights only (not biases, gamma, beta)", () => {
      const { grads, norm } = clipByGlobalNorm([tf.tensor1d([3]), tf.tensor1d([4])], 1);
      assert.equal(norm.dataSync()[0], 5);
      assert.deepEqual(grads.map((g) => Array.from(g.dataSync()).map((v) => +v.toFixed(5))), [[0.6], [0.8]]);
      tf.dispose([...grads, norm]);
      assert.deepEqual(["e/layer0/attn/qkv/kernel", "e/layer0/attn/qkv/bias", "e/ln1/gamma", "e/ln1/beta", "e/embeddings/word"].map(decaysWeight), [true, false, false, false, true]);
    });
    it("AdamW: first step moves each weight by lr * (sign(g) + weightDecay * p)", () => {
      const p = tf.variable(tf.tensor1d([1, -2]), true, "t/kernel");
      const opt = createAdamW([p], { weightDecay: 0.1 });
      const g = tf.tensor1d([0.5, -3]);
      opt.apply([g], 0.01);
      const got = Array.from(p.dataSync());
      assert.ok(Math.abs(got[0] - (1 - 0.01 * (1 + 0.1))) < 1e-5 && Math.abs(got[1] - (-2 - 0.01 * (-1 - 0.2))) < 1e-5, String(got));
      tf.dispose([p, g]);
      opt.dispose();
    });
  });

  describe("batches", () => {
    it("builds padded query groups with hard negatives, shuffles per epoch with a seed, packs Token Selection", async () => {
      const { summary } = await runLabelJob(db, { dataset: "dl19", teacher: "projected:rankvicuna-7b", selection: "top10+bottom10" }, { quiet: true, dataset: datasets.dl19 });
      const windows = await loadWindows(db, summary.job);
      const groups = buildGroups(windows, datasets.dl19, "hardNegative", 24);
      assert.equal(groups.length, windows.length);
      const g = groups.find((x) => x.hardNegative.some((h) => h === 1)) ?? groups[0];
      assert.equal(g.labels.length, 24);
      assert.deepEqual(g.labels.slice(20), [-1, -1, -1, -1]);
      for (let i = 0; i < 24; i++) if (g.hardNegative[i]) assert.equal(g.labels[i], 0);
      assert.deepEqual(epochOrder(10, 42, 0), epochOrder(10, 42, 0));
      assert.notDeepEqual(epochOrder(10, 42, 0), epochOrder(10, 42, 1));
      const tok = studentTokenizer(2000);
      const b = packGroups(tok, groups, [0, 1], { maxLength: 64, tokenSelection: "exact", lexicon: shippedLexicon(datasets) });
      assert.equal(b.encoder.batch, 48);
      assert.equal(b.encoder.inputIds.length, 48 * 64);
      assert.ok(b.encoder.selection && b.encoder.selection.mask.some((v) => v === 1), "some query words are selected in passages");
      // labels.jsonl round trip gives the same groups
      const file = join(dir, "labels.jsonl");
      writeLabelsJsonl(file, windows, "hardNegative");
      assert.deepEqual(buildGroups(readLabelsJsonl(file), datasets.dl19, "hardNegative", 24).map((x) => x.labels), groups.map((x) => x.labels));
    });
  });

  describe("config", () => {
    it("rejects unknown keys, wrong types and unknown archs, and keeps out of the run id", () => {
      assert.throws(() => resolveTrainConfig({ lerningRate: 1 } as unknown as Partial<TrainConfig>), (e: Error) => e instanceof ConfigError && /unknown key "lerningRate"/.test(e.message));
      assert.throws(() => resolveTrainConfig({ epochs: "3" } as unknown as Partial<TrainConfig>), ConfigError);
      assert.throws(() => resolveTrainConfig({ arch: "gpt2" }), /arch must be "bert" or "gpt", got "gpt2"/);
      assert.throws(() => resolveTrainConfig({ loss: "listnet" }), /did you mean "listNet"/);
      assert.throws(() => resolveTrainConfig({ maxLength: 256 }), /maxLen 128/);
      assert.equal(trainRunId(resolveTrainConfig({ out: "a" })), trainRunId(resolveTrainConfig({ out: "b" })));
      assert.notEqual(trainRunId(resolveTrainConfig({ seed: 1 })), trainRunId(resolveTrainConfig({ seed: 2 })));
    });
  });

  describe("loop", () => {
    it("leaks zero tensors per training step", async () => {
      const tok = studentTokenizer(2000);
      const windows = readLabelsJsonl(join(dir, "labels.jsonl"));
      const groups = buildGroups(windows, datasets.dl19, "hardNegative", 20);
      const model = createRraBert(resolveEncoderConfig({ vocabSize: tok.idToToken.length, seed: 1 }, { preset: "tiny" }), { tcl: true, tokenSelection: "exact" });
      const opt = createAdamW(model.trainableVariables());
      const step = createTrainStep(model, opt, { loss: "rankNet", clip: 1, seed: 3 }, () => 1e-3);
      const batch = packGroups(tok, groups, [0, 1], { maxLength: 64, tokenSelection: null, lexicon: shippedLexicon(datasets), termArrays: true });
      step(batch, 0);
      const before = tf.memory().numTensors;
      for (let i = 1; i <= 3; i++) {
        const { loss } = step(batch, i);
        assert.ok(Number.isFinite(loss));
        assert.equal(tf.memory().numTensors, before, `tensors after step ${i}`);
      }
      opt.dispose();
      model.dispose();
    });

    it("smoke: 20 seeded steps lower the loss, the same seed gives the same curve, another seed another", async () => {
      const cfg: Partial<TrainConfig> = { ...SMALL, epochs: 10, maxSteps: 20 };
      const a = await trainStudent(db, { ...cfg, out: join(dir, "smoke-a") }, { quiet: true, datasets });
      const b = await trainStudent(db, { ...cfg, out: join(dir, "smoke-b") }, { quiet: true, datasets });
      const c = await trainStudent(db, { ...cfg, seed: 7, maxSteps: 4, out: join(dir, "smoke-c") }, { quiet: true, datasets });
      const la = losses(a.curves);
      assert.equal(la.length, 20);
      assert.ok(mean(la.slice(-5)) < mean(la.slice(0, 5)), `loss goes down: ${la.map((x) => x.toFixed(3)).join(" ")}`);
      assert.deepEqual(losses(b.curves), la);
      assert.notDeepEqual(losses(c.curves), la.slice(0, 4));
      const stored = (await loadTrainCurves(db, b.runId)).filter((p) => p.metric === "loss").map((p) => p.value);
      assert.deepEqual(stored, la);
      assert.ok(a.best && a.best["ndcg@10"] >= 0 && a.best["ndcg@10"] <= 1);
      const record = JSON.parse(readFileSync(join(a.outDir, "training.json"), "utf8"));
      assert.equal(record.seed, 42);
      assert.equal(record.bestEpoch, a.best?.epoch);
      for (const f of ["config.json", "weights.json", "weights.bin", "vocab.txt", "tokenizer.json"]) assert.ok(existsSync(join(a.outDir, f)), f);
    });

    it("resumes from the last checkpoint to the same final weights as an uninterrupted run", async () => {
      const cfg: Partial<TrainConfig> = { ...SMALL, trainQueries: 2, groupsPerBatch: 1, epochs: 3 };
      const full = await trainStudent(db, { ...cfg, out: join(dir, "full") }, { quiet: true, datasets });
      const part = await trainStudent(db, { ...cfg, out: join(dir, "resumed") }, { quiet: true, datasets, stopAfterEpochs: 1 });
      assert.equal(part.status, "interrupted");
      assert.equal(part.steps, 2);
      const rest = await trainStudent(db, { ...cfg, out: join(dir, "resumed") }, { quiet: true, datasets });
      assert.equal(rest.resumedFromEpoch, 1);
      assert.equal(rest.steps, 6);
      assert.deepEqual(losses(rest.curves), losses(full.curves));
      const w1 = readFileSync(join(dir, "full", "checkpoint", "tensors.bin"));
      const w2 = readFileSync(join(dir, "resumed", "checkpoint", "tensors.bin"));
      assert.ok(w1.equals(w2), "final weights and optimizer state are bit-identical");
    });

    it("CLI: rra train writes a model dir, rra rerank writes a TREC run of 100 per query, rra eval reads it", async () => {
      const out = join(dir, "cli-model");
      const dbFile = join(dir, "cli.sqlite");
      const silence = <T>(fn: () => Promise<T>): Promise<T> => {
        const o = process.stdout.write, e = process.stderr.write;
        const lines: string[] = [];
        process.stdout.write = ((c: unknown) => (lines.push(String(c)), true)) as typeof o;
        process.stderr.write = ((c: unknown) => true) as typeof e;
        return fn().finally(() => { process.stdout.write = o; process.stderr.write = e; (silence as unknown as { last: string }).last = lines.join(""); });
      };
      const last = (): string => (silence as unknown as { last: string }).last;
      assert.equal(await silence(() => main(["train", "--help"])), 0);
      assert.equal(await silence(() => main(["train", "--arch", "gpt2", "--out", out, "--db", dbFile])), 2);
      const code = await silence(() => main(["train", "--arch", "bert", "--preset", "tiny", "--train", "dl19", "--dev", "dl20", "--vocab-size", "2000", "--max-length", "64",
        "--batch", "1", "--train-queries", "2", "--dev-queries", "1", "--epochs", "1", "--max-steps", "2", "--loss", "rankNet", "--tcl", "off", "--out", out, "--db", dbFile, "--json"]));
      assert.equal(code, 0);
      const rec = JSON.parse(last());
      assert.equal(rec.steps, 2);
      const student = loadStudent(out);
      student.dispose();
      const input = join(dir, "dl20-two.json");
      const all = JSON.parse(readFileSync("data/trec-dl-2019-2020/bm25_retrieve_results_dl20.json", "utf8")) as unknown[];
      writeFileSync(input, JSON.stringify(all.slice(0, 2)));
      const runFile = join(dir, "student.run");
      assert.equal(await silence(() => main(["rerank", "--model", out, "--input", input, "--out", runFile, "--batch", "64"])), 0);
      const run = readRun(runFile);
      assert.equal(run.queries.size, 2);
      for (const docs of run.queries.values()) assert.equal(docs.length, 100);
      assert.equal(await silence(() => main(["eval", "--qrels", "data/trec-dl-2019-2020/qrels.dl20-passage.txt", "--run", runFile, "--query-set", "intersection", "--metrics", "ndcg@10", "--json"])), 0);
      const ev = JSON.parse(last());
      assert.ok(ev.all["ndcg@10"] >= 0 && ev.all["ndcg@10"] <= 1);
    });
  });
});
