/**
 * `rra notebooks run|strip|check|types`: run notebooks headless in a real tslab kernel, strip their
 * outputs, check that committed notebooks carry none, or bring their declarations of lib/ up to date.
 */
import { readdirSync } from "fs";
import { join, relative } from "path";
import { parseArgs } from "util";
import { projectPath } from "../core/paths";
import { runNotebooks, type NotebookMode } from "./runner";
import { outputCells, readNotebook, stripFile } from "./strip";
import { ensureNotebookTypes, NOTEBOOK_TYPES_DIR } from "./types";

const USAGE: Record<string, string> = {
  main: `usage: rra notebooks <command> [options]

commands:
  run [FILES...]     execute notebooks in a tslab kernel (default: notebooks/*.ipynb, in name order)
  strip [FILES...]   remove outputs and execution counts in place
  check [FILES...]   fail when a notebook carries outputs (committed notebooks must not)
  types [--force]    write the declarations of lib/ that notebooks are type-checked against, if lib/ changed

Run "rra notebooks <command> --help" for the options of a command.`,
  run: `usage: rra notebooks run [FILES...] [--full] [--timeout SEC] [--out-dir DIR]

Executes each notebook in a fresh tslab kernel (cwd = the notebook's folder), stops a notebook at
its first failing cell and writes the executed copy to DIR/<name>.ipynb. Exit code 1 if any fails.
By default the notebooks run CI-sized (SMOKE=1 in the kernel: a few queries, a few training steps;
what npm test and CI run); --full runs them at their real sizes (notebook 03 alone trains its whole
ablation grid, about 2.5 h on 2 cores; npm run test:full).

options:
  --full          full sizes instead of the CI-sized default (SMOKE unset in the kernel)
  --timeout SEC   time limit per cell in seconds (default 600 CI-sized, 14400 full)
  --out-dir DIR   folder for executed notebooks (default .cache/notebooks)
  -h, --help      show this help`,
  strip: `usage: rra notebooks strip [FILES...]

Removes outputs, execution counts and run-time metadata in place (default: notebooks/*.ipynb).`,
  check: `usage: rra notebooks check [FILES...]

Exit code 1 when a notebook carries outputs or execution counts (default: notebooks/*.ipynb).`,
  types: `usage: rra notebooks types [--force]

Notebooks import ./lib/notebook: tslab type-checks their cells against declarations of lib/ in
${NOTEBOOK_TYPES_DIR}/ (written with tslab's own TypeScript) instead of compiling lib/ in every kernel.
This writes them when lib/ changed since they were written (10-30 s; nothing to do otherwise).
rra notebooks run, npm run notebook and the notebooks' import cell do it by themselves.

options:
  --force         write them even when they are up to date
  -h, --help      show this help`,
};

/** notebooks/*.ipynb in name order, without executed copies (*.out.ipynb). */
export function defaultNotebooks(): string[] {
  const dir = projectPath("notebooks");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith(".ipynb") && !n.endsWith(".out.ipynb")).sort().map((n) => join(dir, n));
}

function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith("..") ? file : rel;
}

/** Entry point for `rra notebooks ...`; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function notebooksCommand(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    if (command === undefined) {
      console.error(USAGE.main);
      return 2;
    }
    console.log(USAGE.main);
    return 0;
  }
  if (!["run", "strip", "check", "types"].includes(command)) {
    console.error(`rra notebooks: unknown command ${JSON.stringify(command)}; expected run, strip, check or types\n\n${USAGE.main}`);
    return 2;
  }
  let values: { timeout?: string; "out-dir"?: string; full?: boolean; force?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      allowPositionals: command !== "types",
      strict: true,
      options: command === "run"
        ? { timeout: { type: "string" }, "out-dir": { type: "string" }, full: { type: "boolean" }, help: { type: "boolean", short: "h" } }
        : command === "types" ? { force: { type: "boolean" }, help: { type: "boolean", short: "h" } } : { help: { type: "boolean", short: "h" } },
    }));
  } catch (e) {
    console.error(`rra notebooks ${command}: ${(e as Error).message}\n\n${USAGE[command]}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE[command]);
    return 0;
  }
  if (command === "types") return types(Boolean(values.force));
  const files = positionals.length ? positionals : defaultNotebooks();
  if (files.length === 0) {
    console.error(`rra notebooks ${command}: no notebooks given and none in ${shown(projectPath("notebooks"))}`);
    return 0;
  }
  try {
    if (command === "run") return await run(files, values.timeout, values["out-dir"], values.full ? "full" : "smoke");
    if (command === "strip") return strip(files);
    return check(files);
  } catch (e) {
    console.error(`rra notebooks ${command}: ${(e as Error).message}`);
    return 1;
  }
}

async function run(files: string[], timeout: string | undefined, outDir: string | undefined, mode: NotebookMode): Promise<number> {
  const timeoutSec = timeout === undefined ? (mode === "full" ? 14_400 : 600) : Number(timeout);
  if (!(Number.isFinite(timeoutSec) && timeoutSec > 0)) {
    console.error(`rra notebooks run: --timeout expects a positive number of seconds, got ${JSON.stringify(timeout)}\n\n${USAGE.run}`);
    return 2;
  }
  console.error(mode === "smoke" ? "notebooks: CI-sized (SMOKE=1); rra notebooks run --full (npm run test:full) for the full sizes" : "notebooks: full sizes (SMOKE unset); this takes hours");
  const results = await runNotebooks(files, { timeoutSec, outDir, mode });
  const failed = results.filter((r) => !r.ok);
  const secs = results.reduce((s, r) => s + r.ms, 0) / 1000;
  console.error(`\nnotebooks: ${results.length - failed.length} ok, ${failed.length} failed, ${secs.toFixed(1)} s`);
  for (const r of failed) console.error(`FAILED ${r.error}`);
  return failed.length ? 1 : 0;
}

function types(force: boolean): number {
  try {
    const r = ensureNotebookTypes({ force, log: (line) => console.error(line) });
    if (!r.written) console.error(`notebook types: up to date (${NOTEBOOK_TYPES_DIR})`);
    return 0;
  } catch (e) {
    console.error(`rra notebooks types: ${(e as Error).message}`);
    return 1;
  }
}

function strip(files: string[]): number {
  let changed = 0;
  for (const f of files) {
    if (stripFile(f)) {
      changed++;
      console.error(`stripped ${shown(f)}`);
    }
  }
  console.error(`${changed} of ${files.length} notebook(s) stripped`);
  return 0;
}

function check(files: string[]): number {
  let bad = 0;
  for (const f of files) {
    let cells: number[];
    try {
      cells = outputCells(readNotebook(f));
    } catch (e) {
      bad++;
      console.error((e as Error).message);
      continue;
    }
    if (cells.length) {
      bad++;
      console.error(`${shown(f)}: cell${cells.length > 1 ? "s" : ""} ${cells.join(", ")} carry outputs; ` +
        `run \`rra notebooks strip ${shown(f)}\` before committing`);
    }
  }
  if (bad === 0) console.error(`${files.length} notebook(s) without outputs`);
  return bad ? 1 : 0;
}
