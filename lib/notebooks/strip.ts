/**
 * Notebook files (nbformat 4): read, write atomically, and strip outputs. Committed notebooks carry
 * no outputs (like nbstripout); executed copies go to .cache/notebooks/.
 */
import { existsSync, readFileSync } from "fs";
import { writeFileAtomic } from "../core/files";
import { DataError } from "../core/errors";
import type { NbOutput } from "./kernel";

/** One nbformat 4 cell. `source` is a string or a list of lines (joined as is). */
export interface NbCell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  metadata: Record<string, unknown>;
  source: string | string[];
  outputs?: NbOutput[];
  execution_count?: number | null;
  attachments?: Record<string, unknown>;
}

/** An nbformat 4 notebook. */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NbCell[];
}

/** The cell's source as one string. */
export function cellSource(cell: NbCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** Read and check the shape of an nbformat 4 notebook; errors name the file and what is wrong. */
export function readNotebook(file: string): Notebook {
  if (!existsSync(file)) throw new DataError({ file }, "an existing .ipynb file", "no such file");
  let nb: Notebook;
  try {
    nb = JSON.parse(readFileSync(file, "utf8")) as Notebook;
  } catch (e) {
    throw new DataError({ file }, "notebook JSON", `invalid JSON (${(e as Error).message})`);
  }
  if (!nb || typeof nb !== "object" || nb.nbformat !== 4) {
    throw new DataError({ file, field: "nbformat" }, "4", JSON.stringify(nb?.nbformat), "convert it with `jupyter nbconvert --to notebook`");
  }
  if (!Array.isArray(nb.cells)) throw new DataError({ file, field: "cells" }, "a list of cells", typeof nb.cells);
  nb.cells.forEach((c, i) => {
    if (!["code", "markdown", "raw"].includes(c?.cell_type)) {
      throw new DataError({ file, field: `cells[${i}].cell_type` }, "code, markdown or raw", JSON.stringify(c?.cell_type));
    }
  });
  nb.metadata ??= {};
  return nb;
}

export { writeFileAtomic };

/** Write a notebook the way Jupyter does (1-space indent, trailing newline), atomically. */
export function writeNotebook(file: string, nb: Notebook): void {
  writeFileAtomic(file, JSON.stringify(nb, null, 1) + "\n");
}

const VOLATILE_CELL_METADATA = ["execution", "ExecuteTime", "collapsed", "scrolled"];
const VOLATILE_NB_METADATA = ["signature", "widgets"];

/** A copy of `nb` without outputs, execution counts and run-time metadata (the input is not changed). */
export function stripOutputs(nb: Notebook): Notebook {
  const copy = JSON.parse(JSON.stringify(nb)) as Notebook;
  for (const key of VOLATILE_NB_METADATA) delete copy.metadata[key];
  for (const cell of copy.cells) {
    for (const key of VOLATILE_CELL_METADATA) delete cell.metadata?.[key];
    if (cell.cell_type === "code") {
      cell.outputs = [];
      cell.execution_count = null;
    }
  }
  return copy;
}

/** 1-based numbers of the code cells that carry outputs or an execution count. */
export function outputCells(nb: Notebook): number[] {
  const found: number[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type === "code" && ((cell.outputs?.length ?? 0) > 0 || (cell.execution_count ?? null) !== null)) found.push(i + 1);
  });
  return found;
}

/** True when the notebook at `file` has any outputs or execution counts (committed ones must not). */
export function hasOutputs(file: string): boolean {
  return outputCells(readNotebook(file)).length > 0;
}

/** Strip a notebook file in place (only rewritten when something was stripped). Returns true when it changed. */
export function stripFile(file: string): boolean {
  const nb = readNotebook(file);
  const stripped = stripOutputs(nb);
  if (JSON.stringify(stripped) === JSON.stringify(nb)) return false;
  writeNotebook(file, stripped);
  return true;
}
