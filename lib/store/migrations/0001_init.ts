/**
 * 0001_init: datasets (queries, passages, candidates, judgments), runs (entries, metrics).
 * On SQLite the tables are STRICT, so a value of the wrong type is refused instead of stored; column types
 * come from `migrationSql` (../dialect.ts), so the same migration also builds the PostgreSQL schema.
 * Migrations take `Kysely<any>`: they describe the schema at their own point in history.
 */
import type { Kysely } from "kysely";
import { migrationSql } from "../dialect";

/** Create every table of the first schema version. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = migrationSql(db);
  await t.table("datasets")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("fingerprint", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(t.nowIso))
    .execute();

  await t.table("queries")
    .addColumn("dataset", "text", (c) => c.notNull().references("datasets.name").onDelete("cascade"))
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("text", "text", (c) => c.notNull())
    .addColumn("ord", t.int, (c) => c.notNull())
    .addColumn("list_ord", t.int)
    .addColumn("list_query", "text")
    .addPrimaryKeyConstraint("queries_pk", ["dataset", "qid"])
    .execute();

  await t.table("passages")
    .addColumn("docid", "text", (c) => c.primaryKey())
    .addColumn("text", "text", (c) => c.notNull())
    .execute();

  await t.table("dataset_passages")
    .addColumn("dataset", "text", (c) => c.notNull().references("datasets.name").onDelete("cascade"))
    .addColumn("docid", "text", (c) => c.notNull().references("passages.docid"))
    .addColumn("ord", t.int, (c) => c.notNull())
    .addPrimaryKeyConstraint("dataset_passages_pk", ["dataset", "docid"])
    .execute();

  // Replacing a dataset looks up which of its passages no other dataset uses.
  await db.schema.createIndex("dataset_passages_docid_idx").on("dataset_passages").column("docid").execute();

  await t.table("candidates")
    .addColumn("dataset", "text", (c) => c.notNull())
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("docid", "text", (c) => c.notNull())
    .addColumn("ord", t.int, (c) => c.notNull())
    .addColumn("rank", t.int, (c) => c.notNull())
    .addColumn("score", t.real, (c) => c.notNull())
    .addColumn("has_text", t.int, (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("candidates_pk", ["dataset", "qid", "docid"])
    .addForeignKeyConstraint("candidates_query_fk", ["dataset", "qid"], "queries", ["dataset", "qid"], (fk) =>
      fk.onDelete("cascade"),
    )
    .execute();

  await t.table("judgments")
    .addColumn("dataset", "text", (c) => c.notNull().references("datasets.name").onDelete("cascade"))
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("docid", "text", (c) => c.notNull())
    .addColumn("rel", t.int, (c) => c.notNull())
    .addColumn("ord", t.int, (c) => c.notNull())
    .addPrimaryKeyConstraint("judgments_pk", ["dataset", "qid", "docid"])
    .execute();

  await t.table("runs")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("dataset", "text", (c) => c.notNull())
    .addColumn("tag", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("config_json", "text", (c) => c.notNull())
    .addColumn("seed", t.int)
    .addColumn("backend", "text")
    .addColumn("versions_json", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("git_sha", "text")
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(t.nowIso))
    .execute();
  await db.schema.createIndex("runs_dataset_idx").on("runs").columns(["dataset", "name"]).execute();

  await t.table("run_entries")
    .addColumn("run_id", "text", (c) => c.notNull().references("runs.id").onDelete("cascade"))
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("docid", "text", (c) => c.notNull())
    .addColumn("ord", t.int, (c) => c.notNull())
    .addColumn("rank", t.int, (c) => c.notNull())
    .addColumn("score", t.real, (c) => c.notNull())
    .addPrimaryKeyConstraint("run_entries_pk", ["run_id", "qid", "docid"])
    .execute();
  // Loading a run reads it back in file order.
  await db.schema.createIndex("run_entries_ord_idx").on("run_entries").columns(["run_id", "ord"]).unique().execute();

  await t.table("metrics")
    .addColumn("run_id", "text", (c) => c.notNull().references("runs.id").onDelete("cascade"))
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("metric", "text", (c) => c.notNull())
    .addColumn("value", t.real, (c) => c.notNull())
    .addColumn("rel_threshold", t.real, (c) => c.notNull())
    .addPrimaryKeyConstraint("metrics_pk", ["run_id", "qid", "metric"])
    .execute();
}

/** Drop every table of `up`, children before parents. */
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["metrics", "run_entries", "runs", "judgments", "candidates", "dataset_passages", "passages", "queries", "datasets"]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
