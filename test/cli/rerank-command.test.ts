import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/tf";
import { makeStudentDir } from "../fixtures/tiny-student";
import { ROOT, runCli } from "./run-cli";

const INPUT = join(ROOT, "test/fixtures/rerank/two-queries.json");

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

  it("writes a run with a finite model", async () => {
    const out = join(tmp, "ok.run");
    const r = await runCli(["rerank", "--model", makeStudentDir(), "--input", INPUT, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, "utf8").trim().split("\n").length, 8);
  });
});
