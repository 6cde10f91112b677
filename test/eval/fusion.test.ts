import { strict as assert } from "assert";
import type { Qrels, Run } from "../../lib/data/types";
import { fuseRuns, firstStageRun, tuneFusionWeight } from "../../lib/eval/fusion";

const run = (tag: string, q: Record<string, Record<string, number>>): Run => ({
  tag, queries: new Map(Object.entries(q).map(([qid, docs]) => [qid, Object.entries(docs).map(([docid, score], i) => ({ docid, score, rank: i + 1 }))])),
});
const order = (r: Run, qid: string): string[] => (r.queries.get(qid) ?? []).map((c) => c.docid);

// Hand computation: a = (3, 1, 2) has mean 2, population sd sqrt(2/3) = 0.8165, z = (1.2247, -1.2247, 0);
// b = (10, 30, 20) has z = (-1.2247, 1.2247, 0). At w the fused scores are (1 - 2w) * (1.2247, -1.2247, 0).
describe("eval/fusion", () => {
  const a = run("a", { q1: { d1: 3, d2: 1, d3: 2 } });
  const b = run("b", { q1: { d1: 10, d2: 30, d3: 20 } });

  it("standardises per query and mixes by the weight (hand-computed)", () => {
    const f = fuseRuns(a, b, 0.25);
    assert.deepEqual(order(f, "q1"), ["d1", "d3", "d2"]);
    assert.ok(Math.abs((f.queries.get("q1") ?? [])[0].score - 0.5 * 1.224745) < 1e-5);
    assert.deepEqual(order(fuseRuns(a, b, 0.75), "q1"), ["d2", "d3", "d1"]);
    assert.deepEqual(order(fuseRuns(a, b, 0), "q1"), ["d1", "d3", "d2"]);
    assert.deepEqual(order(fuseRuns(a, b, 1), "q1"), ["d2", "d3", "d1"]);
  });

  it("gives a document missing from run b the query's lowest z of b", () => {
    // b' = (10, 30) has z = (-1, 1); d3 gets -1. At w = 0.5: d1 0.1124, d2 -0.1124, d3 -0.5.
    const f = fuseRuns(a, run("b2", { q1: { d1: 10, d2: 30 } }), 0.5);
    assert.deepEqual(order(f, "q1"), ["d1", "d2", "d3"]);
    assert.ok(Math.abs((f.queries.get("q1") ?? [])[2].score + 0.5) < 1e-9);
  });

  it("tunes the smallest grid weight with the best nDCG@10", () => {
    const qrels: Qrels = new Map([["q1", new Map([["d2", 3], ["d1", 0], ["d3", 0]])]]);
    const t = tuneFusionWeight(qrels, a, b);
    assert.equal(t.weight, 0.6); // the first weight > 0.5 puts d2 first
    assert.equal(t.ndcg, 1);
    assert.equal(t.curve.length, 11);
  });

  it("rejects a weight outside [0, 1] and builds runs from candidate lists", () => {
    assert.throws(() => fuseRuns(a, b, 1.5), /weight must be in \[0, 1\], got 1.5/);
    const r = firstStageRun([{ qid: "q1", query: "x", candidates: [{ docid: "d1", score: 5, rank: 1 }, { docid: "d2", score: 4, rank: 2 }] }], "bm25", 1);
    assert.deepEqual(order(r, "q1"), ["d1"]);
  });
});
