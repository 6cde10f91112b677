import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { projectPath } from "../../lib/core/paths";
import { readTrainingRecord } from "../../lib/export/model-card";
import { runNotebook } from "../../lib/notebooks/runner";
import { cellSource, readNotebook, writeNotebook, type NbCell } from "../../lib/notebooks/strip";
import { hfFixtures } from "../fixtures/hf-fixtures";

// Notebook 05's warm-start cell skips without RRA_INIT, and nothing in `npm test`'s notebook run sets it. Here
// the notebook's own setup, configuration and warm-start cells run in a real tslab kernel on a checkpoint that
// Debian's python3-torch wrote (test/fixtures/hf-checkpoints.py), CI-sized.
describe("notebook 05's warm-start cell on a real checkpoint (RRA_INIT)", function () {
  this.timeout(600_000);
  let work: string;
  before(() => {
    // inside the project (.cache is git-ignored) with lib linked, as the browser test does: tslab resolves ./lib/notebook
    mkdirSync(projectPath(".cache"), { recursive: true });
    work = mkdtempSync(projectPath(".cache", "warm-cell-"));
    symlinkSync(projectPath("lib"), join(work, "lib"));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("warm-starts the residual student from the checkpoint and says from what", async () => {
    const nb = readNotebook(projectPath("notebooks", "05_student_training.ipynb"));
    const code = nb.cells.filter((c) => c.cell_type === "code");
    const pick = (what: string, test: (src: string) => boolean): NbCell => {
      const c = code.find((x) => test(cellSource(x)));
      assert.ok(c, `notebook 05 has no ${what} cell`);
      return c;
    };
    const cells = [
      pick("setup", (s) => s.includes('from "./lib/notebook"')),
      pick("configuration", (s) => s.includes("const CONFIG")),
      pick("warm-start", (s) => s.includes("process.env.RRA_INIT")),
    ].map((c) => ({ ...c, outputs: [], execution_count: null }));
    const file = join(work, "05_warm_start.ipynb");
    writeNotebook(file, { ...nb, cells });

    const init = join(hfFixtures(), "bert-safetensors");
    const run = await runNotebook(file, { outDir: join(work, "out"), env: { RRA_INIT: init, RRA_DB: join(work, "store.sqlite") }, log: () => {} });
    assert.equal(run.ok, true, run.error);
    const out = (readNotebook(run.outPath).cells[2].outputs ?? []).map((o) => (o.output_type === "stream" ? o.text : "")).join("");
    assert.doesNotMatch(out, /Warm start skipped/);
    assert.match(out, new RegExp(`warm-started from .*bert-safetensors`));
    const m = /model in (\S+)/.exec(out);
    assert.ok(m, `no model folder in the cell's output: ${out}`);
    assert.match(out, /^\d+ steps, [\d.]+ ex\/s; best dl19 dev nDCG@10 (\d\.\d{4}|-)/m);
    const record = readTrainingRecord(m[1])?.init;
    assert.ok(record?.files.some((f) => f.name === "model.safetensors" && /^[0-9a-f]{64}$/.test(f.sha256)), `training.json's init: ${JSON.stringify(record)}`);
    assert.ok(existsSync(join(m[1], "config.json")));
    if (m[1].startsWith(tmpdir())) rmSync(dirname(m[1]), { recursive: true, force: true }); // CONFIG.out, CI-sized: a temporary folder
  });
});
