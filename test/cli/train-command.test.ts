/**
 * rra train's own defaults: the settings of npm start and rra students (MEASURED_SETTINGS), and honest
 * selection on held-out folds of the training year unless a --dev set is named.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { MEASURED_SETTINGS } from "../../lib/train/config";
import { runCli } from "./run-cli";

describe("rra train defaults", function () {
  this.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), "rra-train-cli-"));
  const db = join(dir, "store.sqlite");
  // --network off: the lexical ranker (features + prior), which trains no transformer, so each run takes seconds
  const base = ["train", "--train", "dl19", "--network", "off", "--train-queries", "9", "--db", db];

  it("without --dev: the epoch count is picked on 3 held-out folds of --train, with npm start's optimizer settings", async () => {
    const out = join(dir, "folds");
    const r = await runCli([...base, "--out", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout);
    assert.equal(printed.folds.length, MEASURED_SETTINGS.folds);
    assert.equal(typeof printed.selectedEpoch, "number");
    const rec = JSON.parse(readFileSync(join(out, "training.json"), "utf8"));
    assert.equal(rec.config.dev, "dl19", "selection never reads another year");
    assert.equal(rec.config.folds, MEASURED_SETTINGS.folds);
    assert.equal(rec.config.lr, MEASURED_SETTINGS.lr);
    assert.equal(rec.config.scoreScale, MEASURED_SETTINGS.scoreScale);
    assert.equal(rec.config.groupsPerBatch, MEASURED_SETTINGS.groupsPerBatch);
  });

  it("with --dev: the best epoch is picked on that set, as asked (no folds); explicit flags win over the defaults", async () => {
    const out = join(dir, "dev");
    const r = await runCli([...base, "--dev", "dl20", "--dev-queries", "5", "--lr", "1e-3", "--out", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(readFileSync(join(out, "training.json"), "utf8"));
    assert.equal(rec.config.dev, "dl20");
    assert.equal(rec.config.folds, 0);
    assert.equal(rec.config.lr, 1e-3);
    assert.equal(rec.config.scoreScale, MEASURED_SETTINGS.scoreScale);
  });
});
