/**
 * Storing runs (ranked lists per query) with the metadata needed to reproduce them, and their metric
 * values. Writes validate first and then run in one transaction, so a failure stores nothing.
 * A run's documents are kept in file order (`ord`), so `loadRun(saveRun(run))` equals `run`.
 */
import type { Kysely, Transaction } from "kysely";
import { DataError, show } from "../core/errors";
import { hash8 } from "../core/hash";
import type { Candidate, Run } from "../data/types";
import type { EvalResult, PerQuery } from "../eval/types";
import { chunkRows } from "./db";
import { ALL_QUERIES, type Database, type NewMetric, type NewRunEntry, type RunRow } from "./schema";

/** What a run is, where it came from and how to reproduce it. */
export interface RunMeta {
  /** Short name, e.g. `bm25-dl19` or `student-listnet`; the id is `${name}-${hash8(config)}`. */
  name: string;
  /** Name of the dataset the run ranks (need not be stored). */
  dataset: string;
  /** File path or producer of the run. */
  source: string;
  /** The resolved config (JSON-serializable); hashed into the id. */
  config: unknown;
  /** RNG seed, when the run came from a seeded process. */
  seed?: number | null;
  /** `tf.getBackend()` of the producer. */
  backend?: string | null;
  /** Versions of what produced it (node, tfjs, …). */
  versions?: Record<string, string>;
  /** Git commit of the code that produced it. */
  gitSha?: string | null;
  /** Explicit id instead of `computeRunId(name, config)`. */
  id?: string;
}

/** A stored run's metadata, parsed (camelCase). */
export interface RunInfo {
  id: string;
  name: string;
  dataset: string;
  tag: string;
  source: string;
  config: unknown;
  seed: number | null;
  backend: string | null;
  versions: Record<string, string>;
  gitSha: string | null;
  /** ISO-8601 UTC time the run was stored. */
  createdAt: string;
}

/** Which runs `listRuns` returns; every given field must match. */
export interface RunFilter {
  dataset?: string;
  name?: string;
  tag?: string;
}

/** The id of a run: `${name}-${hash8(config)}`. */
export function computeRunId(name: string, config: unknown): string {
  return `${name}-${hash8(config)}`;
}

/** Store a run (replacing a run with the same id, with its metrics) in one transaction; returns its id. */
export async function saveRun(db: Kysely<Database>, meta: RunMeta, run: Run): Promise<string> {
  function fail(field: string, expected: string, got: string): never {
    throw new DataError({ file: `run ${show(meta.id ?? meta.name)}`, field }, expected, got);
  }
  if (typeof meta.name !== "string" || meta.name.trim() === "") fail("meta.name", "a non-empty run name", show(meta.name));
  if (typeof meta.dataset !== "string" || meta.dataset === "") fail("meta.dataset", "a dataset name", show(meta.dataset));
  if (typeof meta.source !== "string") fail("meta.source", "a file path or producer name", show(meta.source));
  const configJson = JSON.stringify(meta.config);
  if (configJson === undefined) fail("meta.config", "a JSON-serializable config (use {} for none)", show(meta.config));
  const seed = meta.seed ?? null;
  if (seed !== null && !Number.isSafeInteger(seed)) fail("meta.seed", "an integer seed or null", show(seed));
  if (typeof run.tag !== "string") fail("tag", "a run tag", show(run.tag));
  const id = meta.id ?? computeRunId(meta.name, meta.config);
  if (id.trim() === "") fail("meta.id", "a non-empty run id", show(id));

  const entries: NewRunEntry[] = [];
  for (const [qid, docs] of run.queries) {
    if (typeof qid !== "string" || qid === "") fail("queries", "non-empty query ids", show(qid));
    const seen = new Set<string>();
    docs.forEach((d, i) => {
      const at = `queries[${show(qid)}][${i}]`;
      if (typeof d.docid !== "string" || d.docid === "") fail(`${at}.docid`, "a non-empty docid", show(d.docid));
      if (seen.has(d.docid)) fail(`${at}.docid`, "each document once per query", `docid ${show(d.docid)} again for qid ${show(qid)}`);
      seen.add(d.docid);
      if (typeof d.score !== "number" || !Number.isFinite(d.score)) fail(`${at}.score`, "a finite score", show(d.score));
      if (!Number.isSafeInteger(d.rank)) fail(`${at}.rank`, "an integer rank", show(d.rank));
      entries.push({ run_id: id, qid, docid: d.docid, ord: entries.length, rank: d.rank, score: d.score });
    });
  }

  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom("runs").where("id", "=", id).execute();
    await trx
      .insertInto("runs")
      .values({
        id,
        name: meta.name,
        dataset: meta.dataset,
        tag: run.tag,
        source: meta.source,
        config_json: configJson,
        seed,
        backend: meta.backend ?? null,
        versions_json: JSON.stringify(meta.versions ?? {}),
        git_sha: meta.gitSha ?? null,
      })
      .execute();
    for (const chunk of chunkRows(entries, 6)) await trx.insertInto("run_entries").values(chunk).execute();
  });
  return id;
}

/** Read a run back: same tag, same query order, same documents in the same order. */
export async function loadRun(db: Kysely<Database>, runId: string): Promise<Run> {
  const row = await requireRun(db, runId);
  const entries = await db
    .selectFrom("run_entries")
    .select(["qid", "docid", "rank", "score"])
    .where("run_id", "=", runId)
    .orderBy("ord")
    .execute();
  const queries = new Map<string, Candidate[]>();
  for (const e of entries) {
    let list = queries.get(e.qid);
    if (!list) queries.set(e.qid, (list = []));
    list.push({ docid: e.docid, rank: e.rank, score: e.score });
  }
  return { tag: row.tag, queries };
}

/** A stored run's metadata, or undefined when there is no run with that id. */
export async function getRunInfo(db: Kysely<Database>, runId: string): Promise<RunInfo | undefined> {
  const row = await db.selectFrom("runs").selectAll().where("id", "=", runId).executeTakeFirst();
  return row ? toRunInfo(row) : undefined;
}

/** Stored runs matching `filter`, oldest first. */
export async function listRuns(db: Kysely<Database>, filter: RunFilter = {}): Promise<RunInfo[]> {
  let q = db.selectFrom("runs").selectAll();
  if (filter.dataset !== undefined) q = q.where("dataset", "=", filter.dataset);
  if (filter.name !== undefined) q = q.where("name", "=", filter.name);
  if (filter.tag !== undefined) q = q.where("tag", "=", filter.tag);
  const rows = await q.orderBy("created_at").orderBy("id").execute();
  return rows.map(toRunInfo);
}

/** Delete a run with its entries and metrics; false when there was no such run. */
export async function deleteRun(db: Kysely<Database>, runId: string): Promise<boolean> {
  const res = await db.deleteFrom("runs").where("id", "=", runId).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/**
 * Store a run's metric values (the means as qid `all`, and every query's own), replacing earlier values of
 * the same metrics for that run; other metrics stay. `relThreshold` is the minimum relevant grade used.
 */
export async function saveMetrics(db: Kysely<Database>, runId: string, result: EvalResult, relThreshold: number): Promise<void> {
  function fail(field: string, expected: string, got: string): never {
    throw new DataError({ file: `metrics of run ${show(runId)}`, field }, expected, got);
  }
  if (typeof relThreshold !== "number" || !Number.isFinite(relThreshold)) fail("relThreshold", "a finite relevance grade", show(relThreshold));
  const rows: NewMetric[] = [];
  const metricNames = new Set<string>();
  const add = (qid: string, values: Record<string, number>, at: string): void => {
    for (const [metric, value] of Object.entries(values)) {
      if (typeof value !== "number" || !Number.isFinite(value)) fail(`${at}[${show(metric)}]`, "a finite metric value", show(value));
      metricNames.add(metric);
      rows.push({ run_id: runId, qid, metric, value, rel_threshold: relThreshold });
    }
  };
  add(ALL_QUERIES, result.all, "all");
  for (const [qid, values] of Object.entries(result.perQuery)) {
    if (qid === ALL_QUERIES) fail("perQuery", `query ids other than "${ALL_QUERIES}" (reserved for the mean)`, show(qid));
    add(qid, values, `perQuery[${show(qid)}]`);
  }
  await db.transaction().execute(async (trx) => {
    await requireRun(trx, runId);
    for (const chunk of chunkRows([...metricNames], 2)) {
      await trx.deleteFrom("metrics").where("run_id", "=", runId).where("metric", "in", chunk).execute();
    }
    for (const chunk of chunkRows(rows, 5)) await trx.insertInto("metrics").values(chunk).execute();
  });
}

/** A run's stored metric values as an `EvalResult` (empty when none were saved); keys in qid and metric name order. */
export async function loadMetrics(db: Kysely<Database>, runId: string): Promise<EvalResult> {
  await requireRun(db, runId);
  const rows = await db
    .selectFrom("metrics")
    .select(["qid", "metric", "value"])
    .where("run_id", "=", runId)
    .orderBy("qid")
    .orderBy("metric")
    .execute();
  const all: Record<string, number> = {};
  const perQuery: PerQuery = {};
  for (const r of rows) {
    if (r.qid === ALL_QUERIES) all[r.metric] = r.value;
    else (perQuery[r.qid] ??= {})[r.metric] = r.value;
  }
  return { all, perQuery };
}

/** The run's row, or a `DataError` that lists close ids. */
async function requireRun(db: Kysely<Database> | Transaction<Database>, runId: string): Promise<RunRow> {
  const row = await db.selectFrom("runs").selectAll().where("id", "=", runId).executeTakeFirst();
  if (row) return row;
  const prefix = String(runId).replace(/-[0-9a-f]{8}$/, "");
  const similar = await db.selectFrom("runs").select("id").where("name", "=", prefix).orderBy("id").limit(10).execute();
  const count = await db.selectFrom("runs").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  throw new DataError({ file: "store", field: "runs.id" }, "the id of a stored run", show(runId),
    similar.length ? `Runs named ${show(prefix)}: ${similar.map((r) => r.id).join(", ")}` : `The store holds ${count.n} run(s); see listRuns(db)`);
}

/** Parse a `runs` row's JSON columns. */
function toRunInfo(row: RunRow): RunInfo {
  return {
    id: row.id,
    name: row.name,
    dataset: row.dataset,
    tag: row.tag,
    source: row.source,
    config: JSON.parse(row.config_json) as unknown,
    seed: row.seed,
    backend: row.backend,
    versions: JSON.parse(row.versions_json) as Record<string, string>,
    gitSha: row.git_sha,
    createdAt: row.created_at,
  };
}
