/**
 * A fake OpenAI-compatible server for tests: POST /v1/chat/completions on 127.0.0.1, answering
 * deterministically from the request (by default a permutation of the passages `[1]..[n]` found in the
 * last user message), with `usage`. Faults can be queued (next N requests) or chosen per request:
 * 429 with Retry-After, 5xx, 401, hanging, slow answers, bodies that are not JSON, missing choices.
 * It records every request (body hash, Authorization header, arrival time, generation) and in-flight peaks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "http";
import type { AddressInfo } from "net";
import { sha256, stableStringify } from "../lib/core/hash";
import { createRng } from "../lib/core/rng";
import type { ChatMessage } from "../lib/labels/types";

/** What the server does with one request instead of answering normally. */
export type Fault =
  | { kind: "status"; status: number; message?: string; retryAfter?: string; retryAfterMs?: number }
  | { kind: "hang" }
  | { kind: "slow"; ms: number }
  | { kind: "not-json" }
  | { kind: "no-choices" }
  /** 401 whose error message echoes the Authorization header it received (as careless proxies do). */
  | { kind: "echo-auth"; status?: number };

/** The parsed body of a chat-completions request. */
export interface ChatBody {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  max_tokens?: number;
  [k: string]: unknown;
}

/** One request the server received. */
export interface RecordedRequest {
  /** sha256 of the stable JSON of the body (raw text when not JSON). */
  bodyHash: string;
  body: ChatBody | null;
  authorization: string | undefined;
  /** Date.now() at arrival. */
  at: number;
  /** `server.generation` at arrival (tests bump it per child process). */
  generation: number;
  fault: Fault["kind"] | null;
}

/** Options of `startFakeLlm`. */
export interface FakeLlmOptions {
  /** Expected API key: requests without `Bearer <apiKey>` get 401. null (default) = no check. */
  apiKey?: string | null;
  /** Answer text for a request. Default: `defaultAnswer`. */
  answer?: (body: ChatBody) => string;
  /** Fault for a request (after queued faults); `count` is how many times this body was seen, this one included. */
  fault?: (ctx: { bodyHash: string; count: number; index: number; body: ChatBody | null }) => Fault | null | undefined;
  /** Delay before a normal answer, in ms (fixed or per request). Default 0. */
  delayMs?: number | ((ctx: { bodyHash: string; index: number }) => number);
  /** Omit `usage` from answers. */
  noUsage?: boolean;
}

/** A running fake server. */
export interface FakeLlm {
  /** e.g. `http://127.0.0.1:43121`; the API base URL is `${url}/v1`. */
  url: string;
  baseUrl: string;
  requests: RecordedRequest[];
  /** Requests per body hash. */
  counts(): Map<string, number>;
  /** Queue faults for the next requests, in order. */
  enqueue(...faults: Fault[]): void;
  /** Requests being handled now, and the most at once since start (or `resetPeak`). */
  readonly inFlight: number;
  readonly maxInFlight: number;
  resetPeak(): void;
  generation: number;
  close(): Promise<void>;
}

/** Hash of a request body as the server (and tests) identify it. */
export function bodyHash(text: string): string {
  try {
    return sha256(stableStringify(JSON.parse(text)));
  } catch {
    return sha256(text);
  }
}

/** Number of passages `[1]..[n]` in the last user message (lines starting with `[i]`). */
export function passageCount(body: ChatBody): number {
  const last = [...body.messages].reverse().find((m) => m.role === "user");
  const ids = new Set<number>();
  for (const m of (last?.content ?? "").matchAll(/^\s*\[(\d+)\]/gm)) ids.add(Number(m[1]));
  return ids.size;
}

/** A permutation of the passages, seeded by the last user message: `[2] > [1] > [3]`. */
export function defaultAnswer(body: ChatBody): string {
  const n = passageCount(body);
  const last = [...body.messages].reverse().find((m) => m.role === "user")?.content ?? "";
  const rng = createRng(parseInt(sha256(last).slice(0, 8), 16) & 0x7fffffff);
  return rng.shuffle(Array.from({ length: n }, (_, i) => i + 1)).map((i) => `[${i}]`).join(" > ");
}

/** Start a fake server on 127.0.0.1 (free port). */
export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const queue: Fault[] = [];
  const seen = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(value));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      return json(res, 404, { error: { message: `no route ${req.method} ${req.url}`, type: "invalid_request_error" } });
    }
    let body: ChatBody | null = null;
    try {
      body = JSON.parse(text) as ChatBody;
    } catch {
      body = null;
    }
    const hash = bodyHash(text);
    const count = (seen.get(hash) ?? 0) + 1;
    seen.set(hash, count);
    const index = requests.length;
    const fault = queue.shift() ?? options.fault?.({ bodyHash: hash, count, index, body }) ?? null;
    const authorization = req.headers.authorization;
    requests.push({ bodyHash: hash, body, authorization, at: Date.now(), generation: server.generation, fault: fault?.kind ?? null });

    if (fault?.kind === "echo-auth") {
      return json(res, fault.status ?? 401, { error: { message: `Incorrect API key provided: ${authorization ?? "(none)"}`, type: "invalid_request_error" } });
    }
    if (options.apiKey && authorization !== `Bearer ${options.apiKey}`) {
      return json(res, 401, { error: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" } });
    }
    if (!body || !Array.isArray(body.messages)) return json(res, 400, { error: { message: "body must be a JSON chat request" } });
    if (fault?.kind === "hang") return; // never answers; the client must time out
    if (fault?.kind === "status") {
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
      if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
      return json(res, fault.status, { error: { message: fault.message ?? `fake error ${fault.status}` } }, headers);
    }
    const d = typeof options.delayMs === "function" ? options.delayMs({ bodyHash: hash, index }) : options.delayMs ?? 0;
    const wait = fault?.kind === "slow" ? fault.ms : d;
    const content = (options.answer ?? defaultAnswer)(body);
    const send = (): void => {
      if (fault?.kind === "not-json") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end("<html>502 Bad Gateway</html>");
        return;
      }
      if (fault?.kind === "no-choices") return json(res, 200, { id: "x", object: "chat.completion", choices: [] });
      const promptTokens = body!.messages.reduce((s, m) => s + m.content.split(/\s+/).filter(Boolean).length, 0);
      json(res, 200, {
        id: `chatcmpl-${hash.slice(0, 12)}`,
        object: "chat.completion",
        model: body!.model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        ...(options.noUsage ? {} : { usage: { prompt_tokens: promptTokens, completion_tokens: content.length, total_tokens: promptTokens + content.length } }),
      });
    };
    if (wait > 0) later(wait, send);
    else send();
  }

  const http = createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let counted = true;
    const done = (): void => {
      if (counted) inFlight--;
      counted = false;
    };
    res.on("close", done);
    handle(req, res).catch((e) => {
      if (!res.headersSent) json(res, 500, { error: { message: String(e) } });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  let closing: Promise<void> | undefined;
  const server: FakeLlm = {
    url,
    baseUrl: `${url}/v1`,
    requests,
    counts: () => new Map(seen),
    enqueue: (...faults) => void queue.push(...faults),
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    resetPeak: () => void (maxInFlight = inFlight),
    generation: 0,
    close: () => (closing ??= new Promise<void>((resolve, reject) => {
      for (const t of timers) clearTimeout(t);
      http.closeAllConnections();
      http.close((e) => (e ? reject(e) : resolve()));
    })),
  };
  return server;
}
