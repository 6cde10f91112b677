/**
 * Expected duration of `runAblation` from its grid (train/estimate.ts: training examples and scored pairs
 * at a measured speed): each cell's training with its selection on held-out folds and its tests. Cells
 * already evaluated in `out` (evals/<runId>.json) are reused by a rerun and counted as free.
 */
import { existsSync } from "fs";
import { join } from "path";
import type { Estimate } from "../core/estimate";
import { resolveTrainConfig } from "../train/config";
import { CANDIDATES_PER_QUERY, queryCount } from "../data/sizes";
import { addWork, examplesPerSec, measuredTrainSpeed, perUnit, selectedTrainingWork, workSeconds, type TrainingWork } from "../train/estimate";
import { expandGrid, resolveAblationGrid, type AblationGrid } from "./grid";

/** The runAblation options the estimate reads. */
export interface AblationEstimateOptions {
  /** runAblation's output folder: finished cells and measured speeds are read from it. */
  out?: string;
  noveleval?: boolean;
  evalQueries?: number;
  depth?: number;
}

/** The estimate of `runAblation(db, grid, options)`. */
export function ablationEstimate(gridOverrides: Partial<AblationGrid>, options: AblationEstimateOptions = {}): Estimate {
  const { out, noveleval = true, evalQueries = 0, depth = 100 } = options;
  const cells = expandGrid(resolveAblationGrid(gridOverrides));
  const todo = cells.filter((c) => !(out && existsSync(join(out, "evals", `${c.runId}.json`))));
  const speed = measuredTrainSpeed(out ? [join(out, "models")] : []);
  const cap = (n: number): number => (evalQueries > 0 ? Math.min(n, evalQueries) : n);
  let seconds = 0;
  for (const c of todo) {
    const test: TrainingWork = {
      runs: 0, examples: 0,
      pairs: cap(queryCount(c.dev)) * depth + (noveleval ? cap(queryCount("noveleval")) * Math.min(depth, CANDIDATES_PER_QUERY.noveleval) : 0),
    };
    seconds += workSeconds(addWork(selectedTrainingWork(c.trainConfig, { dir: out && join(out, "models") }), test), resolveTrainConfig({ ...c.trainConfig, out: "" }), speed);
  }
  const done = cells.length - todo.length;
  const first = resolveTrainConfig({ ...cells[0].trainConfig, out: "" });
  return {
    what: `${cells.length} grid cell${cells.length === 1 ? "" : "s"}${done ? `, ${done} already done and reused` : ""}`,
    seconds,
    basis: todo.length ? `${perUnit(seconds, todo.length, "cell")} at ~${examplesPerSec(first, speed).toFixed(0)} training examples/s, ${speed.source}` : "every cell being reused",
    keeps: "finished cells are kept, and running the cell again reuses them and resumes the interrupted one from its last epoch",
  };
}
