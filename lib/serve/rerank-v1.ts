/**
 * `POST /v1/rerank`: the rerank API that retrieval frameworks call (the Cohere and Jina shape, which
 * LangChain, LlamaIndex, Haystack and others speak):
 *   {model?, query, documents: [string | {text}], top_n?, return_documents?}
 *   -> {id, model, results: [{index, relevance_score, document?: {text}}], meta: {took_ms}}
 * Results are the documents by score, highest first (ties in input order), cut to top_n; `index` is the
 * document's position in the request. `model` is accepted and ignored (the server serves one model).
 * Pure validation and shaping here; server.ts does the HTTP and the scoring.
 */
import { show } from "../core/errors";
import { describeJson, HttpError, type RerankLimits } from "./request";

/** A validated /v1/rerank body. */
export interface RerankV1Request {
  query: string;
  /** Document texts in request order. */
  texts: string[];
  /** Keep the best `topN`; null = all. */
  topN: number | null;
  returnDocuments: boolean;
}

/** One result of the answer. */
export interface RerankV1Result {
  index: number;
  relevance_score: number;
  document?: { text: string };
}

const FIELDS = ["model", "query", "documents", "top_n", "return_documents"];
/** Fields of the Cohere / Jina APIs that change nothing here (chunking and field selection of long or structured documents). */
const IGNORED_FIELDS = ["max_chunks_per_doc", "max_tokens_per_doc", "rank_fields"];

/** Validate a parsed /v1/rerank body against `limits`; throws HttpError (400 or 413) naming the field. */
export function parseRerankV1Request(body: unknown, limits: Readonly<RerankLimits>): RerankV1Request {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, `body: expected a JSON object {query, documents, top_n?, return_documents?, model?}, got ${describeJson(body)}`);
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !FIELDS.includes(k) && !IGNORED_FIELDS.includes(k));
  if (unknown.length > 0) throw new HttpError(400, `body: unknown field ${show(unknown[0])}; expected ${FIELDS.join(", ")}`);
  if (b.model !== undefined && typeof b.model !== "string") throw new HttpError(400, `model: expected a string (ignored: this server serves one model), got ${describeJson(b.model)}`);
  const { query, documents } = b;
  if (typeof query !== "string" || query.trim() === "") throw new HttpError(400, `query: expected a non-empty string, got ${typeof query === "string" ? "an empty string" : describeJson(query)}`);
  if (query.length > limits.maxQueryChars) throw new HttpError(413, `query: expected at most ${limits.maxQueryChars} characters, got ${query.length}`);
  if (!Array.isArray(documents)) throw new HttpError(400, `documents: expected an array of strings or {text} objects, got ${describeJson(documents)}`);
  if (documents.length === 0) throw new HttpError(400, "documents: expected at least 1 document, got an empty array");
  if (documents.length > limits.maxPassages) throw new HttpError(413, `documents: expected at most ${limits.maxPassages} documents (--max-passages), got ${documents.length}`);
  const texts = documents.map((d: unknown, i): string => {
    const text = typeof d === "string" ? d : typeof d === "object" && d !== null && !Array.isArray(d) ? (d as { text?: unknown }).text : undefined;
    if (typeof text !== "string") throw new HttpError(400, `documents[${i}]: expected a string or an object {text: string}, got ${describeJson(d)}`);
    if (text.length > limits.maxChars) throw new HttpError(413, `documents[${i}]: expected at most ${limits.maxChars} characters (--max-chars), got ${text.length}`);
    return text;
  });
  const topN = b.top_n;
  if (topN !== undefined && topN !== null && (typeof topN !== "number" || !Number.isSafeInteger(topN) || topN < 1)) throw new HttpError(400, `top_n: expected a positive integer, got ${describeJson(topN)}`);
  const returnDocuments = b.return_documents;
  if (returnDocuments !== undefined && typeof returnDocuments !== "boolean") throw new HttpError(400, `return_documents: expected true or false, got ${describeJson(returnDocuments)}`);
  return { query, texts, topN: typeof topN === "number" ? topN : null, returnDocuments: returnDocuments === true };
}

/**
 * The results of a /v1/rerank answer: documents by score, highest first, ties in request order, cut to
 * topN. Throws when the scores do not match the documents or are not finite (a model fault, answered 500).
 */
export function computeRerankV1Results(request: RerankV1Request, scores: ArrayLike<number>): RerankV1Result[] {
  if (scores.length !== request.texts.length) throw new Error(`the model returned ${scores.length} scores for ${request.texts.length} documents`);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`the model returned a non-finite score (${scores[i]}) for documents[${i}]`);
  }
  const order = request.texts.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, request.topN ?? order.length).map((index) => ({
    index, relevance_score: scores[index], ...(request.returnDocuments ? { document: { text: request.texts[index] } } : {}),
  }));
}
