import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { startFakeLlm, type FakeLlm } from "../fake-llm-server";
import { closeStore, openStore } from "../../lib/store/db";
import { listLabelJobs, loadRationales, loadWindows } from "../../lib/store/labels";
import { listTeacherCalls } from "../../lib/store/teacher-calls";

const KEY = "sk-test-DO-NOT-LEAK-4242";

/** Run `rra ARGS` without blocking this process (the fake server lives in it). */
function rraAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/rra.js", ...args], { env: { ...process.env, ...env } });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Run `rra label` with a live teacher against the fake server; kill it once the server has seen `killAfterRequests` more requests (or let it finish). */
function runLabel(server: FakeLlm, db: string, killAfterRequests?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/rra.js", "label", "--dataset", "dl19", "--teacher", "live:fake-ranker", "--limit", "12", "--concurrency", "3", "--db", db, "--json"], {
      env: { ...process.env, RRA_LLM_BASE_URL: server.baseUrl, RRA_LLM_API_KEY: KEY, RRA_DB: "" },
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const start = server.requests.length;
    const timer = killAfterRequests === undefined ? undefined : setInterval(() => {
      if (server.requests.length - start >= killAfterRequests) child.kill("SIGKILL");
    }, 5);
    child.on("exit", (code) => { if (timer) clearInterval(timer); resolve({ code, stdout, stderr }); });
  });
}

describe("rra label with a live teacher (OpenAI protocol, local fake server)", function () {
  this.timeout(120000);
  let server: FakeLlm;
  let dir: string;
  before(async () => {
    server = await startFakeLlm({ apiKey: KEY, delayMs: 120 });
    dir = mkdtempSync(join(tmpdir(), "rra-label-live-"));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("survives being killed mid-job: the rerun finishes, no answered window is asked again, none is lost", async () => {
    const db = join(dir, "store.sqlite");
    // kill the first run after 4 requests reached the server, the second after 5 more (answers take 120 ms)
    let kills = 0;
    for (const n of [4, 5]) {
      const r = await runLabel(server, db, n);
      assert.equal(r.code, null, `run killed after ${n} requests: ${r.stderr}`);
      kills++;
    }
    const storeMid = await openStore(db);
    const [jobMid] = await listLabelJobs(storeMid);
    const storedMid = (await loadWindows(storeMid, jobMid.id)).length;
    await closeStore(storeMid);
    assert.ok(storedMid > 0 && storedMid < 12, `windows stored before the last run: ${storedMid}`);
    const done = await runLabel(server, db);
    assert.equal(done.code, 0, done.stderr);
    const summary = JSON.parse(done.stdout);
    assert.equal(summary.windows, 12);
    assert.equal(summary.failed, 0);
    assert.ok(summary.promptTokens > 0, "token usage reported by the endpoint is accounted");

    const store = await openStore(db);
    try {
      const [job] = await listLabelJobs(store);
      assert.equal(job.status, "done");
      assert.equal((await loadWindows(store, job.id)).length, 12);
      const calls = await listTeacherCalls(store, { teacher: "live:fake-ranker" });
      assert.equal(calls.length, 12, "one call per window");
      assert.ok(calls.every((c) => c.status === "done"));
      // a window is requested again only if it was in flight when a run was killed (at most 3 per kill)
      const counts = server.counts();
      assert.equal(counts.size, 12);
      const repeats = [...counts.values()].reduce((a, n) => a + n - 1, 0);
      assert.ok(repeats <= kills * 3, `${repeats} repeated requests after ${kills} kill(s)`);
      for (const c of calls) assert.ok(c.attempts >= 1);
    } finally {
      await closeStore(store);
    }
    // a fourth run costs nothing: every request is answered from the store
    const before = server.requests.length;
    const again = await runLabel(server, db);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(server.requests.length, before, "no HTTP request on a rerun");
    // the key reaches neither the store nor any output
    assert.ok(!readFileSync(db).includes(KEY));
    assert.ok(!done.stdout.includes(KEY) && !done.stderr.includes(KEY));
  });

  it("stores a rationale per window from a rationale teacher, writes labels.jsonl and reports the job", async () => {
    const rationaleServer = await startFakeLlm({ answer: (body) => `Passage [1] answers "${body.messages[0].content.slice(0, 12)}" directly; the last ones only share a term.` });
    try {
      const db = join(dir, "rationale.sqlite");
      const out = join(dir, "labels.jsonl");
      const r = await rraAsync(["label", "--dataset", "dl20", "--teacher", "projected:rankvicuna-7b", "--rationale-teacher", "live:small-model",
        "--limit", "4", "--db", db, "--out", out, "--json"], { RRA_LLM_BASE_URL: rationaleServer.baseUrl, RRA_DB: "" });
      assert.equal(r.status, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      for (const k of ["queries", "windows", "calls", "promptTokens", "completionTokens", "missing", "duplicates", "outOfRange", "echo", "teacherNdcg10"]) assert.ok(k in summary, k);
      assert.equal(summary.rationales, 4);
      assert.equal(rationaleServer.requests.length, 4);
      assert.match(rationaleServer.requests[0].body!.messages.at(-1)!.content, /explain why the first passages answer the query better/);
      const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(lines.length, 4 * 20);
      assert.ok(lines.every((l) => typeof l.gain === "number" && l.policy === "hardNegative"));
      const store = await openStore(db);
      try {
        const [job] = await listLabelJobs(store);
        const rationales = await loadRationales(store, job.id);
        assert.equal(rationales.size, 4);
        assert.match([...rationales.values()][0].text, /^Passage \[1\] answers/);
      } finally {
        await closeStore(store);
      }
      const rep = spawnSync(process.execPath, ["bin/rra.js", "label", "report", "--db", db], { encoding: "utf8", env: { ...process.env, RRA_DB: "" } });
      assert.equal(rep.status, 0, rep.stderr);
      assert.match(rep.stdout, /\| dl20 \| projected:rankvicuna-7b \| top10\+bottom10 \| 1\.0 \|/);
    } finally {
      await rationaleServer.close();
    }
  });

  it("names the missing endpoint settings", () => {
    const r = spawnSync(process.execPath, ["bin/rra.js", "label", "--dataset", "dl19", "--teacher", "live", "--limit", "1", "--db", join(dir, "x.sqlite")], {
      env: { ...process.env, RRA_LLM_BASE_URL: "", RRA_LLM_MODEL: "" }, encoding: "utf8",
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /RRA_LLM_BASE_URL/);
  });
});
