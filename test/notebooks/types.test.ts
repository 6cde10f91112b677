import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectPath } from "../../lib/core/paths";
import { notebooksCommand } from "../../lib/notebooks/cli";
import { KernelClient } from "../../lib/notebooks/kernel";
import { runNotebook } from "../../lib/notebooks/runner";
import type { Notebook } from "../../lib/notebooks/strip";
import { ensureNotebookTypes, libSourcesHash, NOTEBOOK_TYPES_DIR, notebookTypesStatus } from "../../lib/notebooks/types";

/** A project of two lib/ files with this repository's tslab settings and node_modules. */
function tinyProject(): string {
  const root = mkdtempSync(join(tmpdir(), "rra-nbtypes-"));
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "rradistill-workbench", private: true }));
  copyFileSync(projectPath("tsconfig.tslab.json"), join(root, "tsconfig.tslab.json"));
  symlinkSync(projectPath("node_modules"), join(root, "node_modules"));
  mkdirSync(join(root, "lib"));
  writeFileSync(join(root, "lib", "index.ts"), 'export * from "./a";\n');
  writeFileSync(join(root, "lib", "a.ts"), "/** Twice x. */\nexport function twice(x: number) {\n  return 2 * x;\n}\n");
  return root;
}

const declarations = (root: string, file: string) => readFileSync(join(root, NOTEBOOK_TYPES_DIR, file), "utf8");

describe("notebook types (declarations of lib/ for tslab)", function () {
  this.timeout(300_000);
  let root: string;
  let logs: string[];
  const log = (line: string) => { logs.push(line); };
  beforeEach(() => { root = tinyProject(); logs = []; });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("writes them once, then only after lib/ changed, with tslab's TypeScript", () => {
    assert.deepEqual([notebookTypesStatus(root).fresh, notebookTypesStatus(root).reason], [false, "not written yet"]);
    const first = ensureNotebookTypes({ root, log });
    assert.equal(first.written, true);
    assert.deepEqual(first.errors, []);
    assert.match(declarations(root, "a.d.ts"), /export declare function twice\(x: number\): number;/);
    assert.match(declarations(root, "index.d.ts"), /export \* from "\.\/a";/);
    const stamp = JSON.parse(declarations(root, ".stamp.json")) as { hash: string; typescript: string };
    assert.deepEqual([stamp.hash, stamp.typescript], [libSourcesHash(root), "5.0.4"]);
    assert.match(logs[0], /^notebook types: not written yet; writing them \(lib\/\.notebook-types, with tslab's TypeScript/);
    assert.match(logs[1], /^notebook types: written in \d+\.\d s$/);

    logs = [];
    assert.equal(ensureNotebookTypes({ root, log }).written, false, "fresh: nothing to do (its own output does not count as a change)");
    assert.deepEqual(logs, []);

    writeFileSync(join(root, "lib", "a.ts"), "export function twice(x: number, label: string) {\n  return `${label} ${2 * x}`;\n}\n");
    assert.deepEqual([notebookTypesStatus(root).fresh, notebookTypesStatus(root).reason], [false, "lib/ changed since they were written"]);
    assert.equal(ensureNotebookTypes({ root, log }).written, true);
    assert.match(declarations(root, "a.d.ts"), /export declare function twice\(x: number, label: string\): string;/);
    assert.equal(notebookTypesStatus(root).fresh, true);
  });

  it("writes declarations of a lib/ with type errors and reports the errors instead of throwing", () => {
    writeFileSync(join(root, "lib", "a.ts"), 'export const n: number = "six";\nexport function twice(x: number) {\n  return 2 * x;\n}\n');
    const r = ensureNotebookTypes({ root, log });
    assert.equal(r.written, true);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0], /lib\/a\.ts\(1,14\): error TS2322: Type 'string' is not assignable to type 'number'\./);
    assert.match(logs[1], /lib\/ has type errors \(npm run typecheck\):\n {2}.*TS2322/);
    assert.match(declarations(root, "a.d.ts"), /export declare function twice\(x: number\): number;/);
    assert.deepEqual(notebookTypesStatus(root).stamp!.errors, r.errors);
  });

  it("writes them again when they were deleted (an incremental build alone would trust its build info)", () => {
    ensureNotebookTypes({ root });
    unlinkSync(join(root, NOTEBOOK_TYPES_DIR, "index.d.ts"));
    unlinkSync(join(root, NOTEBOOK_TYPES_DIR, "a.d.ts"));
    assert.equal(notebookTypesStatus(root).reason, "not written yet");
    assert.equal(ensureNotebookTypes({ root }).written, true);
    assert.ok(existsSync(join(root, NOTEBOOK_TYPES_DIR, "a.d.ts")));
  });

  it("takes over a lock left behind by a process that is gone, and releases its own", () => {
    writeFileSync(join(root, `${NOTEBOOK_TYPES_DIR}.lock`), "2147483646");
    assert.equal(ensureNotebookTypes({ root }).written, true);
    assert.equal(existsSync(join(root, `${NOTEBOOK_TYPES_DIR}.lock`)), false);
  });

  it("hashes sources and settings only: a .d.ts, a dot folder or an unrelated file does not change it", () => {
    const h = libSourcesHash(root);
    writeFileSync(join(root, "lib", "extra.d.ts"), "export declare const x: number;\n");
    mkdirSync(join(root, "lib", ".cache"));
    writeFileSync(join(root, "lib", ".cache", "b.ts"), "export const b = 1;\n");
    writeFileSync(join(root, "README.md"), "# x\n");
    assert.equal(libSourcesHash(root), h);
    writeFileSync(join(root, "lib", "prompts.json"), "{}\n");
    assert.notEqual(libSourcesHash(root), h, "JSON imported by lib/ shapes the types");
    const h2 = libSourcesHash(root);
    writeFileSync(join(root, "tsconfig.tslab.json"), readFileSync(join(root, "tsconfig.tslab.json"), "utf8") + "\n");
    assert.notEqual(libSourcesHash(root), h2, "the compiler settings");
  });
});

describe("./lib/notebook in a real tslab kernel", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "rra-nbentry-"));
    symlinkSync(projectPath("lib"), join(dir, "lib")); // as notebooks/lib
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("type-checks cells against lib/ and runs lib/index.ts itself, compiling nothing of lib/ in the kernel", async () => {
    const nb: Notebook = {
      nbformat: 4, nbformat_minor: 5, metadata: {},
      cells: [
        'import * as rra from "./lib/notebook";',
        `const ids: rra.BackendName[] = ["wasm"];\nconsole.log(rra.hash8({ a: 1 }), ids.length, require.cache[${JSON.stringify(projectPath("lib", "index.ts"))}] !== undefined);`,
        "rra.hash8();",
      ].map((source, i) => ({ cell_type: "code" as const, id: `c${i}`, metadata: {}, source, outputs: [], execution_count: null })),
    };
    const src = join(dir, "entry.ipynb");
    writeFileSync(src, JSON.stringify(nb));
    const run = await runNotebook(src, { outDir: join(dir, "out"), log: () => undefined });
    const out = JSON.parse(readFileSync(run.outPath, "utf8")) as Notebook;
    assert.deepEqual(out.cells[0].outputs, [], "the import cell prints nothing when the declarations are up to date");
    // lib/index.ts itself is in Node's module cache (loaded through tsx; tslab keeps what it compiles elsewhere)
    assert.deepEqual(out.cells[1].outputs, [{ output_type: "stream", name: "stdout", text: "015abd7f 1 true\n" }]);
    assert.equal(run.ok, false);
    assert.match(run.error!, /cell 3 .*failed: .*Expected 1 arguments, but got 0/s, "the last cell's type error comes from lib/'s declarations");
  });
});

describe("lib/notebooks/preflight.js (NODE_OPTIONS of the kernels npm run notebook starts)", function () {
  this.timeout(300_000);
  const preflight = projectPath("lib", "notebooks", "preflight.js");

  it("leaves NODE_OPTIONS without itself for child processes and does nothing outside a tslab kernel", () => {
    const r = spawnSync(process.execPath, ["-e", "console.log(JSON.stringify(process.env.NODE_OPTIONS))"], {
      encoding: "utf8", env: { ...process.env, NODE_OPTIONS: `--max-old-space-size=3000 --require "${preflight}"` },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), JSON.stringify("--max-old-space-size=3000"));
    assert.equal(r.stderr, "");
  });

  it("brings stale declarations up to date while the kernel starts, before its first cell", async () => {
    ensureNotebookTypes();
    const stampFile = projectPath(NOTEBOOK_TYPES_DIR, ".stamp.json");
    writeFileSync(stampFile, JSON.stringify({ ...JSON.parse(readFileSync(stampFile, "utf8")), hash: "stale" }));
    assert.equal(notebookTypesStatus().fresh, false);
    const kernel = await KernelClient.start({ cwd: projectPath("notebooks"), env: { NODE_OPTIONS: `--require "${preflight}"` } });
    try {
      assert.equal(notebookTypesStatus().fresh, true, "written before the kernel answered");
      const r = await kernel.execute('import * as rra from "./lib/notebook";\nconsole.log(JSON.stringify(process.env.NODE_OPTIONS), typeof rra.hash8);', 120_000);
      assert.equal(r.status, "ok");
      assert.deepEqual(r.outputs, [{ output_type: "stream", name: "stdout", text: '"" function\n' }], "no rewrite in the import cell; the kernel's children run without the preload");
    } finally {
      await kernel.shutdown();
    }
  });
});

describe("rra notebooks types", function () {
  this.timeout(300_000);
  const capture = async (argv: string[]): Promise<{ code: number; text: string }> => {
    const lines: string[] = [];
    const err = console.error;
    console.error = (...a: unknown[]) => { lines.push(a.join(" ")); };
    try { return { code: await notebooksCommand(argv), text: lines.join("\n") }; } finally { console.error = err; }
  };

  it("says the declarations are up to date when lib/ did not change, and takes no files", async () => {
    ensureNotebookTypes();
    assert.deepEqual(await capture(["types"]), { code: 0, text: "notebook types: up to date (lib/.notebook-types)" });
    const bad = await capture(["types", "notebooks/01_data_and_baselines.ipynb"]);
    assert.equal(bad.code, 2);
    assert.match(bad.text, /^rra notebooks types: Unexpected argument/);
  });
});
