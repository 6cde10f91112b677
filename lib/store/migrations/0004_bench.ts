/**
 * 0004_bench: one row per `rra bench` run (lib/bench): the resolved bench config, everything it measured
 * (lib/bench/types.ts BenchReport, machine facts included) and the package versions, as JSON.
 */
import { sql, type Kysely } from "kysely";

const NOW_ISO = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
const STRICT = sql`strict`;

/** Create bench_runs. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("bench_runs")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(NOW_ISO))
    .addColumn("config_json", "text", (c) => c.notNull())
    .addColumn("results_json", "text", (c) => c.notNull())
    .addColumn("versions_json", "text", (c) => c.notNull())
    .modifyEnd(STRICT)
    .execute();
}

/** Drop bench_runs. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("bench_runs").ifExists().execute();
}
