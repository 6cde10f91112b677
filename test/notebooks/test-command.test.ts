import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { notebooksCommand } from "../../lib/notebooks/cli";
import { notebookEnv } from "../../lib/notebooks/runner";

const ROOT = resolve(__dirname, "..", "..");

describe("the test command: npm test runs the notebooks CI-sized, CI runs it unchanged (issue 15 item 19)", () => {
  it("runNotebooks sets SMOKE=1 by default and unsets it in full mode, whatever the environment says", () => {
    const saved = process.env.RRA_FIGURES_DIR;
    delete process.env.RRA_FIGURES_DIR;
    try {
      // CI-sized figures go to .cache/, so that npm test leaves the committed full-size figures alone
      assert.deepEqual(notebookEnv({}), { SMOKE: "1", RRA_FIGURES_DIR: join(ROOT, ".cache", "notebooks", "figures") });
      assert.deepEqual(notebookEnv({ env: { RRA_FIGURES_DIR: "/tmp/f" } }), { SMOKE: "1", RRA_FIGURES_DIR: "/tmp/f" });
    } finally {
      if (saved !== undefined) process.env.RRA_FIGURES_DIR = saved;
    }
    assert.deepEqual(notebookEnv({ mode: "full", env: { SMOKE: "1", RRA_DB: "x" } }), { SMOKE: undefined, RRA_DB: "x" });
    assert.throws(() => notebookEnv({ mode: "big" as never }), /mode must be "smoke" or "full"/);
  });

  it("npm test's scripts run the notebooks without --full; npm run test:full is the explicit switch", () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts.test, "npm run typecheck && npm run test:unit && npm run test:notebooks");
    assert.match(scripts["test:notebooks"], /notebooks run$/);
    assert.doesNotMatch(scripts["test:notebooks"], /--full|SMOKE/);
    assert.match(scripts["test:full"], /notebooks run --full$/);
  });

  it(".ci/run runs the README's test command unchanged (no SMOKE=1 in front of it)", () => {
    const ci = readFileSync(join(ROOT, ".ci/run"), "utf8");
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    assert.match(readme, /```sh\nnpm test\n```/);
    const lines = ci.split("\n").filter((l) => /\bnpm test\b/.test(l) && !l.trimStart().startsWith("#"));
    assert.deepEqual(lines, ['npm test 2>&1 | tee "$log"']);
  });

  it("rra notebooks run passes SMOKE=1 to the kernel by default and not with --full", async function () {
    this.timeout(120_000);
    const dir = mkdtempSync(join(tmpdir(), "rra-nb-mode-"));
    try {
      const nb = join(dir, "smoke.ipynb");
      writeFileSync(nb, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
        cells: [{ cell_type: "code", id: "c1", metadata: {}, execution_count: null, outputs: [], source: ['console.log("SMOKE=" + String(process.env.SMOKE));'] }] }));
      const saved = process.env.SMOKE;
      delete process.env.SMOKE;
      const stderr = process.stderr.write;
      process.stderr.write = (() => true) as typeof process.stderr.write;
      try {
        for (const [args, expected] of [[[], "SMOKE=1\n"], [["--full"], "SMOKE=undefined\n"]] as const) {
          const out = join(dir, "out");
          assert.equal(await notebooksCommand(["run", nb, "--out-dir", out, ...args]), 0);
          const executed = JSON.parse(readFileSync(join(out, "smoke.ipynb"), "utf8")) as { cells: Array<{ outputs: Array<{ text: string }> }> };
          assert.equal(executed.cells[0].outputs[0].text, expected, args.join(" ") || "default");
        }
      } finally {
        process.stderr.write = stderr;
        if (saved !== undefined) process.env.SMOKE = saved;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
