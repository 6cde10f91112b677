import assert from "node:assert/strict";
import { spawn } from "child_process";
import { existsSync, mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { sql, type Kysely } from "kysely";
import { ConfigError, TeacherError } from "../../lib/core/errors";
import { createRng } from "../../lib/core/rng";
import { createLiveTeacher, liveConfigFromEnv, LiveTeacherError, rankMany, resolveLiveConfig, type LiveTeacherConfig } from "../../lib/labels/teachers/live";
import type { TeacherRequest } from "../../lib/labels/types";
import { closeStore, openStore } from "../../lib/store/db";
import type { Database } from "../../lib/store/schema";
import {
  beginTeacherCall,
  failTeacherCall,
  findTeacherCall,
  finishTeacherCall,
  listTeacherCalls,
  teacherCallKey,
  teacherCallStats,
} from "../../lib/store/teacher-calls";
import { bodyHash, defaultAnswer, startFakeLlm, type ChatBody, type FakeLlm, type FakeLlmOptions } from "../fake-llm-server";
import { resumeRequest } from "../fixtures/live-resume-driver";
import { describeBackends, storePerTest } from "../pg";

const ROOT = resolve(__dirname, "..", "..");
const DRIVER = join(ROOT, "test", "fixtures", "live-resume-driver.ts");
const KEY = "sk-test-7f3a9c1e5b2d4680aa11bb22cc33dd44";
const ENV = { RRA_LLM_API_KEY: KEY };

/** Every value of every teacher_calls row, as text. */
async function storeText(db: Kysely<Database>): Promise<string> {
  const rows = await sql<Record<string, unknown>>`select * from teacher_calls`.execute(db);
  return rows.rows.map((r) => Object.values(r).map(String).join("\u0001")).join("\n");
}

/** Run `fn` while recording everything written to stdout and stderr (passed through afterwards). */
async function captureOutput<T>(fn: () => Promise<T>): Promise<{ value: T; output: string }> {
  const out: string[] = [];
  const orig = { o: process.stdout.write, e: process.stderr.write };
  const tap = (chunk: unknown): boolean => (out.push(String(chunk)), true);
  process.stdout.write = tap as typeof process.stdout.write;
  process.stderr.write = tap as typeof process.stderr.write;
  try {
    return { value: await fn(), output: out.join("") };
  } finally {
    process.stdout.write = orig.o;
    process.stderr.write = orig.e;
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail("expected a rejection");
}

describeBackends("teacher call store", (backend) => {
  let db: Kysely<Database>;
  storePerTest(backend, (h) => { db = h; });

  const keyInput = { teacher: "live" as const, model: "m", templateVersion: "v1", request: { messages: [{ role: "user" as const, content: "hi" }], params: { temperature: 0, max_tokens: 8 } } };

  it("keys a call by kind, model, template version, messages and parameters (key order irrelevant)", () => {
    const k = teacherCallKey(keyInput);
    assert.match(k, /^[0-9a-f]{64}$/);
    assert.equal(teacherCallKey({ ...keyInput, request: { messages: keyInput.request.messages, params: { max_tokens: 8, temperature: 0 } } }), k);
    for (const changed of [{ model: "m2" }, { templateVersion: "v2" }, { teacher: "replay" as const }, { request: { ...keyInput.request, params: { temperature: 0, max_tokens: 9 } } }]) {
      assert.notEqual(teacherCallKey({ ...keyInput, ...changed }), k, JSON.stringify(changed));
    }
  });

  it("moves a call through pending, error, pending and done, counting attempts, and never rewrites a done row", async () => {
    const call = { cacheKey: "k1", teacher: "live:m", model: "m", templateVersion: "v1", requestJson: "{}" };
    assert.deepEqual(await beginTeacherCall(db, call), { id: 1, attempts: 1, status: "pending" });
    assert.deepEqual(await beginTeacherCall(db, call), { id: 1, attempts: 2, status: "pending" });
    assert.equal(await failTeacherCall(db, 1, `HTTP 401: bad key ${KEY}; Authorization: Bearer abcdefgh12345678`, [KEY]), true);
    let row = (await findTeacherCall(db, "k1"))!;
    assert.equal(row.status, "error");
    assert.equal(row.error, "HTTP 401: bad key ***; Authorization: Bearer ***");
    assert.ok(row.finishedAt);
    assert.deepEqual(await beginTeacherCall(db, call), { id: 1, attempts: 3, status: "pending" });
    assert.equal((await findTeacherCall(db, "k1"))!.finishedAt, null);
    assert.equal(await finishTeacherCall(db, 1, { response: "[1] > [2]", promptTokens: 10, completionTokens: 3, latencyMs: 12.5 }), true);
    row = (await findTeacherCall(db, "k1"))!;
    assert.deepEqual([row.status, row.response, row.promptTokens, row.completionTokens, row.latencyMs, row.error, row.attempts], ["done", "[1] > [2]", 10, 3, 12.5, null, 3]);
    assert.equal(await finishTeacherCall(db, 1, { response: "other", promptTokens: null, completionTokens: null, latencyMs: 1 }), false);
    assert.equal(await failTeacherCall(db, 1, "late failure"), false);
    assert.deepEqual(await beginTeacherCall(db, call), { id: 1, attempts: 3, status: "done" });
    assert.equal((await findTeacherCall(db, "k1"))!.response, "[1] > [2]");
    assert.equal(await findTeacherCall(db, "nope"), undefined);
  });

  it("lists calls and computes counts, token sums and latency percentiles", async () => {
    for (let i = 1; i <= 10; i++) {
      const { id } = await beginTeacherCall(db, { cacheKey: `k${i}`, teacher: i <= 8 ? "live:a" : "live:b", model: "m", templateVersion: "v1", requestJson: "{}" });
      if (i <= 7) await finishTeacherCall(db, id, { response: "", promptTokens: i === 7 ? null : 100, completionTokens: i === 7 ? null : 5, latencyMs: i * 10 });
      else if (i === 8) await failTeacherCall(db, id, "HTTP 500");
    }
    const s = await teacherCallStats(db, { teacher: "live:a" });
    assert.deepEqual({ ...s, latencyMs: undefined }, { calls: 8, done: 7, pending: 0, error: 1, attempts: 8, promptTokens: 600, completionTokens: 30, withUsage: 6, latencyMs: undefined });
    assert.deepEqual(s.latencyMs, { mean: 40, p50: 40, p90: 70, p99: 70, max: 70 });
    assert.equal((await teacherCallStats(db)).pending, 2);
    assert.equal((await teacherCallStats(db, { status: "pending" })).latencyMs, null);
    assert.deepEqual((await listTeacherCalls(db, { status: "error" })).map((c) => c.cacheKey), ["k8"]);
    assert.deepEqual((await listTeacherCalls(db, { limit: 2 })).map((c) => c.id), [1, 2]);
  });
});

describe("live teacher", () => {
  let db: Kysely<Database>;
  let server: FakeLlm | undefined;
  beforeEach(async () => (db = await openStore(":memory:")));
  afterEach(async () => {
    await closeStore(db);
    await server?.close();
    server = undefined;
  });

  async function setup(options: FakeLlmOptions = {}, overrides: Partial<LiveTeacherConfig> = {}, env: NodeJS.ProcessEnv = ENV) {
    server = await startFakeLlm({ apiKey: KEY, ...options });
    const config = resolveLiveConfig({ baseUrl: server.baseUrl, model: "fake-7b", backoffBaseMs: 5, backoffCapMs: 40, timeoutMs: 2000, ...overrides });
    return { server, teacher: createLiveTeacher(db, config, env) };
  }
  const answerOf = (r: TeacherRequest): string => defaultAnswer({ model: "fake-7b", messages: r.messages });

  it("answers through the endpoint and stores request, response, tokens, latency and one attempt", async () => {
    const { server, teacher } = await setup({ delayMs: 20 });
    assert.deepEqual([teacher.kind, teacher.name, teacher.model, teacher.canMiss], ["live", "live:fake-7b", "fake-7b", true]);
    const req = resumeRequest(5);
    const a = await teacher.rank(req);
    assert.equal(a.response, answerOf(req));
    assert.equal(a.cached, false);
    assert.ok(a.promptTokens! > 10 && a.completionTokens! > 0, JSON.stringify(a));
    assert.ok(a.latencyMs >= 15, `latency ${a.latencyMs}`);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].authorization, `Bearer ${KEY}`);
    const body = server.requests[0].body!;
    assert.deepEqual([body.model, body.temperature, body.max_tokens, body.messages], ["fake-7b", 0, 64, req.messages]);
    const [row] = await listTeacherCalls(db);
    assert.equal(row.id, a.callId);
    assert.deepEqual([row.status, row.teacher, row.model, row.templateVersion, row.attempts, row.error], ["done", "live:fake-7b", "fake-7b", "test-v1", 1, null]);
    assert.deepEqual([row.response, row.promptTokens, row.completionTokens, row.latencyMs], [a.response, a.promptTokens, a.completionTokens, a.latencyMs]);
    assert.deepEqual(row.request, body);
    assert.ok(!(await storeText(db)).includes(KEY));
  });

  it("serves a repeated request from the store without any HTTP request, also to a new teacher and concurrent callers", async () => {
    const { server, teacher } = await setup({ delayMs: 30 });
    const [a, b] = await Promise.all([teacher.rank(resumeRequest(1)), teacher.rank(resumeRequest(1))]);
    assert.equal(server.requests.length, 1);
    assert.equal(a.response, b.response);
    const again = createLiveTeacher(db, resolveLiveConfig({ baseUrl: server.baseUrl, model: "fake-7b" }), ENV);
    const c = await again.rank(resumeRequest(1));
    assert.deepEqual(c, { ...a, cached: true });
    assert.equal(server.requests.length, 1);
    await again.rank({ ...resumeRequest(1), maxTokens: 65 }); // other parameters: another request
    assert.equal(server.requests.length, 2);
    await again.close!();
    const e = await rejection(again.rank(resumeRequest(1)));
    assert.ok(e instanceof TeacherError && /after close\(\)/.test(e.message));
  });

  it("sends no Authorization header when no key is set, and falls back to OPENAI_API_KEY", async () => {
    const { server, teacher } = await setup({ apiKey: null }, {}, {});
    await teacher.rank(resumeRequest(0));
    assert.equal(server.requests[0].authorization, undefined);
    const fallback = createLiveTeacher(db, liveConfigFromEnv({}, { RRA_LLM_BASE_URL: server.baseUrl, RRA_LLM_MODEL: "fake-7b", OPENAI_API_KEY: "sk-openai-fallback" }), { OPENAI_API_KEY: "sk-openai-fallback" });
    await fallback.rank(resumeRequest(1));
    assert.equal(server.requests[1].authorization, "Bearer sk-openai-fallback");
  });

  it("keeps at most `concurrency` requests in flight", async () => {
    const { server, teacher } = await setup({ delayMs: 40 }, { concurrency: 3 });
    const progress: number[] = [];
    const results = await rankMany(teacher, Array.from({ length: 12 }, (_, i) => resumeRequest(i)), (p) => progress.push(p.settled));
    assert.equal(results.length, 12);
    assert.ok(results.every((r) => !(r instanceof Error)));
    assert.equal(server.requests.length, 12);
    assert.equal(server.maxInFlight, 3);
    assert.deepEqual(progress, Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it("retries a 429 after the server's retry-after-ms / Retry-After, then succeeds", async () => {
    const { server, teacher } = await setup();
    server.enqueue({ kind: "status", status: 429, retryAfterMs: 150, message: "Rate limit reached" });
    let t0 = Date.now();
    const a = await teacher.rank(resumeRequest(2));
    assert.ok(Date.now() - t0 >= 145, `waited ${Date.now() - t0} ms`);
    assert.equal(a.response, answerOf(resumeRequest(2)));
    assert.equal((await listTeacherCalls(db))[0].attempts, 2);
    server.enqueue({ kind: "status", status: 429, retryAfter: "1" });
    t0 = Date.now();
    await teacher.rank(resumeRequest(3));
    assert.ok(Date.now() - t0 >= 990, `waited ${Date.now() - t0} ms for Retry-After: 1`);
    assert.equal(server.requests.length, 4);
  });

  it("gives up after maxRetries 500s with an http TeacherError and an 'error' row", async () => {
    const { server: first, teacher } = await setup({ fault: () => ({ kind: "status", status: 500, message: "CUDA out of memory" }) }, { maxRetries: 2 });
    const e = await rejection(teacher.rank(resumeRequest(4)));
    assert.ok(e instanceof LiveTeacherError && e instanceof TeacherError);
    assert.deepEqual([e.category, e.status, e.attempts], ["http", 500, 3]);
    assert.match(e.message, /^live:fake-7b: POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions failed after 3 attempt\(s\): HTTP 500: "CUDA out of memory"/);
    assert.equal(first.requests.length, 3);
    const [row] = await listTeacherCalls(db);
    assert.deepEqual([row.status, row.attempts, row.response], ["error", 3, null]);
    assert.equal(row.error, e.message);
    // a rerun retries the failed call (it is not a cached answer) and counts on from the stored attempts
    await first.close();
    server = await startFakeLlm({ apiKey: KEY });
    const retry = createLiveTeacher(db, resolveLiveConfig({ baseUrl: server.baseUrl, model: "fake-7b" }), ENV);
    assert.equal((await retry.rank(resumeRequest(4))).cached, false);
    assert.deepEqual(((await listTeacherCalls(db))[0]).attempts, 4);
  });

  it("times out a hanging request and retries it; gives a timeout error when every attempt hangs", async () => {
    const { server, teacher } = await setup({}, { timeoutMs: 150, maxRetries: 1 });
    server.enqueue({ kind: "hang" });
    const a = await teacher.rank(resumeRequest(6));
    assert.equal(a.response, answerOf(resumeRequest(6)));
    assert.equal((await listTeacherCalls(db))[0].attempts, 2);
    server.enqueue({ kind: "hang" }, { kind: "hang" });
    const e = await rejection(teacher.rank(resumeRequest(7)));
    assert.ok(e instanceof TeacherError);
    assert.equal(e.category, "timeout");
    assert.match(e.message, /no complete answer within 150 ms/);
    assert.equal(server.requests.length, 4);
  });

  it("accepts a slow answer within the timeout and records its latency", async () => {
    const { server, teacher } = await setup({}, { timeoutMs: 1000 });
    server.enqueue({ kind: "slow", ms: 200 });
    const a = await teacher.rank(resumeRequest(8));
    assert.ok(a.latencyMs >= 190 && a.latencyMs < 1000, `latency ${a.latencyMs}`);
    assert.equal(server.requests.length, 1);
  });

  it("retries malformed answers and reports a protocol error when they persist", async () => {
    const { server, teacher } = await setup({}, { maxRetries: 2 });
    server.enqueue({ kind: "not-json" }, { kind: "no-choices" });
    assert.equal((await teacher.rank(resumeRequest(9))).response, answerOf(resumeRequest(9)));
    assert.equal(server.requests.length, 3);
    server.enqueue({ kind: "no-choices" }, { kind: "not-json" }, { kind: "no-choices" });
    const e = await rejection(teacher.rank(resumeRequest(10)));
    assert.ok(e instanceof TeacherError);
    assert.equal(e.category, "protocol");
    assert.match(e.message, /expected a chat completion with choices\[0\]\.message\.content, got \{"id":"x","object":"chat\.completion","choices":\[\]\}; earlier attempts: protocol, protocol$/);
    server.enqueue({ kind: "not-json" }, { kind: "not-json" }, { kind: "not-json" });
    const e2 = await rejection(teacher.rank(resumeRequest(11)));
    assert.match(e2.message, /a body that is not JSON: "<html>502 Bad Gateway<\/html>"/);
    assert.equal(server.requests.length, 9);
  });

  it("does not retry a 401 or another 4xx, and reports the server's message", async () => {
    const { server, teacher } = await setup({}, {}, { RRA_LLM_API_KEY: "sk-wrong-key-000000000" });
    const e = await rejection(teacher.rank(resumeRequest(12)));
    assert.ok(e instanceof LiveTeacherError);
    assert.deepEqual([e.category, e.status, e.attempts], ["http", 401, 1]);
    assert.match(e.message, /HTTP 401: "Incorrect API key provided\."/);
    assert.equal(server.requests.length, 1);
    server.enqueue({ kind: "echo-auth", status: 400 });
    const e2 = await rejection(teacher.rank(resumeRequest(13)));
    assert.equal((e2 as LiveTeacherError).status, 400);
    assert.equal(server.requests.length, 2);
  });

  it("reports network errors after retrying them", async () => {
    const { server, teacher } = await setup({}, { maxRetries: 1 });
    await server.close();
    const e = await rejection(teacher.rank(resumeRequest(14)));
    assert.ok(e instanceof TeacherError);
    assert.equal(e.category, "network");
    assert.match(e.message, /failed after 2 attempt\(s\): fetch failed \(ECONNREFUSED/);
  });

  it("keeps the API key out of the store, errors and stdout/stderr, even when the server echoes it", async () => {
    const { server, teacher } = await setup({}, { maxRetries: 1 });
    server.enqueue({ kind: "echo-auth", status: 503 }, { kind: "status", status: 500, message: `upstream rejected key ${KEY} (Authorization: Bearer ${KEY})` });
    server.enqueue({ kind: "echo-auth" });
    const { value: errors, output } = await captureOutput(async () => {
      const errs = [await rejection(teacher.rank(resumeRequest(15))), await rejection(teacher.rank(resumeRequest(16)))];
      await teacher.rank(resumeRequest(17));
      return errs;
    });
    assert.equal(server.requests.filter((r) => r.authorization === `Bearer ${KEY}`).length, 4);
    for (const e of errors) {
      assert.ok(e instanceof TeacherError);
      for (const text of [e.message, String(e.stack), JSON.stringify(e), String(e)]) assert.ok(!text.includes(KEY), text);
      assert.match(e.message, /\*\*\*/);
    }
    assert.ok(!output.includes(KEY));
    const stored = await storeText(db);
    assert.match(stored, /upstream rejected key \*\*\*/);
    assert.ok(!stored.includes(KEY) && !stored.includes(KEY.slice(0, 16)));
  });

  it("rejects bad configs and requests with errors naming the value", async () => {
    assert.throws(() => liveConfigFromEnv({}, { RRA_LLM_MODEL: "m" }), (e: Error) => e instanceof ConfigError && /RRA_LLM_BASE_URL/.test(e.message));
    assert.throws(() => liveConfigFromEnv({}, { RRA_LLM_BASE_URL: "http://x/v1" }), (e: Error) => e instanceof ConfigError && /RRA_LLM_MODEL/.test(e.message));
    assert.throws(() => liveConfigFromEnv({ apiKeyEnv: "MY_LLM_KEY" }, { RRA_LLM_BASE_URL: "http://x/v1", RRA_LLM_MODEL: "m" }), /MY_LLM_KEY, which is not set/);
    assert.throws(() => resolveLiveConfig({ baseUrl: "http://x", model: "m", concurency: 2 } as Partial<LiveTeacherConfig>), /unknown key "concurency"/);
    assert.throws(() => resolveLiveConfig({ baseUrl: "http://x", model: "m", temperature: 0.7 as 0 }), /temperature must be 0, got 0\.7/);
    assert.throws(() => resolveLiveConfig({ baseUrl: "http://x", model: "m", concurrency: 0 }), /concurrency must be an integer >= 1, got 0/);
    assert.throws(() => resolveLiveConfig({ baseUrl: "ftp://x", model: "m" }), /baseUrl must be an http\(s\) URL, got "ftp:\/\/x"/);
    assert.throws(() => resolveLiveConfig({ baseUrl: "http://u:secret@x", model: "m" }), /must not hold credentials/);
    const c = liveConfigFromEnv({ concurrency: 2 }, { RRA_LLM_BASE_URL: "http://localhost:11434/v1/", RRA_LLM_MODEL: "qwen2.5:7b" });
    assert.deepEqual([c.baseUrl, c.model, c.concurrency, c.timeoutMs, c.maxRetries, Object.isFrozen(c)], ["http://localhost:11434/v1", "qwen2.5:7b", 2, 60000, 5, true]);
    const teacher = createLiveTeacher(db, c, {});
    const e = await rejection(teacher.rank({ ...resumeRequest(0), maxTokens: 0 }));
    assert.ok(e instanceof TeacherError && e.category === "config");
    assert.match(e.message, /window "q0\/0": maxTokens must be an integer >= 1, got 0/);
  });

  it("rankMany returns answers and TeacherErrors in request order", async () => {
    const { teacher } = await setup({ fault: ({ body }) => (body?.messages[1].content.includes("query number 2\n") ? { kind: "status", status: 400 } : null) });
    const results = await rankMany(teacher, [0, 1, 2, 3].map(resumeRequest));
    assert.deepEqual(results.map((r) => (r instanceof TeacherError ? r.category : r.response.slice(0, 1))), ["[", "[", "http", "["]);
  });
});

describe("live teacher kill-and-resume", () => {
  const N = 40;
  const MAX_KILLS = 6;

  interface Row {
    id: number;
    status: string;
    response: string | null;
    finished_at: string | null;
    attempts: number;
    request_json: string;
  }

  /** The store's teacher calls by request body hash (the body sent is the stored request JSON). */
  async function snapshot(dbPath: string): Promise<Map<string, Row>> {
    const db = await openStore(dbPath);
    try {
      const rows = await db.selectFrom("teacher_calls").select(["id", "status", "response", "finished_at", "attempts", "request_json"]).execute();
      return new Map(rows.map((r) => [bodyHash(r.request_json), r]));
    } finally {
      await closeStore(db);
    }
  }

  it("never re-sends a request whose answer was stored and loses no answer when SIGKILLed at random moments", async function () {
    this.timeout(60_000);
    const server = await startFakeLlm({ apiKey: KEY, delayMs: ({ bodyHash: h }) => 25 + (parseInt(h.slice(0, 4), 16) % 50) });
    const dbPath = join(mkdtempSync(join(tmpdir(), "rra-live-resume-")), "resume.sqlite");
    const rng = createRng(20240611);
    const after: Map<string, Row>[] = []; // store state after generation g ended
    const killed: boolean[] = [];
    let output = "";
    try {
      for (let g = 0; ; g++) {
        assert.ok(g <= MAX_KILLS, "the job did not complete after the last restart");
        server.generation = g;
        const child = spawn(process.execPath, ["-r", "tsx/cjs", DRIVER, dbPath, String(N)], {
          cwd: ROOT,
          env: { ...process.env, RRA_LLM_BASE_URL: server.baseUrl, RRA_LLM_MODEL: "fake-7b", RRA_LLM_API_KEY: KEY, LIVE_CONCURRENCY: "4" },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        const exited = new Promise<{ code: number | null; signal: string | null }>((res) => child.on("exit", (code, signal) => res({ code, signal })));
        const kill = g < MAX_KILLS;
        if (kill) {
          const delay = 20 + rng.int(260);
          await new Promise<void>((res) => {
            const check = setInterval(() => {
              if (out.includes("ready") || child.exitCode !== null) {
                clearInterval(check);
                res();
              }
            }, 2);
          });
          await new Promise((res) => setTimeout(res, delay));
          child.kill("SIGKILL");
        }
        const { code, signal } = await exited;
        output += out;
        after.push(await snapshot(dbPath));
        killed.push(signal === "SIGKILL");
        if (signal !== "SIGKILL") {
          assert.equal(code, 0, `driver failed: ${out}`);
          assert.match(out, new RegExp(`complete ${N}`));
          break;
        }
      }

      const final = after[after.length - 1];
      const kills = killed.filter(Boolean).length;
      assert.ok(kills >= 3, `only ${kills} kill(s) landed before the job completed`);
      // every request has exactly one row, done, with the server's answer
      assert.equal(final.size, N);
      for (const row of final.values()) {
        assert.equal(row.status, "done");
        assert.equal(row.response, defaultAnswer(JSON.parse(row.request_json) as ChatBody));
      }
      // no answer stored before a kill is lost or rewritten
      for (const snap of after) {
        for (const [h, row] of snap) if (row.status === "done") assert.deepEqual(final.get(h), row);
      }
      // the server never saw a request whose answer was already stored
      const byBody = new Map<string, number[]>();
      for (const r of server.requests) {
        assert.ok(final.has(r.bodyHash), "a request the job never made");
        assert.equal(r.authorization, `Bearer ${KEY}`);
        if (r.generation > 0) assert.notEqual(after[r.generation - 1].get(r.bodyHash)?.status, "done", `re-sent a stored answer in generation ${r.generation}`);
        assert.ok(r.at <= Date.parse(final.get(r.bodyHash)!.finished_at!), "a request arrived after its answer was stored");
        byBody.set(r.bodyHash, [...(byBody.get(r.bodyHash) ?? []), r.generation]);
      }
      // a request is repeated only when it was pending when its process died
      let repeated = 0;
      let pendingAtKill = 0;
      for (const [h, row] of final) {
        const gens = byBody.get(h) ?? [];
        assert.ok(gens.length >= 1, "a stored answer without a request");
        assert.equal(new Set(gens).size, gens.length, "sent twice by one process");
        for (const g of gens.slice(0, -1)) assert.equal(after[g].get(h)?.status, "pending", `repeated although not pending after generation ${g}`);
        const pendingKills = after.filter((s, g) => killed[g] && s.get(h)?.status === "pending").length;
        pendingAtKill += pendingKills;
        repeated += gens.length - 1;
        assert.ok(row.attempts >= gens.length && row.attempts - gens.length <= pendingKills, `attempts ${row.attempts}, requests ${gens.length}`);
      }
      assert.ok(pendingAtKill >= 1, "no kill interrupted a call in flight");
      for (const s of after) assert.ok([...s.values()].filter((r) => r.status === "pending").length <= 4);
      assert.ok(repeated <= pendingAtKill);
      // the key reached neither the store file nor the child's output
      assert.ok(!output.includes(KEY));
      for (const f of [dbPath, `${dbPath}-wal`]) if (existsSync(f)) assert.ok(!readFileSync(f).includes(KEY), f);
    } finally {
      await server.close();
    }
  });
});

describe("liveConfigFromEnv reads OPENAI_BASE_URL like OPENAI_API_KEY (issue 15 item 16)", () => {
  it("takes OPENAI_BASE_URL when RRA_LLM_BASE_URL is unset, and RRA_LLM_BASE_URL first when both are", () => {
    assert.equal(liveConfigFromEnv({}, { OPENAI_BASE_URL: "https://api.openai.com/v1/", RRA_LLM_MODEL: "m" }).baseUrl, "https://api.openai.com/v1");
    assert.equal(liveConfigFromEnv({}, { OPENAI_BASE_URL: "https://api.openai.com/v1", RRA_LLM_BASE_URL: "http://localhost:11434/v1", RRA_LLM_MODEL: "m" }).baseUrl, "http://localhost:11434/v1");
    assert.throws(() => liveConfigFromEnv({}, { RRA_LLM_MODEL: "m" }), /set RRA_LLM_BASE_URL or OPENAI_BASE_URL/);
  });
});
