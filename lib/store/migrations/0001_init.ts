/**
 * 0001_init: datasets (queries, passages, candidates, judgments), runs (entries, metrics).
 * Tables are SQLite STRICT tables, so a value of the wrong type is refused instead of stored.
 * Migrations take `Kysely<any>`: they describe the schema at their own point in history.
 */
import { sql, type Kysely } from "kysely";

/** Current UTC time as ISO-8601 with milliseconds, e.g. `2025-01-31T12:00:00.123Z`. */
const NOW_ISO = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
const STRICT = sql`strict`;

/** Create every table of the first schema version. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("datasets")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("fingerprint", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(NOW_ISO))
    .modifyEnd(STRICT)
    .execute();

  await db.schema
    .createTable("queries")
    .addColumn("dataset", "text", (c) => c.notNull().references("datasets.name").onDelete("cascade"))
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("text", "text", (c) => c.notNull())
    .addColumn("ord", "integer", (c) => c.notNull())
    .addColumn("list_ord", "integer")
    .addColumn("list_query", "text")
    .addPrimaryKeyConstraint("queries_pk", ["dataset", "qid"])
    .modifyEnd(STRICT)
    .execute();

  await db.schema
    .createTable("passages")
    .addColumn("docid", "text", (c) => c.primaryKey())
    .addColumn("text", "text", (c) => c.notNull())
    .modifyEnd(STRICT)
    .execute();

  await db.schema
    .createTable("dataset_passages")
    .addColumn("dataset", "text", (c) => c.notNull().references("datasets.name").onDelete("cascade"))
    .addColumn("docid", "text", (c) => c.notNull().references("passages.docid"))
    .addColumn("ord", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("dataset_passages_pk", ["dataset", "docid"])
    .modifyEnd(STRICT)
    .execute();

  // Replacing a dataset looks up which of its passages no other dataset uses.
  await db.schema.createIndex("dataset_passages_docid_idx").on("dataset_passages").column("docid").execute();

  await db.schema
    .createTable("candidates")
    .addColumn("dataset", "text", (c) => c.notNull())
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("docid", "text", (c) => c.notNull())
    .addColumn("ord", "integer", (c) => c.notNull())
    .addColumn("rank", "integer", (c) => c.notNull())
    .addColumn("score", "real", (c) => c.notNull())
    .addColumn("has_text", "integer", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("candidates_pk", ["dataset", "qid", "docid"])
    .addForeignKeyConstraint("candidates_query_fk", ["dataset", "qid"], "queries", ["dataset", "qid"], (fk) =>
      fk.onDelete("cascade"),
    )
    .modifyEnd(STRICT)
    .execute();

  await db.schema
    .createTable("judgments")
    .addColumn("dataset", "text", (c) => c.notNull().references("datasets.name").onDelete("cascade"))
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("docid", "text", (c) => c.notNull())
    .addColumn("rel", "integer", (c) => c.notNull())
    .addColumn("ord", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("judgments_pk", ["dataset", "qid", "docid"])
    .modifyEnd(STRICT)
    .execute();

  await db.schema
    .createTable("runs")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("dataset", "text", (c) => c.notNull())
    .addColumn("tag", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("config_json", "text", (c) => c.notNull())
    .addColumn("seed", "integer")
    .addColumn("backend", "text")
    .addColumn("versions_json", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("git_sha", "text")
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(NOW_ISO))
    .modifyEnd(STRICT)
    .execute();
  await db.schema.createIndex("runs_dataset_idx").on("runs").columns(["dataset", "name"]).execute();

  await db.schema
    .createTable("run_entries")
    .addColumn("run_id", "text", (c) => c.notNull().references("runs.id").onDelete("cascade"))
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("docid", "text", (c) => c.notNull())
    .addColumn("ord", "integer", (c) => c.notNull())
    .addColumn("rank", "integer", (c) => c.notNull())
    .addColumn("score", "real", (c) => c.notNull())
    .addPrimaryKeyConstraint("run_entries_pk", ["run_id", "qid", "docid"])
    .modifyEnd(STRICT)
    .execute();
  // Loading a run reads it back in file order.
  await db.schema.createIndex("run_entries_ord_idx").on("run_entries").columns(["run_id", "ord"]).unique().execute();

  await db.schema
    .createTable("metrics")
    .addColumn("run_id", "text", (c) => c.notNull().references("runs.id").onDelete("cascade"))
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("metric", "text", (c) => c.notNull())
    .addColumn("value", "real", (c) => c.notNull())
    .addColumn("rel_threshold", "real", (c) => c.notNull())
    .addPrimaryKeyConstraint("metrics_pk", ["run_id", "qid", "metric"])
    .modifyEnd(STRICT)
    .execute();
}

/** Drop every table of `up`, children before parents. */
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["metrics", "run_entries", "runs", "judgments", "candidates", "dataset_passages", "passages", "queries", "datasets"]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
