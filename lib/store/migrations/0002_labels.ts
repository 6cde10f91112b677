/**
 * 0002_labels: teacher calls (every LLM request with its response, tokens, latency and error; also the
 * cache and the resume log of live jobs), label jobs, the windows each job showed a teacher, the raw
 * per-document label facts, and rationales.
 */
import type { Kysely } from "kysely";
import { migrationSql } from "../dialect";

/** Create the label tables. */
export async function up(db: Kysely<any>): Promise<void> {
  const t = migrationSql(db);
  await t.table("teacher_calls")
    .addColumn("id", t.id, t.autoId)
    // sha256 of (teacher kind, model, template version, request): the cache and resume key
    .addColumn("cache_key", "text", (c) => c.notNull().unique())
    .addColumn("teacher", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("template_version", "text", (c) => c.notNull())
    // the request as sent (chat messages and parameters), JSON; never holds an API key
    .addColumn("request_json", "text", (c) => c.notNull())
    .addColumn("response", "text")
    .addColumn("prompt_tokens", t.int)
    .addColumn("completion_tokens", t.int)
    .addColumn("latency_ms", t.real)
    // pending (sent, no answer recorded yet), done, error
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("error", "text")
    .addColumn("attempts", t.int, (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(t.nowIso))
    .addColumn("finished_at", "text")
    .execute();

  await t.table("label_jobs")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("dataset", "text", (c) => c.notNull())
    .addColumn("teacher", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("template_version", "text", (c) => c.notNull())
    .addColumn("selection", "text", (c) => c.notNull())
    .addColumn("seed", t.int, (c) => c.notNull())
    .addColumn("config_json", "text", (c) => c.notNull())
    .addColumn("versions_json", "text", (c) => c.notNull())
    .addColumn("git_sha", "text")
    .addColumn("status", "text", (c) => c.notNull())
    // the job's last summary (cost, anomalies, label quality), JSON; null until a run finishes
    .addColumn("summary_json", "text")
    .addColumn("created_at", "text", (c) => c.notNull().defaultTo(t.nowIso))
    .addColumn("finished_at", "text")
    .execute();

  await t.table("label_windows")
    .addColumn("job_id", "text", (c) => c.notNull().references("label_jobs.id").onDelete("cascade"))
    .addColumn("window_id", "text", (c) => c.notNull())
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("ord", t.int, (c) => c.notNull())
    // docids in the order shown to the teacher (after the seeded shuffle), JSON array
    .addColumn("docids_json", "text", (c) => c.notNull())
    .addColumn("shuffle_seed", t.int)
    .addColumn("call_id", t.int, (c) => c.references("teacher_calls.id"))
    // parse anomalies of the response by category, JSON object
    .addColumn("anomalies_json", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("label_windows_pk", ["job_id", "window_id"])
    .execute();

  await t.table("labels")
    .addColumn("job_id", "text", (c) => c.notNull())
    .addColumn("window_id", "text", (c) => c.notNull())
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("docid", "text", (c) => c.notNull())
    // 1-based position in the prompt
    .addColumn("position_shown", t.int, (c) => c.notNull())
    // 1-based rank in the teacher's parsed list; null when the teacher left it out
    .addColumn("teacher_rank", t.int)
    .addColumn("missing", t.int, (c) => c.notNull())
    .addColumn("flags_json", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("labels_pk", ["job_id", "window_id", "docid"])
    .addForeignKeyConstraint("labels_window_fk", ["job_id", "window_id"], "label_windows", ["job_id", "window_id"], (f) => f.onDelete("cascade"))
    .execute();

  await t.table("rationales")
    .addColumn("job_id", "text", (c) => c.notNull())
    .addColumn("window_id", "text", (c) => c.notNull())
    .addColumn("qid", "text", (c) => c.notNull())
    .addColumn("call_id", t.int, (c) => c.references("teacher_calls.id"))
    .addColumn("text", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("rationales_pk", ["job_id", "window_id"])
    .addForeignKeyConstraint("rationales_window_fk", ["job_id", "window_id"], "label_windows", ["job_id", "window_id"], (f) => f.onDelete("cascade"))
    .execute();

  await db.schema.createIndex("labels_job_qid_idx").on("labels").columns(["job_id", "qid"]).execute();
}

/** Drop the label tables. */
export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ["rationales", "labels", "label_windows", "label_jobs", "teacher_calls"]) await db.schema.dropTable(t).execute();
}
