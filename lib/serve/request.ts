/**
 * The `POST /rerank` request of `rra serve`: its limits, its validation and the ranking it answers with.
 * Pure (no HTTP, no model), so that every rejection can be tested on its own.
 *
 * Status codes: 400 for a request that is malformed (wrong type, empty, duplicate), 413 for a well-formed
 * one that exceeds a limit of the server (body bytes, query or text characters, passage count). Every
 * message names the field (`passages[3].text`), what was expected and what was found.
 * Characters are JavaScript string lengths (UTF-16 code units).
 */
import { RraError, show } from "../core/errors";

/** Per-request limits. */
export interface RerankLimits {
  /** Most passages in one request. Default 1000. */
  maxPassages: number;
  /** Most characters of one passage text. Default 10000. */
  maxChars: number;
  /** Most characters of the query. Default 2000. */
  maxQueryChars: number;
  /** Most characters of one passage id. Default 256. */
  maxIdChars: number;
}

/** Defaults of `RerankLimits`. */
export const RERANK_LIMITS_DEFAULTS: Readonly<RerankLimits> = Object.freeze({ maxPassages: 1000, maxChars: 10_000, maxQueryChars: 2000, maxIdChars: 256 });

/** A refused request: the HTTP status and the message sent as `{error}`. */
export class HttpError extends RraError {
  constructor(readonly status: number, message: string, readonly headers: Readonly<Record<string, string>> = {}) {
    super(message);
  }
}

/** One passage to score. */
export interface RerankPassage {
  id: string;
  text: string;
}

/** A validated `POST /rerank` body. */
export interface RerankRequest {
  query: string;
  passages: RerankPassage[];
  /** Keep the best `topK`; null = all. */
  topK: number | null;
}

/** One entry of the answer: `rank` is 1-based. */
export interface RankedPassage {
  id: string;
  score: number;
  rank: number;
}

const REQUEST_FIELDS = ["query", "passages", "topK"];
const PASSAGE_FIELDS = ["id", "text"];
/** JSON punctuation around one passage (`{"id":"","text":""},`) plus generous whitespace. */
const PASSAGE_OVERHEAD_BYTES = 64;

/**
 * The body size limit in bytes implied by `limits`: 4 bytes per allowed character (UTF-8 needs at most 3
 * per UTF-16 code unit, plus room for escapes) and JSON punctuation per passage.
 */
export function computeBodyLimit(limits: Readonly<RerankLimits>): number {
  const perPassage = 4 * (limits.maxChars + limits.maxIdChars) + PASSAGE_OVERHEAD_BYTES;
  return 1024 + 4 * limits.maxQueryChars + limits.maxPassages * perPassage;
}

/** What a JSON value is, for messages: `an array`, `null`, `the number 42`, `a string "x"`. */
export function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing (field absent)";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `the string ${show(value)}`;
  return `the ${typeof value} ${show(value)}`;
}

function unknownFields(where: string, value: Record<string, unknown>, known: readonly string[]): void {
  const extra = Object.keys(value).filter((k) => !known.includes(k));
  if (extra.length > 0) throw new HttpError(400, `${where}: unknown field ${show(extra[0])}; expected only ${known.join(", ")}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validate a parsed JSON body against `limits`; throws HttpError (400 or 413) naming the field. */
export function parseRerankRequest(body: unknown, limits: Readonly<RerankLimits>): RerankRequest {
  if (!isObject(body)) throw new HttpError(400, `body: expected a JSON object {query, passages, topK?}, got ${describeJson(body)}`);
  unknownFields("body", body, REQUEST_FIELDS);
  const { query, passages, topK } = body;
  if (typeof query !== "string") throw new HttpError(400, `query: expected a non-empty string, got ${describeJson(query)}`);
  if (query.trim() === "") throw new HttpError(400, `query: expected a non-empty string, got ${query === "" ? "an empty string" : "only whitespace"}`);
  if (query.length > limits.maxQueryChars) throw new HttpError(413, `query: expected at most ${limits.maxQueryChars} characters, got ${query.length}`);
  if (!Array.isArray(passages)) throw new HttpError(400, `passages: expected an array of {id: string, text: string}, got ${describeJson(passages)}`);
  if (passages.length === 0) throw new HttpError(400, "passages: expected at least 1 passage, got an empty array");
  if (passages.length > limits.maxPassages) throw new HttpError(413, `passages: expected at most ${limits.maxPassages} passages (--max-passages), got ${passages.length}`);
  const firstIndex = new Map<string, number>();
  const checked = passages.map((p: unknown, i): RerankPassage => {
    const where = `passages[${i}]`;
    if (!isObject(p)) throw new HttpError(400, `${where}: expected an object {id: string, text: string}, got ${describeJson(p)}`);
    unknownFields(where, p, PASSAGE_FIELDS);
    if (typeof p.id !== "string" || p.id === "") throw new HttpError(400, `${where}.id: expected a non-empty string, got ${p.id === "" ? "an empty string" : describeJson(p.id)}`);
    if (p.id.length > limits.maxIdChars) throw new HttpError(413, `${where}.id: expected at most ${limits.maxIdChars} characters, got ${p.id.length}`);
    if (typeof p.text !== "string") throw new HttpError(400, `${where}.text: expected a string, got ${describeJson(p.text)}`);
    if (p.text.length > limits.maxChars) throw new HttpError(413, `${where}.text: expected at most ${limits.maxChars} characters (--max-chars), got ${p.text.length}`);
    const first = firstIndex.get(p.id);
    if (first !== undefined) throw new HttpError(400, `${where}.id: expected unique ids, got ${show(p.id)} again (first at passages[${first}])`);
    firstIndex.set(p.id, i);
    return { id: p.id, text: p.text };
  });
  if (topK === undefined) return { query, passages: checked, topK: null };
  if (typeof topK !== "number" || !Number.isSafeInteger(topK) || topK < 1) throw new HttpError(400, `topK: expected a positive integer, got ${describeJson(topK)}`);
  return { query, passages: checked, topK };
}

/**
 * Rank passages by score, highest first, ties in input order; the best `topK` (null = all).
 * Throws when the scores do not match the passages or are not finite (a model fault, answered 500).
 */
export function computeRanking(ids: readonly string[], scores: ArrayLike<number>, topK: number | null): RankedPassage[] {
  if (scores.length !== ids.length) throw new Error(`the model returned ${scores.length} scores for ${ids.length} passages`);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`the model returned a non-finite score (${scores[i]}) for passages[${i}]`);
  }
  const order = ids.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, topK ?? order.length).map((i, r) => ({ id: ids[i], score: scores[i], rank: r + 1 }));
}
