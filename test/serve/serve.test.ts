import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "child_process";
import { request as httpRequest } from "http";
import { initBackend } from "../../lib/backend/tf";
import { ConfigError } from "../../lib/core/errors";
import { createRng } from "../../lib/core/rng";
import { loadDataset } from "../../lib/data/datasets";
import { computeBodyLimit, computeRanking, parseRerankRequest, RERANK_LIMITS_DEFAULTS, HttpError } from "../../lib/serve/request";
import { measureRerankLatency, resolveServeConfig, startServer, type RunningServer, type ServedModel } from "../../lib/serve/server";
import { loadReranker, type Reranker } from "../../lib/train/reranker";
import { makeStudentDir } from "../fixtures/tiny-student";

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** Send one request; `body` is sent as is when a string, else as JSON. */
async function send(url: string, path: string, options: { method?: string; body?: unknown; contentType?: string | null } = {}): Promise<Answer> {
  const { method = "POST", body, contentType = "application/json" } = options;
  const headers: Record<string, string> = contentType === null ? {} : { "content-type": contentType };
  // bytes, not a string: fetch would add "content-type: text/plain" to a string body
  const bytes = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  const res = await fetch(url + path, { method, headers, body: bytes });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

type Ranked = Array<{ id: string; score: number; rank: number }>;

/** The ranking that score() implies: score descending, ties in input order, 1-based ranks. */
function expectedRanking(ids: string[], scores: Float32Array, topK = ids.length): Ranked {
  return ids.map((id, i) => ({ id, score: scores[i], rank: 0, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, topK)
    .map(({ id, score }, r) => ({ id, score, rank: r + 1 }));
}

/** A fake model whose scores are the text lengths; `gate` holds every call until released. */
function fakeModel(options: { fail?: (query: string) => string | null; scores?: (texts: readonly string[]) => ArrayLike<number> } = {}) {
  const calls: string[] = [];
  let release: (() => void) | null = null;
  let gate: Promise<void> | null = null;
  const model: ServedModel = {
    kind: "bert", format: "native", engine: "fake", dir: "/fake",
    async score(query, passages) {
      calls.push(query);
      if (gate) await gate;
      const failure = options.fail?.(query);
      if (failure) throw new Error(failure);
      return Float32Array.from(options.scores?.(passages) ?? passages.map((p) => p.length));
    },
  };
  return {
    model, calls,
    hold() { gate = new Promise((r) => { release = r; }); },
    release() { gate = null; release?.(); },
  };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

describe("rra serve (lib/serve)", () => {
  let reranker: Reranker;
  let server: RunningServer;
  let texts: string[];
  let query: string;
  before(async () => {
    await initBackend({ quiet: true });
    reranker = await loadReranker(makeStudentDir());
    server = await startServer(reranker, { port: 0 });
    const dl19 = loadDataset("dl19");
    texts = dl19.lists.flatMap((l) => l.candidates.map((c) => c.text ?? "")).filter((t) => t !== "");
    query = dl19.lists[0].query;
  });
  after(async () => {
    await server?.close();
    reranker?.dispose();
  });

  describe("request.ts", () => {
    it("ranks by score, highest first, ties in input order, cut to topK", () => {
      assert.deepEqual(computeRanking(["a", "b", "c", "d"], [1, 3, 1, 3], null), [
        { id: "b", score: 3, rank: 1 }, { id: "d", score: 3, rank: 2 }, { id: "a", score: 1, rank: 3 }, { id: "c", score: 1, rank: 4 },
      ]);
      assert.deepEqual(computeRanking(["a", "b", "c"], [0.5, -1, 2], 2).map((r) => r.id), ["c", "a"]);
    });
    it("refuses scores that do not fit the passages", () => {
      assert.throws(() => computeRanking(["a", "b"], [1], null), /1 scores for 2 passages/);
      assert.throws(() => computeRanking(["a", "b"], [1, NaN], null), /non-finite score \(NaN\) for passages\[1\]/);
    });
    it("derives the body limit from the limits", () => {
      assert.equal(computeBodyLimit(RERANK_LIMITS_DEFAULTS), 1024 + 4 * 2000 + 1000 * (4 * (10_000 + 256) + 64));
      const e = (() => { try { parseRerankRequest({ query: "q", passages: [{ id: "a", text: "x" }], topK: 2.5 }, RERANK_LIMITS_DEFAULTS); } catch (err) { return err; } })();
      assert.ok(e instanceof HttpError && e.status === 400 && /topK: expected a positive integer, got the number 2\.5/.test(e.message), String(e));
    });
  });

  describe("startServer options", () => {
    it("refuses a port in use, naming it", async () => {
      await assert.rejects(startServer(reranker, { port: server.port }), (e: Error) => e instanceof ConfigError && e.message.includes(`cannot listen on 127.0.0.1:${server.port}`) && /EADDRINUSE/.test(e.message));
    });
    it("rejects unknown config keys", () => {
      assert.throws(() => resolveServeConfig({ maxPassage: 3 } as never), /unknown key "maxPassage"/);
      assert.throws(() => resolveServeConfig({ port: 70000 }), /port must be an integer from 0 to 65535, got 70000/);
    });
  });

  describe("POST /rerank", () => {
    it("answers the scores of reranker.score exactly, ranked by score", async () => {
      const passages = texts.slice(0, 30).map((text, i) => ({ id: `d${i}`, text }));
      const expected = expectedRanking(passages.map((p) => p.id), await reranker.score(query, passages.map((p) => p.text)));
      const r = await send(server.url, "/rerank", { body: { query, passages } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.ranking, expected);
      assert.ok(new Set(expected.map((e) => e.score)).size > 1, "the fixture model gives different scores");
      assert.deepEqual(r.body.model, { kind: "bert", format: "native", engine: reranker.engine });
      assert.equal(typeof r.body.took_ms, "number");
    });
    it("keeps the best topK", async () => {
      const passages = texts.slice(40, 60).map((text, i) => ({ id: `p${i}`, text }));
      const expected = expectedRanking(passages.map((p) => p.id), await reranker.score(query, passages.map((p) => p.text)), 5);
      const r = await send(server.url, "/rerank", { body: { query, passages, topK: 5 } });
      assert.deepEqual(r.body.ranking, expected);
      const all = await send(server.url, "/rerank", { body: { query, passages, topK: 500 } });
      assert.equal((all.body.ranking as Ranked).length, 20);
    });
  });

  describe("GET /health", () => {
    it("describes the model and counts the rankings served", async () => {
      const before = server.stats().requestsServed;
      const r = await send(server.url, "/health", { method: "GET" });
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.body).sort(), ["model", "queued", "requests_served", "status", "uptime_s"]);
      assert.equal(r.body.status, "ok");
      assert.deepEqual(r.body.model, { dir: reranker.dir, kind: reranker.kind, format: reranker.format, engine: reranker.engine });
      assert.equal(r.body.requests_served, before);
      assert.ok(typeof r.body.uptime_s === "number" && r.body.uptime_s >= 0);
    });
  });

  describe("bad requests", () => {
    let limited: RunningServer;
    before(async () => { limited = await startServer(reranker, { maxPassages: 5, maxChars: 100, maxQueryChars: 50 }); });
    after(() => limited.close());
    const ok = [{ id: "a", text: "alpha" }, { id: "b", text: "beta" }];
    const cases: Array<{ name: string; method?: string; path?: string; body?: unknown; contentType?: string | null; status: number; error: RegExp }> = [
      { name: "invalid JSON", body: '{"query": "q", ', status: 400, error: /^body: expected valid JSON, got a parse error/ },
      { name: "an empty body", body: "", status: 400, error: /^body: expected a JSON object .*got an empty body/ },
      { name: "a body that is not an object", body: [1, 2], status: 400, error: /^body: expected a JSON object .*got an array of 2/ },
      { name: "text/plain", body: { query: "q", passages: ok }, contentType: "text/plain", status: 415, error: /^content-type: expected application\/json.*got "text\/plain"/ },
      { name: "no content-type", body: "{}", contentType: null, status: 415, error: /^content-type: .*got no content-type header/ },
      { name: "a Latin-1 charset", body: { query: "q", passages: ok }, contentType: "application/json; charset=iso-8859-1", status: 415, error: /^content-type:/ },
      { name: "a body over the byte limit", body: { query: "q", passages: ok, pad: "x".repeat(20_000) }, status: 413, error: /^body: expected at most \d+ bytes.*got \d+/ },
      { name: "an unknown field", body: { query: "q", passages: ok, top_k: 3 }, status: 400, error: /^body: unknown field "top_k"; expected only query, passages, topK/ },
      { name: "a missing query", body: { passages: ok }, status: 400, error: /^query: expected a non-empty string, got nothing/ },
      { name: "a numeric query", body: { query: 7, passages: ok }, status: 400, error: /^query: expected a non-empty string, got the number 7/ },
      { name: "an empty query", body: { query: "", passages: ok }, status: 400, error: /^query: .*got an empty string/ },
      { name: "a whitespace query", body: { query: " \t\n", passages: ok }, status: 400, error: /^query: .*got only whitespace/ },
      { name: "a query over the limit", body: { query: "q".repeat(51), passages: ok }, status: 413, error: /^query: expected at most 50 characters, got 51/ },
      { name: "passages not an array", body: { query: "q", passages: { id: "a", text: "x" } }, status: 400, error: /^passages: expected an array .*got an object/ },
      { name: "no passages", body: { query: "q", passages: [] }, status: 400, error: /^passages: expected at least 1 passage, got an empty array/ },
      { name: "too many passages", body: { query: "q", passages: Array.from({ length: 6 }, (_, i) => ({ id: `${i}`, text: "t" })) }, status: 413, error: /^passages: expected at most 5 passages.*got 6/ },
      { name: "a passage that is a number", body: { query: "q", passages: [ok[0], 42] }, status: 400, error: /^passages\[1\]: expected an object \{id: string, text: string\}, got the number 42/ },
      { name: "a numeric id", body: { query: "q", passages: [ok[0], { id: 2, text: "x" }] }, status: 400, error: /^passages\[1\]\.id: expected a non-empty string, got the number 2/ },
      { name: "an empty id", body: { query: "q", passages: [{ id: "", text: "x" }] }, status: 400, error: /^passages\[0\]\.id: .*got an empty string/ },
      { name: "a missing text", body: { query: "q", passages: [{ id: "a" }] }, status: 400, error: /^passages\[0\]\.text: expected a string, got nothing/ },
      { name: "an extra passage field", body: { query: "q", passages: [{ id: "a", text: "x", title: "t" }] }, status: 400, error: /^passages\[0\]: unknown field "title"/ },
      { name: "duplicate ids", body: { query: "q", passages: [...ok, { id: "a", text: "again" }] }, status: 400, error: /^passages\[2\]\.id: expected unique ids, got "a" again \(first at passages\[0\]\)/ },
      { name: "a text over max-chars", body: { query: "q", passages: [...ok, { id: "c", text: "x".repeat(101) }] }, status: 413, error: /^passages\[2\]\.text: expected at most 100 characters.*got 101/ },
      ...[0, -3, 1.5, "3", null].map((topK) => ({ name: `topK ${JSON.stringify(topK)}`, body: { query: "q", passages: ok, topK }, status: 400, error: /^topK: expected a positive integer, got / })),
      { name: "an unknown route", path: "/rank", status: 404, error: /^route: expected one of POST \/rerank, POST \/v1\/rerank, GET \/health, got POST "\/rank"/ },
      { name: "GET /rerank", method: "GET", path: "/rerank", status: 405, error: /^method: \/rerank expects POST, got GET/ },
      { name: "POST /health", method: "POST", path: "/health", body: "{}", status: 405, error: /^method: \/health expects GET or HEAD, got POST/ },
    ];
    for (const c of cases) {
      it(`answers ${c.status} to ${c.name}, naming the field`, async () => {
        const r = await send(limited.url, c.path ?? "/rerank", { method: c.method, body: c.body, contentType: c.contentType });
        assert.equal(r.status, c.status, JSON.stringify(r.body));
        assert.deepEqual(Object.keys(r.body), ["error"]);
        assert.match(r.body.error as string, c.error);
      });
    }
    it("sends the Allow header with 405", async () => {
      assert.equal((await send(limited.url, "/rerank", { method: "GET" })).headers.get("allow"), "POST");
      assert.equal((await send(limited.url, "/health", { method: "DELETE" })).headers.get("allow"), "GET, HEAD");
    });
    it("answers 413 to a chunked body that grows past the limit", async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${limited.url}/rerank`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
        req.on("error", reject);
        req.write(`{"query": "q", "pad": "`);
        for (let i = 0; i < 20; i++) req.write("x".repeat(1000));
        req.end(`"}`);
      });
      assert.equal(status, 413);
    });
    it("still answers good requests afterwards", async () => {
      const r = await send(limited.url, "/rerank", { body: { query: "q", passages: ok } });
      assert.equal(r.status, 200);
      assert.equal(limited.stats().requestsServed, 1);
    });
  });

  describe("concurrency", () => {
    it("answers 40 concurrent good requests correctly among 20 bad ones", async () => {
      const rng = createRng(11);
      const good = Array.from({ length: 40 }, (_, i) => {
        const n = 20 + rng.int(81);
        const start = rng.int(texts.length - n);
        return { query: `${query} ${i}`, passages: texts.slice(start, start + n).map((text, j) => ({ id: `q${i}-d${j}`, text })), topK: i % 3 === 0 ? 10 : undefined };
      });
      const expected: Ranked[] = [];
      for (const g of good) expected.push(expectedRanking(g.passages.map((p) => p.id), await reranker.score(g.query, g.passages.map((p) => p.text)), g.topK));
      // a server of its own, started after the reference scores: scoring above blocked the event loop
      // for seconds, with fetch's idle keep-alive connections to the shared server due to time out
      const s = await startServer(reranker);
      const bad = Array.from({ length: 20 }, (_, i) => ({ query: i % 2 ? "" : "q", passages: i % 2 ? [{ id: "a", text: "x" }] : [] }));
      const load = Array.from({ length: 60 }, (_, k) => {
        const [isGood, i] = k % 3 === 2 ? [false, (k - 2) / 3] : [true, k - Math.floor(k / 3)]; // good, good, bad, ...
        return send(s.url, "/rerank", { body: isGood ? good[i] : bad[i] }).then((r) => ({ r, i, good: isGood }));
      });
      const healthUnderLoad = await send(s.url, "/health", { method: "GET" });
      assert.equal(healthUnderLoad.status, 200);
      const answers = await Promise.all(load);
      for (const { r, i, good: isGood } of answers) {
        if (isGood) {
          assert.equal(r.status, 200, `good request ${i}: ${JSON.stringify(r.body)}`);
          assert.deepEqual(r.body.ranking, expected[i], `good request ${i}`);
        } else {
          assert.equal(r.status, 400, `bad request ${i}`);
          assert.match(r.body.error as string, /^(query|passages):/);
        }
      }
      const health = await send(s.url, "/health", { method: "GET" });
      assert.equal(health.status, 200);
      assert.equal(health.body.requests_served, 40);
      assert.deepEqual({ ...s.stats(), uptimeS: 0 }, { requestsServed: 40, requestsRejected: 20, requestsFailed: 0, queued: 0, uptimeS: 0 });
      await s.close();
    });
    it("scores in arrival order, one at a time", async () => {
      const fake = fakeModel();
      const s = await startServer(fake.model);
      try {
        fake.hold();
        const pending = [];
        for (let i = 0; i < 4; i++) {
          pending.push(send(s.url, "/rerank", { body: { query: `q${i}`, passages: [{ id: "a", text: "x" }] } }));
          await until(() => s.stats().queued === i + 1);
        }
        assert.deepEqual(fake.calls, ["q0"], "one request is scored at a time");
        fake.release();
        assert.deepEqual((await Promise.all(pending)).map((r) => r.status), [200, 200, 200, 200]);
        assert.deepEqual(fake.calls, ["q0", "q1", "q2", "q3"]);
      } finally {
        await s.close();
      }
    });
    it("answers 503 with Retry-After when the queue is full", async () => {
      const fake = fakeModel();
      const s = await startServer(fake.model, { maxQueue: 2 });
      try {
        fake.hold();
        const body = { query: "q", passages: [{ id: "a", text: "x" }] };
        const first = [send(s.url, "/rerank", { body }), send(s.url, "/rerank", { body })];
        await until(() => s.stats().queued === 2);
        const full = await send(s.url, "/rerank", { body });
        assert.equal(full.status, 503);
        assert.match(full.body.error as string, /^queue: full \(2 requests/);
        assert.equal(full.headers.get("retry-after"), "1");
        fake.release();
        assert.deepEqual((await Promise.all(first)).map((r) => r.status), [200, 200]);
        assert.equal((await send(s.url, "/rerank", { body })).status, 200);
      } finally {
        await s.close();
      }
    });
  });

  describe("scoring failures", () => {
    it("answers 500 when the scorer throws, then goes on serving", async () => {
      const lines: string[] = [];
      const fake = fakeModel({ fail: (q) => (q === "boom" ? "out of memory in layer 3" : null) });
      const s = await startServer(fake.model, { log: (line) => lines.push(line) });
      try {
        const passages = [{ id: "short", text: "ab" }, { id: "long", text: "abcd" }];
        const failed = await send(s.url, "/rerank", { body: { query: "boom", passages } });
        assert.equal(failed.status, 500);
        assert.equal(failed.body.error, "scoring failed: out of memory in layer 3");
        const next = await send(s.url, "/rerank", { body: { query: "fine", passages } });
        assert.equal(next.status, 200);
        assert.deepEqual(next.body.ranking, [{ id: "long", score: 4, rank: 1 }, { id: "short", score: 2, rank: 2 }]);
        assert.deepEqual({ ...s.stats(), uptimeS: 0 }, { requestsServed: 1, requestsRejected: 0, requestsFailed: 1, queued: 0, uptimeS: 0 });
        assert.match(lines.join("\n"), /POST \/rerank: 500 scoring failed: out of memory/);
      } finally {
        await s.close();
      }
    });
    it("answers 500 to non-finite scores", async () => {
      const s = await startServer(fakeModel({ scores: (t) => t.map(() => NaN) }).model);
      try {
        const r = await send(s.url, "/rerank", { body: { query: "q", passages: [{ id: "a", text: "x" }] } });
        assert.equal(r.status, 500);
        assert.match(r.body.error as string, /non-finite score \(NaN\) for passages\[0\]/);
      } finally {
        await s.close();
      }
    });
  });

  describe("close", () => {
    it("answers the request in flight, then stops listening", async () => {
      const fake = fakeModel();
      const s = await startServer(fake.model);
      fake.hold();
      const inFlight = send(s.url, "/rerank", { body: { query: "q", passages: [{ id: "a", text: "x" }] } });
      await until(() => s.stats().queued === 1);
      const closed = s.close();
      assert.equal(s.close(), closed, "close is idempotent");
      fake.release();
      assert.equal((await inFlight).status, 200);
      await closed;
      await assert.rejects(send(s.url, "/health", { method: "GET" }));
    });

    it("answers every waiting request 503 with Retry-After, finishes the one being scored, and scores nothing after close resolves (issue 15 item 13)", async () => {
      const fake = fakeModel();
      const s = await startServer(fake.model, { shutdownGraceMs: 60_000 });
      fake.hold();
      const body = (i: number) => ({ query: `q${i}`, passages: [{ id: "a", text: "x" }] });
      const sent: Array<Promise<Answer>> = [];
      for (let i = 0; i < 6; i++) {
        sent.push(send(s.url, i % 2 ? "/v1/rerank" : "/rerank", { body: i % 2 ? { query: `q${i}`, documents: ["x"] } : body(i) }));
        await until(() => s.stats().queued === i + 1);
      }
      const closed = s.close();
      fake.release();
      const answers = await Promise.all(sent);
      await closed;
      assert.deepEqual(answers.map((a) => a.status), [200, 503, 503, 503, 503, 503], "no request is left without an HTTP answer");
      for (const a of answers.slice(1)) {
        assert.equal(a.headers.get("retry-after"), "5");
        assert.match(a.body.error as string, /^server: shutting down before this request was scored; retry it/);
      }
      assert.deepEqual(fake.calls, ["q0"], "only the request in flight was scored");
      assert.deepEqual({ ...s.stats(), uptimeS: 0 }, { requestsServed: 1, requestsRejected: 5, requestsFailed: 0, queued: 0, uptimeS: 0 });
    });
  });

  describe("measureRerankLatency", () => {
    it("sends real requests of DL19 passages and reports percentiles", async () => {
      const served = server.stats().requestsServed;
      const report = await measureRerankLatency(server.url, { passages: 10, requests: 4, concurrency: 2, warmup: 1 });
      assert.deepEqual(Object.keys(report).sort(), ["mean_ms", "p50_ms", "p95_ms", "requests", "rps"]);
      assert.equal(report.requests, 4);
      assert.ok(report.p50_ms > 0 && report.p50_ms <= report.p95_ms && report.rps > 0, JSON.stringify(report));
      assert.equal(server.stats().requestsServed, served + 5);
      await assert.rejects(measureRerankLatency(server.url, { concurrency: 0 }), /concurrency must be an integer >= 1, got 0/);
    });
  });

  describe("rra serve (CLI)", () => {
    const rra = (...args: string[]) => spawnSync(process.execPath, ["bin/rra.js", "serve", ...args], { encoding: "utf8" });
    it("prints --help and exits 0", () => {
      const r = rra("--help");
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^rra serve --model DIR/);
      assert.match(r.stdout, /POST \/rerank/);
    });
    it("exits non-zero without --model, naming the flag", () => {
      const r = rra("--port", "0");
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /rra serve: --model is required/);
    });
    it("exits non-zero on a bad --engine or --port", () => {
      assert.match(rra("--model", "x", "--engine", "cuda").stderr, /--engine expects one of auto, tfjs, onnxruntime, got "cuda"/);
      assert.match(rra("--model", "x", "--port", "1.5").stderr, /--port expects an integer from 0 to 65535, got "1.5"/);
    });
    it("serves a model, answers, and exits 0 on SIGTERM", async () => {
      const child: ChildProcess = spawn(process.execPath, ["bin/rra.js", "serve", "--model", reranker.dir, "--port", "0", "--max-passages", "3"], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          child.stderr!.on("data", (d) => {
            stderr += d;
            const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
            if (m) resolve(m[1]);
          });
          void exited.then((code) => reject(new Error(`rra serve exited ${code} before listening: ${stderr}`)));
        });
        const health = await send(url, "/health", { method: "GET" });
        assert.equal(health.status, 200);
        assert.deepEqual(health.body.model, { dir: reranker.dir, kind: "bert", format: "native", engine: reranker.engine });
        const passages = texts.slice(0, 3).map((text, i) => ({ id: `d${i}`, text }));
        const r = await send(url, "/rerank", { body: { query, passages } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const expected = expectedRanking(passages.map((p) => p.id), await reranker.score(query, passages.map((p) => p.text)));
        const got = r.body.ranking as Ranked;
        assert.deepEqual(got.map((e) => e.id), expected.map((e) => e.id));
        got.forEach((e, i) => assert.ok(Math.abs(e.score - expected[i].score) < 1e-5, `${e.score} vs ${expected[i].score}`));
        const tooMany = await send(url, "/rerank", { body: { query, passages: [...passages, { id: "d3", text: "x" }] } });
        assert.equal(tooMany.status, 413);
        child.kill("SIGTERM");
        assert.equal(await exited, 0, stderr);
        assert.match(stderr, /stopped; requests: 1 ranked, 1 rejected, 0 failed/);
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    });
  });
});
