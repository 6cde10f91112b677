/**
 * Work items of label jobs shared by several workers (`label_claims`, 0005_claims). An item is one query of
 * the job with all its windows. Workers seed the items (idempotently), claim pending ones atomically,
 * hold them under a lease (expiry from the database clock) that they renew while working, and complete
 * an item in the transaction that stores its windows, only if they still hold it. A worker that dies
 * stops renewing; once its leases expire, other workers claim its items again.
 *
 * Atomicity: a claim is one UPDATE of the rows picked by a sub-select. On PostgreSQL the sub-select locks
 * its rows `FOR UPDATE SKIP LOCKED`, so concurrent claimers pick disjoint rows without waiting, and a row
 * changed meanwhile is re-checked before it is updated. On SQLite one statement is atomic: the database
 * has a single writer at a time.
 */
import type { Kysely, Transaction } from "kysely";
import { DataError, show } from "../core/errors";
import { chunkRows } from "./db";
import { nowIso, nowIsoPlus, storeDialect } from "./dialect";
import type { Database } from "./schema";

/** Status of a work item: `pending` (nobody holds it), `claimed` (a worker holds it), `done` (stored) or `failed` (teacher errors in every attempt). */
export type ClaimStatus = "pending" | "claimed" | "done" | "failed";

/** One work item to seed: a query of the job and its position in the job. */
export interface ClaimItem {
  qid: string;
  ord: number;
}

/** An item a worker now holds. */
export interface HeldClaim {
  qid: string;
  ord: number;
  /** Times the item was claimed, this claim included (2 or more: taken over or retried). */
  attempts: number;
  /** ISO-8601 UTC time (database clock) the lease runs out unless renewed. */
  leaseUntil: string;
}

/** A stored work item, parsed. */
export interface ClaimRecord {
  jobId: string;
  qid: string;
  ord: number;
  status: ClaimStatus;
  workerId: string | null;
  leaseUntil: string | null;
  attempts: number;
  /** What the worker that finished the item recorded besides its windows (parsed `result_json`). */
  result: unknown;
  createdAt: string;
  finishedAt: string | null;
}

/** Items of a job by status. */
export interface ClaimCounts {
  pending: number;
  claimed: number;
  done: number;
  failed: number;
  total: number;
}

/** Options of `claimItems`. */
export interface ClaimOptions {
  /** At most this many items. */
  limit: number;
  /** Seconds the claims are held without renewal. */
  leaseSeconds: number;
}

/** Validate the lease length: positive seconds (fractions allowed). */
function checkLease(leaseSeconds: number, where: string): void {
  if (!(Number.isFinite(leaseSeconds) && leaseSeconds > 0)) throw new DataError({ file: where, field: "leaseSeconds" }, "a lease length in seconds > 0", show(leaseSeconds));
}

/** Add the job's items as pending; items already there (seeded by another worker) stay as they are. Returns how many were new. */
export async function seedClaims(db: Kysely<Database>, jobId: string, items: readonly ClaimItem[]): Promise<number> {
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (typeof it.qid !== "string" || it.qid === "" || seen.has(it.qid)) throw new DataError({ file: `claims of job ${show(jobId)}`, field: `items[${i}].qid` }, "a distinct non-empty query id", show(it.qid));
    if (!Number.isSafeInteger(it.ord) || it.ord < 0) throw new DataError({ file: `claims of job ${show(jobId)}`, field: `items[${i}].ord` }, "a position >= 0", show(it.ord));
    seen.add(it.qid);
  });
  let added = 0;
  for (const chunk of chunkRows(items, 4)) {
    const res = await db.insertInto("label_claims")
      .values(chunk.map((it) => ({ job_id: jobId, qid: it.qid, ord: it.ord, status: "pending" })))
      .onConflict((oc) => oc.columns(["job_id", "qid"]).doNothing())
      .executeTakeFirst();
    added += Number(res.numInsertedOrUpdatedRows ?? 0);
  }
  return added;
}

/**
 * Claim up to `limit` items of the job for `workerId`, lowest `ord` first: pending items, and claimed items
 * whose lease ran out (their worker died or stalled). One atomic statement; returns what was claimed.
 */
export async function claimItems(db: Kysely<Database>, jobId: string, workerId: string, options: ClaimOptions): Promise<HeldClaim[]> {
  const { limit, leaseSeconds } = options;
  checkLease(leaseSeconds, "claimItems");
  if (!(Number.isSafeInteger(limit) && limit >= 1)) throw new DataError({ file: "claimItems", field: "limit" }, "an item count >= 1", show(limit));
  const pick = (qb: Kysely<Database>) => qb.selectFrom("label_claims").select("qid")
    .where("job_id", "=", jobId)
    .where((eb) => eb.or([eb("status", "=", "pending"), eb.and([eb("status", "=", "claimed"), eb("lease_until", "<", nowIsoPlus(db, 0))])]))
    .orderBy("ord")
    .limit(limit);
  const set = { status: "claimed", worker_id: workerId, lease_until: nowIsoPlus(db, leaseSeconds) } as const;
  const returned = ["qid", "ord", "attempts", "lease_until"] as const;
  // PostgreSQL: the pick must run once, as a materialized CTE. Inside `qid in (select ... limit)` the
  // planner may rescan the sub-select per row, and a rescan skips the rows this statement just updated
  // and so picks the next ones: one claim would take more than `limit` items (and race other claimers).
  const rows = storeDialect(db) === "postgres"
    ? await db.with((w) => w("picked").materialized(), (qb) => pick(qb as unknown as Kysely<Database>).forUpdate().skipLocked())
      .updateTable("label_claims")
      .set((eb) => ({ ...set, attempts: eb("attempts", "+", 1) }))
      .where("job_id", "=", jobId)
      .where("qid", "in", (eb) => eb.selectFrom("picked").select("picked.qid"))
      .returning(returned)
      .execute()
    : await db.updateTable("label_claims")
      .set((eb) => ({ ...set, attempts: eb("attempts", "+", 1) }))
      .where("job_id", "=", jobId)
      .where("qid", "in", pick(db))
      .returning(returned)
      .execute();
  return rows.map((r) => ({ qid: r.qid, ord: r.ord, attempts: r.attempts, leaseUntil: r.lease_until as string })).sort((a, b) => a.ord - b.ord);
}

/** Extend the leases of the given items that `workerId` still holds; returns the qids still held (the others were taken over). */
export async function renewClaims(db: Kysely<Database>, jobId: string, workerId: string, qids: readonly string[], leaseSeconds: number): Promise<Set<string>> {
  checkLease(leaseSeconds, "renewClaims");
  const held = new Set<string>();
  for (const chunk of chunkRows(qids, 1)) {
    const rows = await db.updateTable("label_claims")
      .set({ lease_until: nowIsoPlus(db, leaseSeconds) })
      .where("job_id", "=", jobId).where("worker_id", "=", workerId).where("status", "=", "claimed").where("qid", "in", chunk)
      .returning("qid")
      .execute();
    for (const r of rows) held.add(r.qid);
  }
  return held;
}

/**
 * Mark an item done and run `write` (its windows and facts) in ONE transaction, only if `workerId` still
 * holds it. Returns false, writing nothing, when the claim was lost (taken over after its lease ran out):
 * so every item is stored by exactly one worker.
 */
export async function completeClaim(db: Kysely<Database>, jobId: string, workerId: string, qid: string, result: unknown, write: (tx: Transaction<Database>) => Promise<void>): Promise<boolean> {
  const resultJson = JSON.stringify(result ?? null);
  return db.transaction().execute(async (tx) => {
    // The guard comes first: on PostgreSQL it locks the row (a concurrent takeover waits, then finds it done
    // or skips it); on SQLite it takes the write lock for the whole transaction.
    const res = await tx.updateTable("label_claims")
      .set({ status: "done", result_json: resultJson, lease_until: null, finished_at: nowIso(tx) })
      .where("job_id", "=", jobId).where("qid", "=", qid).where("worker_id", "=", workerId).where("status", "=", "claimed")
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await write(tx);
    return true;
  });
}

/**
 * Give up an item `workerId` holds after a teacher failure: back to pending for another try, or `failed`
 * once it was claimed `maxAttempts` times. Returns the new status, or null when the claim was already lost.
 */
export async function releaseClaim(db: Kysely<Database>, jobId: string, workerId: string, qid: string, options: { result?: unknown; maxAttempts: number }): Promise<"pending" | "failed" | null> {
  const { maxAttempts } = options;
  if (!(Number.isSafeInteger(maxAttempts) && maxAttempts >= 1)) throw new DataError({ file: "releaseClaim", field: "maxAttempts" }, "an attempt count >= 1", show(maxAttempts));
  const row = await db.updateTable("label_claims")
    .set((eb) => ({
      status: eb.case().when("attempts", ">=", maxAttempts).then("failed").else("pending").end(),
      finished_at: eb.case().when("attempts", ">=", maxAttempts).then(nowIso(db)).else(null).end(),
      lease_until: null,
      result_json: JSON.stringify(options.result ?? null),
    }))
    .where("job_id", "=", jobId).where("qid", "=", qid).where("worker_id", "=", workerId).where("status", "=", "claimed")
    .returning("status")
    .executeTakeFirst();
  return row ? (row.status as "pending" | "failed") : null;
}

/** Put the job's failed items back to pending with their attempts reset (a new worker tries them again); returns how many. */
export async function retryFailedClaims(db: Kysely<Database>, jobId: string): Promise<number> {
  const res = await db.updateTable("label_claims")
    .set({ status: "pending", attempts: 0, worker_id: null, finished_at: null })
    .where("job_id", "=", jobId).where("status", "=", "failed")
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** How many items of the job are pending, claimed, done and failed. */
export async function countClaims(db: Kysely<Database>, jobId: string): Promise<ClaimCounts> {
  const rows = await db.selectFrom("label_claims").select((eb) => ["status", eb.fn.countAll<number>().as("n")]).where("job_id", "=", jobId).groupBy("status").execute();
  const counts: ClaimCounts = { pending: 0, claimed: 0, done: 0, failed: 0, total: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    if (r.status in counts) counts[r.status as ClaimStatus] += n;
    counts.total += n;
  }
  return counts;
}

/** Every item of a job, in job order. */
export async function loadClaims(db: Kysely<Database>, jobId: string): Promise<ClaimRecord[]> {
  const rows = await db.selectFrom("label_claims").selectAll().where("job_id", "=", jobId).orderBy("ord").execute();
  return rows.map((r) => ({
    jobId, qid: r.qid, ord: r.ord, status: r.status as ClaimStatus, workerId: r.worker_id, leaseUntil: r.lease_until, attempts: r.attempts,
    result: r.result_json === null ? null : (JSON.parse(r.result_json) as unknown), createdAt: r.created_at, finishedAt: r.finished_at,
  }));
}
