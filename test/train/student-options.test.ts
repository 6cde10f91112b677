import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type { Dataset } from "../../lib/data/types";
import type { WindowRecord } from "../../lib/store/labels";
import { buildGroups, idfBucket, MATCH_TYPE_VOCAB, matchTypeVocab, packPairs } from "../../lib/train/batches";
import { finishedRecord } from "../../lib/train/run-state";
import { resolveTrainConfig, trainRunId, TRAIN_DEFAULTS } from "../../lib/train/config";
import { rerankComposed } from "../../lib/train/scoring";
import { WordPieceTokenizer } from "../../lib/tokenize/wordpiece";

const tokenizer = new WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cat", "dog", "sat", "the", "mat", "##s", "on", ","]);

describe("student options (match channel, first-stage prior, finished runs)", () => {
  it("match channel: token types 2 / 3 mark query / passage tokens whose word shares an analyzed term (stem) with the other side", () => {
    const b = packPairs(tokenizer, [{ query: "cats sat", passage: "the cat sat on the mat" }], { maxLength: 16, tokenSelection: null, padTo: "longest", matchChannel: true });
    const toks = Array.from(b.inputIds.subarray(0, b.seqLen)).map((id) => tokenizer.idToToken[id]);
    const types = Array.from(b.tokenTypeIds.subarray(0, b.seqLen));
    // hand-derived: "cats" (cat ##s) stems to "cat" and matches; "sat" matches on both sides; "the" and "on" are stop words
    assert.deepEqual(toks, ["[CLS]", "cat", "##s", "sat", "[SEP]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]);
    assert.deepEqual(types, [0, 2, 2, 2, 0, 1, 3, 3, 1, 1, 1, 1]);
    assert.ok(Math.max(...types) < MATCH_TYPE_VOCAB);
    const off = packPairs(tokenizer, [{ query: "cats sat", passage: "the cat sat on the mat" }], { maxLength: 16, tokenSelection: null, padTo: "longest" });
    assert.deepEqual(Array.from(off.tokenTypeIds.subarray(0, off.seqLen)), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
  });

  it("IDF-bucketed match channel: type = side + 2 * (1 + bucket of the matched term's collection idf)", () => {
    assert.deepEqual([0.5, 3.49, 3.5, 5.49, 5.5, 7.49, 7.5, 12].map(idfBucket), [0, 0, 1, 1, 2, 2, 3, 3]);
    assert.equal(matchTypeVocab(true), 10);
    const idf = new Map([["sat", 1.5], ["cat", 6.2], ["dog", 9]]);
    const b = packPairs(tokenizer, [{ query: "sat cat dog", passage: "the cat sat dog", idf: (t) => idf.get(t) ?? 1 }], { maxLength: 16, tokenSelection: null, padTo: "longest", matchChannel: true, matchIdf: true });
    // sat: bucket 0 -> 2 / 3; cat: bucket 2 -> 6 / 7; dog: bucket 3 -> 8 / 9; "the" is a stop word
    assert.deepEqual(Array.from(b.tokenTypeIds.subarray(0, b.seqLen)), [0, 2, 6, 8, 0, 1, 7, 3, 9, 1]);
  });

  it("never marks or selects the punctuation pieces of a matched word", () => {
    const b = packPairs(tokenizer, [{ query: "sat, cat", passage: "the cat, sat" }], { maxLength: 16, tokenSelection: "exact", padTo: "longest", matchChannel: true });
    const toks = Array.from(b.inputIds.subarray(0, b.seqLen)).map((id) => tokenizer.idToToken[id]);
    assert.deepEqual(toks, ["[CLS]", "sat", ",", "cat", "[SEP]", "the", "cat", ",", "sat", "[SEP]"]);
    assert.deepEqual(Array.from(b.tokenTypeIds.subarray(0, b.seqLen)), [0, 2, 0, 2, 0, 1, 3, 1, 3, 1]);
    assert.deepEqual(Array.from(b.selection?.mask ?? []), [0, 0, 0, 0, 0, 0, 1, 0, 1, 0]);
  });

  it("first-stage prior: groups carry each document's z-score within its query's list", () => {
    const ds: Dataset = {
      name: "t", queries: [{ qid: "q", text: "cat" }], qrels: new Map(), passages: new Map(["a", "b", "c"].map((d) => [d, { docid: d, text: `${d} cat` }])),
      lists: [{ qid: "q", query: "cat", candidates: [{ docid: "a", score: 3, rank: 1 }, { docid: "b", score: 2, rank: 2 }, { docid: "c", score: 1, rank: 3 }] }],
    } as unknown as Dataset;
    const w: WindowRecord = {
      jobId: "j", windowId: "w", qid: "q", ord: 0, docids: ["c", "a"], shuffleSeed: null, callId: null, anomalies: {},
      facts: [{ qid: "q", docid: "c", positionShown: 1, teacherRank: 1, missing: false, flags: {} }, { qid: "q", docid: "a", positionShown: 2, teacherRank: 2, missing: false, flags: {} }],
    } as unknown as WindowRecord;
    const [g] = buildGroups([w], ds, "hardNegative", 3);
    // scores (3, 2, 1): mean 2, population sd sqrt(2/3); z(c) = -1.2247, z(a) = +1.2247; padded slot 0
    assert.deepEqual(g.docids, ["c", "a", ""]);
    assert.deepEqual(g.firstStage.map((v) => +v.toFixed(4)), [-1.2247, 1.2247, 0]);
  });

  it("first-stage prior at serving: score = scale * s + prior * z within each list", async () => {
    const lists = [{ qid: "q", query: "x", candidates: [{ docid: "a", score: 3, rank: 1, text: "a" }, { docid: "b", score: 2, rank: 2, text: "b" }, { docid: "c", score: 1, rank: 3, text: "c" }] }];
    const net = () => Float32Array.from([0, 1, 2]); // prefers c > b > a
    const spec = (prior: number, scale = 1) => ({ composition: { scale, prior, weights: [] }, features: [], lexicon: null });
    const order = async (prior: number, scale = 1): Promise<string[]> => ((await rerankComposed(lists, net, spec(prior, scale))).queries.get("q") ?? []).map((c) => c.docid);
    assert.deepEqual(await order(0), ["c", "b", "a"]);
    // z = (1.2247, 0, -1.2247): prior 1 gives (1.2247, 1, 0.7753) -> a, b, c; prior 0.5 gives (0.6124, 1, 1.3876) -> c, b, a
    assert.deepEqual(await order(1), ["a", "b", "c"]);
    assert.deepEqual(await order(0.5), ["c", "b", "a"]);
    // scale 0.25 with prior 1: (1.2247, 0.25, -0.7247) -> a, b, c
    assert.deepEqual(await order(1, 0.25), ["a", "b", "c"]);
    const top = ((await rerankComposed(lists, net, spec(1))).queries.get("q") ?? [])[0];
    assert.ok(Math.abs(top.score - 1.224745) < 1e-5);
  });

  it("every switch is part of the run id, and the switches are validated", () => {
    const base = resolveTrainConfig({});
    assert.equal(TRAIN_DEFAULTS.scoreScale, 1);
    for (const o of [{ scoreScale: 10 }, { matchIdf: false }, { prior: 0 }, { features: "none" }, { tclVersion: 2 }, { targets: "linear" }, { folds: 3 }, { network: false, tcl: false }]) {
      assert.notEqual(trainRunId(resolveTrainConfig(o)), trainRunId(base), JSON.stringify(o));
    }
    assert.throws(() => resolveTrainConfig({ scoreScale: 0 }), /scoreScale must be positive/);
    assert.throws(() => resolveTrainConfig({ prior: -1 }), /prior must be a non-negative number/);
    assert.throws(() => resolveTrainConfig({ tclVersion: 4 }), /tclVersion must be 1, 2 or 3/);
    assert.throws(() => resolveTrainConfig({ targets: "log" }), /unknown target form "log"/);
    assert.throws(() => resolveTrainConfig({ features: "coverage,Centroid" }), /unknown feature "Centroid".*did you mean "centroid"/);
    assert.throws(() => resolveTrainConfig({ folds: 3, fold: 3 }), /fold must be -1/);
    assert.throws(() => resolveTrainConfig({ folds: 3, fold: 1, dev: "dl20" }), /dev must equal train/);
    assert.throws(() => resolveTrainConfig({ network: false, prior: 0, features: "none" }), /network false with no prior and no features leaves nothing to train/);
  });

  it("a finished run's record is returned as is; an interrupted or different run is not", () => {
    const dir = mkdtempSync(join(tmpdir(), "rra-finished-"));
    const record = (status: string, runId = "student-x") => writeFileSync(join(dir, "training.json"), JSON.stringify({ runId, status, steps: 7, best: { epoch: 2, step: 7, "ndcg@10": 0.5 }, curves: [], throughput: { stepsPerSec: 1, examplesPerSec: 9 } }));
    record("done");
    assert.equal(finishedRecord(dir, "student-x"), null, "model files missing");
    for (const f of ["config.json", "weights.json", "weights.bin"]) writeFileSync(join(dir, f), "{}");
    const r = finishedRecord(dir, "student-x");
    assert.equal(r?.steps, 7);
    assert.equal(r?.throughput.examplesPerSec, 9);
    assert.equal(finishedRecord(dir, "student-y"), null);
    record("interrupted");
    assert.equal(finishedRecord(dir, "student-x"), null);
    record("stopped");
    assert.equal(finishedRecord(dir, "student-x")?.status, "stopped");
  });
});
