import assert from "node:assert/strict";
import { readQrels, readRun } from "../../lib/data/trec";
import { evaluateRun, uniqueMetrics } from "../../lib/eval/evaluate";
import { runCli } from "./run-cli";

const QRELS = "data/trec-dl-2019-2020/qrels.dl19-passage.txt";
const RUN = "data/trec-dl-2019-2020/bm25_trec_results_dl19.txt";

describe("rra eval: a metric asked twice (issue 15 item 1)", () => {
  it("uniqueMetrics keeps one spec per canonical key, in first-seen order", () => {
    assert.deepEqual(uniqueMetrics(["ndcg@10", "ndcg_cut.10", "P_10", "ndcg_cut_10", "p@10", "map"]).map((m) => m.key), ["ndcg@10", "p@10", "map"]);
  });

  it("evaluateRun counts ndcg@10 once when it is named twice", () => {
    const r = evaluateRun(readQrels(QRELS), readRun(RUN), { metrics: ["ndcg@10", "ndcg_cut.10"] });
    assert.deepEqual(Object.keys(r.all), ["ndcg@10"]);
    assert.equal(r.all["ndcg@10"].toFixed(4), "0.5058");
  });

  it("rra eval --metrics ndcg@10,ndcg_cut.10 prints nDCG@10 0.5058 once", async () => {
    const r = await runCli(["eval", "--qrels", QRELS, "--run", RUN, "--metrics", "ndcg@10,ndcg_cut.10", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { all: Record<string, number> };
    assert.deepEqual(Object.keys(json.all), ["ndcg@10"]);
    assert.equal(json.all["ndcg@10"].toFixed(4), "0.5058");
    const text = await runCli(["eval", "--qrels", QRELS, "--run", RUN, "--metrics", "ndcg@10,ndcg_cut.10"]);
    assert.equal(text.stdout.match(/ndcg@10/g)?.length, 1, text.stdout);
    assert.match(text.stdout, /ndcg@10\s+0\.5058/);
  });
});
