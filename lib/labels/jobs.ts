/** Sets of label jobs and a look at one stored window: what notebook 02 and `rra reproduce` run. */
import type { Kysely } from "kysely";
import { ConfigError, show } from "../core/errors";
import { interruptCheck } from "../core/interrupt";
import { checkNames } from "../core/names";
import { createProgress } from "../core/progress";
import type { Dataset } from "../data/types";
import { getLabelJob, loadWindows } from "../store/labels";
import type { Database } from "../store/schema";
import { labelJobId, resolveLabelConfig, runLabelJob, type LabelJobConfig, type LabelSummary } from "./pipeline";

/** The offline label jobs that reproduce the paper's efficiency comparison on the shipped data. */
export function offlineLabelJobs(datasets: readonly ("dl19" | "dl20")[] = ["dl19", "dl20"]): Array<Partial<LabelJobConfig> & { dataset: string }> {
  const jobs: Array<Partial<LabelJobConfig> & { dataset: string }> = [];
  for (const d of datasets) {
    jobs.push(
      { dataset: d, teacher: `replay:rankvicuna-7b_bm25-top20-single_${d}` },
      { dataset: d, teacher: `replay:rankvicuna-7b_bm25-top100-sw20s10_${d}` },
      { dataset: d, teacher: `replay:vicuna-7b-ckpt800_bm25-top20-single_${d}` },
      { dataset: d, teacher: "projected:rankvicuna-7b", selection: "top10+bottom10" },
      { dataset: d, teacher: "oracle", selection: "top10+bottom10" },
      { dataset: d, teacher: "bm25", selection: "top10+bottom10" },
    );
    if (d === "dl19") jobs.push({ dataset: d, teacher: "replay:vicuna-7b-v1.5-zeroshot_bm25-top100-sw20s10_dl19" });
  }
  return jobs;
}

/** Options of `runLabelJobs`. */
export interface RunLabelJobsOptions {
  /** Only the first `limit` queries of each job (smoke runs); 0 or absent = all. */
  limit?: number;
  /** No progress bars and no reuse line. */
  quiet?: boolean;
  /** Run every job again even when the store holds it finished. Default false: a finished job is reused. */
  rerun?: boolean;
  /** Where the reuse line goes. Default console.log. */
  log?: (line: string) => void;
}

/**
 * The stored summary of a finished job with this config (same job id, every window answered), or null
 * when it was never run, stopped early or left windows unanswered.
 */
export async function finishedLabelJob(db: Kysely<Database>, partial: Partial<LabelJobConfig> & { dataset: string }): Promise<LabelSummary | null> {
  const job = await getLabelJob(db, labelJobId(resolveLabelConfig(partial)));
  const s = job?.summary as Partial<LabelSummary> | undefined;
  // A summary written before a field existed (or with a NaN, which JSON stores as null) is not reused.
  const whole = s !== undefined && typeof s.job === "string" && typeof s.teacherNdcg10 === "number" && typeof s.preRankNdcg10 === "number" && typeof s.calls === "number";
  return job?.status === "done" && whole ? (s as LabelSummary) : null;
}

/**
 * Run several label jobs one after another and return their summaries. A job the store holds finished
 * is reused (its stored summary, `reused: true`, no teacher called); any other resumes or runs
 * (`rerun: true` runs every one again). Stops on an interrupt between windows and jobs.
 */
export async function runLabelJobs(db: Kysely<Database>, jobs: ReadonlyArray<Partial<LabelJobConfig> & { dataset: string }>, options: RunLabelJobsOptions = {}): Promise<LabelSummary[]> {
  const { limit = 0, quiet = false, rerun = false, log = (line: string) => console.log(line) } = options;
  const t0 = Date.now();
  const out: LabelSummary[] = [];
  let reused = 0;
  const interrupt = interruptCheck(() => `label jobs at job ${out.length + 1} of ${jobs.length} (${out.length === 0 ? "no job finished yet" : `the ${out.length} finished job${out.length === 1 ? " is" : "s are"} stored`})`);
  // one line in a notebook: each job's bar joins it
  const bar = createProgress({ label: "label jobs", total: jobs.length, unit: "jobs", quiet, lineOnly: true });
  try {
    for (const job of jobs) {
      await interrupt.check();
      bar.tick(0, `${job.dataset} ${job.teacher ?? ""}`.trim());
      const partial = { ...job, ...(limit ? { limit } : {}) };
      const stored = rerun ? null : await finishedLabelJob(db, partial);
      if (stored) reused++;
      out.push(stored ? { ...stored, reused: true } : (await runLabelJob(db, partial, { quiet })).summary);
      bar.tick(1);
    }
  } catch (e) {
    throw interrupt.explain(e);
  }
  bar.done();
  if (reused > 0 && !quiet) {
    log(`label jobs: ${reused} of ${jobs.length} reused from the store (finished earlier; no teacher called)` +
      `${reused < jobs.length ? `, ${jobs.length - reused} run` : ""} in ${((Date.now() - t0) / 1000).toFixed(1)} s; { rerun: true } labels them again`);
  }
  return out;
}

/**
 * The one of `jobs` (label job configs or their summaries) with this dataset and teacher. An unknown dataset
 * or teacher is a ConfigError naming `where`, the known names and the nearest (a teacher among that
 * dataset's jobs), so a config cell can check its choice before the jobs run and again on their summaries.
 */
export function pickLabelJob<T extends { dataset: string; teacher?: string }>(jobs: readonly T[], pick: { dataset: string; teacher: string }, where = "label job"): T {
  checkNames(`${where}.dataset`, [pick.dataset], [...new Set(jobs.map((j) => j.dataset))]);
  const mine = jobs.filter((j) => j.dataset === pick.dataset);
  checkNames(`${where}.teacher (the ${pick.dataset} jobs)`, [pick.teacher], [...new Set(mine.map((j) => j.teacher ?? ""))]);
  return mine.find((j) => (j.teacher ?? "") === pick.teacher) as T;
}

/** One stored window as rows (shown position, docid, teacher rank or missing, qrels grade): for showing what a teacher did. */
export async function windowExample(db: Kysely<Database>, jobId: string, dataset: Dataset, pick: "first" | "with-missing" = "with-missing"): Promise<{ windowId: string; query: string; rows: Array<Record<string, string | number>> }> {
  const windows = await loadWindows(db, jobId);
  const w = (pick === "with-missing" ? windows.find((x) => x.facts.some((f) => f.missing)) : undefined) ?? windows[0];
  if (!w) throw new ConfigError(`windowExample: job ${show(jobId)} has no stored window`);
  const judged = dataset.qrels.get(w.qid);
  return {
    windowId: w.windowId,
    query: dataset.queries.find((q) => q.qid === w.qid)?.text ?? w.qid,
    rows: w.facts.map((f) => ({
      shown: f.positionShown, docid: f.docid, teacherRank: f.teacherRank === null ? "missing" : f.teacherRank,
      grade: judged?.has(f.docid) ? (judged.get(f.docid) as number) : "unjudged",
      passage: (dataset.passages.get(f.docid)?.text ?? "").slice(0, 90),
    })),
  };
}
