/**
 * rank_llm formats: `retrieve_results` JSON (a query with its first-stage hits and their text) and
 * prompt/response logs, which rank_llm wrote as JSON objects separated by ", " (not one array).
 */
import { DataError, show } from "../core/errors";
import { idProblem } from "./ids";
import { lineOf, parseJsonText, readTextFile } from "./text-file";
import type { Candidate, PromptLogEntry, RankedList } from "./types";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const kind = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `${typeof v} ${show(v)}`);

/**
 * An id written as a JSON number or string, as text; ids with white space or bytes that are not valid
 * UTF-8 are refused (ids.ts), at the line of the file `text` where they occur.
 */
function idField(o: Obj, key: string, file: string, field: string, text?: string): string {
  const v = o[key];
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v === "string" && v !== "") {
    const problem = idProblem(v);
    if (problem === null) return v;
    const at = text?.indexOf(JSON.stringify(v)) ?? -1;
    throw new DataError({ file, line: at >= 0 ? lineOf(text as string, at).line : undefined, field }, `a ${key} of valid UTF-8 without white space`, problem);
  }
  throw new DataError({ file, field }, "a string or number id", v === undefined ? "nothing (missing field)" : kind(v));
}

function numField(o: Obj, key: string, file: string, field: string): number {
  const v = o[key];
  if (typeof v === "number" && Number.isFinite(v)) return v;
  throw new DataError({ file, field }, "a finite number", v === undefined ? "nothing (missing field)" : kind(v));
}

function strField(o: Obj, key: string, file: string, field: string): string {
  const v = o[key];
  if (typeof v === "string") return v;
  throw new DataError({ file, field }, "a string", v === undefined ? "nothing (missing field)" : kind(v));
}

/**
 * Read a rank_llm `retrieve_results` file: `[{"query", "hits": [{"content", "qid", "docid", "rank", "score"}]}]`.
 * Every hit of an entry must carry the same qid; a docid may appear once per query.
 */
export function readRetrieveResults(file: string): RankedList[] {
  const text = readTextFile(file, "retrieve_results");
  const data = parseJsonText(text, file, "retrieve_results");
  if (!Array.isArray(data)) throw new DataError({ file }, "a JSON array of {query, hits}", kind(data));
  if (data.length === 0) throw new DataError({ file }, "at least one query", "an empty array");
  const seenQids = new Map<string, number>();
  return data.map((entry: unknown, i: number): RankedList => {
    const at = `[${i}]`;
    if (!isObj(entry)) throw new DataError({ file, field: at }, "an object {query, hits}", kind(entry));
    const query = strField(entry, "query", file, `${at}.query`);
    const hits = entry.hits;
    if (!Array.isArray(hits) || hits.length === 0) throw new DataError({ file, field: `${at}.hits` }, "a non-empty array of hits", hits === undefined ? "nothing (missing field)" : kind(hits));
    let qid: string | undefined;
    const docs = new Set<string>();
    const candidates = hits.map((h: unknown, j: number): Candidate => {
      const hat = `${at}.hits[${j}]`;
      if (!isObj(h)) throw new DataError({ file, field: hat }, "a hit object", kind(h));
      const hq = idField(h, "qid", file, `${hat}.qid`, text);
      if (qid === undefined) qid = hq;
      else if (hq !== qid) throw new DataError({ file, field: `${hat}.qid` }, `qid ${qid} like the other hits of this query`, `qid ${hq}`);
      const docid = idField(h, "docid", file, `${hat}.docid`, text);
      if (docs.has(docid)) throw new DataError({ file, field: `${hat}.docid` }, "each docid once per query", `docid ${docid} again for qid ${qid}`);
      docs.add(docid);
      return { docid, rank: numField(h, "rank", file, `${hat}.rank`), score: numField(h, "score", file, `${hat}.score`), text: strField(h, "content", file, `${hat}.content`) };
    });
    const id = qid as string;
    const prev = seenQids.get(id);
    if (prev !== undefined) throw new DataError({ file, field: `${at}.hits[0].qid` }, "each query once", `qid ${id} again (first at [${prev}])`);
    seenQids.set(id, i);
    return { qid: id, query, candidates };
  });
}

/**
 * Split text holding JSON values one after another (optionally separated by commas and white space)
 * into the source slices of the top-level values, with their character offsets.
 */
export function splitConcatenatedJson(text: string, file: string): Array<{ start: number; source: string }> {
  const out: Array<{ start: number; source: string }> = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === " " || c === "\n" || c === "\r" || c === "\t" || c === ",") { i++; continue; }
    if (c !== "{" && c !== "[") {
      const { line } = lineOf(text, i);
      throw new DataError({ file, line }, "a JSON object `{` (objects separated by \", \")", show(text.slice(i, i + 20)));
    }
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const ch = text[i];
      if (inString) {
        if (ch === "\\") i++;
        else if (ch === "\"") inString = false;
      } else if (ch === "\"") inString = true;
      else if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        depth--;
        if (depth === 0) { i++; break; }
      }
    }
    if (depth !== 0 || inString) {
      const { line } = lineOf(text, start);
      throw new DataError({ file, line: lineOf(text, n).line }, `a complete JSON object (the one starting at line ${line})`, "the end of the file inside it (truncated)");
    }
    out.push({ start, source: text.slice(start, i) });
  }
  return out;
}

/** Read a rank_llm prompt/response log: `{"prompt": str, "response": str}` objects, in call order. */
export function readPromptLog(file: string): PromptLogEntry[] {
  const text = readTextFile(file, "prompt/response log");
  const entries = splitConcatenatedJson(text, file).map(({ start, source }, i) => {
    const value = parseJsonText(source, file, "prompt/response", start, text);
    const line = lineOf(text, start).line;
    if (!isObj(value)) throw new DataError({ file, line, field: `object ${i + 1}` }, "an object {prompt, response}", kind(value));
    return {
      prompt: strField(value, "prompt", file, `object ${i + 1} (line ${line}).prompt`),
      response: strField(value, "response", file, `object ${i + 1} (line ${line}).response`),
      line,
    };
  });
  if (entries.length === 0) throw new DataError({ file }, "at least one {prompt, response} object", "none");
  return entries;
}
