import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DataError } from "../../lib/core/errors";
import { idProblem } from "../../lib/data/ids";
import { readRetrieveResults } from "../../lib/data/rankllm";
import { readQrels, readRun, readTopics, writeRun } from "../../lib/data/trec";
import { readJsonFile } from "../../lib/data/text-file";
import { assertDataError, tempFile } from "../helpers";

const BAD = "test/fixtures/bad-input";

describe("ids (lib/data/ids.ts)", () => {
  it("idProblem accepts TREC ids and names white space, control characters and U+FFFD", () => {
    for (const id of ["1037798", "msmarco_passage_00_1", "D-1.2"]) assert.equal(idProblem(id), null);
    assert.match(idProblem("d 2")!, /white space \(" " at character 2\)/);
    assert.match(idProblem("d\u00a02")!, /white space/);
    assert.match(idProblem("d\u00012")!, /control character U\+0001/);
    assert.match(idProblem("\uFFFD1")!, /not valid UTF-8/);
    assert.equal(idProblem(""), "an empty id");
  });
});

describe("ids with white space are refused at input (issue 15 item 5)", () => {
  it("readRetrieveResults names file, line and JSON path of a docid with a space", () => {
    const f = `${BAD}/retrieve-space-docid.json`;
    const e = assertDataError(() => readRetrieveResults(f), { file: f }, /\(\[0\]\.hits\[1\]\.docid\): expected a docid of valid UTF-8 without white space, got "d 2", which holds white space/);
    assert.equal(e.line, readFileSync(f, "utf8").split("\n").findIndex((l) => l.includes('"d 2"')) + 1);
  });
  it("readRetrieveResults refuses a qid with a space", () => {
    const f = `${BAD}/retrieve-space-qid.json`;
    assertDataError(() => readRetrieveResults(f), { file: f }, /\(\[0\]\.hits\[0\]\.qid\): expected a qid of valid UTF-8 without white space, got "10 01"/);
  });
  it("readTopics refuses a qid with a space before the tab", () => {
    const f = tempFile("topics.tsv", "1\tfirst\n2 b\tsecond\n");
    assertDataError(() => readTopics(f), { file: f, line: 2 }, /\(qid\): expected a qid of valid UTF-8 without white space, got "2 b"/);
  });
  it("writeRun refuses to write an id a TREC reader would split", () => {
    const f = tempFile("out.run", "");
    const run = { tag: "t", queries: new Map([["1", [{ docid: "d 2", rank: 1, score: 1 }]]]) };
    assertDataError(() => writeRun(f, run), { file: f }, /docid of qid 1\): expected ids of valid UTF-8 without white space .* got "d 2", which holds white space/);
  });
});

describe("ids with bytes that are not valid UTF-8 are refused (issue 15 item 6)", () => {
  it("readQrels names file and line of a docid that decodes to U+FFFD", () => {
    const f = `${BAD}/qrels-invalid-utf8.txt`;
    assertDataError(() => readQrels(f), { file: f, line: 2 }, /\(docid\): expected a docid of valid UTF-8 .* not valid UTF-8 \(decoded as U\+FFFD\)/);
  });
  it("readRun names file and line too, so two different byte strings never match one judged docid", () => {
    const f = `${BAD}/run-invalid-utf8.txt`;
    assertDataError(() => readRun(f), { file: f, line: 2 }, /\(docid\): .*not valid UTF-8/);
  });
  it("readTopics names the line of a bad qid", () => {
    const f = `${BAD}/topics-invalid-utf8.tsv`;
    assertDataError(() => readTopics(f), { file: f, line: 2 }, /\(qid\): .*not valid UTF-8/);
  });
  it("readRetrieveResults names the line of a bad docid", () => {
    const f = `${BAD}/retrieve-invalid-utf8.json`;
    const e = assertDataError(() => readRetrieveResults(f), { file: f }, /\[0\]\.hits\[1\]\.docid\): .*not valid UTF-8/);
    assert.equal(e.line, 15);
  });
});

describe("a UTF-8 byte order mark is accepted like the TREC readers do (issue 15 item 16)", () => {
  it("readRetrieveResults reads JSON that starts with a BOM", () => {
    const lists = readRetrieveResults(`${BAD}/retrieve-bom.json`);
    assert.deepEqual(lists.map((l) => [l.qid, l.candidates.map((c) => c.docid)]), [["7", ["d1", "d2"]]]);
  });
  it("readJsonFile drops the BOM; readRun's first qid carries none", () => {
    assert.ok(Array.isArray(readJsonFile(`${BAD}/retrieve-bom.json`, "retrieve_results")));
    assert.deepEqual([...readRun(`${BAD}/run-bom.txt`).queries.keys()], ["1"]);
  });
  it("readJsonFile names a missing file and a directory", () => {
    assert.throws(() => readJsonFile(`${BAD}/nope.json`, "config"), (e: unknown) => e instanceof DataError && /nope\.json: expected an existing config file, got no such file/.test(e.message));
    assert.throws(() => readJsonFile(BAD, "config"), /expected a config file, got a directory/);
  });
});
