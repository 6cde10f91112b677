import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type { Kysely } from "kysely";
import { initBackend } from "../../lib/backend/tf";
import { loadDataset } from "../../lib/data/datasets";
import type { Dataset, Run } from "../../lib/data/types";
import { evaluateRun } from "../../lib/eval/evaluate";
import { analyzeLists } from "../../lib/lexical/analyzed";
import { scoreList } from "../../lib/lexical/lexicon";
import { shippedLexicon } from "../../lib/lexical/shipped";
import { composeScores, createComposition } from "../../lib/models/composition";
import { resolveEncoderConfig } from "../../lib/models/presets";
import { createRraBert } from "../../lib/models/tcl";
import { closeStore, openStore } from "../../lib/store/db";
import type { Database } from "../../lib/store/schema";
import { packPairs, type QueryGroup } from "../../lib/train/batches";
import { fitComposition } from "../../lib/train/composition-fit";
import { studentTokenizer } from "../../lib/train/config";
import { listInputs } from "../../lib/train/lexical-inputs";
import { queryFolds, splitRun } from "../../lib/train/run-data";
import { trainSelected } from "../../lib/train/select";
import { scoreHeadIsZero } from "../../lib/train/loop";
import { rerankLists } from "../../lib/train/rerank";

describe("the residual student (composition, stage-1 fit, TCL v3, honest selection)", () => {
  let db: Kysely<Database>;
  let dl19: Dataset, dl20: Dataset;
  const dir = mkdtempSync(join(tmpdir(), "rra-residual-"));
  before(async () => {
    await initBackend({ quiet: true });
    db = await openStore(":memory:");
    dl19 = loadDataset("dl19");
    dl20 = loadDataset("dl20");
  });
  after(async () => {
    await closeStore(db);
  });

  it("composes s = scale * s_net + w . f + beta * z in tensors and in plain arrays alike", () => {
    const c = createComposition({ scale: 2, prior: 0.5, features: 2 });
    const [w] = c.variables();
    w.assign(tf.tensor1d([1, -1]));
    const s = c.compose(tf.tensor2d([[1, 2]]), tf.tensor2d([[0.5, -0.5]]), tf.tensor2d([[1, 0], [0, 3]]));
    // row: 2*1 + 1 + 0.25 = 3.25; 2*2 - 3 - 0.25 = 0.75
    assert.deepEqual(Array.from(s.dataSync()), [3.25, 0.75]);
    const v = c.values();
    assert.deepEqual(Array.from(composeScores(v, [1, 2], [0.5, -0.5], [[1, 0], [0, 3]])), [3.25, 0.75]);
    assert.equal(c.variables().length, 2, "w and beta train");
    tf.dispose(s);
    c.dispose();
  });

  it("a zero score head scores 0, so the untrained residual student ranks exactly as its prior", () => {
    const tok = studentTokenizer(2000);
    const model = createRraBert(resolveEncoderConfig({ vocabSize: tok.idToToken.length, seed: 3 }, { preset: "tiny" }), { tcl: false, tokenSelection: "exact", zeroHead: true });
    const batch = packPairs(tok, dl20.lists[0].candidates.slice(0, 5).map((c) => ({ query: dl20.lists[0].query, passage: c.text ?? "" })), { maxLength: 64, tokenSelection: null });
    const s = model.inferenceScores(batch);
    assert.deepEqual(Array.from(s.dataSync()), [0, 0, 0, 0, 0]);
    s.dispose();
    model.dispose();
  });

  it("scoreHeadIsZero: true for the zero head, false once a weight moves; skipping the network then changes no score", async () => {
    const tok = studentTokenizer(2000);
    const lexicon = shippedLexicon({ dl19, dl20 });
    const model = createRraBert(resolveEncoderConfig({ vocabSize: tok.idToToken.length, seed: 5 }, { preset: "tiny" }), { tcl: false, tokenSelection: "exact", zeroHead: true, composition: { prior: 1, scale: 10, features: 0 } });
    const student = { model, tokenizer: tok, maxLength: 48, matchChannel: false, matchIdf: false, lexicon, features: [], composition: () => model.composition?.values() ?? { scale: 10, prior: 0, weights: [] }, network: true };
    const lists = dl20.lists.slice(0, 3);
    assert.equal(scoreHeadIsZero(model), true);
    const withNet = await rerankLists(student, lists, { tag: "t" });
    const skipped = await rerankLists({ ...student, network: false }, lists, { tag: "t" });
    for (const l of lists) assert.deepEqual(skipped.queries.get(l.qid), withNet.queries.get(l.qid));
    model.encoder.setWeights({ "head/bias": { shape: [1], values: Float32Array.of(1e-7) } }, { partial: true });
    assert.equal(scoreHeadIsZero(model), false);
    model.dispose();
  });

  it("stage 1 fits w and beta on all groups at once: the loss goes down, deterministically", () => {
    const lex = shippedLexicon({ dl19, dl20 });
    const inputs = listInputs(lex, dl19.lists, ["coverage", "centroid"]);
    // groups from the qrels' grades (a stand-in teacher): the fit must find that coverage and the centroid help
    const groups: QueryGroup[] = dl19.lists.slice(0, 20).map((l) => {
      const c = l.candidates.slice(0, 30);
      const inp = inputs.get(l.qid);
      return {
        qid: l.qid, windowId: l.qid, query: l.query, passages: c.map((x) => x.text ?? ""), docids: c.map((x) => x.docid),
        labels: c.map((x) => dl19.qrels.get(l.qid)?.get(x.docid) ?? 0), hardNegative: c.map(() => 0),
        firstStage: c.map((x) => inp?.firstStage.get(x.docid) ?? 0), features: c.map((x) => inp?.features.get(x.docid) ?? new Float32Array(2)),
      };
    });
    const run = () => {
      const comp = createComposition({ prior: 1, features: 2 });
      const n0 = tf.memory().numTensors;
      const r = fitComposition(comp, groups, { loss: "listNet", steps: 100 });
      assert.equal(tf.memory().numTensors, n0, "no leaked tensors");
      const v = comp.values();
      comp.dispose();
      return { r, v };
    };
    const a = run(), b = run();
    assert.ok(a.r.lastLoss < a.r.firstLoss, JSON.stringify(a.r));
    assert.deepEqual(a.v, b.v);
    assert.ok(a.v.weights[0] > 0 || a.v.weights[1] > 0, JSON.stringify(a.v));
  });

  it("TCL v3 at initialisation: the term score t alone ranks within 0.01 nDCG@10 of BM25 over the same statistics", () => {
    const lex = shippedLexicon({ dl19, dl20 });
    const lists = dl20.lists.slice(0, 12);
    const inputs = listInputs(lex, lists, []);
    const tok = studentTokenizer(8000);
    const model = createRraBert(resolveEncoderConfig({ vocabSize: tok.idToToken.length, seed: 5, typeVocabSize: 2 }, { preset: "tiny" }), { tcl: true, tokenSelection: "exact" });
    const tRun: Run = { tag: "t", queries: new Map() }, bm25Run: Run = { tag: "bm25", queries: new Map() };
    const analyzed = analyzeLists(lists);
    lists.forEach((l, i) => {
      const pairs = l.candidates.map((c) => ({ query: l.query, passage: c.text ?? "", idf: inputs.get(l.qid)?.idf }));
      const batch = packPairs(tok, pairs, { maxLength: 128, tokenSelection: null, lexicon: lex, termArrays: true });
      const scores = model.trainingScores(batch, { training: false });
      const t = Array.from((scores.term as tf.Tensor).dataSync());
      tf.dispose([scores.sCls, scores.sTcl, scores.term as tf.Tensor]);
      const bm = scoreList(lex, analyzed[i]);
      tRun.queries.set(l.qid, l.candidates.map((c, k) => ({ docid: c.docid, score: t[k], rank: k + 1 })));
      bm25Run.queries.set(l.qid, l.candidates.map((c, k) => ({ docid: c.docid, score: bm[k], rank: k + 1 })));
    });
    model.dispose();
    const ndcg = (r: Run) => evaluateRun(dl20.qrels, r, { metrics: ["ndcg@10"], querySet: "intersection" }).all["ndcg@10"];
    assert.ok(Math.abs(ndcg(tRun) - ndcg(bm25Run)) <= 0.01, `t ${ndcg(tRun)} vs BM25 ${ndcg(bm25Run)}`);
  });

  it("folds: fixed per dataset, independent of the seed; a fold run never selects on a query it trained on", () => {
    const qids = dl19.lists.map((l) => l.qid);
    const f = queryFolds("dl19", qids, 3);
    assert.deepEqual([...queryFolds("dl19", [...qids].reverse(), 3)].sort(), [...f].sort());
    const sizes = [0, 1, 2].map((k) => [...f.values()].filter((v) => v === k).length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${sizes}`);
    const windows = dl19.lists.map((l, i) => ({ jobId: "j", windowId: `w${i}`, qid: l.qid, ord: i, docids: [], shuffleSeed: null, callId: null, anomalies: {}, facts: [] }));
    const split = splitRun({ train: "dl19", trainQueries: 0, folds: 3, fold: 1, devQueries: 0, heldOut: "" }, windows, dl19, dl19);
    const trained = new Set(split.windows.map((w) => w.qid));
    assert.ok(split.devLists.length >= 14 && split.devLists.every((l) => !trained.has(l.qid) && f.get(l.qid) === 1));
    assert.equal(trained.size + split.devLists.length, 43);
    // --train-queries N: the folds are folds of those N queries (held out in turn, every one once)
    const small = [0, 1].map((fold) => splitRun({ train: "dl19", trainQueries: 10, folds: 2, fold, devQueries: 0, heldOut: "" }, windows, dl19, dl19));
    const firstTen = new Set(windows.slice(0, 10).map((w) => w.qid));
    const heldOut = small.flatMap((s) => s.devLists.map((l) => l.qid));
    assert.deepEqual([...heldOut].sort(), [...firstTen].sort());
    for (const s of small) {
      const t = new Set(s.windows.map((w) => w.qid));
      assert.ok([...t].every((q) => firstTen.has(q)) && s.devLists.every((l) => !t.has(l.qid)));
      assert.equal(t.size + s.devLists.length, 10);
    }
  });

  it("trainSelected: the held-out curve's epoch 0 is BM25 itself; e* is its maximum and the refit stops there", async function () {
    this.timeout(600_000);
    const cfg = {
      train: "dl19" as const, dev: "dl19" as const, folds: 2, epochs: 2, maxSteps: 0, features: "none", prior: 1, tcl: false,
      preset: "tiny", vocabSize: 2000, maxLength: 48, groupSize: 8, groupsPerBatch: 4, lr: 1e-3, seed: 4,
    };
    const r = await trainSelected(db, cfg, { out: join(dir, "sel"), quiet: true, datasets: { dl19, dl20 }, fuse: true });
    assert.deepEqual(r.curve.map((c) => c.epoch), [0, 1, 2]);
    assert.equal(r.curve[0].queries, 43);
    // epoch 0: a zero head and the prior alone rank every held-out query as the shipped BM25 run does (published 0.5058)
    assert.ok(Math.abs(r.curve[0].ndcg - 0.5058) < 1e-4, `epoch 0 ${r.curve[0].ndcg}`);
    const best = r.curve.reduce((a, b) => (b.ndcg > a.ndcg + 1e-12 ? b : a));
    assert.equal(r.epoch, best.epoch);
    const record = JSON.parse(readFileSync(join(r.final.outDir, "training.json"), "utf8"));
    assert.equal(record.config.stopEpoch, r.epoch);
    assert.equal(record.config.fold, -1);
    assert.deepEqual(record.devQueries, []);
    assert.equal(r.final.best?.epoch, r.epoch);
    assert.ok(r.fusion && r.fusion.weight >= 0 && r.fusion.weight <= 1);
    for (const f of r.folds) {
      const rec = JSON.parse(readFileSync(join(f.outDir, "training.json"), "utf8"));
      assert.ok(existsSync(join(f.outDir, "dev-runs.json")));
      assert.equal(rec.trainQueries + rec.devQueries.length, 43);
    }
    // a second call reuses every run
    const again = await trainSelected(db, cfg, { out: join(dir, "sel"), quiet: true, datasets: { dl19, dl20 } });
    assert.equal(again.epoch, r.epoch);
    assert.equal(again.final.runId, r.final.runId);
  });
});
