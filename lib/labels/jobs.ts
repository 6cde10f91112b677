/** Sets of label jobs and a look at one stored window: what notebook 02 and `rra reproduce` run. */
import type { Kysely } from "kysely";
import { ConfigError, show } from "../core/errors";
import { interruptCheck } from "../core/interrupt";
import { createProgress } from "../core/progress";
import type { Dataset } from "../data/types";
import { loadWindows } from "../store/labels";
import type { Database } from "../store/schema";
import { runLabelJob, type LabelJobConfig, type LabelSummary } from "./pipeline";

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

/** Run several label jobs one after another (each resumes if already stored); returns their summaries. Stops on an interrupt between windows. */
export async function runLabelJobs(db: Kysely<Database>, jobs: ReadonlyArray<Partial<LabelJobConfig> & { dataset: string }>, options: { limit?: number; quiet?: boolean } = {}): Promise<LabelSummary[]> {
  const out: LabelSummary[] = [];
  const interrupt = interruptCheck(() => `label jobs at job ${out.length + 1} of ${jobs.length} (${out.length === 0 ? "no job finished yet" : `the ${out.length} finished job${out.length === 1 ? " is" : "s are"} stored`})`);
  // one line in a notebook: each job's bar joins it
  const bar = createProgress({ label: "label jobs", total: jobs.length, unit: "jobs", quiet: options.quiet, lineOnly: true });
  try {
    for (const job of jobs) {
      await interrupt.check();
      bar.tick(0, `${job.dataset} ${job.teacher ?? ""}`.trim());
      out.push((await runLabelJob(db, { ...job, ...(options.limit ? { limit: options.limit } : {}) }, { quiet: options.quiet })).summary);
      bar.tick(1);
    }
  } catch (e) {
    throw interrupt.explain(e);
  }
  bar.done();
  return out;
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
