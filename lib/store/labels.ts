/**
 * Label jobs in the store: the job record, each window shown to the teacher with its parse anomalies,
 * and the raw per-document facts (position shown, teacher rank or missing, flags). A window is written
 * in one transaction, so a job killed at any point leaves only whole windows behind.
 */
import type { Kysely, Transaction } from "kysely";
import { DataError, show } from "../core/errors";
import type { Database, LabelJobRow } from "./schema";

/** A label job as created by the pipeline. */
export interface LabelJobInfo {
  id: string;
  dataset: string;
  teacher: string;
  model: string;
  templateVersion: string;
  selection: string;
  seed: number;
  config: unknown;
  versions: Record<string, string>;
  gitSha: string | null;
  status: "running" | "done";
  createdAt?: string;
  finishedAt?: string | null;
  /** The last run's summary, when one finished. */
  summary?: unknown;
}

/** Raw label facts of one document in one window. */
export interface LabelFact {
  qid: string;
  docid: string;
  /** 1-based position in the prompt. */
  positionShown: number;
  /** 1-based rank in the teacher's parsed list; null when missing. */
  teacherRank: number | null;
  missing: boolean;
  flags: Record<string, boolean | number | string>;
}

/** One answered window with its facts. */
export interface WindowRecord {
  jobId: string;
  windowId: string;
  qid: string;
  ord: number;
  /** Docids in shown order. */
  docids: string[];
  shuffleSeed: number | null;
  callId: number | null;
  anomalies: Record<string, number | boolean>;
  facts: LabelFact[];
}

/** Create the job, or mark an existing one (same id) as running again: reruns resume it. */
export async function upsertLabelJob(db: Kysely<Database>, job: LabelJobInfo): Promise<void> {
  await db.insertInto("label_jobs").values({
    id: job.id, dataset: job.dataset, teacher: job.teacher, model: job.model, template_version: job.templateVersion,
    selection: job.selection, seed: job.seed, config_json: JSON.stringify(job.config), versions_json: JSON.stringify(job.versions),
    git_sha: job.gitSha, status: "running", finished_at: null,
  }).onConflict((oc) => oc.column("id").doUpdateSet({ status: "running", finished_at: null, versions_json: JSON.stringify(job.versions), git_sha: job.gitSha })).execute();
}

/** Record a run's summary; `done` marks the job complete (every window answered). */
export async function finishLabelJob(db: Kysely<Database>, id: string, summary: unknown, done: boolean): Promise<void> {
  await db.updateTable("label_jobs")
    .set({ summary_json: JSON.stringify(summary), ...(done ? { status: "done", finished_at: new Date().toISOString() } : {}) })
    .where("id", "=", id).execute();
}

/** Ids of the windows of a job already answered and stored. */
export async function doneWindowIds(db: Kysely<Database>, jobId: string): Promise<Set<string>> {
  const rows = await db.selectFrom("label_windows").select("window_id").where("job_id", "=", jobId).where("status", "=", "done").execute();
  return new Set(rows.map((r) => r.window_id));
}

/** Store one answered window and its facts atomically (replacing a previous version of the window). */
export async function saveWindow(db: Kysely<Database>, w: WindowRecord): Promise<void> {
  await db.transaction().execute((tx) => writeWindow(tx, w));
}

/**
 * Write one window and its facts inside the caller's transaction (replacing a previous version of the
 * window): for writes that must commit together with others, e.g. a distributed worker's completed claim.
 */
export async function writeWindow(tx: Transaction<Database>, w: WindowRecord): Promise<void> {
  checkWindow(w);
  await tx.deleteFrom("labels").where("job_id", "=", w.jobId).where("window_id", "=", w.windowId).execute();
  await tx.deleteFrom("label_windows").where("job_id", "=", w.jobId).where("window_id", "=", w.windowId).execute();
  await tx.insertInto("label_windows").values({
    job_id: w.jobId, window_id: w.windowId, qid: w.qid, ord: w.ord, docids_json: JSON.stringify(w.docids),
    shuffle_seed: w.shuffleSeed, call_id: w.callId, anomalies_json: JSON.stringify(w.anomalies), status: "done",
  }).execute();
  if (w.facts.length) {
    await tx.insertInto("labels").values(w.facts.map((f) => ({
      job_id: w.jobId, window_id: w.windowId, qid: f.qid, docid: f.docid, position_shown: f.positionShown,
      teacher_rank: f.teacherRank, missing: f.missing ? 1 : 0, flags_json: JSON.stringify(f.flags),
    }))).execute();
  }
}

/** A window's facts must carry positive shown positions. */
function checkWindow(w: WindowRecord): void {
  for (const f of w.facts) {
    if (!Number.isInteger(f.positionShown) || f.positionShown < 1) throw new DataError({ file: `label window ${w.windowId}`, field: `${f.docid}.positionShown` }, "a positive integer", show(f.positionShown));
  }
}

/** Every stored window of a job, in job order, with its facts in shown order. */
export async function loadWindows(db: Kysely<Database>, jobId: string): Promise<WindowRecord[]> {
  const windows = await db.selectFrom("label_windows").selectAll().where("job_id", "=", jobId).orderBy("ord").execute();
  const labels = await db.selectFrom("labels").selectAll().where("job_id", "=", jobId).orderBy("window_id").orderBy("position_shown").execute();
  const byWindow = new Map<string, LabelFact[]>();
  for (const l of labels) {
    let list = byWindow.get(l.window_id);
    if (!list) byWindow.set(l.window_id, (list = []));
    list.push({ qid: l.qid, docid: l.docid, positionShown: l.position_shown, teacherRank: l.teacher_rank, missing: l.missing === 1, flags: JSON.parse(l.flags_json) });
  }
  return windows.map((w) => ({
    jobId, windowId: w.window_id, qid: w.qid, ord: w.ord, docids: JSON.parse(w.docids_json) as string[], shuffleSeed: w.shuffle_seed,
    callId: w.call_id, anomalies: w.anomalies_json ? JSON.parse(w.anomalies_json) : {}, facts: byWindow.get(w.window_id) ?? [],
  }));
}

function toInfo(r: LabelJobRow): LabelJobInfo {
  return {
    id: r.id, dataset: r.dataset, teacher: r.teacher, model: r.model, templateVersion: r.template_version, selection: r.selection,
    seed: r.seed, config: JSON.parse(r.config_json), versions: JSON.parse(r.versions_json), gitSha: r.git_sha,
    status: r.status as "running" | "done", createdAt: r.created_at, finishedAt: r.finished_at,
    summary: r.summary_json ? JSON.parse(r.summary_json) : undefined,
  };
}

/** Every label job (optionally of one dataset), oldest first. */
export async function listLabelJobs(db: Kysely<Database>, filter: { dataset?: string; status?: string } = {}): Promise<LabelJobInfo[]> {
  let q = db.selectFrom("label_jobs").selectAll().orderBy("created_at").orderBy("id");
  if (filter.dataset) q = q.where("dataset", "=", filter.dataset);
  if (filter.status) q = q.where("status", "=", filter.status);
  return (await q.execute()).map(toInfo);
}

/** One label job by id, or undefined. */
export async function getLabelJob(db: Kysely<Database>, id: string): Promise<LabelJobInfo | undefined> {
  const r = await db.selectFrom("label_jobs").selectAll().where("id", "=", id).executeTakeFirst();
  return r ? toInfo(r) : undefined;
}

/** A teacher's rationale for one window. */
export interface RationaleRecord {
  jobId: string;
  windowId: string;
  qid: string;
  callId: number | null;
  text: string;
}

/** Store (or replace) the rationale of a window; the window must be stored first. */
export async function saveRationale(db: Kysely<Database>, r: RationaleRecord): Promise<void> {
  await db.insertInto("rationales").values({ job_id: r.jobId, window_id: r.windowId, qid: r.qid, call_id: r.callId, text: r.text })
    .onConflict((oc) => oc.columns(["job_id", "window_id"]).doUpdateSet({ text: r.text, call_id: r.callId })).execute();
}

/** Every rationale of a job, by window id. */
export async function loadRationales(db: Kysely<Database>, jobId: string): Promise<Map<string, RationaleRecord>> {
  const rows = await db.selectFrom("rationales").selectAll().where("job_id", "=", jobId).execute();
  return new Map(rows.map((r) => [r.window_id, { jobId, windowId: r.window_id, qid: r.qid, callId: r.call_id, text: r.text }]));
}
