/**
 * Expected duration of label jobs from their configs: windows (queries x windows per query of the
 * selection) times seconds per window of the teacher's kind. Offline teachers were measured on a 2-core
 * machine (notebook 02's jobs, store writes included): ~40 ms per replayed or projected window, ~10 ms for
 * the oracle and BM25 bounds. A live teacher's speed is its endpoint's: 3 s per call (a 7B model on one
 * GPU) spread over the job's concurrency, a guess until the first job has run.
 */
import type { Estimate } from "../core/estimate";
import { queryCount } from "../data/sizes";
import { resolveLabelConfig, type LabelJobConfig } from "./pipeline";
import { parseSelection, slidingWindows } from "./select";

/** Seconds per window by teacher kind (the name before the first colon). */
export const SECONDS_PER_WINDOW: Readonly<Record<string, number>> = Object.freeze({ replay: 0.04, projected: 0.04, oracle: 0.01, bm25: 0.01, live: 3 });

/** Windows a job asks its teacher for. */
export function labelJobWindows(cfg: Pick<LabelJobConfig, "dataset" | "selection" | "n" | "limit">): number {
  const mode = parseSelection(cfg.selection);
  const perQuery = mode.kind === "sliding" ? slidingWindows(0, Math.min(cfg.n, 100), mode.window, mode.step).length : 1;
  const queries = cfg.limit > 0 ? Math.min(cfg.limit, queryCount(cfg.dataset)) : queryCount(cfg.dataset);
  return queries * perQuery;
}

/** The estimate of `runLabelJobs(db, jobs, { limit })` (or of one `runLabelJob`). */
export function labelJobsEstimate(jobs: ReadonlyArray<Partial<LabelJobConfig> & { dataset: string }>, options: { limit?: number } = {}): Estimate {
  let windows = 0, seconds = 0, live = false;
  for (const job of jobs) {
    const cfg = resolveLabelConfig({ ...job, ...(options.limit ? { limit: options.limit } : {}) });
    const kind = cfg.teacher.split(":")[0];
    const n = labelJobWindows(cfg);
    live ||= kind === "live";
    windows += n;
    seconds += n * (SECONDS_PER_WINDOW[kind] ?? SECONDS_PER_WINDOW.replay) / (kind === "live" ? cfg.concurrency : 1);
  }
  return {
    what: `${jobs.length} label job${jobs.length === 1 ? "" : "s"} (${windows} teacher windows)`,
    seconds,
    basis: `~${((1000 * seconds) / Math.max(windows, 1)).toFixed(0)} ms per window, measured for offline teachers on a 2-core machine${live ? "; a live teacher's speed is its endpoint's" : ""}`,
    keeps: "every answered window is stored whole, and running the cell again resumes the jobs",
  };
}
