/**
 * 0006_lexicons: collection statistics (lib/lexical/lexicon.ts) with their provenance: one row per
 * distinct lexicon (id = its content hash), the BM25 parameters and recovered-term count for queries, and
 * the whole table as JSON (lexicon.json's format), so every training run's statistics can be read back.
 */
import type { Kysely } from "kysely";
import { migrationSql } from "../dialect";

/** Create lexicons. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = migrationSql(db);
  await t.table("lexicons")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(t.nowIso))
    .addColumn("k1", t.real, (c) => c.notNull())
    .addColumn("b", t.real, (c) => c.notNull())
    .addColumn("avgdl", t.real, (c) => c.notNull())
    .addColumn("recovered_terms", t.int, (c) => c.notNull())
    .addColumn("provenance_json", "text", (c) => c.notNull())
    .addColumn("table_json", "text", (c) => c.notNull())
    .execute();
}

/** Drop lexicons. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("lexicons").ifExists().execute();
}
