/**
 * 0002_labels: teacher calls (every LLM request with its response, tokens, latency and error; also the
 * cache and the resume log of live jobs), label jobs, the windows each job showed a teacher, the raw
 * per-document label facts, and rationales.
 */
import { sql, type Kysely } from "kysely";

const NOW_ISO = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
const STRICT = sql`strict`;

/** Create the label tables. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("teacher_calls")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    // sha256 of (teacher kind, model, template version, request): the cache and resume key
    .addColumn("cache_key", "text", (c) => c.notNull().unique())
    .addColumn("teacher", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("template_version", "text", (c) => c.notNull())
    // the request as sent (chat messages and parameters), JSON; never holds an API key
    .addColumn("request_json", "text", (c) => c.notNull())
    .addColumn("response", "text")
    .addColumn("prompt_tokens", "integer")
    .addColumn("completion_tokens", "integer")
    .addColumn("latency_ms", "real")
    // pending (sent, no answer recorded yet), done, error
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("error", "text")
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(NOW_ISO))
    .addColumn("finished_at", "text")
    .modifyEnd(STRICT)
    .execute();

  await db.schema
    .createTable("label_jobs")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("dataset", "text", (c) => c.notNull())
    .addColumn("teacher", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("template_version", "text", (c) => c.notNull())
    .addColumn("selection", "text", (c) => c.notNull())
    .addColumn("seed", "integer", (c) => c.notNull())
    .addColumn("config_json", "text", (c) => c.notNull())
    .addColumn("versions_json", "text", (c) => c.notNull())
    .addColumn("git_sha", "text")
    .addColumn("status", "text", (c) => c.notNull())
    // the job's last summary (cost, anomalies, label quality), JSON; null until a run finishes
    .addColumn("summary_json", "text")
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(NOW_ISO))
    .addColumn("finished_at", "text")
    .modifyEnd(STRICT)
    .execute();

  await db.schema
    .createTable("label_windows")
    .addColumn("job_id", "text", (c) => c.notNull().references("label_jobs.id").onDelete("cascade"))
    .addColumn("window_id", "text", (c) => c.notNull())
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("ord", "integer", (c) => c.notNull())
    // docids in the order shown to the teacher (after the seeded shuffle), JSON array
    .addColumn("docids_json", "text", (c) => c.notNull())
    .addColumn("shuffle_seed", "integer")
    .addColumn("call_id", "integer", (c) => c.references("teacher_calls.id"))
    // parse anomalies of the response by category, JSON object
    .addColumn("anomalies_json", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("label_windows_pk", ["job_id", "window_id"])
    .modifyEnd(STRICT)
    .execute();

  await db.schema
    .createTable("labels")
    .addColumn("job_id", "text", (c) => c.notNull())
    .addColumn("window_id", "text", (c) => c.notNull())
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("docid", "text", (c) => c.notNull())
    // 1-based position in the prompt
    .addColumn("position_shown", "integer", (c) => c.notNull())
    // 1-based rank in the teacher's parsed list; null when the teacher left it out
    .addColumn("teacher_rank", "integer")
    .addColumn("missing", "integer", (c) => c.notNull())
    .addColumn("flags_json", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("labels_pk", ["job_id", "window_id", "docid"])
    .addForeignKeyConstraint("labels_window_fk", ["job_id", "window_id"], "label_windows", ["job_id", "window_id"], (f) => f.onDelete("cascade"))
    .modifyEnd(STRICT)
    .execute();

  await db.schema
    .createTable("rationales")
    .addColumn("job_id", "text", (c) => c.notNull())
    .addColumn("window_id", "text", (c) => c.notNull())
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("call_id", "integer", (c) => c.references("teacher_calls.id"))
    .addColumn("text", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("rationales_pk", ["job_id", "window_id"])
    .addForeignKeyConstraint("rationales_window_fk", ["job_id", "window_id"], "label_windows", ["job_id", "window_id"], (f) => f.onDelete("cascade"))
    .modifyEnd(STRICT)
    .execute();

  await db.schema.createIndex("labels_job_qid_idx").on("labels").columns(["job_id", "qid"]).execute();
}

/** Drop the label tables. */
export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ["rationales", "labels", "label_windows", "label_jobs", "teacher_calls"]) await db.schema.dropTable(t).execute();
}
