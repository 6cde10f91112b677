import assert from "node:assert/strict";
import { spawn } from "child_process";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { sql, type Kysely } from "kysely";
import { runLabelJob, type LabelSummary } from "../../lib/labels/pipeline";
import { createLiveTeacher, resolveLiveConfig } from "../../lib/labels/teachers/live";
import { loadClaims } from "../../lib/store/claims";
import { closeStore, openStore } from "../../lib/store/db";
import { getLabelJob, loadWindows, type WindowRecord } from "../../lib/store/labels";
import type { Database } from "../../lib/store/schema";
import { startFakeLlm } from "../fake-llm-server";
import { createPgSchema, describeBackends, type Backend } from "../pg";

const ROOT = resolve(__dirname, "..", "..");
const KEY = "sk-test-distributed-5150-abcdef";
const MODEL = "fake-ranker";
const LEASE_SECONDS = 2;

/** One job of the test: a selection over the first `limit` DL19 queries. */
interface JobSpec {
  select: string;
  limit: number;
  /** Windows each query has (1 for top10+bottom10, the chain length for sliding). */
  windowsPerQuery: number;
}

/** A running `rra label --worker` child process. */
interface Worker {
  id: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

function startWorker(id: string, target: string, baseUrl: string, job: JobSpec): Worker {
  const child = spawn(process.execPath, [
    "bin/rra.js", "label", "--dataset", "dl19", "--teacher", `live:${MODEL}`, "--select", job.select, "--limit", String(job.limit),
    "--concurrency", "2", "--db", target, "--worker", "--worker-id", id, "--lease-seconds", String(LEASE_SECONDS),
  ], { cwd: ROOT, env: { ...process.env, RRA_LLM_BASE_URL: baseUrl, RRA_LLM_API_KEY: KEY, RRA_DB: "", RRA_DB_URL: "" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on("exit", (code, signal) => res({ code, signal })));
  return { id, output: () => out, exited, kill: () => child.kill("SIGKILL") };
}

/** The same job run by one process (`runLabelJob`) on a fresh in-memory store: the labels the workers must reproduce. */
async function singleProcessRun(job: JobSpec): Promise<{ windows: WindowRecord[]; summary: LabelSummary }> {
  const server = await startFakeLlm({ apiKey: KEY });
  const db = await openStore(":memory:");
  try {
    const teacher = createLiveTeacher(db, resolveLiveConfig({ baseUrl: server.baseUrl, model: MODEL }), { RRA_LLM_API_KEY: KEY });
    const { summary } = await runLabelJob(db, { dataset: "dl19", teacher: `live:${MODEL}`, selection: job.select, limit: job.limit }, { teacher, quiet: true });
    return { windows: await loadWindows(db, summary.job), summary };
  } finally {
    await closeStore(db);
    await server.close();
  }
}

/** A store shared by the workers (PostgreSQL schema or SQLite file) in which every insert into label_windows is also logged. */
async function sharedStore(backend: Backend): Promise<{ target: string; db: Kysely<Database>; close(): Promise<void> }> {
  let target: string;
  let cleanup: () => Promise<void>;
  if (backend === "postgres") {
    const schema = await createPgSchema();
    target = schema.url;
    cleanup = schema.drop;
  } else {
    const dir = mkdtempSync(join(tmpdir(), "rra-distributed-"));
    target = join(dir, "store.sqlite");
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const db = await openStore(target);
  await sql`create table window_writes (job_id text not null, window_id text not null)`.execute(db);
  if (backend === "postgres") {
    await sql`create function log_window_write() returns trigger language plpgsql as $$ begin insert into window_writes values (new.job_id, new.window_id); return new; end $$`.execute(db);
    await sql`create trigger log_window_write after insert on label_windows for each row execute function log_window_write()`.execute(db);
  } else {
    await sql`create trigger log_window_write after insert on label_windows begin insert into window_writes values (new.job_id, new.window_id); end`.execute(db);
  }
  return { target, db, close: async () => { await closeStore(db); await cleanup(); } };
}

/** Run `workers` workers on `job`, SIGKILL the first right after its first claim, and check the job came out whole. */
async function killOneWorker(backend: Backend, job: JobSpec, workers: number): Promise<void> {
  const reference = await singleProcessRun(job);
  const jobId = reference.summary.job;
  assert.equal(reference.summary.failed, 0);
  assert.equal(reference.windows.length, job.limit * job.windowsPerQuery);

  const server = await startFakeLlm({ apiKey: KEY, delayMs: 250 });
  const store = await sharedStore(backend);
  const running: Worker[] = [];
  try {
    for (let i = 0; i < workers; i++) running.push(startWorker(`w${i}`, store.target, server.baseUrl, job));
    const [victim, ...others] = running;
    // Kill the victim while it holds claims whose teacher calls are in flight (answers take 250 ms).
    const claimedLine = await new Promise<string>((res, rej) => {
      const t0 = Date.now();
      const check = setInterval(() => {
        const line = victim.output().split("\n").find((l) => l.startsWith("[label worker w0] claimed "));
        if (line || Date.now() - t0 > 60_000) {
          clearInterval(check);
          if (line) res(line);
          else rej(new Error(`w0 claimed nothing within 60 s:\n${victim.output()}`));
        }
      }, 5);
    });
    await new Promise((res) => setTimeout(res, 100));
    victim.kill();
    assert.equal((await victim.exited).signal, "SIGKILL");
    for (const w of others) {
      const { code } = await w.exited;
      assert.equal(code, 0, `${w.id} failed:\n${w.output()}`);
    }
    const victimClaims = claimedLine.replace("[label worker w0] claimed ", "").split(", ").map((s) => s.replace(/ \(attempt \d+\)$/, ""));
    assert.ok(victimClaims.length >= 1);

    const db = store.db;
    // every query done, and the victim's taken over by a live worker
    const claims = await loadClaims(db, jobId);
    assert.equal(claims.length, job.limit);
    assert.ok(claims.every((c) => c.status === "done" && c.leaseUntil === null), JSON.stringify(claims.filter((c) => c.status !== "done")));
    for (const qid of victimClaims) {
      const c = claims.find((x) => x.qid === qid)!;
      assert.ok(c.workerId !== "w0" && c.attempts >= 2, `query ${qid} was taken over: ${JSON.stringify(c)}`);
    }
    if (workers > 2) assert.ok(new Set(claims.map((c) => c.workerId)).size >= 2, "the live workers shared the job");
    // every window stored exactly once: one row each, and one insert each over the whole job
    const windows = await loadWindows(db, jobId);
    assert.equal(windows.length, job.limit * job.windowsPerQuery);
    assert.equal(new Set(windows.map((w) => w.windowId)).size, windows.length);
    const writes = await sql<{ window_id: string; n: number }>`select window_id, count(*) as n from window_writes where job_id = ${jobId} group by window_id`.execute(db);
    assert.equal(writes.rows.length, windows.length);
    assert.ok(writes.rows.every((r) => Number(r.n) === 1), `windows written twice: ${JSON.stringify(writes.rows.filter((r) => Number(r.n) !== 1))}`);
    assert.ok(windows.every((w) => w.facts.length === 20 && w.docids.length === 20), "20 facts per window");
    // the labels are those of one process running the same job
    const strip = (ws: WindowRecord[]) => ws.map(({ callId: _c, ...w }) => w);
    assert.deepStrictEqual(strip(windows), strip(reference.windows));
    // the job is done, with the summary computed from the store
    const stored = await getLabelJob(db, jobId);
    assert.equal(stored?.status, "done");
    const summary = stored!.summary as LabelSummary;
    const { seconds: _s1, latencyMs: _l1, ...expected } = reference.summary;
    const { seconds: _s2, latencyMs: _l2, ...got } = summary;
    assert.deepStrictEqual(got, expected);
    assert.ok(!server.requests.some((r) => r.authorization !== `Bearer ${KEY}`));
  } finally {
    for (const w of running) w.kill();
    await Promise.all(running.map((w) => w.exited));
    await store.close();
    await server.close();
  }
}

describeBackends("distributed labelling (rra label --worker)", (backend) => {
  it("three workers share a top10+bottom10 job; the one SIGKILLed mid-job has its queries taken over after the lease", async function () {
    this.timeout(180_000);
    await killOneWorker(backend, { select: "top10+bottom10", limit: 30, windowsPerQuery: 1 }, 3);
  });

  if (backend === "postgres") {
    it("two workers share a sliding20/10 job (a query's chain of 9 windows is one claim) and survive a kill the same way", async function () {
      this.timeout(180_000);
      await killOneWorker(backend, { select: "sliding20/10", limit: 4, windowsPerQuery: 9 }, 2);
    });
  }
});
