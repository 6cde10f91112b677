/**
 * 0005_claims: the work items of label jobs run by several workers (`rra label --worker`, lib/labels/
 * distributed.ts). One row per (job, query): a worker claims pending items atomically, holds each under a
 * lease (an expiry time from the database clock) that it renews while working, and marks the item done in
 * the transaction that stores its windows. An item whose lease expired is claimed again by another worker.
 */
import type { Kysely } from "kysely";
import { migrationSql } from "../dialect";

/** Create label_claims. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = migrationSql(db);
  await t.table("label_claims")
    .addColumn("job_id", "text", (c) => c.notNull().references("label_jobs.id").onDelete("cascade"))
    .addColumn("qid", "text", (c) => c.notNull())
    // position of the query in the job (its lists order): items are claimed in this order
    .addColumn("ord", t.int, (c) => c.notNull())
    // pending, claimed, done, failed (a teacher error in every attempt)
    .addColumn("status", "text", (c) => c.notNull())
    // the worker holding or last holding the item
    .addColumn("worker_id", "text")
    // ISO-8601 UTC time (database clock) after which another worker may take a claimed item over
    .addColumn("lease_until", "text")
    // times the item was claimed
    .addColumn("attempts", t.int, (c) => c.notNull().defaultTo(0))
    // what labelling the query gave besides its stored windows (ranking, counts, tokens), JSON; for the job summary
    .addColumn("result_json", "text")
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(t.nowIso))
    .addColumn("finished_at", "text")
    .addPrimaryKeyConstraint("label_claims_pk", ["job_id", "qid"])
    .execute();
  await db.schema.createIndex("label_claims_status_idx").on("label_claims").columns(["job_id", "status", "ord"]).execute();
}

/** Drop label_claims. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("label_claims").ifExists().execute();
}
