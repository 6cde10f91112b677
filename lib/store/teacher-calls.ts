/**
 * The teacher-call log (`teacher_calls`): every request a teacher sent, with its answer, tokens, latency,
 * attempts and error. It is also the cache (a `done` row answers the same request again for free) and the
 * resume record of live jobs (a `pending` row was sent, or about to be, when its process stopped).
 * Every write is one SQL statement, so a process killed at any moment leaves each row either before or
 * after the write, never half-way. A `done` row is never modified again.
 */
import type { Kysely } from "kysely";
import { DataError, show } from "../core/errors";
import { sha256, stableStringify } from "../core/hash";
import { redactSecrets } from "../core/redact";
import type { ChatMessage, TeacherKind } from "../labels/types";
import { nowIso } from "./dialect";
import type { Database, TeacherCallRow } from "./schema";

/** Status of a stored teacher call: `pending` (sent or about to be, no answer yet), `done` or `error`. */
export type TeacherCallStatus = "pending" | "done" | "error";

/** What identifies a teacher call: the cache and resume key is the sha256 of its stable JSON. */
export interface TeacherCallKeyInput {
  teacher: TeacherKind;
  model: string;
  templateVersion: string;
  /** Chat messages and sampling parameters (e.g. `{temperature: 0, max_tokens: 256}`); never a key or URL. */
  request: { messages: readonly ChatMessage[]; params: Readonly<Record<string, unknown>> };
}

/** A new call to record with `beginTeacherCall`. */
export interface NewTeacherCallInput {
  /** `teacherCallKey(...)` of the request. */
  cacheKey: string;
  /** Teacher name, e.g. `live:qwen2.5:7b`. */
  teacher: string;
  model: string;
  templateVersion: string;
  /** The request as sent (JSON text); it must not hold an API key. */
  requestJson: string;
}

/** What `beginTeacherCall` left in the store. */
export interface BegunTeacherCall {
  id: number;
  /** Attempts recorded so far, this one included (unchanged when the row was already done). */
  attempts: number;
  /** `pending`, or `done` when the request had already been answered (nothing was changed). */
  status: "pending" | "done";
}

/** The answer of a successful call, for `finishTeacherCall`. */
export interface TeacherCallResult {
  response: string;
  promptTokens: number | null;
  completionTokens: number | null;
  /** Latency of the successful attempt, in ms. */
  latencyMs: number;
}

/** A stored teacher call, parsed (camelCase). */
export interface TeacherCall {
  id: number;
  cacheKey: string;
  teacher: string;
  model: string;
  templateVersion: string;
  /** The request as sent, parsed from `request_json`. */
  request: unknown;
  response: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  latencyMs: number | null;
  status: TeacherCallStatus;
  error: string | null;
  attempts: number;
  /** ISO-8601 UTC times. */
  createdAt: string;
  finishedAt: string | null;
}

/** Which calls `listTeacherCalls` and `teacherCallStats` see; every given field must match. */
export interface TeacherCallFilter {
  teacher?: string;
  model?: string;
  templateVersion?: string;
  status?: TeacherCallStatus;
  /** At most this many rows (listTeacherCalls only), oldest first. */
  limit?: number;
}

/** Counts, token sums and latency percentiles of stored calls. */
export interface TeacherCallStats {
  calls: number;
  done: number;
  pending: number;
  error: number;
  /** Attempts over all matching calls (HTTP requests started, for live teachers). */
  attempts: number;
  /** Token sums over done calls that reported usage. */
  promptTokens: number;
  completionTokens: number;
  /** Done calls whose usage (token counts) is known. */
  withUsage: number;
  /** Latency of done calls in ms (nearest-rank percentiles); null when there is none. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number } | null;
}

/** The cache and resume key of a call: hex sha256 of the stable JSON of kind, model, template version and request. */
export function teacherCallKey(input: TeacherCallKeyInput): string {
  const { teacher, model, templateVersion, request } = input;
  return sha256(stableStringify({ teacher, model, templateVersion, messages: request.messages, params: request.params }));
}

/**
 * Replace every form of the given secrets we can derive (raw, JSON-escaped, URL-encoded, base64, hex,
 * masked; core/redact.ts) by `***`, and with `bearerTokens` also any `Bearer <token>` (for error texts,
 * where a server may echo a header). Secrets shorter than 4 characters are ignored.
 */
export function scrubSecrets(text: string, secrets: readonly (string | null | undefined)[] = [], options: { bearerTokens?: boolean } = {}): string {
  return redactSecrets(text, secrets, options);
}

/** The stored call with this key, or undefined. */
export async function findTeacherCall(db: Kysely<Database>, cacheKey: string): Promise<TeacherCall | undefined> {
  const row = await db.selectFrom("teacher_calls").selectAll().where("cache_key", "=", cacheKey).executeTakeFirst();
  return row ? toTeacherCall(row) : undefined;
}

/**
 * Record that an attempt of a call is about to be sent, in one statement: insert a `pending` row with one
 * attempt, or set an existing `pending`/`error` row back to `pending` and add one attempt. A `done` row is
 * left alone and reported as such (someone answered the request in the meantime).
 */
export async function beginTeacherCall(db: Kysely<Database>, call: NewTeacherCallInput): Promise<BegunTeacherCall> {
  for (const f of ["cacheKey", "teacher", "model", "templateVersion", "requestJson"] as const) {
    if (typeof call[f] !== "string" || call[f] === "") {
      throw new DataError({ file: "beginTeacherCall", field: f }, "a non-empty string", show(call[f]));
    }
  }
  const row = await db
    .insertInto("teacher_calls")
    .values({
      cache_key: call.cacheKey,
      teacher: call.teacher,
      model: call.model,
      template_version: call.templateVersion,
      request_json: call.requestJson,
      status: "pending",
      attempts: 1,
    })
    .onConflict((oc) =>
      oc
        .column("cache_key")
        .doUpdateSet((eb) => ({ status: "pending", attempts: eb("teacher_calls.attempts", "+", 1), finished_at: null }))
        .where("teacher_calls.status", "<>", "done"),
    )
    .returning(["id", "attempts"])
    .executeTakeFirst();
  if (row) return { id: row.id, attempts: row.attempts, status: "pending" };
  const done = await db.selectFrom("teacher_calls").select(["id", "attempts"]).where("cache_key", "=", call.cacheKey).executeTakeFirstOrThrow();
  return { id: done.id, attempts: done.attempts, status: "done" };
}

/**
 * Store a call's answer (status `done`, error cleared) in one statement. `secrets` are scrubbed from the
 * response. Returns false, changing nothing, when the row is missing or already done.
 */
export async function finishTeacherCall(db: Kysely<Database>, id: number, result: TeacherCallResult, secrets: readonly string[] = []): Promise<boolean> {
  if (typeof result.response !== "string") throw new DataError({ file: `teacher call ${id}`, field: "response" }, "a string", show(result.response));
  for (const f of ["promptTokens", "completionTokens"] as const) {
    const v = result[f];
    if (v !== null && !(Number.isSafeInteger(v) && v >= 0)) throw new DataError({ file: `teacher call ${id}`, field: f }, "a token count or null", show(v));
  }
  if (!(Number.isFinite(result.latencyMs) && result.latencyMs >= 0)) {
    throw new DataError({ file: `teacher call ${id}`, field: "latencyMs" }, "a latency in ms >= 0", show(result.latencyMs));
  }
  const res = await db
    .updateTable("teacher_calls")
    .set({
      status: "done",
      response: scrubSecrets(result.response, secrets),
      prompt_tokens: result.promptTokens,
      completion_tokens: result.completionTokens,
      latency_ms: result.latencyMs,
      error: null,
      finished_at: nowIso(db),
    })
    .where("id", "=", id)
    .where("status", "<>", "done")
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/**
 * Mark a call failed (status `error`) with its error text, scrubbed of `secrets` and bearer tokens, in one
 * statement. Returns false, changing nothing, when the row is missing or already done.
 */
export async function failTeacherCall(db: Kysely<Database>, id: number, error: string, secrets: readonly string[] = []): Promise<boolean> {
  const res = await db
    .updateTable("teacher_calls")
    .set({ status: "error", error: scrubSecrets(String(error), secrets, { bearerTokens: true }), finished_at: nowIso(db) })
    .where("id", "=", id)
    .where("status", "<>", "done")
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Stored calls matching `filter`, oldest first. */
export async function listTeacherCalls(db: Kysely<Database>, filter: TeacherCallFilter = {}): Promise<TeacherCall[]> {
  let q = filtered(db, filter).selectAll().orderBy("id");
  if (filter.limit !== undefined) {
    if (!(Number.isSafeInteger(filter.limit) && filter.limit >= 0)) throw new DataError({ file: "listTeacherCalls", field: "limit" }, "a row count >= 0", show(filter.limit));
    q = q.limit(filter.limit);
  }
  return (await q.execute()).map(toTeacherCall);
}

/** Counts per status, attempts, token sums and latency percentiles of the calls matching `filter`. */
export async function teacherCallStats(db: Kysely<Database>, filter: TeacherCallFilter = {}): Promise<TeacherCallStats> {
  const rows = await filtered(db, filter).select(["status", "attempts", "prompt_tokens", "completion_tokens", "latency_ms"]).execute();
  const stats: TeacherCallStats = { calls: rows.length, done: 0, pending: 0, error: 0, attempts: 0, promptTokens: 0, completionTokens: 0, withUsage: 0, latencyMs: null };
  const latencies: number[] = [];
  for (const r of rows) {
    stats.attempts += r.attempts;
    if (r.status === "pending" || r.status === "error") stats[r.status]++;
    if (r.status !== "done") continue;
    stats.done++;
    if (r.prompt_tokens !== null || r.completion_tokens !== null) stats.withUsage++;
    stats.promptTokens += r.prompt_tokens ?? 0;
    stats.completionTokens += r.completion_tokens ?? 0;
    if (r.latency_ms !== null) latencies.push(r.latency_ms);
  }
  if (latencies.length > 0) {
    latencies.sort((a, b) => a - b);
    const at = (p: number): number => latencies[Math.max(0, Math.ceil((p / 100) * latencies.length) - 1)];
    const mean = latencies.reduce((s, x) => s + x, 0) / latencies.length;
    stats.latencyMs = { mean, p50: at(50), p90: at(90), p99: at(99), max: latencies[latencies.length - 1] };
  }
  return stats;
}

/** `teacher_calls` restricted to `filter`. */
function filtered(db: Kysely<Database>, filter: TeacherCallFilter) {
  let q = db.selectFrom("teacher_calls");
  if (filter.teacher !== undefined) q = q.where("teacher", "=", filter.teacher);
  if (filter.model !== undefined) q = q.where("model", "=", filter.model);
  if (filter.templateVersion !== undefined) q = q.where("template_version", "=", filter.templateVersion);
  if (filter.status !== undefined) q = q.where("status", "=", filter.status);
  return q;
}

/** Parse a `teacher_calls` row. */
function toTeacherCall(row: TeacherCallRow): TeacherCall {
  let request: unknown;
  try {
    request = JSON.parse(row.request_json) as unknown;
  } catch {
    request = row.request_json;
  }
  return {
    id: row.id,
    cacheKey: row.cache_key,
    teacher: row.teacher,
    model: row.model,
    templateVersion: row.template_version,
    request,
    response: row.response,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    latencyMs: row.latency_ms,
    status: row.status as TeacherCallStatus,
    error: row.error,
    attempts: row.attempts,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}
