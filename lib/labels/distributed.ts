/**
 * One label job shared by several workers, on one machine or many (`rra label --worker`; a PostgreSQL
 * store for workers on several machines, see environment.md). The job is the one `runLabelJob` runs for
 * the same config (same id); its work items are its queries, each with ALL of its windows: one window
 * for the RRADistill top10+bottom10 selection (and top20), the whole chain for sliding20/10, whose
 * windows depend on the answer before them and so cannot be split between workers.
 *
 * A worker seeds the items (idempotently), claims up to `concurrency` of them at once (lib/store/
 * claims.ts), labels each query like `runLabelJob` does but keeps its windows in memory, and stores them
 * in the same transaction that marks the item done, only if it still holds the claim. It renews its
 * leases every third of the lease time; a worker that dies stops renewing, and once its leases run out
 * the other workers take its items over. A worker leaves when no item is pending or claimed (it waits
 * while other live workers hold some), after writing the job's summary computed from the store, so
 * every worker writes the same summary and the last one to leave marks the job done.
 */
import { hostname } from "os";
import type { Kysely } from "kysely";
import { DataError, show } from "../core/errors";
import { createProgress } from "../core/progress";
import type { Dataset, RankedList } from "../data/types";
import { claimItems, completeClaim, countClaims, loadClaims, releaseClaim, renewClaims, retryFailedClaims, seedClaims, type ClaimCounts, type HeldClaim } from "../store/claims";
import { finishLabelJob, loadWindows, saveRationale, writeWindow, type LabelFact, type RationaleRecord, type WindowRecord } from "../store/labels";
import type { Database } from "../store/schema";
import { labelQuery, resolveLabelConfig, startLabelJob, summarizeLabelJob, teacherRunOf, type LabelJobConfig, type LabelSummary, type QueryResult, type RunLabelJobOptions } from "./pipeline";
import type { Teacher } from "./types";

/** Options of `runLabelWorker` besides the job config. */
export interface LabelWorkerOptions extends RunLabelJobOptions {
  /** This worker's name in the claims table. Default `<hostname>-<pid>-<start time, base 36>`. */
  workerId?: string;
  /** Seconds a claim stays held without renewal before other workers may take it over. Default 60. */
  leaseSeconds?: number;
  /** Claims of one item (teacher failures included) before it is marked failed. Default 3. */
  maxAttempts?: number;
  /** Wait between looks for claimable items while other workers hold the rest, in ms. Default min(2000, lease / 4). */
  pollMs?: number;
  /** Told about every claim, completion, lost claim and failure (the CLI prints them). */
  onEvent?: (event: LabelWorkerEvent) => void;
}

/** Something a worker did. */
export type LabelWorkerEvent =
  | { kind: "claimed"; items: HeldClaim[] }
  | { kind: "done"; qid: string }
  /** The claim ran out and another worker took the item; this worker's labels of it were discarded. */
  | { kind: "lost"; qid: string }
  | { kind: "released" | "failed"; qid: string; failedWindows: number };

/** What a worker did, and the job's state when it left. */
export interface LabelWorkerResult {
  jobId: string;
  workerId: string;
  /** Items this worker labelled and stored. */
  completed: number;
  /** Items this worker labelled but did not store because another worker had taken them over. */
  lost: number;
  /** Items of the job by status when the worker left (nothing pending or claimed). */
  counts: ClaimCounts;
  /** The job's summary, computed from the store. */
  summary: LabelSummary;
}

/** Default lease of a claim, in seconds. */
export const DEFAULT_LEASE_SECONDS = 60;

/** The default worker id: host, process and start time, so restarts and other machines never collide. */
export function defaultWorkerId(): string {
  return `${hostname()}-${process.pid}-${Date.now().toString(36)}`;
}

/** Run as one worker of a label job until every item is done or failed; returns what it did and the job summary. */
export async function runLabelWorker(db: Kysely<Database>, partial: Partial<LabelJobConfig> & { dataset: string }, options: LabelWorkerOptions = {}): Promise<LabelWorkerResult> {
  const cfg = resolveLabelConfig(partial);
  const workerId = options.workerId ?? defaultWorkerId();
  const leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const maxAttempts = options.maxAttempts ?? 3;
  const pollMs = options.pollMs ?? Math.min(2000, (leaseSeconds * 1000) / 4);
  const fail = (field: string, expected: string, got: unknown): never => { throw new DataError({ file: "label worker", field }, expected, show(got)); };
  if (typeof workerId !== "string" || workerId.trim() === "") fail("workerId", "a non-empty worker id", workerId);
  if (!(Number.isFinite(leaseSeconds) && leaseSeconds > 0)) fail("leaseSeconds", "a lease in seconds > 0", leaseSeconds);
  if (!(Number.isSafeInteger(maxAttempts) && maxAttempts >= 1)) fail("maxAttempts", "an integer >= 1", maxAttempts);
  if (!(Number.isFinite(pollMs) && pollMs > 0)) fail("pollMs", "a wait in ms > 0", pollMs);
  const emit = options.onEvent ?? (() => undefined);

  const { dataset, teacher, rationaleTeacher, jobId, lists } = await startLabelJob(db, cfg, options);
  await seedClaims(db, jobId, lists.map((l, i) => ({ qid: l.qid, ord: i })));
  await retryFailedClaims(db, jobId);
  const progress = createProgress({ label: `label worker ${workerId} ${cfg.dataset} ${teacher.name} ${cfg.selection}`, total: lists.length, unit: "queries", quiet: options.quiet });

  const active = new Map<string, Promise<void>>();
  let completed = 0;
  let lost = 0;
  let fatal: unknown;

  // Label one claimed query, then store it (if the claim is still ours) or give it back.
  const work = async (c: HeldClaim): Promise<void> => {
    const list = lists[c.ord];
    if (!list || list.qid !== c.qid) fail(`label_claims[${show(c.qid)}].ord`, `the position of query ${show(c.qid)} in job ${jobId}`, c.ord);
    const windows: WindowRecord[] = [];
    const rationales: RationaleRecord[] = [];
    const sink = { window: async (w: WindowRecord) => void windows.push(w), rationale: async (r: RationaleRecord) => void rationales.push(r) };
    const res = await labelQuery(db, jobId, cfg, teacher, rationaleTeacher, list, c.ord, () => undefined, sink);
    const { facts: _facts, ...result } = res; // facts are stored with the windows
    if (res.failed > 0) {
      const status = await releaseClaim(db, jobId, workerId, c.qid, { result, maxAttempts });
      if (status === null) lost++;
      emit(status === null ? { kind: "lost", qid: c.qid } : { kind: status === "failed" ? "failed" : "released", qid: c.qid, failedWindows: res.failed });
      return;
    }
    const stored = await completeClaim(db, jobId, workerId, c.qid, result, async (tx) => {
      for (const w of windows) await writeWindow(tx, w);
      for (const r of rationales) await saveRationale(tx, r);
    });
    if (stored) completed++;
    else lost++;
    progress.tick(1, `${completed} stored, ${lost} lost`);
    emit(stored ? { kind: "done", qid: c.qid } : { kind: "lost", qid: c.qid });
  };

  // Renew the leases of everything in hand every third of the lease.
  let renewing = false;
  const heartbeat = setInterval(() => {
    if (renewing || active.size === 0) return;
    renewing = true;
    renewClaims(db, jobId, workerId, [...active.keys()], leaseSeconds)
      .catch((e: unknown) => process.stderr.write(`[label worker ${workerId}] lease renewal failed (retrying): ${String(e)}\n`))
      .finally(() => (renewing = false));
  }, (leaseSeconds * 1000) / 3);

  let counts: ClaimCounts;
  try {
    for (;;) {
      if (fatal !== undefined) break;
      if (active.size < cfg.concurrency) {
        const got = await claimItems(db, jobId, workerId, { limit: cfg.concurrency - active.size, leaseSeconds });
        if (got.length > 0) emit({ kind: "claimed", items: got });
        for (const c of got) {
          active.set(c.qid, work(c).catch((e: unknown) => void (fatal ??= e)).finally(() => active.delete(c.qid)));
        }
      }
      if (active.size === 0) {
        const now = await countClaims(db, jobId);
        if (now.pending + now.claimed === 0) break;
      }
      // Wake when an item finishes (a slot is free) or after pollMs (a lease may have run out).
      await waitFor([...active.values()], pollMs);
    }
    await Promise.allSettled([...active.values()]);
    if (fatal !== undefined) throw fatal;
    counts = await countClaims(db, jobId);
  } finally {
    clearInterval(heartbeat);
    await teacher.close?.();
    await rationaleTeacher?.close?.();
  }
  progress.done(`${completed} stored, ${lost} lost`);
  const summary = await summarizeStoredJob(db, jobId, cfg, teacher, dataset, lists);
  await finishLabelJob(db, jobId, summary, counts.failed === 0);
  return { jobId, workerId, completed, lost, counts, summary };
}

/** Resolve when any of `tasks` settles or after `ms`, whichever is first (the timer never outlives it). */
async function waitFor(tasks: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([...tasks, new Promise<void>((res) => (timer = setTimeout(res, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The summary of a job run by workers, from the store alone: each item's recorded result (ranking,
 * counts, tokens) and the facts of its stored windows, in job order. So whichever worker computes it,
 * it is the same; `seconds` is the time from seeding the items to the last one finished.
 */
export async function summarizeStoredJob(db: Kysely<Database>, jobId: string, cfg: LabelJobConfig, teacher: Teacher, dataset: Dataset, lists: readonly RankedList[]): Promise<LabelSummary> {
  const claims = new Map((await loadClaims(db, jobId)).map((c) => [c.qid, c]));
  const facts = new Map<string, LabelFact[]>();
  for (const w of await loadWindows(db, jobId)) facts.set(w.qid, [...(facts.get(w.qid) ?? []), ...w.facts]);
  const results: QueryResult[] = lists.map((l) => {
    const c = claims.get(l.qid);
    const recorded = c && (c.status === "done" || c.status === "failed") ? (c.result as Omit<QueryResult, "facts"> | null) : null;
    if (!recorded) return { ranking: [], windows: 0, failed: 0, facts: [], anomalies: [], tokens: { prompt: 0, completion: 0, latency: 0, calls: 0 }, rationales: 0, rationaleFailed: 0 };
    return { ...recorded, facts: c!.status === "done" ? facts.get(l.qid) ?? [] : [] };
  });
  const times = [...claims.values()].flatMap((c) => [Date.parse(c.createdAt), ...(c.finishedAt ? [Date.parse(c.finishedAt)] : [])]);
  const seconds = times.length ? (Math.max(...times) - Math.min(...times)) / 1000 : 0;
  return summarizeLabelJob(jobId, cfg, teacher, dataset, lists, results, teacherRunOf(lists, results), seconds);
}
