import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { startFakeLlm, type FakeLlm } from "../fake-llm-server";
import { closeStore, openStore } from "../../lib/store/db";
import { listLabelJobs, loadWindows } from "../../lib/store/labels";
import { listTeacherCalls } from "../../lib/store/teacher-calls";

const KEY = "sk-test-DO-NOT-LEAK-4242";

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

  it("names the missing endpoint settings", () => {
    const r = spawnSync(process.execPath, ["bin/rra.js", "label", "--dataset", "dl19", "--teacher", "live", "--limit", "1", "--db", join(dir, "x.sqlite")], {
      env: { ...process.env, RRA_LLM_BASE_URL: "", RRA_LLM_MODEL: "" }, encoding: "utf8",
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /RRA_LLM_BASE_URL/);
  });
});
