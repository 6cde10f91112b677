import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Sqlite from "better-sqlite3";
import { InterruptedError } from "../../lib/core/errors";
import { interruptCheck, watchingInterrupts } from "../../lib/core/interrupt";
import { loadDataset } from "../../lib/data/datasets";
import { runLabelJob } from "../../lib/labels/pipeline";
import { closeStore, openStore } from "../../lib/store/db";
import { trainStudent } from "../../lib/train/loop";
import { startFakeLlm } from "../fake-llm-server";

const ROOT = resolve(__dirname, "..", "..");
const lib = (p: string): string => JSON.stringify(join(ROOT, "lib", p));

/** A child node process running `code` (TypeScript through tsx), its stdout lines and its exit. */
interface Child {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stderr(): string;
}

function child(code: string): Child {
  const proc = spawn(process.execPath, ["-r", "tsx/cjs", "-e", code], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let err = "";
  let buf = "";
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  proc.stdout!.on("data", (b: Buffer): void => {
    buf += b.toString("utf8");
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of waiters.splice(0)) if (w.re.test(line)) w.resolve(line); else waiters.push(w);
    }
  });
  proc.stderr!.on("data", (b: Buffer) => { err += b.toString("utf8"); });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((res) => proc.once("exit", (code, signal) => res({ code, signal, at: Date.now() })));
  return {
    proc, lines, exit, stderr: () => err,
    waitFor(re, timeoutMs = 60_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no line matching ${re} within ${timeoutMs} ms; stdout:\n${lines.join("\n")}\nstderr:\n${err}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => { clearTimeout(timer); res(l); } });
        void exit.then(() => { clearTimeout(timer); rej(new Error(`child exited before a line matching ${re}; stdout:\n${lines.join("\n")}\nstderr:\n${err}`)); });
      });
    },
  };
}

/** The JSON line a child prints last (prefixed RESULT). */
function result(c: Child): Record<string, unknown> {
  const line = [...c.lines].reverse().find((l) => l.startsWith("RESULT "));
  assert.ok(line, `no RESULT line; stdout:\n${c.lines.join("\n")}\nstderr:\n${c.stderr()}`);
  return JSON.parse(line.slice("RESULT ".length)) as Record<string, unknown>;
}

describe("interrupts (core/interrupt.ts)", function () {
  this.timeout(120_000);

  it("outside a kernel and without watchInterrupts, checks never throw or wait (the CLI keeps Ctrl-C = exit)", async () => {
    assert.equal(watchingInterrupts(), false, "the test process counts no SIGINTs");
    const check = interruptCheck(() => "never");
    for (let i = 0; i < 3; i++) await check.check();
    assert.equal(check.interrupted, false);
    const other = new Error("other");
    assert.equal(check.explain(other), other, "other errors pass through unchanged");
  });

  it("SIGINT still ends a process that does not watch interrupts, at once and non-zero", async () => {
    const c = child(`
      const { interruptCheck } = require(${lib("core/interrupt")});
      (async () => {
        const check = interruptCheck(() => "busy loop");
        console.log("READY");
        for (;;) { const t = Date.now(); while (Date.now() - t < 20) {} await check.check(); await new Promise((r) => setImmediate(r)); }
      })();
    `);
    await c.waitFor(/^READY$/);
    const sent = Date.now();
    c.proc.kill("SIGINT");
    const { signal, at } = await c.exit;
    assert.equal(signal, "SIGINT");
    assert.ok(at - sent < 2000, `ended ${at - sent} ms after SIGINT`);
  });

  it("a watched SIGINT stops an async loop of synchronous steps at its next check, well within 2 s, and says where (outer levels add theirs)", async () => {
    const c = child(`
      const { interruptCheck, watchInterrupts } = require(${lib("core/interrupt")});
      watchInterrupts();
      let sigintAt = 0;
      process.on("SIGINT", () => { sigintAt = Date.now(); });
      (async () => {
        let step = 0;
        const outer = interruptCheck(() => "outer job at part 1 of 1 (nothing stored yet)");
        const inner = async () => {
          const check = interruptCheck(() => "inner loop at step " + step + " of 100000");
          for (; step < 100000; step++) {
            await check.check();
            const t = Date.now(); while (Date.now() - t < 30) {} // 30 ms of synchronous work, as a training step
            if (step === 5) console.log("READY");
          }
        };
        try { await inner(); console.log("RESULT " + JSON.stringify({ finished: true })); }
        catch (e) {
          const err = outer.explain(e);
          console.log("RESULT " + JSON.stringify({ name: err.name, message: err.message, latency: Date.now() - sigintAt, step }));
        }
      })();
    `);
    await c.waitFor(/^READY$/);
    await new Promise((r) => setTimeout(r, 300));
    c.proc.kill("SIGINT");
    const { code } = await c.exit;
    assert.equal(code, 0, c.stderr());
    const r = result(c);
    assert.equal(r.name, "InterruptedError");
    assert.match(String(r.message), /^interrupted: outer job at part 1 of 1 \(nothing stored yet\); inner loop at step \d+ of 100000$/);
    assert.ok((r.latency as number) >= 0 && (r.latency as number) < 2000, `stopped ${r.latency} ms after SIGINT`);
    assert.ok((r.latency as number) < 500, `a 30 ms step and a 100 ms yield give well under half a second, got ${r.latency} ms`);
    assert.ok((r.step as number) < 1000, `stopped early, at step ${r.step}`);
  });

  it("InterruptedError is an RraError with the message it was given", () => {
    const e = new InterruptedError("interrupted: x");
    assert.equal(e.name, "InterruptedError");
    assert.equal(e.message, "interrupted: x");
  });
});

describe("interrupting real work: stored state stays consistent", function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), "rra-interrupt-"));

  it("trainStudent stops between steps within 2 s of SIGINT; the run is marked interrupted, its last checkpoint is whole and resuming gives the uninterrupted weights", async () => {
    const cfg = { preset: "tiny", vocabSize: 2000, maxLength: 64, groupsPerBatch: 1, trainQueries: 8, devQueries: 1, patience: 0, epochs: 3 };
    const out = join(dir, "interrupted");
    const dbFile = join(dir, "train.sqlite");
    const c = child(`
      const { watchInterrupts } = require(${lib("core/interrupt")});
      const { openStore, closeStore } = require(${lib("store/db")});
      const { trainStudent } = require(${lib("train/loop")});
      watchInterrupts();
      let sigintAt = 0;
      process.on("SIGINT", () => { sigintAt = Date.now(); });
      (async () => {
        const db = await openStore(${JSON.stringify(dbFile)});
        let r;
        try { await trainStudent(db, ${JSON.stringify({ ...cfg, out })}, { quiet: true }); r = { finished: true }; }
        catch (e) { r = { name: e.name, message: e.message, latency: Date.now() - sigintAt }; }
        await closeStore(db);
        console.log("RESULT " + JSON.stringify(r));
        process.exitCode = r.finished ? 0 : 130;
      })();
    `);
    // SIGINT once the first epoch's checkpoint is written: in the middle of the second epoch
    const state = join(out, "checkpoint", "state.json");
    const t0 = Date.now();
    while (!existsSync(state)) {
      assert.ok(Date.now() - t0 < 120_000, `no checkpoint after 120 s; ${c.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    c.proc.kill("SIGINT");
    const { code } = await c.exit;
    const r = result(c);
    assert.equal(r.name, "InterruptedError", JSON.stringify(r));
    assert.equal(code, 130);
    assert.match(String(r.message), /^interrupted: train student-[0-9a-f]{8} in epoch [23] \(the checkpoint after epoch [12] is kept and running it again resumes from it\)/);
    assert.ok((r.latency as number) < 2000, `stopped ${r.latency} ms after SIGINT`);

    const db = await openStore(dbFile);
    try {
      const row = await db.selectFrom("train_runs").select(["status", "finished_at"]).executeTakeFirstOrThrow();
      assert.deepEqual(row, { status: "interrupted", finished_at: null });
      const saved = JSON.parse(readFileSync(state, "utf8")) as { epoch: number; step: number };
      assert.ok(saved.epoch >= 1 && saved.epoch < 3 && saved.step === saved.epoch * 8, JSON.stringify(saved));
      const datasets = { dl19: loadDataset("dl19"), dl20: loadDataset("dl20") };
      const resumed = await trainStudent(db, { ...cfg, out }, { quiet: true, datasets });
      assert.equal(resumed.resumedFromEpoch, saved.epoch);
      assert.equal(resumed.steps, 24);
      const whole = await trainStudent(db, { ...cfg, out: join(dir, "whole") }, { quiet: true, datasets });
      assert.ok(readFileSync(join(out, "checkpoint", "tensors.bin")).equals(readFileSync(join(whole.outDir, "checkpoint", "tensors.bin"))),
        "weights and optimizer state after resuming are bit-identical to an uninterrupted run's");
      assert.deepEqual(resumed.curves.filter((p) => p.metric === "loss").map((p) => p.value), whole.curves.filter((p) => p.metric === "loss").map((p) => p.value));
    } finally {
      await closeStore(db);
    }
  });

  it("runLabelJob stops between windows within 2 s of SIGINT; every stored window is whole and resuming gives the uninterrupted job", async () => {
    const job = { dataset: "dl19", teacher: "replay:rankvicuna-7b_bm25-top100-sw20s10_dl19", limit: 12 };
    const dbFile = join(dir, "labels.sqlite");
    const c = child(`
      const { watchInterrupts } = require(${lib("core/interrupt")});
      const { openStore, closeStore } = require(${lib("store/db")});
      const { runLabelJob } = require(${lib("labels/pipeline")});
      const { loadDataset } = require(${lib("data/datasets")});
      watchInterrupts();
      let sigintAt = 0;
      process.on("SIGINT", () => { sigintAt = Date.now(); });
      (async () => {
        const db = await openStore(${JSON.stringify(dbFile)});
        const dataset = loadDataset("dl19");
        console.log("READY");
        let r;
        try { await runLabelJob(db, ${JSON.stringify(job)}, { quiet: true, dataset }); r = { finished: true }; }
        catch (e) { r = { name: e.name, message: e.message, latency: Date.now() - sigintAt }; }
        await closeStore(db);
        console.log("RESULT " + JSON.stringify(r));
      })();
    `);
    await c.waitFor(/^READY$/);
    // SIGINT once a few windows are stored (read beside the writer, as SQLite allows)
    const peek = new Sqlite(dbFile, { readonly: true, fileMustExist: true });
    const t0 = Date.now();
    try {
      while ((peek.prepare("select count(*) as n from label_windows").get() as { n: number }).n < 5) {
        assert.ok(Date.now() - t0 < 60_000, `no windows stored after 60 s; ${c.stderr()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      peek.close();
    }
    c.proc.kill("SIGINT");
    await c.exit;
    const r = result(c);
    assert.equal(r.name, "InterruptedError", JSON.stringify(r));
    assert.match(String(r.message), /^interrupted: label job dl19-replay_rankvicuna-7b_bm25-top100-sw20s10_dl19-sliding20_10-[0-9a-f]{8} after \d+ of 12 queries \(every answered window is stored whole: running it again resumes the job\)(; query \d+ after \d+ window\(s\))?$/);
    assert.ok((r.latency as number) < 2000, `stopped ${r.latency} ms after SIGINT`);

    const db = await openStore(dbFile);
    const fresh = await openStore(":memory:");
    try {
      const windows = await db.selectFrom("label_windows").select(["job_id", "window_id", "docids_json", "status"]).execute();
      assert.ok(windows.length > 0 && windows.length < 12 * 9, `some windows stored before the interrupt, not all: ${windows.length}`);
      for (const w of windows) {
        assert.equal(w.status, "done");
        const facts = await db.selectFrom("labels").select((eb) => eb.fn.countAll<number>().as("n")).where("job_id", "=", w.job_id).where("window_id", "=", w.window_id).executeTakeFirstOrThrow();
        assert.equal(Number(facts.n), (JSON.parse(w.docids_json) as string[]).length, `window ${w.window_id} has a fact per shown document`);
      }
      const resumed = (await runLabelJob(db, job, { quiet: true })).summary;
      const whole = (await runLabelJob(fresh, job, { quiet: true })).summary;
      const { seconds: _a, latencyMs: _b, ...a } = resumed;
      const { seconds: _c, latencyMs: _d, ...b } = whole;
      assert.deepEqual(a, b);
      assert.equal(a.windows, 12 * 9);
    } finally {
      await closeStore(db);
      await closeStore(fresh);
    }
  });

  it("a live teacher's calls in flight are aborted by SIGINT: the job stops within 2 s, the calls stay pending and the next run asks them again", async () => {
    const slow = await startFakeLlm({ delayMs: 60_000 });
    const dbFile = join(dir, "live.sqlite");
    const job = { dataset: "dl19", teacher: "live", selection: "top10+bottom10", limit: 4, concurrency: 2 };
    const env = { RRA_LLM_BASE_URL: slow.baseUrl, RRA_LLM_MODEL: "fake-7b" };
    const c = child(`
      Object.assign(process.env, ${JSON.stringify(env)});
      const { watchInterrupts } = require(${lib("core/interrupt")});
      const { openStore, closeStore } = require(${lib("store/db")});
      const { runLabelJob } = require(${lib("labels/pipeline")});
      watchInterrupts();
      let sigintAt = 0;
      process.on("SIGINT", () => { sigintAt = Date.now(); });
      (async () => {
        const db = await openStore(${JSON.stringify(dbFile)});
        let r;
        try { await runLabelJob(db, ${JSON.stringify(job)}, { quiet: true }); r = { finished: true }; }
        catch (e) { r = { name: e.name, message: e.message, latency: Date.now() - sigintAt }; }
        await closeStore(db);
        console.log("RESULT " + JSON.stringify(r));
      })();
    `);
    try {
      const t0 = Date.now();
      while (slow.requests.length < 2) {
        assert.ok(Date.now() - t0 < 60_000, `no request reached the endpoint; ${c.stderr()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      c.proc.kill("SIGINT");
      await c.exit;
    } finally {
      await slow.close();
    }
    const r = result(c);
    assert.equal(r.name, "InterruptedError", JSON.stringify(r));
    assert.match(String(r.message), /^interrupted: label job dl19-live-top10\+bottom10-[0-9a-f]{8} after 0 of 4 queries \(every answered window is stored whole: running it again resumes the job\); live:fake-7b: POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions stopped \(the call stays unanswered in the store and is asked again by the next run\)$/);
    assert.ok((r.latency as number) < 2000, `stopped ${r.latency} ms after SIGINT`);

    const db = await openStore(dbFile);
    const fast = await startFakeLlm();
    const saved = { ...process.env };
    try {
      const calls = await db.selectFrom("teacher_calls").select(["status", "response"]).execute();
      assert.deepEqual(calls.map((x) => [x.status, x.response]), [["pending", null], ["pending", null]], "sent, unanswered, nothing half stored");
      assert.equal((await db.selectFrom("label_windows").selectAll().execute()).length, 0);
      Object.assign(process.env, { RRA_LLM_BASE_URL: fast.baseUrl, RRA_LLM_MODEL: "fake-7b" });
      const again = (await runLabelJob(db, job, { quiet: true })).summary;
      assert.equal(again.windows, 4);
      assert.equal(again.failed, 0);
      assert.equal(fast.requests.length, 4, "the two pending calls are asked again, with the two never sent");
      assert.deepEqual((await db.selectFrom("teacher_calls").select("status").execute()).map((x) => x.status), ["done", "done", "done", "done"]);
    } finally {
      process.env = saved;
      await fast.close();
      await closeStore(db);
    }
  });
});
