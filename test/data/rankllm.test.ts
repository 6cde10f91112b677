import assert from "node:assert/strict";
import { readPromptLog, readRetrieveResults, splitConcatenatedJson } from "../../lib/data/rankllm";
import { readCorpus, loadNovelEval, unquoteTsvField } from "../../lib/data/noveleval";
import { loadDataset } from "../../lib/data/datasets";
import { assertDataError, tempFile } from "../helpers";

const hit = (docid: string, rank: number) => ({ content: `text ${docid}`, qid: 7, docid, rank, score: 10 - rank });

describe("readRetrieveResults", () => {
  it("reads the shipped DL19 BM25 candidates with passage text", () => {
    const lists = readRetrieveResults("data/trec-dl-2019-2020/bm25_retrieve_results_dl19.json");
    assert.equal(lists.length, 43);
    assert.equal(lists[0].query, "how long is life cycle of flea");
    assert.equal(lists[0].candidates.length, 100);
    assert.equal(typeof lists[0].qid, "string");
    assert.ok(lists[0].candidates[0].text!.length > 0);
  });
  it("names file and line of a truncated JSON document", () => {
    const text = JSON.stringify([{ query: "q", hits: [hit("d1", 1), hit("d2", 2)] }], null, 1);
    const f = tempFile("rr.json", text.slice(0, text.length - 40));
    const e = assertDataError(() => readRetrieveResults(f), { file: f }, /valid retrieve_results JSON, got a truncated document/);
    assert.ok(e.line! > 1);
  });
  it("names the JSON path of a hit with a wrong type", () => {
    const f = tempFile("rr.json", JSON.stringify([{ query: "q", hits: [hit("d1", 1), { ...hit("d2", 2), score: "high" }] }]));
    assertDataError(() => readRetrieveResults(f), { file: f }, /\(\[0\]\.hits\[1\]\.score\): expected a finite number, got string "high"/);
  });
  it("rejects a duplicate document of one query", () => {
    const f = tempFile("rr.json", JSON.stringify([{ query: "q", hits: [hit("d1", 1), hit("d1", 2)] }]));
    assertDataError(() => readRetrieveResults(f), { file: f }, /each docid once per query, got docid d1 again for qid 7/);
  });
  it("rejects an empty file and an empty array", () => {
    const f = tempFile("rr.json", "");
    assertDataError(() => readRetrieveResults(f), { file: f }, /empty file/);
    const g = tempFile("rr.json", "[]");
    assertDataError(() => readRetrieveResults(g), { file: g }, /at least one query, got an empty array/);
  });
  it("reports a syntax error with its line", () => {
    const f = tempFile("rr.json", '[\n{"query": "q",\n "hits": [}\n]');
    assertDataError(() => readRetrieveResults(f), { file: f, line: 3 }, /got "}\\n]" at column 11 where a value was expected/);
  });
});

describe("readPromptLog", () => {
  it("reads a real rank_llm log (objects separated by \", \", trailing separator)", () => {
    const log = readPromptLog("data/rank-llm-listwise/prompts_and_responses/rankvicuna-7b_bm25-top20-single_dl19.json");
    assert.equal(log.length, 43);
    assert.match(log[0].prompt, /^You are RankVicuna/);
    assert.match(log[0].response, /^\[\d+\] > \[\d+\]/);
    assert.equal(log[0].line, 1);
  });
  it("reads all 387 windows of the DL19 sliding-window log", () => {
    assert.equal(readPromptLog("data/rank-llm-listwise/prompts_and_responses/rankvicuna-7b_bm25-top100-sw20s10_dl19.json").length, 387);
  });
  it("keeps braces and quotes inside strings", () => {
    const parts = splitConcatenatedJson('{"a": "x } \\" {"}, {"b": [1, {"c": 2}]}, ', "f");
    assert.deepEqual(parts.map((p) => JSON.parse(p.source)), [{ a: 'x } " {' }, { b: [1, { c: 2 }] }]);
  });
  it("names the object and line of a truncated log", () => {
    const f = tempFile("log.json", '{\n "prompt": "p1",\n "response": "[1] > [2]"\n}, {\n "prompt": "p2",\n "response": "[2] >');
    assertDataError(() => readPromptLog(f), { file: f, line: 6 }, /complete JSON object \(the one starting at line 4\).*truncated/);
  });
  it("names a missing response field", () => {
    const f = tempFile("log.json", '{"prompt": "p", "response": "r"}, {"prompt": "p2"}');
    assertDataError(() => readPromptLog(f), { file: f }, /object 2 \(line 1\)\.response\): expected a string, got nothing/);
  });
  it("rejects an empty log and a log that is not objects", () => {
    const f = tempFile("log.json", " \n");
    assertDataError(() => readPromptLog(f), { file: f }, /empty file/);
    const g = tempFile("log.json", "hello");
    assertDataError(() => readPromptLog(g), { file: g, line: 1 }, /JSON object/);
  });
});

describe("NovelEval", () => {
  it("loads 21 questions x 20 judged passages", () => {
    const d = loadNovelEval("data/noveleval");
    assert.equal(d.queries.length, 21);
    assert.equal(d.lists.length, 21);
    assert.ok(d.lists.every((l) => l.candidates.length === 20));
    assert.equal([...d.qrels.values()].reduce((n, m) => n + m.size, 0), 420);
  });
  it("rejects a corpus line without a tab and a duplicate docid", () => {
    const f = tempFile("corpus.tsv", "0-0\tfirst\n0-1 second\n");
    assertDataError(() => readCorpus(f), { file: f, line: 2 }, /no tab/);
    const g = tempFile("corpus.tsv", "0-0\tfirst\n0-0\tsecond\n");
    assertDataError(() => readCorpus(g), { file: g, line: 2 }, /docid "0-0" again/);
  });
});

describe("loadDataset", () => {
  it("loads DL20 with only its 54 judged topics", () => {
    const d = loadDataset("dl20");
    assert.equal(d.queries.length, 54);
    assert.equal(d.lists.length, 54);
    assert.ok(d.passages.size > 5000);
  });
  it("names the known datasets for an unknown one", () => {
    assert.throws(() => loadDataset("dl21"), /unknown dataset "dl21"; expected one of dl19, dl20, noveleval/);
    assert.throws(() => loadDataset("DL20" as never), /unknown dataset "DL20"; expected one of dl19, dl20, noveleval \(did you mean "dl20"\?\)/);
  });
});

describe("unquoteTsvField", () => {
  it("undoes pandas-style quoting and rejects a lone inner quote", () => {
    assert.equal(unquoteTsvField('"""Hi,"" she said"', "f", 1), '"Hi," she said');
    assert.equal(unquoteTsvField("plain text", "f", 1), "plain text");
    assert.throws(() => unquoteTsvField('"a " b"', "f", 3), /f:3 \(passage\): expected a quoted field/);
  });
});
