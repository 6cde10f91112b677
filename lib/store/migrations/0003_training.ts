/**
 * 0003_training: student training runs (resolved config, seed, backend, versions, status, model
 * directory) and their curves (per-step training loss, per-epoch dev metrics).
 */
import { sql, type Kysely } from "kysely";

const NOW_ISO = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
const STRICT = sql`strict`;

/** Create the training tables. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("train_runs")
    // student-<hash8 of the resolved config>
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("config_json", "text", (c) => c.notNull())
    .addColumn("seed", "integer", (c) => c.notNull())
    .addColumn("backend", "text", (c) => c.notNull())
    .addColumn("versions_json", "text", (c) => c.notNull())
    .addColumn("git_sha", "text")
    // running, done, stopped (early stopping), interrupted
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(NOW_ISO))
    .addColumn("finished_at", "text")
    .addColumn("out_dir", "text", (c) => c.notNull())
    .modifyEnd(STRICT)
    .execute();

  await db.schema
    .createTable("train_curves")
    .addColumn("run_id", "text", (c) => c.notNull().references("train_runs.id").onDelete("cascade"))
    // optimizer steps done when the value was measured
    .addColumn("step", "integer", (c) => c.notNull())
    .addColumn("epoch", "integer", (c) => c.notNull())
    // train or dev
    .addColumn("split", "text", (c) => c.notNull())
    // loss, lr, grad_norm, ndcg@10
    .addColumn("metric", "text", (c) => c.notNull())
    .addColumn("value", "real", (c) => c.notNull())
    .addPrimaryKeyConstraint("train_curves_pk", ["run_id", "split", "metric", "step"])
    .modifyEnd(STRICT)
    .execute();
}

/** Drop the training tables. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("train_curves").execute();
  await db.schema.dropTable("train_runs").execute();
}
