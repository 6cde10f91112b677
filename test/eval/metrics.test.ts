import assert from "node:assert/strict";
import { readReference } from "../../lib/data/check";
import { readQrels, readRun } from "../../lib/data/trec";
import type { Qrels, Run } from "../../lib/data/types";
import { evaluateRun } from "../../lib/eval/evaluate";
import { computeNdcg, parseMetric } from "../../lib/eval/metrics";

/** trec_eval measure names of the reference file -> our metric keys. */
const MEASURES: Record<string, string> = {
  ndcg_cut_1: "ndcg@1", ndcg_cut_5: "ndcg@5", ndcg_cut_10: "ndcg@10", ndcg_cut_20: "ndcg@20",
  "map@rel2": "map", "recip_rank@rel2": "rr", "P_10@rel2": "p@10", "recall_20@rel2": "recall@20",
  "recall_100@rel2": "recall@100", "mrr@10@rel2": "mrr@10",
};

const qrelsOf = (pairs: Array<[string, string, number]>): Qrels => {
  const q: Qrels = new Map();
  for (const [qid, docid, rel] of pairs) {
    if (!q.has(qid)) q.set(qid, new Map());
    q.get(qid)!.set(docid, rel);
  }
  return q;
};
const runOf = (lists: Record<string, Array<[string, number]>>): Run => ({
  tag: "t",
  queries: new Map(Object.entries(lists).map(([qid, docs]) => [qid, docs.map(([docid, score], i) => ({ docid, score, rank: i + 1 }))])),
});

describe("evaluateRun against NIST trec_eval (data/reference/trec_eval_reference.tsv)", () => {
  // The reference file holds trec_eval 9.x output for every shipped run (commands in its header).
  const figures = readReference("data/reference/trec_eval_reference.tsv");
  const byRun = new Map<string, typeof figures>();
  for (const f of figures) byRun.set(`${f.run}\t${f.qrels}`, [...(byRun.get(`${f.run}\t${f.qrels}`) ?? []), f]);

  it("covers all 19 shipped runs and 10 measures", () => {
    assert.equal(byRun.size, 19);
    assert.equal(figures.length, 190);
  });
  for (const [key, rows] of byRun) {
    const [runFile, qrelsFile] = key.split("\t");
    it(`reproduces every figure of ${runFile.split("/").pop()} to 4 decimals`, () => {
      const result = evaluateRun(readQrels(qrelsFile), readRun(runFile), { metrics: Object.values(MEASURES), relThreshold: 2 });
      for (const r of rows) {
        const ours = result.all[MEASURES[r.measure]];
        assert.equal(ours.toFixed(4), r.value.toFixed(4), `${r.measure} (reference line ${r.line}): ours ${ours}, trec_eval ${r.value}`);
      }
    });
  }
  it("gives the published BM25 anchors: nDCG@10 0.5058 (DL19) and 0.4796 (DL20)", () => {
    const dl19 = evaluateRun(readQrels("data/trec-dl-2019-2020/qrels.dl19-passage.txt"), readRun("data/trec-dl-2019-2020/bm25_trec_results_dl19.txt"), { metrics: ["ndcg@10"] });
    const dl20 = evaluateRun(readQrels("data/trec-dl-2019-2020/qrels.dl20-passage.txt"), readRun("data/trec-dl-2019-2020/bm25_trec_results_dl20.txt"), { metrics: ["ndcg@10"] });
    assert.equal(dl19.all["ndcg@10"].toFixed(4), "0.5058");
    assert.equal(dl20.all["ndcg@10"].toFixed(4), "0.4796");
  });
});

describe("metrics on hand-computed cases", () => {
  // query 1 judged: a=3, b=2, c=0, d=1 ; run ranks x(unjudged), b, a, c
  const qrels = qrelsOf([["1", "a", 3], ["1", "b", 2], ["1", "c", 0], ["1", "d", 1]]);
  const run = runOf({ "1": [["x", 4], ["b", 3], ["a", 2], ["c", 1]] });
  const r = evaluateRun(qrels, run, { metrics: ["ndcg@3", "p@2", "recall@3", "map", "mrr@1", "mrr@10", "judged@4", "judged@10"] }).perQuery["1"];

  it("nDCG@3 = (2/log2 3 + 3/log2 4) / (3 + 2/log2 3 + 1/log2 4)", () => {
    const dcg = 2 / Math.log2(3) + 3 / 2;
    const idcg = 3 + 2 / Math.log2(3) + 1 / 2;
    assert.ok(Math.abs(r["ndcg@3"] - dcg / idcg) < 1e-15);
  });
  it("binary measures use grade >= 2 (a and b relevant, d not)", () => {
    assert.equal(r["p@2"], 0.5);
    assert.equal(r["recall@3"], 1);
    assert.equal(r["map"], (1 / 2 + 2 / 3) / 2);
    assert.equal(r["mrr@1"], 0);
    assert.equal(r["mrr@10"], 0.5);
  });
  it("judged@k counts judged documents over k", () => {
    assert.equal(r["judged@4"], 0.75);
    assert.equal(r["judged@10"], 0.3);
  });
  it("a lower threshold makes grade-1 documents relevant", () => {
    const q = qrelsOf([["1", "d", 1], ["1", "a", 3]]);
    const v = evaluateRun(q, runOf({ "1": [["d", 2], ["a", 1]] }), { metrics: ["mrr@10"], relThreshold: 1 });
    assert.equal(v.all["mrr@10"], 1);
  });
  it("orders by score, not by the rank column, and breaks ties by docid descending", () => {
    const q = qrelsOf([["1", "a", 3]]);
    // a and b tie on score: trec_eval puts "b" first (docid descending)
    const tie = evaluateRun(q, runOf({ "1": [["a", 1], ["b", 1]] }), { metrics: ["mrr@10"] });
    assert.equal(tie.all["mrr@10"], 0.5);
    const byScore = evaluateRun(q, runOf({ "1": [["b", 1], ["a", 2]] }), { metrics: ["mrr@10"] });
    assert.equal(byScore.all["mrr@10"], 1);
  });
  it("averages over every judged query (trec_eval -c): a missing query scores 0, an unjudged one is ignored", () => {
    const q = qrelsOf([["1", "a", 2], ["2", "b", 2]]);
    const v = evaluateRun(q, runOf({ "1": [["a", 1]], "9": [["z", 1]] }), { metrics: ["mrr@10"] });
    assert.deepEqual(Object.keys(v.perQuery), ["1", "2"]);
    assert.equal(v.all["mrr@10"], 0.5);
    const inter = evaluateRun(q, runOf({ "1": [["a", 1]] }), { metrics: ["mrr@10"], querySet: "intersection" });
    assert.equal(inter.all["mrr@10"], 1);
  });
  it("nDCG is 0 when a query has no document with a positive grade", () => {
    assert.equal(computeNdcg({ grades: [0, undefined], judged: [0, 0] }, 10), 0);
  });
  it("maxDocs truncates after sorting (trec_eval -M)", () => {
    const q = qrelsOf([["1", "a", 2]]);
    const v = evaluateRun(q, runOf({ "1": [["x", 3], ["y", 2], ["a", 1]] }), { metrics: ["rr"], maxDocs: 2 });
    assert.equal(v.all["rr"], 0);
  });
});

describe("parseMetric", () => {
  it("accepts our keys and trec_eval's names", () => {
    assert.equal(parseMetric("nDCG@10").key, "ndcg@10");
    assert.equal(parseMetric("ndcg_cut_10").key, "ndcg@10");
    assert.equal(parseMetric("ndcg_cut.10").key, "ndcg@10");
    assert.equal(parseMetric("P_10").key, "p@10");
    assert.equal(parseMetric("recall.100").key, "recall@100");
    assert.equal(parseMetric("recip_rank").key, "rr");
    assert.equal(parseMetric("MRR@10").key, "mrr@10");
    assert.equal(parseMetric("map").key, "map");
  });
  it("explains unknown names and missing cutoffs", () => {
    assert.throws(() => parseMetric("bleu"), /unknown metric "bleu"; expected one of ndcg@k/);
    assert.throws(() => parseMetric("ndcg"), /needs a cutoff, e.g. ndcg@10/);
    assert.throws(() => parseMetric("p@0"), /cutoff must be at least 1/);
  });
});
