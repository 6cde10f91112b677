/**
 * Headless notebook runner: executes each code cell of an .ipynb in a real tslab kernel process
 * (see kernel.ts), stops at the first failing cell, and writes the executed copy (outputs and
 * execution counts) to .cache/notebooks/<name>.ipynb. The source notebook is never overwritten.
 */
import { basename, dirname, isAbsolute, join, relative, resolve } from "path";
import { ConfigError } from "../core/errors";
import { sha256 } from "../core/hash";
import { projectPath } from "../core/paths";
import { ExecuteResult, findKernelSpec, KernelClient, NbOutput } from "./kernel";
import { cellSource, Notebook, readNotebook, stripOutputs, writeNotebook } from "./strip";
import { ensureNotebookTypes } from "./types";

/**
 * How big the notebooks run: "smoke" (the default; CI-sized, a few minutes for all of them) sets SMOKE=1
 * in the kernel, which each notebook's config cell reads; "full" unsets it (notebook 03 alone then trains
 * its whole ablation grid, hours on 2 cores).
 */
export type NotebookMode = "smoke" | "full";

/** Options of `runNotebook` / `runNotebooks`. */
export interface RunNotebookOptions {
  /** "smoke" (default) or "full"; decides SMOKE in the kernel whatever the environment says. */
  mode?: NotebookMode;
  /** Per-cell time limit in seconds; the kernel is interrupted and the run fails after it. Default 600. */
  timeoutSec?: number;
  /** Where the executed notebook goes (single notebook only). Default `<outDir>/<name>.ipynb`. */
  outPath?: string;
  /** Folder for executed notebooks. Default `<root>/.cache/notebooks`. */
  outDir?: string;
  /** Extra environment for the kernel, on top of process.env (SMOKE is set by `mode`). */
  env?: Record<string, string | undefined>;
  /** Progress sink, one line per call. Default: write to stderr. */
  log?: (line: string) => void;
  /** Kernelspec name. Default "tslab". */
  kernelName?: string;
  /** Seconds to wait for the kernel to start. Default 60. */
  startTimeoutSec?: number;
}

/** How one code cell went. `index` is the 1-based cell number in the notebook (markdown cells count). */
export interface CellRun {
  index: number;
  ok: boolean;
  ms: number;
}

/** The result of running one notebook. `error` is set when `ok` is false. */
export interface NotebookRun {
  ok: boolean;
  notebook: string;
  outPath: string;
  cells: CellRun[];
  ms: number;
  error?: string;
  /** Process id the kernel had (it is gone when the run returns). */
  kernelPid?: number;
}

const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
/** Stack frames of node and the kernel itself, which say nothing about the notebook. */
const INTERNAL_FRAME = /^\s+at .*(\(node:|node:internal|sigintHandlersWrap|\/node_modules\/tslab\/|evalmachine\.<anonymous>)/;
const MAX_ERROR_CHARS = 4000;

/** A path as the user would type it: relative to the working directory when inside it. */
function shownPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? file : rel;
}

/** `first non-blank line…` of a cell, for error messages. */
function firstLine(source: string): string {
  const lines = source.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const first = lines[0] ?? "";
  const cut = first.length > 60 ? first.slice(0, 60) : first;
  return cut + (cut.length < first.length || lines.length > 1 ? "…" : "");
}

/** The error text of a failed cell: its stderr and error outputs, without ANSI colours. */
function errorText(r: ExecuteResult, timeoutSec: number): string {
  if (r.status === "timeout") return `timed out after ${timeoutSec} s (the kernel was interrupted and shut down)`;
  const parts: string[] = [];
  for (const o of r.outputs) {
    if (o.output_type === "stream" && o.name === "stderr") parts.push(o.text);
    if (o.output_type === "error") parts.push(o.traceback.length ? o.traceback.join("\n") : `${o.ename}: ${o.evalue}`);
  }
  // Node prefixes a thrown error with "file:N", the compiled source line and a caret; those and the
  // evalmachine frames point into tslab's compiled JavaScript, not at the cell: drop them.
  let text = parts.join("\n").replace(ANSI, "").replace(/^[^\n]*:\d+\n[^\n]*\n[ \t]*\^+[^\n]*\n\s*\n/, "")
    .split("\n").filter((l) => !INTERNAL_FRAME.test(l)).join("\n").trim();
  if (text.length > MAX_ERROR_CHARS) text = text.slice(0, MAX_ERROR_CHARS) + "\n…";
  if (text) return text;
  return r.status === "abort" ? "the kernel aborted the cell" : "execute_reply status error, with no error output";
}

function checkTimeout(timeoutSec: number): void {
  if (!(typeof timeoutSec === "number" && Number.isFinite(timeoutSec) && timeoutSec > 0)) {
    throw new ConfigError(`runNotebook: timeoutSec must be a positive number of seconds, got ${JSON.stringify(timeoutSec)}`);
  }
}

/** Run one notebook in a fresh kernel. Cell failures are reported in the result, not thrown. */
export async function runNotebook(path: string, opts: RunNotebookOptions = {}): Promise<NotebookRun> {
  findKernelSpec(opts.kernelName ?? "tslab"); // a missing kernel is a set-up error: throw it before anything else
  prepareTypes(opts);
  return runOne(path, opts, "[1/1]");
}

/** Run notebooks one after the other (all of them, even after a failure). */
export async function runNotebooks(paths: string[], opts: RunNotebookOptions = {}): Promise<NotebookRun[]> {
  if (opts.outPath !== undefined && paths.length > 1) {
    throw new ConfigError(`runNotebooks: outPath is for a single notebook, got ${paths.length} notebooks; use outDir`);
  }
  findKernelSpec(opts.kernelName ?? "tslab");
  prepareTypes(opts);
  const results: NotebookRun[] = [];
  for (let i = 0; i < paths.length; i++) results.push(await runOne(paths[i], opts, `[${i + 1}/${paths.length}]`));
  return results;
}

/** The notebooks' declarations of lib/ brought up to date before any kernel starts (types.ts), so no import cell has to. */
function prepareTypes(opts: RunNotebookOptions): void {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  ensureNotebookTypes({ log });
}

/**
 * The kernel's extra environment: `opts.env` with SMOKE=1 and RRA_FIGURES_DIR (default .cache/notebooks/figures)
 * in smoke mode (the default), without SMOKE in full mode (figures then go to figures/, the committed ones).
 */
export function notebookEnv(opts: Pick<RunNotebookOptions, "mode" | "env">): Record<string, string | undefined> {
  const mode = opts.mode ?? "smoke";
  if (mode !== "smoke" && mode !== "full") throw new ConfigError(`runNotebooks: mode must be "smoke" or "full", got ${JSON.stringify(mode)}`);
  if (mode === "full") return { ...(opts.env ?? {}), SMOKE: undefined };
  // CI-sized figures go to .cache/, not over the committed full-size ones in figures/ (unless asked for)
  const figures = opts.env?.RRA_FIGURES_DIR ?? process.env.RRA_FIGURES_DIR ?? projectPath(".cache", "notebooks", "figures");
  return { ...(opts.env ?? {}), SMOKE: "1", RRA_FIGURES_DIR: figures };
}

async function runOne(path: string, opts: RunNotebookOptions, label: string): Promise<NotebookRun> {
  const t0 = Date.now();
  const { timeoutSec = 600 } = opts;
  checkTimeout(timeoutSec);
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const file = resolve(path);
  const shown = shownPath(file);
  const outPath = resolve(opts.outPath ?? join(opts.outDir ?? projectPath(".cache", "notebooks"), basename(file)));
  if (outPath === file) throw new ConfigError(`runNotebook: the output path ${outPath} is the source notebook; committed notebooks stay without outputs`);
  const result: NotebookRun = { ok: false, notebook: file, outPath, cells: [], ms: 0 };
  const fail = (error: string): NotebookRun => {
    result.error = error;
    result.ms = Date.now() - t0;
    log(`${label} ${shown} FAILED after ${(result.ms / 1000).toFixed(1)} s\n${error}`);
    return result;
  };

  let nb: Notebook;
  try {
    nb = stripOutputs(readNotebook(file));
  } catch (e) {
    return fail((e as Error).message);
  }
  log(`${label} ${shown}: starting kernel`);
  let kernel: KernelClient;
  try {
    kernel = await KernelClient.start({ cwd: dirname(file), env: notebookEnv(opts), kernelName: opts.kernelName, startTimeoutSec: opts.startTimeoutSec });
  } catch (e) {
    return fail(`${shown}: the kernel did not start: ${(e as Error).message}`);
  }
  result.kernelPid = kernel.pid;
  let error: string | undefined;
  try {
    log(`${label} kernel ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (let i = 0; i < nb.cells.length && error === undefined; i++) {
      const cell = nb.cells[i];
      const source = cellSource(cell);
      if (cell.cell_type !== "code" || source.trim() === "") continue;
      const where = `${shown}: cell ${i + 1} (lines "${firstLine(source)}")`;
      let r: ExecuteResult;
      try {
        r = await kernel.execute(source, timeoutSec * 1000);
      } catch (e) { // the kernel died
        r = { status: "error", executionCount: null, outputs: [], ms: 0 };
        error = `${where} failed: ${(e as Error).message}`;
      }
      const ok = r.status === "ok";
      cell.outputs = r.outputs;
      cell.execution_count = r.executionCount;
      if (!ok) {
        error ??= `${where} failed: ${errorText(r, timeoutSec)}`;
        if (!r.outputs.some((o) => o.output_type === "error")) cell.outputs.push(errorOutput(r, timeoutSec));
      }
      result.cells.push({ index: i + 1, ok, ms: r.ms });
      log(`${label} cell ${i + 1} ${ok ? "ok" : r.status === "timeout" ? "TIMEOUT" : "FAILED"} ${(r.ms / 1000).toFixed(1)} s`);
    }
  } finally {
    await kernel.shutdown();
    finishMetadata(nb, kernel);
    writeNotebook(outPath, nb);
  }
  if (error !== undefined) return fail(error);
  result.ok = true;
  result.ms = Date.now() - t0;
  log(`${label} ${shown} ok: ${result.cells.length} cells in ${(result.ms / 1000).toFixed(1)} s -> ${shownPath(outPath)}`);
  return result;
}

/** An nbformat error output marking the failed cell (tslab itself only writes the error to stderr). */
function errorOutput(r: ExecuteResult, timeoutSec: number): NbOutput {
  if (r.status === "timeout") return { output_type: "error", ename: "Timeout", evalue: `cell timed out after ${timeoutSec} s`, traceback: [] };
  if (r.status === "abort") return { output_type: "error", ename: "Aborted", evalue: "the kernel aborted this cell", traceback: [] };
  return { output_type: "error", ename: "CellError", evalue: "the cell failed (see its stderr output)", traceback: [] };
}

/** kernelspec and language_info as Jupyter writes them; cell ids where nbformat 4.5 requires them. */
function finishMetadata(nb: Notebook, kernel: KernelClient): void {
  nb.metadata.kernelspec ??= { name: kernel.spec.name, display_name: kernel.spec.displayName, language: kernel.spec.language };
  const info = kernel.info.language_info;
  if (info && typeof info === "object") nb.metadata.language_info = info;
  if (nb.nbformat_minor >= 5) {
    nb.cells.forEach((c, i) => { c.id ??= sha256(`${i}\n${cellSource(c)}`).slice(0, 16); });
  }
}
