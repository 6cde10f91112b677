/**
 * 0007_train_init: the checkpoint a warm-started training run starts from (train/init.ts InitRecord:
 * name, hub revision, model type, weight file, sha256 of every file), as JSON; null for a student trained
 * from scratch.
 */
import type { Kysely } from "kysely";

/** Add train_runs.init_json. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("train_runs").addColumn("init_json", "text").execute();
}

/** Drop train_runs.init_json. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("train_runs").dropColumn("init_json").execute();
}
