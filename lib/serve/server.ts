/**
 * `rra serve`: a re-ranker as a small HTTP JSON service on Node's http module.
 *   POST /rerank     {query, passages: [{id, text}], topK?} -> {ranking: [{id, score, rank}], model, took_ms}
 *   POST /v1/rerank  {model?, query, documents, top_n?, return_documents?} -> {id, model, results: [{index,
 *                    relevance_score, document?}], meta} (the Cohere / Jina API that retrieval frameworks call; rerank-v1.ts)
 *   GET  /health     -> {status: "ok", model: {dir, kind, format, engine}, uptime_s, requests_served, queued}
 * Requests are validated as they arrive (request.ts) and then scored one at a time in arrival order; at
 * most `maxQueue` wait or run, later ones get 503. `rra serve` scores in a worker thread (worker-scorer.ts),
 * so /health and the queue answer at once while a batch is scored. A scoring exception is answered 500 and
 * the server goes on. close() stops accepting, answers every request still waiting 503 with Retry-After,
 * lets the one being scored finish, and resolves once every answer is sent (then the model may be
 * disposed). `measureRerankLatency` is the matching loopback benchmark client.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "http";
import type { AddressInfo } from "net";
import { performance } from "perf_hooks";
import { ConfigError, show } from "../core/errors";
import { loadDataset } from "../data/datasets";
import type { Reranker } from "../train/reranker";
import { computeBodyLimit, computeRanking, HttpError, parseRerankRequest, RERANK_LIMITS_DEFAULTS, type RankedPassage, type RerankLimits } from "./request";
import { computeRerankV1Results, parseRerankV1Request, type RerankV1Result } from "./rerank-v1";

/** What the server needs of a model: its description and `score` (tests pass failing scorers). */
export type ServedModel = Pick<Reranker, "kind" | "format" | "engine" | "dir" | "score">;

/** Options of startServer (the request limits of request.ts included). */
export interface ServeConfig extends RerankLimits {
  /** TCP port; 0 picks a free one. Default 0. */
  port: number;
  /** Interface to listen on. Default "127.0.0.1". */
  host: string;
  /** Most requests waiting or being scored; more get 503. Default 256. */
  maxQueue: number;
  /** Largest body in bytes; null = `computeBodyLimit` of the limits. Default null. */
  maxBodyBytes: number | null;
  /** After close(), how long the request being scored may take before the connections are cut, in ms. Default 10000. */
  shutdownGraceMs: number;
  /** Where 5xx errors are reported (one line each); null = nowhere. Default null. */
  log: ((line: string) => void) | null;
}

/** Defaults of `ServeConfig`. */
export const SERVE_DEFAULTS: Readonly<ServeConfig> = Object.freeze({
  ...RERANK_LIMITS_DEFAULTS, port: 0, host: "127.0.0.1", maxQueue: 256, maxBodyBytes: null, shutdownGraceMs: 10_000, log: null,
});

/** Defaults plus `overrides`, validated and frozen; unknown keys and bad values throw ConfigError. */
export function resolveServeConfig(overrides: Partial<ServeConfig> = {}): Readonly<ServeConfig> {
  const known = Object.keys(SERVE_DEFAULTS);
  for (const k of Object.keys(overrides)) {
    if (!known.includes(k)) throw new ConfigError(`serve config: unknown key ${show(k)}; expected one of ${known.join(", ")}`);
  }
  const c = { ...SERVE_DEFAULTS, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) } as ServeConfig;
  const bad = (field: keyof ServeConfig, expected: string): never => {
    throw new ConfigError(`serve config: ${field} must be ${expected}, got ${show(c[field])}`);
  };
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) bad("port", "an integer from 0 to 65535");
  if (typeof c.host !== "string" || c.host === "") bad("host", "a host name or address");
  for (const f of ["maxPassages", "maxChars", "maxQueryChars", "maxIdChars", "maxQueue"] as const) {
    if (!Number.isSafeInteger(c[f]) || c[f] < 1) bad(f, "an integer >= 1");
  }
  if (c.maxBodyBytes !== null && (!Number.isSafeInteger(c.maxBodyBytes) || c.maxBodyBytes < 1)) bad("maxBodyBytes", "null or an integer >= 1");
  if (typeof c.shutdownGraceMs !== "number" || !(c.shutdownGraceMs >= 0)) bad("shutdownGraceMs", "a time in ms >= 0");
  if (c.log !== null && typeof c.log !== "function") bad("log", "null or a function");
  return Object.freeze(c);
}

/** Counters of a running server. */
export interface ServerStats {
  /** /rerank requests answered with a ranking. */
  requestsServed: number;
  /** Requests refused with a 4xx or a 503. */
  requestsRejected: number;
  /** Requests answered 500. */
  requestsFailed: number;
  /** Requests waiting or being scored now. */
  queued: number;
  uptimeS: number;
}

/** A listening server. */
export interface RunningServer {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  port: number;
  /** Stop accepting, answer the requests in flight, then resolve (idempotent). The model is not disposed. */
  close(): Promise<void>;
  stats(): ServerStats;
}

/** Jobs run one at a time in the order `run` was called. */
interface Fifo {
  /** Waiting and running jobs. */
  readonly size: number;
  run<T>(job: () => Promise<T>): Promise<T>;
  /** Reject every job that has not started with `error` (the running one goes on). */
  cancelWaiting(error: Error): void;
  /** Resolves once no job runs or waits. */
  idle(): Promise<void>;
}

function createFifo(): Fifo {
  const waiting: Array<{ job: () => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  let running = false;
  let idleWaiters: Array<() => void> = [];
  const pump = (): void => {
    if (running) return;
    const next = waiting.shift();
    if (!next) {
      const w = idleWaiters;
      idleWaiters = [];
      w.forEach((f) => f());
      return;
    }
    running = true;
    // a turn of the event loop between two jobs: node reads new requests and runs timers
    setImmediate(() => {
      next.job().then(next.resolve, next.reject).finally(() => {
        running = false;
        pump();
      });
    });
  };
  return {
    get size() { return waiting.length + (running ? 1 : 0); },
    run<T>(job: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        waiting.push({ job, resolve: resolve as (v: unknown) => void, reject });
        pump();
      });
    },
    cancelWaiting(error) {
      for (const w of waiting.splice(0)) w.reject(error);
      pump();
    },
    idle() {
      return !running && waiting.length === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}

/** Seconds a client should wait before retrying a request the server refused while shutting down. */
const SHUTDOWN_RETRY_AFTER_S = "5";

const ROUTES: Readonly<Record<string, readonly string[]>> = { "/rerank": ["POST"], "/v1/rerank": ["POST"], "/health": ["GET", "HEAD"] };

/** Answer `body` as JSON; `close` ends the connection after it (keep-alive otherwise). */
function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>>, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, ...(close ? { connection: "close" } : {}), "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function checkContentType(header: string | undefined): void {
  const [type, ...params] = (header ?? "").split(";").map((s) => s.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith("charset="))?.slice("charset=".length).replace(/"/g, "");
  if (type !== "application/json" || (charset !== undefined && charset !== "utf-8" && charset !== "utf8")) {
    throw new HttpError(415, `content-type: expected application/json (UTF-8), got ${header === undefined ? "no content-type header" : show(header)}`);
  }
}

/**
 * The body, or HttpError 413 as soon as it passes `limit` bytes (by content-length or while reading).
 * The rest of a refused body is read and dropped (node does so after the answer), so that the client
 * gets the 413 instead of a reset connection.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = (got: string) => new HttpError(413, `body: expected at most ${limit} bytes (set by the passage, character and query limits), got ${got}`);
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) return Promise.reject(tooLarge(`${declared}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) settle(tooLarge(`more than ${limit}`));
      else if (!settled) chunks.push(chunk);
    });
    req.on("end", () => settle(null));
    const gone = () => settle(new HttpError(400, "body: the client closed the connection before the body ended"));
    req.on("error", gone);
    req.on("close", gone);
  });
}

function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new HttpError(400, "body: expected UTF-8 JSON, got bytes that are not valid UTF-8");
  }
  if (text.trim() === "") throw new HttpError(400, "body: expected a JSON object {query, passages, topK?}, got an empty body");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `body: expected valid JSON, got a parse error: ${(e as Error).message}`);
  }
}

/** Serve `model` over HTTP (see the module comment); resolves once listening. */
export async function startServer(model: ServedModel, options: Partial<ServeConfig> = {}): Promise<RunningServer> {
  const config = resolveServeConfig(options);
  const bodyLimit = config.maxBodyBytes ?? computeBodyLimit(config);
  const fifo = createFifo();
  const started = performance.now();
  const counts = { requestsServed: 0, requestsRejected: 0, requestsFailed: 0 };
  let closing: Promise<void> | null = null;
  const describe = { kind: model.kind, format: model.format, engine: model.engine };
  const modelName = model.dir.replace(/\/+$/, "").split("/").pop() || model.dir;
  let handlers = 0;
  let handlersDone: Array<() => void> = [];
  let answered = 0;

  /** Score one request's texts in the queue; null when the client left before its turn. */
  async function scoreQueued<T>(res: ServerResponse, query: string, texts: string[], shape: (scores: Float32Array) => T): Promise<T | null> {
    if (fifo.size >= config.maxQueue) throw new HttpError(503, `queue: full (${config.maxQueue} requests waiting or being scored); retry later`, { "retry-after": "1" });
    return fifo.run(async (): Promise<T | null> => {
      if (res.destroyed) return null; // the client left while waiting: do not spend the model on it
      try {
        return shape(await model.score(query, texts));
      } catch (e) {
        throw new HttpError(500, `scoring failed: ${(e as Error)?.message ?? String(e)}`);
      }
    });
  }

  async function rerank(req: IncomingMessage, res: ServerResponse, arrived: number): Promise<void> {
    checkContentType(req.headers["content-type"]);
    const request = parseRerankRequest(parseJsonBody(await readBody(req, bodyLimit)), config);
    const ids = request.passages.map((p) => p.id);
    const ranking = await scoreQueued<RankedPassage[]>(res, request.query, request.passages.map((p) => p.text), (scores) => computeRanking(ids, scores, request.topK));
    if (ranking === null) return;
    counts.requestsServed++;
    sendJson(res, 200, { ranking, model: describe, took_ms: Math.round((performance.now() - arrived) * 1000) / 1000 }, {}, closing !== null);
  }

  async function rerankV1(req: IncomingMessage, res: ServerResponse, arrived: number): Promise<void> {
    checkContentType(req.headers["content-type"]);
    const request = parseRerankV1Request(parseJsonBody(await readBody(req, bodyLimit)), config);
    const results = await scoreQueued<RerankV1Result[]>(res, request.query, request.texts, (scores) => computeRerankV1Results(request, scores));
    if (results === null) return;
    counts.requestsServed++;
    sendJson(res, 200, { id: `rerank-${++answered}`, model: modelName, results, meta: { took_ms: Math.round((performance.now() - arrived) * 1000) / 1000 } }, {}, closing !== null);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = performance.now();
    handlers++;
    res.on("error", () => undefined); // a client that hangs up mid-answer is not our error
    try {
      if (closing) throw new HttpError(503, "server: shutting down; retry the request (on another instance)", { "retry-after": SHUTDOWN_RETRY_AFTER_S });
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      const methods = ROUTES[path];
      if (!methods) throw new HttpError(404, `route: expected one of POST /rerank, POST /v1/rerank, GET /health, got ${req.method} ${show(path)}`);
      if (!methods.includes(req.method ?? "")) throw new HttpError(405, `method: ${path} expects ${methods.join(" or ")}, got ${req.method}`, { allow: methods.join(", ") });
      if (path === "/health") {
        sendJson(res, 200, { status: "ok", model: { dir: model.dir, ...describe }, uptime_s: Math.round(performance.now() - started) / 1000, requests_served: counts.requestsServed, queued: fifo.size }, {}, closing !== null);
      } else if (path === "/v1/rerank") {
        await rerankV1(req, res, arrived);
      } else {
        await rerank(req, res, arrived);
      }
    } catch (e) {
      const error = e instanceof HttpError ? e : new HttpError(500, `internal error: ${(e as Error)?.message ?? String(e)}`);
      if (error.status >= 500 && error.status !== 503) {
        counts.requestsFailed++;
        config.log?.(`${req.method} ${req.url}: ${error.status} ${error.message}`);
      } else {
        counts.requestsRejected++;
      }
      sendJson(res, error.status, { error: error.message }, error.headers, closing !== null);
    } finally {
      if (--handlers === 0) {
        const w = handlersDone;
        handlersDone = [];
        w.forEach((f) => f());
      }
    }
  }
  const allAnswered = (): Promise<void> => (handlers === 0 ? Promise.resolve() : new Promise((resolve) => handlersDone.push(resolve)));

  const server = createServer((req, res) => void handle(req, res));
  // Longer than one scoring pass blocks the event loop: node would otherwise close an idle keep-alive
  // connection on the first timer tick after the pass, under a request the client sent during it.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const failed = (e: Error) => reject(new ConfigError(`startServer: cannot listen on ${config.host}:${config.port}: ${e.message}${(e as NodeJS.ErrnoException).code === "EADDRINUSE" ? " (choose another port, or port 0 for a free one)" : ""}`));
    server.once("error", failed);
    server.listen(config.port, config.host, () => {
      server.off("error", failed);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
        // every request still waiting for the model is answered now, not reset later
        fifo.cancelWaiting(new HttpError(503, "server: shutting down before this request was scored; retry it (on another instance)", { "retry-after": SHUTDOWN_RETRY_AFTER_S }));
        server.closeIdleConnections();
        const cut = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
        cut.unref();
        try {
          await fifo.idle();
          await allAnswered();
          server.closeIdleConnections();
          await stopped;
        } finally {
          clearTimeout(cut);
        }
      })();
      return closing;
    },
    stats: () => ({ ...counts, queued: fifo.size, uptimeS: (performance.now() - started) / 1000 }),
  };
}

/** Options of measureRerankLatency. */
export interface LatencyOptions {
  /** Passages per request. Default 100. */
  passages?: number;
  /** Timed requests. Default 20. */
  requests?: number;
  /** Requests in flight at once. Default 1. */
  concurrency?: number;
  /** Untimed requests sent first (JIT and kernel warm-up). Default 1. */
  warmup?: number;
  /** Query of every request. Default: the first DL19 query. */
  query?: string;
  /** Passage texts, taken in turn. Default: the texts of the shipped DL19 BM25 candidates. */
  texts?: readonly string[];
}

/** Latencies of measureRerankLatency, in ms from sending a request to reading its whole answer. */
export interface LatencyReport {
  p50_ms: number;
  p95_ms: number;
  mean_ms: number;
  /** Timed requests. */
  requests: number;
  /** Timed requests per second of wall time. */
  rps: number;
}

/** Send real `POST /rerank` requests to `url` (a running `rra serve`) and measure their latency. */
export async function measureRerankLatency(url: string, options: LatencyOptions = {}): Promise<LatencyReport> {
  const { passages = 100, requests = 20, concurrency = 1, warmup = 1 } = options;
  for (const [name, value, min] of [["passages", passages, 1], ["requests", requests, 1], ["concurrency", concurrency, 1], ["warmup", warmup, 0]] as const) {
    if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(`measureRerankLatency: ${name} must be an integer >= ${min}, got ${show(value)}`);
  }
  const dl19 = options.texts && options.query !== undefined ? null : loadDataset("dl19");
  const texts = options.texts ?? dl19!.lists.flatMap((l) => l.candidates.flatMap((c) => (c.text ? [c.text] : [])));
  const query = options.query ?? dl19!.lists[0].query;
  if (texts.length === 0) throw new ConfigError("measureRerankLatency: texts must hold at least one passage text, got an empty list");
  const endpoint = `${url.replace(/\/+$/, "")}/rerank`;
  const send = async (i: number): Promise<number> => {
    const body = JSON.stringify({ query, passages: Array.from({ length: passages }, (_, j) => ({ id: `p${j}`, text: texts[(i * passages + j) % texts.length] })) });
    const t0 = performance.now();
    const res = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/json" }, body });
    const answer = await res.text();
    if (res.status !== 200) throw new Error(`measureRerankLatency: POST ${endpoint} answered ${res.status}: ${answer.slice(0, 300)}`);
    return performance.now() - t0;
  };
  for (let i = 0; i < warmup; i++) await send(i);
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests) latencies.push(await send(warmup + next++));
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
  const wallS = (performance.now() - t0) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const percentile = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]; // nearest rank
  return { p50_ms: percentile(50), p95_ms: percentile(95), mean_ms: sorted.reduce((a, b) => a + b, 0) / sorted.length, requests, rps: requests / wallS };
}
