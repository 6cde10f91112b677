/**
 * The `live` teacher: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp
 * server). Temperature 0; every call is stored in `teacher_calls` (request, response, tokens, latency,
 * attempts, error), which is also the cache: a request answered before costs nothing.
 *
 * Resume: before every HTTP attempt the call's row is set `pending` (one statement), and the answer is
 * stored `done` (one statement) before `rank` returns. A process killed at any moment and restarted
 * therefore never re-sends a request whose answer was stored, and loses no stored answer; only calls that
 * were `pending` when it died (at most `concurrency` of them) are sent again.
 * The API key is read from the environment at creation, sent only in the Authorization header, and
 * scrubbed from every error and stored text.
 */
import type { Kysely } from "kysely";
import { ConfigError, InterruptedError, show, TeacherError } from "../../core/errors";
import { interruptSignal } from "../../core/interrupt";
import { createRng, deriveSeed } from "../../core/rng";
import type { Database } from "../../store/schema";
import { beginTeacherCall, failTeacherCall, findTeacherCall, finishTeacherCall, scrubSecrets, teacherCallKey, type TeacherCall } from "../../store/teacher-calls";
import type { Teacher, TeacherAnswer, TeacherRequest } from "../types";

/** Configuration of a live teacher. The API key is not part of it: only the name of its variable. */
export interface LiveTeacherConfig {
  /** Base URL of the API, with its version path, e.g. `http://localhost:11434/v1`. Required (env `RRA_LLM_BASE_URL`, falling back to `OPENAI_BASE_URL`). */
  baseUrl: string;
  /** Model id sent to the server and recorded with every call, e.g. `qwen2.5:7b`. Required (env `RRA_LLM_MODEL`). */
  model: string;
  /** Environment variable holding the API key. Default `RRA_LLM_API_KEY`, falling back to `OPENAI_API_KEY`; no key = no Authorization header. */
  apiKeyEnv: string;
  /** Calls in progress at once per teacher (including their backoff waits). Default 4. */
  concurrency: number;
  /** Timeout of one HTTP attempt (request to full body), in ms. Default 60000. */
  timeoutMs: number;
  /** Retries after the first attempt on 408/429/5xx, network errors, timeouts and malformed answers. Default 5. */
  maxRetries: number;
  /** Backoff before retry n is min(cap, base * 2^n), half of it jittered; in ms. Default 500. */
  backoffBaseMs: number;
  /** Upper bound of the backoff, in ms (a longer `Retry-After` is still honoured). Default 30000. */
  backoffCapMs: number;
  /** Sampling temperature: always 0, so that cached answers are the answers. */
  temperature: 0;
  /** Seed of the backoff jitter. Default 0. */
  seed: number;
}

/** Default environment variable of the API key, and its fallback. */
export const LIVE_API_KEY_ENV = "RRA_LLM_API_KEY";
const FALLBACK_KEY_ENV = "OPENAI_API_KEY";

/** Defaults of `LiveTeacherConfig`; `baseUrl` and `model` have none and must be given. */
export const LIVE_TEACHER_DEFAULTS: Readonly<LiveTeacherConfig> = Object.freeze({
  baseUrl: "",
  model: "",
  apiKeyEnv: LIVE_API_KEY_ENV,
  concurrency: 4,
  timeoutMs: 60_000,
  maxRetries: 5,
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  temperature: 0 as const,
  seed: 0,
});

/** A failed live call: `status` is the last HTTP status (null without one), `attempts` the HTTP attempts made. */
export class LiveTeacherError extends TeacherError {
  constructor(message: string, category: TeacherError["category"], readonly status: number | null, readonly attempts: number) {
    super(message, category);
  }
}

/** Defaults plus `overrides`, validated and frozen; unknown keys and wrong types throw `ConfigError`. */
export function resolveLiveConfig(overrides: Partial<LiveTeacherConfig> = {}): Readonly<LiveTeacherConfig> {
  const known = Object.keys(LIVE_TEACHER_DEFAULTS);
  for (const k of Object.keys(overrides)) {
    if (!known.includes(k)) throw new ConfigError(`live teacher config: unknown key ${show(k)}; expected one of ${known.join(", ")}`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const c = { ...LIVE_TEACHER_DEFAULTS, ...defined } as LiveTeacherConfig;
  const bad = (field: string, expected: string, hint = ""): never => {
    throw new ConfigError(`live teacher config: ${field} must be ${expected}, got ${show((c as unknown as Record<string, unknown>)[field])}${hint}`);
  };
  if (typeof c.baseUrl !== "string" || c.baseUrl.trim() === "") bad("baseUrl", "the API base URL", `; set RRA_LLM_BASE_URL (e.g. http://localhost:11434/v1 for Ollama)`);
  let url: URL | undefined;
  try {
    url = new URL(c.baseUrl);
  } catch {
    bad("baseUrl", "an http(s) URL");
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) bad("baseUrl", "an http(s) URL");
  if (url && (url.username || url.password)) throw new ConfigError(`live teacher config: baseUrl must not hold credentials; put the key in ${LIVE_API_KEY_ENV}`);
  if (typeof c.model !== "string" || c.model.trim() === "") bad("model", "a model id", "; set RRA_LLM_MODEL");
  if (typeof c.apiKeyEnv !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.apiKeyEnv)) bad("apiKeyEnv", "an environment variable name");
  if (!Number.isSafeInteger(c.concurrency) || c.concurrency < 1) bad("concurrency", "an integer >= 1");
  if (!Number.isSafeInteger(c.maxRetries) || c.maxRetries < 0) bad("maxRetries", "an integer >= 0");
  for (const f of ["timeoutMs", "backoffBaseMs", "backoffCapMs"] as const) {
    if (typeof c[f] !== "number" || !Number.isFinite(c[f]) || c[f] < 0 || (f === "timeoutMs" && c[f] === 0)) bad(f, f === "timeoutMs" ? "a time in ms > 0" : "a time in ms >= 0");
  }
  if (c.temperature !== 0) bad("temperature", "0", " (cached answers are only the answers at temperature 0)");
  if (!Number.isSafeInteger(c.seed)) bad("seed", "an integer");
  return Object.freeze({ ...c, baseUrl: c.baseUrl.replace(/\/+$/, "") });
}

/**
 * A resolved config from `overrides` and the environment: `RRA_LLM_BASE_URL` (else `OPENAI_BASE_URL`, as the
 * OpenAI SDKs read it, like `OPENAI_API_KEY` for the key), `RRA_LLM_MODEL`. A key
 * variable named explicitly (`apiKeyEnv`) must be set. Throws `ConfigError` naming the missing variable.
 */
export function liveConfigFromEnv(overrides: Partial<LiveTeacherConfig> = {}, env: NodeJS.ProcessEnv = process.env): Readonly<LiveTeacherConfig> {
  const baseUrl = overrides.baseUrl ?? (env.RRA_LLM_BASE_URL || env.OPENAI_BASE_URL);
  if (!baseUrl) throw new ConfigError(`live teacher: no base URL; set RRA_LLM_BASE_URL or OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama, https://api.openai.com/v1) or pass baseUrl`);
  const model = overrides.model ?? env.RRA_LLM_MODEL;
  if (!model) throw new ConfigError(`live teacher: no model; set RRA_LLM_MODEL (e.g. qwen2.5:7b, gpt-4o-mini) or pass model`);
  const config = resolveLiveConfig({ ...overrides, baseUrl, model });
  readApiKey(config, env);
  return config;
}

/** The API key from the environment, or null; throws when a non-default key variable is named but unset. */
function readApiKey(config: Readonly<LiveTeacherConfig>, env: NodeJS.ProcessEnv): string | null {
  const key = env[config.apiKeyEnv] || (config.apiKeyEnv === LIVE_API_KEY_ENV ? env[FALLBACK_KEY_ENV] : undefined);
  if (!key && config.apiKeyEnv !== LIVE_API_KEY_ENV) throw new ConfigError(`live teacher: apiKeyEnv names ${config.apiKeyEnv}, which is not set`);
  return key ? key.trim() : null;
}

/** One failed HTTP attempt. */
interface AttemptFailure {
  category: TeacherError["category"];
  message: string;
  status: number | null;
  retryable: boolean;
  /** Server-requested wait (Retry-After), in ms. */
  retryAfterMs: number | null;
}

/** A live teacher over `config` (resolved or not) that stores its calls in `db`; the key comes from `env`. */
export function createLiveTeacher(db: Kysely<Database>, config: LiveTeacherConfig, env: NodeJS.ProcessEnv = process.env): Teacher {
  const c = resolveLiveConfig(config);
  const apiKey = readApiKey(c, env);
  const secrets = apiKey ? [apiKey] : [];
  const name = `live:${c.model}`;
  const url = `${c.baseUrl}/chat/completions`;
  const slots = createSemaphore(c.concurrency);
  const inflight = new Map<string, Promise<TeacherAnswer>>();
  let closed = false;
  const scrub = (s: string): string => scrubSecrets(s, secrets);
  const scrubError = (s: string): string => scrubSecrets(s, secrets, { bearerTokens: true });

  // an interrupt (core/interrupt.ts) aborts calls in flight and backoff waits: the call stays unanswered in the store, asked again by the next run
  const stoppedInFlight = (): InterruptedError => new InterruptedError(`interrupted: ${name}: POST ${url} stopped (the call stays unanswered in the store and is asked again by the next run)`);

  async function attempt(body: string, interrupted: AbortSignal): Promise<{ kind: "answer"; answer: Omit<TeacherAnswer, "cached" | "callId"> } | { kind: "failure"; failure: AttemptFailure }> {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), c.timeoutMs);
    const onInterrupt = (): void => ctrl.abort();
    interrupted.addEventListener("abort", onInterrupt, { once: true });
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const t0 = performance.now();
    let status: number | null = null;
    let text: string;
    let retryAfterMs: number | null = null;
    try {
      const res = await fetch(url, { method: "POST", headers, body, signal: ctrl.signal });
      status = res.status;
      retryAfterMs = parseRetryAfter(res.headers.get("retry-after-ms"), res.headers.get("retry-after"));
      // scrubbed before anything is cut or stored, so that no part of an echoed key survives
      text = scrub(await res.text());
    } catch (e) {
      const fail = (category: "timeout" | "network", message: string): { kind: "failure"; failure: AttemptFailure } =>
        ({ kind: "failure", failure: { category, message, status, retryable: true, retryAfterMs: null } });
      if (interrupted.aborted) throw stoppedInFlight();
      if (ctrl.signal.aborted) return fail("timeout", `no complete answer within ${c.timeoutMs} ms`);
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return fail("network", scrub(`${(e as Error).message}${cause ? ` (${cause.code ?? ""}${cause.code ? ": " : ""}${cause.message ?? ""})` : ""}`));
    } finally {
      clearTimeout(timer);
      interrupted.removeEventListener("abort", onInterrupt);
    }
    const latencyMs = performance.now() - t0;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (status < 200 || status > 299) {
      const retryable = status === 408 || status === 429 || status >= 500;
      return { kind: "failure", failure: { category: "http", status, retryable, retryAfterMs, message: `HTTP ${status}: ${serverMessage(json, text)}` } };
    }
    const choice = (json as { choices?: { message?: { content?: unknown } }[] } | undefined)?.choices?.[0];
    const content = choice?.message?.content;
    if (typeof content !== "string") {
      const got = json === undefined ? `a body that is not JSON: ${show(text, 120)}` : clip(JSON.stringify(json), 160);
      return { kind: "failure", failure: { category: "protocol", status, retryable: true, retryAfterMs: null, message: `expected a chat completion with choices[0].message.content, got ${got}` } };
    }
    const usage = (json as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage;
    const count = (v: unknown): number | null => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : null);
    return { kind: "answer", answer: { response: content, promptTokens: count(usage?.prompt_tokens), completionTokens: count(usage?.completion_tokens), latencyMs } };
  }

  async function call(request: TeacherRequest, key: string, body: string): Promise<TeacherAnswer> {
    const stop = interruptSignal();
    await slots.acquire();
    try {
      const failures: AttemptFailure[] = [];
      let callId = -1;
      for (let i = 0; i <= c.maxRetries; i++) {
        const begun = await beginTeacherCall(db, { cacheKey: key, teacher: name, model: c.model, templateVersion: request.templateVersion, requestJson: body });
        callId = begun.id;
        if (begun.status === "done") return cachedAnswer((await findTeacherCall(db, key))!);
        if (stop.signal.aborted) throw stoppedInFlight();
        const r = await attempt(body, stop.signal);
        if (r.kind === "answer") {
          await finishTeacherCall(db, callId, r.answer, secrets);
          return { ...r.answer, cached: false, callId };
        }
        failures.push(r.failure);
        if (!r.failure.retryable || i === c.maxRetries) break;
        const d = Math.min(c.backoffCapMs, c.backoffBaseMs * 2 ** i);
        const jittered = d / 2 + (createRng(deriveSeed(c.seed, `live/backoff/${key}/${i}`)).next() * d) / 2;
        await sleep(Math.max(jittered, r.failure.retryAfterMs ?? 0), stop.signal);
      }
      const last = failures[failures.length - 1];
      const history = failures.length > 1 ? `; earlier attempts: ${failures.slice(0, -1).map((f) => (f.status !== null && f.category === "http" ? `HTTP ${f.status}` : f.category)).join(", ")}` : "";
      const message = scrubError(`${name}: POST ${url} failed after ${failures.length} attempt(s): ${last.message}${history}`);
      await failTeacherCall(db, callId, message, secrets);
      throw new LiveTeacherError(message, last.category, last.status, failures.length);
    } finally {
      slots.release();
      stop.release();
    }
  }

  async function rank(request: TeacherRequest): Promise<TeacherAnswer> {
    if (closed) throw new TeacherError(`${name}: rank() called after close()`, "config");
    checkRequest(name, request);
    const params = { max_tokens: request.maxTokens, temperature: c.temperature };
    const key = teacherCallKey({ teacher: "live", model: c.model, templateVersion: request.templateVersion, request: { messages: request.messages, params } });
    const pending = inflight.get(key);
    if (pending) return { ...(await pending), cached: true };
    // registered before the first await, so that concurrent identical requests share one call
    const p = (async () => {
      const stored = await findTeacherCall(db, key);
      if (stored && stored.status === "done") return cachedAnswer(stored);
      return call(request, key, JSON.stringify({ model: c.model, messages: request.messages, ...params }));
    })().finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  }

  return {
    kind: "live",
    name,
    model: c.model,
    canMiss: true,
    rank,
    async close() {
      closed = true;
      await Promise.allSettled([...inflight.values()]);
    },
  };
}

/** Progress of `rankMany`. */
export interface RankProgress {
  total: number;
  /** Requests settled so far (answered or failed). */
  settled: number;
  failed: number;
  cached: number;
}

/**
 * Rank every request through `teacher` (its own concurrency bound applies), in request order: an answer
 * or the `TeacherError` of that request. Any other error (e.g. the store failing) rejects, after all settle.
 */
export async function rankMany(teacher: Teacher, requests: readonly TeacherRequest[], onProgress?: (p: RankProgress) => void): Promise<(TeacherAnswer | TeacherError)[]> {
  const p: RankProgress = { total: requests.length, settled: 0, failed: 0, cached: 0 };
  const results = await Promise.allSettled(
    requests.map(async (r) => {
      try {
        const a = await teacher.rank(r);
        if (a.cached) p.cached++;
        return a;
      } catch (e) {
        if (e instanceof TeacherError) p.failed++;
        throw e;
      } finally {
        p.settled++;
        onProgress?.({ ...p });
      }
    }),
  );
  const fatal = results.find((r) => r.status === "rejected" && !(r.reason instanceof TeacherError));
  if (fatal) throw (fatal as PromiseRejectedResult).reason;
  return results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as TeacherError)));
}

/** The answer stored in a done call. */
function cachedAnswer(row: TeacherCall): TeacherAnswer {
  return { response: row.response ?? "", promptTokens: row.promptTokens, completionTokens: row.completionTokens, latencyMs: row.latencyMs ?? 0, cached: true, callId: row.id };
}

/** Reject requests that cannot be sent, naming the window. */
function checkRequest(name: string, r: TeacherRequest): void {
  const where = `${name}: request for window ${show(r?.window?.windowId)}`;
  if (typeof r.templateVersion !== "string" || r.templateVersion === "") throw new TeacherError(`${where}: templateVersion must be a non-empty string, got ${show(r.templateVersion)}`, "config");
  if (!Number.isSafeInteger(r.maxTokens) || r.maxTokens < 1) throw new TeacherError(`${where}: maxTokens must be an integer >= 1, got ${show(r.maxTokens)}`, "config");
  if (!Array.isArray(r.messages) || r.messages.length === 0) throw new TeacherError(`${where}: messages must be a non-empty array, got ${show(r.messages)}`, "config");
  r.messages.forEach((m, i) => {
    if (!m || !["system", "user", "assistant"].includes(m.role) || typeof m.content !== "string") {
      throw new TeacherError(`${where}: messages[${i}] must be {role: system|user|assistant, content: string}, got ${show(JSON.stringify(m))}`, "config");
    }
  });
}

/** The server's own error text: OpenAI `{error: {message}}`, Ollama/llama.cpp `{error}`, vLLM `{detail}` or `{message}`, else the body. */
function serverMessage(json: unknown, text: string): string {
  const j = json as { error?: unknown; detail?: unknown; message?: unknown } | undefined;
  const e = j?.error;
  const m = (e && typeof e === "object" ? (e as { message?: unknown }).message : e) ?? j?.detail ?? j?.message;
  const s = m === undefined ? text : typeof m === "string" ? m : JSON.stringify(m);
  return show(s.trim() || "(empty body)", 300);
}

/** Retry-After as ms: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date; null when absent or unreadable. */
function parseRetryAfter(ms: string | null, value: string | null): number | null {
  const n = ms !== null ? Number(ms) : NaN;
  if (Number.isFinite(n) && n >= 0) return n;
  if (value === null || value.trim() === "") return null;
  const s = Number(value);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

/** At most `max` characters of `s`, marked with … when cut. */
function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/** Wait `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A counting semaphore with a FIFO queue. */
function createSemaphore(n: number): { acquire(): Promise<void>; release(): void } {
  let active = 0;
  const queue: (() => void)[] = [];
  return {
    acquire() {
      if (active < n) {
        active++;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => queue.push(resolve));
    },
    release() {
      const next = queue.shift();
      if (next) next();
      else active--;
    },
  };
}
