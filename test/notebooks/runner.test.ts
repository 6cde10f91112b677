import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotebookRun, runNotebook } from "../../lib/notebooks/runner";
import { hasOutputs, Notebook } from "../../lib/notebooks/strip";

/** A committed-style notebook (no outputs): a markdown title, then one code cell per source. */
function notebook(sources: string[]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    cells: [
      { cell_type: "markdown", id: "title", metadata: {}, source: "# test" },
      ...sources.map((source, i) => ({ cell_type: "code" as const, id: `c${i}`, metadata: {}, source, outputs: [], execution_count: null })),
    ],
  };
}

/** Structural nbformat 4 checks for what the runner writes. */
function assertNbformat4(nb: Notebook): void {
  assert.equal(nb.nbformat, 4);
  assert.ok(Number.isInteger(nb.nbformat_minor));
  assert.equal(typeof nb.metadata, "object");
  for (const cell of nb.cells) {
    assert.ok(["code", "markdown", "raw"].includes(cell.cell_type));
    assert.ok(typeof cell.source === "string" || Array.isArray(cell.source));
    assert.equal(typeof cell.metadata, "object");
    if (cell.cell_type !== "code") continue;
    assert.ok(cell.execution_count === null || Number.isInteger(cell.execution_count));
    assert.ok(Array.isArray(cell.outputs));
    for (const o of cell.outputs!) {
      const keys = Object.keys(o).sort().join(",");
      if (o.output_type === "stream") assert.equal(keys, "name,output_type,text");
      else if (o.output_type === "display_data") assert.equal(keys, "data,metadata,output_type");
      else if (o.output_type === "execute_result") assert.equal(keys, "data,execution_count,metadata,output_type");
      else if (o.output_type === "error") assert.equal(keys, "ename,evalue,output_type,traceback");
      else assert.fail(`unknown output_type in ${JSON.stringify(o)}`);
    }
  }
}

/** nbformat.validate under Debian's python3, when it is installed (returns false when not checked). */
function pythonValidates(file: string): boolean {
  const py = "/usr/bin/python3";
  if (!existsSync(py) || spawnSync(py, ["-c", "import nbformat"]).status !== 0) return false;
  const r = spawnSync(py, ["-c", "import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))", file], { encoding: "utf8" });
  assert.equal(r.status, 0, `nbformat.validate(${file}) failed:\n${r.stderr}`);
  return true;
}

function assertKernelGone(run: NotebookRun): void {
  assert.ok(run.kernelPid && run.kernelPid > 0, "kernelPid is reported");
  assert.throws(() => process.kill(run.kernelPid!, 0), { code: "ESRCH" }, `kernel ${run.kernelPid} still running`);
  assert.throws(() => process.kill(-run.kernelPid!, 0), { code: "ESRCH" }, `kernel process group ${run.kernelPid} still alive`);
}

describe("runNotebook (real tslab kernel)", function () {
  // runNotebook first brings the notebooks' declarations of lib/ up to date (10-30 s idle when lib/ changed);
  // the clean-clone CI run of 7fb0b5a timed out at 60 s in one of these tests (11 s on a working checkout)
  this.timeout(180_000);
  let dir: string;
  let logs: string[];
  const log = (line: string): void => { logs.push(line); };
  const write = (name: string, sources: string[]): string => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(notebook(sources), null, 1) + "\n");
    return file;
  };

  before(() => { dir = mkdtempSync(join(tmpdir(), "rra-nb-test-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => { logs = []; });

  it("runs a passing notebook and writes outputs, execution counts and display data", async () => {
    const src = write("01_pass.ipynb", [
      'const n: number = 6 * 7;\nconsole.log("answer", n);',
      'import * as tslab from "tslab";\ntslab.display.html("<b>bold</b>");',
      'console.log("SMOKE=" + process.env.SMOKE, process.cwd());',
    ]);
    const out = join(dir, "out", "01_pass.ipynb");
    const run = await runNotebook(src, { outPath: out, env: { SMOKE: "1" }, log });
    assert.equal(run.error, undefined);
    assert.equal(run.ok, true);
    assert.equal(run.outPath, out);
    assert.deepEqual(run.cells.map((c) => [c.index, c.ok]), [[2, true], [3, true], [4, true]]);
    assert.ok(logs.some((l) => /^\[1\/1\] cell 3 ok \d+\.\d s$/.test(l)), logs.join("\n"));

    const nb = JSON.parse(readFileSync(out, "utf8")) as Notebook;
    assertNbformat4(nb);
    const [, c1, c2, c3] = nb.cells;
    assert.deepEqual([c1.execution_count, c2.execution_count, c3.execution_count], [1, 2, 3]);
    assert.deepEqual(c1.outputs, [{ output_type: "stream", name: "stdout", text: "answer 42\n" }]);
    assert.deepEqual(c2.outputs, [{ output_type: "display_data", data: { "text/html": "<b>bold</b>" }, metadata: {} }]);
    assert.deepEqual(c3.outputs, [{ output_type: "stream", name: "stdout", text: `SMOKE=1 ${dir}\n` }]);
    assert.equal((nb.metadata.language_info as { name?: string }).name, "typescript");
    pythonValidates(out);
    assert.equal(hasOutputs(src), false, "the source notebook is left without outputs");
    assertKernelGone(run);
  });

  it("stops at a failing cell and names the notebook, the cell and the error", async () => {
    const src = write("02_fail.ipynb", ['console.log("first")', 'throw new Error("boom in the second cell")', 'console.log("never")']);
    const run = await runNotebook(src, { outDir: join(dir, "out"), log });
    assert.equal(run.ok, false);
    assert.deepEqual(run.cells.map((c) => [c.index, c.ok]), [[2, true], [3, false]]);
    assert.match(run.error!, /02_fail\.ipynb: cell 3 \(lines "throw new Error\("boom in the second cell"\)"\) failed: Error: boom in the second cell/);
    assert.doesNotMatch(run.error!, /node_modules\/tslab|evalmachine/, "kernel-internal frames are dropped");

    const nb = JSON.parse(readFileSync(run.outPath, "utf8")) as Notebook;
    assertNbformat4(nb);
    assert.ok(nb.cells[2].outputs!.some((o) => o.output_type === "stream" && o.name === "stderr" && o.text.includes("boom")));
    assert.ok(nb.cells[2].outputs!.some((o) => o.output_type === "error"));
    assert.deepEqual(nb.cells[3].outputs, [], "cells after the failure are not run");
    assert.equal(nb.cells[3].execution_count, null);
    pythonValidates(run.outPath);
    assertKernelGone(run);
  });

  it("reports a TypeScript type error with tslab's diagnostic", async () => {
    const src = write("03_types.ipynb", ['const x: number = "not a number";']);
    const run = await runNotebook(src, { outDir: join(dir, "out"), log });
    assert.equal(run.ok, false);
    assert.match(run.error!, /03_types\.ipynb: cell 2 \(lines "const x: number = "not a number";"\) failed: 1:7 - Type 'string' is not assignable to type 'number'\./);
    assertKernelGone(run);
  });

  it("interrupts and shuts down the kernel when a cell exceeds the timeout", async () => {
    const src = write("04_slow.ipynb", ["await new Promise((resolve) => setTimeout(resolve, 60_000));"]);
    const t0 = Date.now();
    const run = await runNotebook(src, { outDir: join(dir, "out"), timeoutSec: 1, log });
    assert.equal(run.ok, false);
    assert.match(run.error!, /cell 2 .* failed: timed out after 1 s/);
    assert.ok(Date.now() - t0 < 20_000);
    assertKernelGone(run);
  });

  it("refuses to write the executed notebook over its source", async () => {
    const src = write("05_same.ipynb", ["1"]);
    await assert.rejects(runNotebook(src, { outPath: src, log }), /is the source notebook/);
  });
});
