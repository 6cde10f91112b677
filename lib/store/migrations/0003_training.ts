/**
 * 0003_training: student training runs (resolved config, seed, backend, versions, status, model
 * directory) and their curves (per-step training loss, per-epoch dev metrics).
 */
import type { Kysely } from "kysely";
import { migrationSql } from "../dialect";

/** Create the training tables. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = migrationSql(db);
  await t.table("train_runs")
    // student-<hash8 of the resolved config>
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("config_json", "text", (c) => c.notNull())
    .addColumn("seed", t.int, (c) => c.notNull())
    .addColumn("backend", "text", (c) => c.notNull())
    .addColumn("versions_json", "text", (c) => c.notNull())
    .addColumn("git_sha", "text")
    // running, done, stopped (early stopping), interrupted
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(t.nowIso))
    .addColumn("finished_at", "text")
    .addColumn("out_dir", "text", (c) => c.notNull())
    .execute();

  await t.table("train_curves")
    .addColumn("run_id", "text", (c) => c.notNull().references("train_runs.id").onDelete("cascade"))
    // optimizer steps done when the value was measured
    .addColumn("step", t.int, (c) => c.notNull())
    .addColumn("epoch", t.int, (c) => c.notNull())
    // train or dev
    .addColumn("split", "text", (c) => c.notNull())
    // loss, lr, grad_norm, ndcg@10
    .addColumn("metric", "text", (c) => c.notNull())
    .addColumn("value", t.real, (c) => c.notNull())
    .addPrimaryKeyConstraint("train_curves_pk", ["run_id", "split", "metric", "step"])
    .execute();
}

/** Drop the training tables. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("train_curves").execute();
  await db.schema.dropTable("train_runs").execute();
}
