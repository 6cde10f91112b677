import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { notebooksCommand } from "../../lib/notebooks/cli";
import { hasOutputs, Notebook, outputCells, stripFile, stripOutputs } from "../../lib/notebooks/strip";

const executed: Notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: "tslab" }, widgets: {} },
  cells: [
    { cell_type: "markdown", id: "a", metadata: {}, source: "# t" },
    { cell_type: "code", id: "b", metadata: { execution: { x: 1 } }, source: "1", execution_count: 3,
      outputs: [{ output_type: "stream", name: "stdout", text: "1\n" }] },
    { cell_type: "code", id: "c", metadata: { tags: ["keep"] }, source: "2", execution_count: null, outputs: [] },
  ],
};

describe("stripOutputs", () => {
  it("removes outputs, execution counts and run-time metadata without changing its input", () => {
    const before = JSON.stringify(executed);
    const nb = stripOutputs(executed);
    assert.equal(JSON.stringify(executed), before);
    assert.deepEqual(nb.cells[1], { cell_type: "code", id: "b", metadata: {}, source: "1", execution_count: null, outputs: [] });
    assert.deepEqual(nb.cells[2].metadata, { tags: ["keep"] });
    assert.deepEqual(nb.metadata, { kernelspec: { name: "tslab" } });
    assert.deepEqual(outputCells(executed), [2]);
    assert.deepEqual(outputCells(nb), []);
  });
});

describe("notebook files and `rra notebooks strip|check`", () => {
  let dir: string;
  let file: string;
  const quiet = async (argv: string[]): Promise<number> => {
    const err = console.error;
    console.error = () => undefined;
    try { return await notebooksCommand(argv); } finally { console.error = err; }
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "rra-strip-test-"));
    file = join(dir, "01_x.ipynb");
    writeFileSync(file, JSON.stringify(executed, null, 1) + "\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("check fails on outputs, strip removes them, then check passes", async () => {
    assert.equal(hasOutputs(file), true);
    assert.equal(await quiet(["check", file]), 1);
    assert.equal(await quiet(["strip", file]), 0);
    assert.equal(hasOutputs(file), false);
    assert.equal(await quiet(["check", file]), 0);
    const text = readFileSync(file, "utf8");
    assert.equal(stripFile(file), false, "a clean notebook is not rewritten");
    assert.equal(readFileSync(file, "utf8"), text);
  });

  it("rejects unknown options and a bad --timeout with exit code 2", async () => {
    assert.equal(await quiet(["run", "--bogus"]), 2);
    assert.equal(await quiet(["run", "--timeout", "soon", file]), 2);
    assert.equal(await quiet(["frobnicate"]), 2);
  });

  it("check names a file that is not a notebook", async () => {
    const bad = join(dir, "bad.ipynb");
    writeFileSync(bad, "{ not json");
    assert.throws(() => hasOutputs(bad), /bad\.ipynb: expected notebook JSON, got invalid JSON/);
    assert.equal(await quiet(["check", bad]), 1);
  });
});
