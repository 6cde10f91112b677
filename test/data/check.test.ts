import assert from "node:assert/strict";
import { cpSync, mkdtempSync, appendFileSync, rmSync, mkdirSync, readdirSync, symlinkSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { checkData, gitBlobId, sourceManifest } from "../../lib/data/check";
import { locateJsonError } from "../../lib/data/json-locate";

describe("data check", () => {
  it("passes on the vendored data and covers every shipped file", () => {
    const results = checkData("data");
    assert.deepEqual(results.filter((r) => !r.ok), []);
    assert.ok(results.length >= 50, `${results.length} checks`);
    assert.ok(results.some((r) => /git blob matches SOURCE\.md/.test(r.detail)));
  });
  it("reports a changed file by name, against SOURCE.md's size and blob id, without throwing", function () {
    this.timeout(60000);
    const dir = mkdtempSync(join(tmpdir(), "rra-data-"));
    try {
      cpSync("data", dir, { recursive: true, filter: (src) => !src.endsWith(".sqlite") && !src.includes(".sqlite-") });
      appendFileSync(join(dir, "rank-llm-listwise/rerank_runs/rankvicuna-7b_bm25-top20-single_dl19.trec"), "19335 Q0 7777 101 0.5 x\n");
      const failed = checkData(dir).filter((r) => !r.ok);
      const names = failed.map((r) => r.file);
      assert.ok(names.includes("rank-llm-listwise/rerank_runs/rankvicuna-7b_bm25-top20-single_dl19.trec"));
      assert.ok(failed.some((r) => /expected 190529 bytes as SOURCE\.md says, got 190553 bytes/.test(r.detail)), JSON.stringify(failed));
      assert.ok(failed.some((r) => /documents among the BM25 candidates of dl19, got docid 7777/.test(r.detail)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("computes git blob ids like `git hash-object`", () => {
    // `printf 'hello\n' | git hash-object --stdin` = ce013625030ba8dba906f756967f9e9ca394464a
    assert.equal(gitBlobId(Buffer.from("hello\n")), "ce013625030ba8dba906f756967f9e9ca394464a");
  });
  it("reads file rows of SOURCE.md tables", () => {
    const rows = sourceManifest("| file | bytes | blob |\n|---|---|---|\n| a.json | 12 | ce013625030ba8dba906f756967f9e9ca394464a |\n| b{1..5}.trec | 3 | – |\n");
    assert.deepEqual(rows, [{ file: "a.json", bytes: 12, blob: "ce013625030ba8dba906f756967f9e9ca394464a" }]);
  });
});

describe("locateJsonError", () => {
  it("returns undefined for valid JSON and the offset of the first bad character otherwise", () => {
    assert.equal(locateJsonError('{"a": [1, 2.5e3, "x\\n", true, null]}'), undefined);
    assert.deepEqual(locateJsonError('{"a": 1,}'), { offset: 8, expected: "a double-quoted property name", truncated: false });
    assert.deepEqual(locateJsonError('[1, 2'), { offset: 5, expected: "',' or ']' in an array", truncated: true });
    assert.equal(locateJsonError('{"a": tru}')?.offset, 9);
    assert.equal(locateJsonError("[1] 2")?.expected, "the end of the document");
  });
});

describe("rra data check --dir on a copy in any folder name (issue 15 item 16)", () => {
  it("passes every check in a folder not called data", () => {
    const copy = join(mkdtempSync(join(tmpdir(), "rra-data-copy-")), "my-copy");
    mkdirSync(copy);
    for (const name of readdirSync("data")) symlinkSync(resolve("data", name), join(copy, name));
    const failed = checkData(copy).filter((r) => !r.ok);
    assert.deepEqual(failed, []);
  });
});
