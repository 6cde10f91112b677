import assert from "node:assert/strict";
import type { Kysely } from "kysely";
import { finishedLabelJob, runLabelJobs } from "../../lib/labels/jobs";
import type { LabelSummary } from "../../lib/labels/pipeline";
import { getLabelJob } from "../../lib/store/labels";
import type { Database } from "../../lib/store/schema";
import { listTeacherCalls } from "../../lib/store/teacher-calls";
import { startFakeLlm, type FakeLlm } from "../fake-llm-server";
import { describeBackends, storePerTest } from "../pg";

/** A live teacher on the fake server, an offline one and a projected one; 3 queries each. */
const JOBS = [
  { dataset: "dl19", teacher: "live:fake-7b", selection: "top10+bottom10" },
  { dataset: "dl19", teacher: "oracle", selection: "top10+bottom10" },
  { dataset: "dl20", teacher: "projected:rankvicuna-7b", selection: "top10+bottom10" },
];
const LIMIT = 3;

/** A summary without what differs between two runs of the same job (wall time, latency, the reuse mark). */
function stable(s: LabelSummary): Omit<LabelSummary, "seconds" | "latencyMs" | "reused"> {
  const { seconds: _s, latencyMs: _l, reused: _r, ...rest } = s;
  return rest;
}

describeBackends("label jobs (runLabelJobs)", (backend) => {
  let db: Kysely<Database>;
  let server: FakeLlm;
  const saved = { base: process.env.RRA_LLM_BASE_URL, model: process.env.RRA_LLM_MODEL };
  storePerTest(backend, (d) => { db = d; });
  before(async () => {
    server = await startFakeLlm();
    process.env.RRA_LLM_BASE_URL = server.baseUrl;
    process.env.RRA_LLM_MODEL = "fake-7b";
  });
  after(async () => {
    for (const [k, v] of [["RRA_LLM_BASE_URL", saved.base], ["RRA_LLM_MODEL", saved.model]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await server?.close();
  });

  const finishedAt = async (s: LabelSummary) => (await getLabelJob(db, s.job))!.finishedAt;

  it("reuses finished jobs on a second run: no teacher called, the stored summaries, and a line saying so", async () => {
    const first = await runLabelJobs(db, JOBS, { limit: LIMIT, quiet: true });
    assert.equal(first.length, 3);
    assert.ok(first.every((s) => s.reused === undefined && s.queries === LIMIT));
    const requests = server.requests.length;
    assert.ok(requests >= LIMIT, "the live teacher answered each query's window");
    const calls = (await listTeacherCalls(db, {})).length;
    const finished = await Promise.all(first.map(finishedAt));

    const lines: string[] = [];
    const second = await runLabelJobs(db, JOBS, { limit: LIMIT, log: (l) => lines.push(l) });
    assert.equal(server.requests.length, requests, "the live teacher was not called again");
    assert.equal((await listTeacherCalls(db, {})).length, calls, "no teacher call was recorded");
    assert.deepEqual(await Promise.all(second.map(finishedAt)), finished, "the jobs were not run again");
    assert.ok(second.every((s) => s.reused === true));
    assert.deepEqual(second.map(stable), first.map(stable));
    assert.deepEqual(second.map((s) => s.seconds), first.map((s) => s.seconds), "the stored run's time");
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^label jobs: 3 of 3 reused from the store \(finished earlier; no teacher called\) in \d+\.\d s; \{ rerun: true \} labels them again$/);
  });

  it("gives the same summaries as running the jobs again (rerun: true runs every one)", async () => {
    const reused = await runLabelJobs(db, JOBS, { limit: LIMIT, quiet: true });
    const finished = await Promise.all(reused.map(finishedAt));
    const rerun = await runLabelJobs(db, JOBS, { limit: LIMIT, quiet: true, rerun: true });
    assert.ok(rerun.every((s) => s.reused === undefined));
    assert.deepEqual(rerun.map(stable), reused.map(stable));
    const after = await Promise.all(rerun.map(finishedAt));
    assert.ok(after.every((t, i) => t !== finished[i]), "every job ran and finished again");
  });

  it("runs a job that stopped early (status running) or has another config, and reuses the rest", async () => {
    const [live, oracle, projected] = await runLabelJobs(db, JOBS, { limit: LIMIT, quiet: true });
    // an interrupted run leaves its job marked running (upsertLabelJob at its start)
    await db.updateTable("label_jobs").set({ status: "running", finished_at: null }).where("id", "=", oracle.job).execute();
    assert.equal(await finishedLabelJob(db, { ...JOBS[1], limit: LIMIT }), null);
    const lines: string[] = [];
    const again = await runLabelJobs(db, JOBS, { limit: LIMIT, log: (l) => lines.push(l) });
    assert.deepEqual(again.map((s) => s.reused), [true, undefined, true]);
    assert.deepEqual(again.map((s) => s.job), [live.job, oracle.job, projected.job]);
    assert.equal((await getLabelJob(db, oracle.job))!.status, "done");
    assert.match(lines[0], /^label jobs: 2 of 3 reused from the store \(finished earlier; no teacher called\), 1 run in /);
    // another limit is another job
    const more = await runLabelJobs(db, [JOBS[1]], { limit: LIMIT + 1, quiet: true });
    assert.equal(more[0].reused, undefined);
    assert.equal(more[0].queries, LIMIT + 1);
    assert.notEqual(more[0].job, oracle.job);
  });

  it("checks the job configs before looking in the store (a mistyped teacher is an error, not a miss)", async () => {
    await assert.rejects(runLabelJobs(db, [{ dataset: "dl19", teacher: "oracel" }], { quiet: true }), /unknown teacher "oracel".*did you mean "oracle"/);
    await assert.rejects(runLabelJobs(db, [{ dataset: "dl19", teacher: "oracle", selction: "top20" } as never], { quiet: true }), /unknown key "selction"/);
  });
});
