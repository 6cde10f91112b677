import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/tf";
import { makeStudentDir } from "../fixtures/tiny-student";
import { unfinishedCopy } from "../fixtures/unfinished-run";
import { ROOT, runCli } from "./run-cli";

const INPUT = join(ROOT, "test/fixtures/rerank/two-queries.json");
const FIX = join(ROOT, "test/fixtures/rerank");

/** A student directory whose weights are all NaN (a diverged training run). */
function nanStudentDir(): string {
  const dir = makeStudentDir();
  const bytes = readFileSync(join(dir, "weights.bin"));
  const nan = new Float32Array(bytes.byteLength / 4).fill(NaN);
  writeFileSync(join(dir, "weights.bin"), Buffer.from(nan.buffer));
  return dir;
}

describe("rra rerank", function () {
  this.timeout(120_000);
  let tmp: string;
  before(async () => {
    await initBackend({ quiet: true });
    tmp = mkdtempSync(join(tmpdir(), "rra-rerank-cli-"));
  });

  it("fails naming the query when the model scores NaN, and writes no run (issue 15 item 2)", async () => {
    const out = join(tmp, "nan.run");
    const r = await runCli(["rerank", "--model", nanStudentDir(), "--input", INPUT, "--out", out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^rra rerank: the model .* scored NaN for qid 23849 \(docid 4348282, candidate 1 of 4\); 8 of 8 scores are not finite/m);
    assert.equal(existsSync(out), false, "no run is written");
  });

  it("refuses a docid with a space at input, naming file, line and field, and writes no run (issue 15 item 5)", async () => {
    const out = join(tmp, "space.run");
    const r = await runCli(["rerank", "--model", makeStudentDir(), "--input", join(ROOT, "test/fixtures/bad-input/retrieve-space-docid.json"), "--out", out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^rra rerank: .*retrieve-space-docid\.json:15 \(\[0\]\.hits\[1\]\.docid\): expected a docid of valid UTF-8 without white space, got "d 2"/m);
    assert.equal(existsSync(out), false);
  });

  it("refuses an unfinished training folder unless --allow-unfinished, and says how to finish it (issue 15 item 3)", async () => {
    const dir = unfinishedCopy(makeStudentDir(), tmp);
    const out = join(tmp, "unfinished.run");
    const refused = await runCli(["rerank", "--model", dir, "--input", INPUT, "--out", out]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /is an unfinished training run: it holds a checkpoint after epoch 1 \(step 12\) of run student-0123abcd but no training\.json .*running the same rra train command again .*--allow-unfinished/);
    assert.equal(existsSync(out), false);
    const allowed = await runCli(["rerank", "--model", dir, "--input", INPUT, "--out", out, "--allow-unfinished"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /warning: .* is an unfinished training run/);
    assert.ok(existsSync(out));
    // the same folder once training.json says done is accepted without a word
    writeFileSync(join(dir, "training.json"), JSON.stringify({ format: "rra-training-record/1", runId: "student-0123abcd", status: "done" }));
    const finished = await runCli(["rerank", "--model", dir, "--input", INPUT, "--out", out]);
    assert.equal(finished.code, 0, finished.stderr);
    assert.doesNotMatch(finished.stderr, /unfinished training run/);
  });

  it("re-ranks a TREC run with its topics and a TSV or JSONL corpus like the same candidates as retrieve_results JSON (issue 15 item 17)", async () => {
    const student = makeStudentDir();
    const fromJson = join(tmp, "json.run");
    assert.equal((await runCli(["rerank", "--model", student, "--input", INPUT, "--out", fromJson, "--tag", "t"])).code, 0);
    for (const corpus of ["corpus.tsv", "corpus.jsonl"]) {
      const out = join(tmp, `${corpus}.run`);
      const r = await runCli(["rerank", "--model", student, "--run", join(FIX, "bm25.run"), "--topics", join(FIX, "topics.tsv"), "--corpus", join(FIX, corpus), "--out", out, "--tag", "t", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).queries, 2);
      assert.equal(readFileSync(out, "utf8"), readFileSync(fromJson, "utf8"), corpus);
    }
  });

  it("names what is missing when a run's docid is not in the corpus or its qid has no topic", async () => {
    const student = makeStudentDir();
    const corpus = join(tmp, "short-corpus.tsv");
    writeFileSync(corpus, readFileSync(join(FIX, "corpus.tsv"), "utf8").split("\n").filter((l) => !l.startsWith("8146073")).join("\n"));
    const r = await runCli(["rerank", "--model", student, "--run", join(FIX, "bm25.run"), "--topics", join(FIX, "topics.tsv"), "--corpus", corpus, "--out", join(tmp, "x.run")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /short-corpus\.tsv \(docid\): expected the passage of every document of .*bm25\.run .*got none for 1 of 8 docids \("8146073"\)/);
    const topics = join(tmp, "one-topic.tsv");
    writeFileSync(topics, "23849\tare naturalization records public information\n");
    const t = await runCli(["rerank", "--model", student, "--run", join(FIX, "bm25.run"), "--topics", topics, "--corpus", join(FIX, "corpus.tsv"), "--out", join(tmp, "x.run")]);
    assert.equal(t.code, 1);
    assert.match(t.stderr, /one-topic\.tsv \(qid\): expected a topic for every query of .*got none for 1 of its 2 queries \(156498\)/);
    const both = await runCli(["rerank", "--model", student, "--input", INPUT, "--run", join(FIX, "bm25.run"), "--out", join(tmp, "x.run")]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --input or --run\/--topics\/--corpus, not both/);
  });

  it("writes a run with a finite model", async () => {
    const out = join(tmp, "ok.run");
    const r = await runCli(["rerank", "--model", makeStudentDir(), "--input", INPUT, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, "utf8").trim().split("\n").length, 8);
  });
});
