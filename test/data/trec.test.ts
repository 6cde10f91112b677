import assert from "node:assert/strict";
import { readFileSync } from "fs";
import { readJudgments, readQrels, readRun, readTopics, writeRun, formatRun, compareTrecEval } from "../../lib/data/trec";
import { assertDataError, tempFile } from "../helpers";

describe("readTopics", () => {
  it("reads the shipped DL20 topics (all 200 released)", () => {
    const t = readTopics("data/trec-dl-2019-2020/topics.dl20.txt");
    assert.equal(t.length, 200);
    assert.deepEqual(t[0], { qid: "1030303", text: "who is aziz hashim" });
  });
  it("names file and line for a line without a tab", () => {
    const f = tempFile("topics.tsv", "1\tfirst query\n2 second query\n");
    assertDataError(() => readTopics(f), { file: f, line: 2 }, /qid<TAB>query text.*no tab/);
  });
  it("rejects an empty file", () => {
    const f = tempFile("topics.tsv", "\n \n");
    assertDataError(() => readTopics(f), { file: f }, /non-empty topics file, got an empty file/);
  });
  it("rejects a qid listed twice", () => {
    const f = tempFile("topics.tsv", "1\ta\n1\tb\n");
    assertDataError(() => readTopics(f), { file: f, line: 2 }, /qid "1" again \(first at line 1\)/);
  });
});

describe("readQrels", () => {
  it("reads the shipped DL19 qrels: 43 queries, 9,260 judgments", () => {
    const q = readQrels("data/trec-dl-2019-2020/qrels.dl19-passage.txt");
    assert.equal(q.size, 43);
    assert.equal([...q.values()].reduce((n, m) => n + m.size, 0), 9260);
    assert.equal(q.get("19335")?.get("1017759"), 0);
  });
  it("names the field of a non-numeric grade", () => {
    const f = tempFile("qrels.txt", "1 0 d1 2\n1 0 d2 high\n");
    assertDataError(() => readQrels(f), { file: f, line: 2 }, /\(rel\): expected an integer relevance grade, got "high"/);
  });
  it("rejects a line with the wrong number of fields", () => {
    const f = tempFile("qrels.txt", "1 0 d1 2\n1 d2 1\n");
    assertDataError(() => readJudgments(f), { file: f, line: 2 }, /4 fields.*3 field\(s\)/);
  });
  it("rejects a pair judged twice", () => {
    const f = tempFile("qrels.txt", "1 0 d1 2\n1 0 d1 1\n");
    assertDataError(() => readQrels(f), { file: f, line: 2 }, /judged once.*first at line 1/);
  });
  it("rejects an empty file", () => {
    const f = tempFile("qrels.txt", "");
    assertDataError(() => readQrels(f), { file: f }, /empty file/);
  });
});

describe("readRun", () => {
  it("reads the shipped BM25 DL19 run: 43 queries x 100", () => {
    const r = readRun("data/trec-dl-2019-2020/bm25_trec_results_dl19.txt");
    assert.equal(r.queries.size, 43);
    for (const docs of r.queries.values()) assert.equal(docs.length, 100);
    assert.equal(r.tag, "rank");
  });
  it("rejects a run line with 5 fields", () => {
    const f = tempFile("run.txt", "1 Q0 d1 1 3.5 tag\n1 Q0 d2 2 3.1\n");
    assertDataError(() => readRun(f), { file: f, line: 2 }, /6 fields `qid Q0 docid rank score tag`, got 5 field\(s\)/);
  });
  it("rejects a duplicate document within a query, naming both lines", () => {
    const f = tempFile("run.txt", "1 Q0 d1 1 3.5 t\n1 Q0 d2 2 3.1 t\n1 Q0 d1 3 3.0 t\n");
    assertDataError(() => readRun(f), { file: f, line: 3 }, /docid d1 again for qid 1 \(first at line 1\)/);
  });
  it("accepts the same document under two queries", () => {
    const f = tempFile("run.txt", "1 Q0 d1 1 3.5 t\n2 Q0 d1 1 3.1 t\n");
    assert.equal(readRun(f).queries.size, 2);
  });
  it("rejects a non-numeric score and a non-integer rank", () => {
    const f = tempFile("run.txt", "1 Q0 d1 1 abc t\n");
    assertDataError(() => readRun(f), { file: f, line: 1 }, /\(score\): expected a finite number, got "abc"/);
    const g = tempFile("run.txt", "1 Q0 d1 first 1.0 t\n");
    assertDataError(() => readRun(g), { file: g, line: 1 }, /\(rank\): expected an integer rank/);
  });
  it("rejects an empty file and a missing file", () => {
    const f = tempFile("run.txt", "\n");
    assertDataError(() => readRun(f), { file: f }, /empty file/);
    assertDataError(() => readRun("/nonexistent/run.txt"), { file: "/nonexistent/run.txt" }, /no such file/);
  });
  it("writes a run that reads back with the same documents and scores", () => {
    const run = readRun("data/rank-llm-listwise/rerank_runs/rankvicuna-7b_bm25-top20-single_dl19.trec");
    const out = tempFile("out.trec", "");
    writeRun(out, run);
    const back = readRun(out);
    assert.equal(back.tag, run.tag);
    for (const [qid, docs] of run.queries) {
      const a = docs.slice().sort(compareTrecEval).map((d) => [d.docid, d.score]);
      const b = back.queries.get(qid)!.map((d) => [d.docid, d.score]);
      assert.deepEqual(b, a);
    }
    assert.equal(formatRun(back), readFileSync(out, "utf8"));
  });
});

describe("compareTrecEval", () => {
  it("orders by score descending, ties by docid descending (trec_eval comp_sim_docno)", () => {
    const docs = [{ docid: "a", score: 1, rank: 1 }, { docid: "c", score: 2, rank: 2 }, { docid: "b", score: 1, rank: 3 }];
    assert.deepEqual(docs.sort(compareTrecEval).map((d) => d.docid), ["c", "b", "a"]);
  });
});
