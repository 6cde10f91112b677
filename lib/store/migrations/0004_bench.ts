/**
 * 0004_bench: one row per `rra bench` run (lib/bench): the resolved bench config, everything it measured
 * (lib/bench/types.ts BenchReport, machine facts included) and the package versions, as JSON.
 */
import type { Kysely } from "kysely";
import { migrationSql } from "../dialect";

/** Create bench_runs. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = migrationSql(db);
  await t.table("bench_runs")
    .addColumn("id", t.id, t.autoId)
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(t.nowIso))
    .addColumn("config_json", "text", (c) => c.notNull())
    .addColumn("results_json", "text", (c) => c.notNull())
    .addColumn("versions_json", "text", (c) => c.notNull())
    .execute();
}

/** Drop bench_runs. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("bench_runs").ifExists().execute();
}
