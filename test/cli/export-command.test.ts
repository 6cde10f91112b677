import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/tf";
import { makeStudentDir } from "../fixtures/tiny-student";
import { unfinishedCopy } from "../fixtures/unfinished-run";
import { runCli } from "./run-cli";

describe("rra export", function () {
  this.timeout(120_000);
  let tmp: string;
  before(async () => {
    await initBackend({ quiet: true });
    tmp = mkdtempSync(join(tmpdir(), "rra-export-cli-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("refuses an unfinished training folder unless --allow-unfinished (issue 15 item 3)", async () => {
    const dir = unfinishedCopy(makeStudentDir(), tmp);
    const out = join(tmp, "onnx");
    const refused = await runCli(["export", "--model", dir, "--format", "onnx", "--out", out]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^rra export: .* is an unfinished training run: it holds a checkpoint after epoch 1 .*--allow-unfinished/);
    assert.equal(existsSync(out), false, "nothing is written");
    const allowed = await runCli(["export", "--model", dir, "--format", "onnx", "--out", out, "--parity-pairs", "200", "--allow-unfinished", "--json"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    const json = JSON.parse(allowed.stdout) as { kind: string; out: string; files: string[]; parity: { pairs: number; maxAbsDiff: number } };
    assert.equal(json.kind, "bert");
    assert.ok(json.files.includes("model.onnx"));
    assert.equal(json.parity.pairs, 200);
    assert.ok(json.parity.maxAbsDiff < 1e-4);
  });
});
