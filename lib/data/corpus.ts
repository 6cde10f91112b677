/**
 * A passage collection as users have it: a TSV (`docid<TAB>text`, e.g. MS MARCO's collection.tsv) or JSON
 * lines (`{"docid"|"_id"|"id"|"pid": ..., "text"|"contents"|"passage"|"body": ..., "title"?: ...}`, the
 * Pyserini and BEIR layouts). Collections can be far larger than memory allows as one string (MS MARCO's is
 * 3 GB), so the file is streamed line by line and only the passages asked for are kept.
 */
import { createReadStream } from "fs";
import { createInterface } from "readline";
import { DataError, show } from "../core/errors";
import { checkId } from "./ids";
import { checkInputFile } from "./text-file";

/** How a corpus file is laid out. */
export type CorpusFormat = "tsv" | "jsonl";

const ID_KEYS = ["docid", "_id", "id", "pid"] as const;
const TEXT_KEYS = ["text", "contents", "passage", "body"] as const;

/** The format of `file`: by extension (.jsonl/.json -> jsonl, .tsv/.txt -> tsv), else by its first character. */
export function corpusFormat(file: string, firstLine: string): CorpusFormat {
  if (/\.jsonl?$/i.test(file)) return "jsonl";
  if (/\.(tsv|txt)$/i.test(file)) return "tsv";
  return firstLine.trimStart().startsWith("{") ? "jsonl" : "tsv";
}

/** One passage of a corpus line, or null for a blank line; errors name file, line and field. */
export function parseCorpusLine(text: string, format: CorpusFormat, file: string, line: number): { docid: string; text: string } | null {
  if (text.trim() === "") return null;
  if (format === "tsv") {
    const tab = text.indexOf("\t");
    if (tab < 0) throw new DataError({ file, line }, "`docid<TAB>passage text`", `no tab in ${show(text)}`);
    const docid = checkId(text.slice(0, tab).trim(), { file, line, field: "docid" }, "docid");
    return { docid, text: text.slice(tab + 1) };
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new DataError({ file, line }, "one JSON object per line", show(text));
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new DataError({ file, line }, "a JSON object {docid, text}", show(text));
  const rec = o as Record<string, unknown>;
  const idKey = ID_KEYS.find((k) => rec[k] !== undefined);
  const textKey = TEXT_KEYS.find((k) => rec[k] !== undefined);
  if (idKey === undefined) throw new DataError({ file, line }, `an id field (${ID_KEYS.join(", ")})`, `none in ${show(text)}`);
  if (textKey === undefined) throw new DataError({ file, line }, `a text field (${TEXT_KEYS.join(", ")})`, `none in ${show(text)}`);
  const id = rec[idKey];
  if (typeof id !== "string" && !(typeof id === "number" && Number.isFinite(id))) throw new DataError({ file, line, field: idKey }, "a string or number id", show(id));
  const body = rec[textKey];
  if (typeof body !== "string") throw new DataError({ file, line, field: textKey }, "a string", show(body));
  const title = typeof rec.title === "string" ? rec.title.trim() : "";
  return { docid: checkId(String(id), { file, line, field: idKey }, "docid"), text: title ? `${title} ${body}` : body };
}

/**
 * The texts of the passages in `wanted` (all of them when `wanted` is null) from a TSV or JSONL corpus,
 * streamed line by line. A wanted docid given twice, an empty text or a malformed line is a DataError;
 * docids of `wanted` the corpus lacks are simply absent from the result (the caller names them).
 */
export async function readCorpusTexts(file: string, wanted: ReadonlySet<string> | null): Promise<Map<string, string>> {
  checkInputFile(file, "corpus");
  const out = new Map<string, string>();
  const firstSeen = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  let format: CorpusFormat | null = null;
  let n = 0;
  for await (const raw of lines) {
    n++;
    const text = n === 1 ? raw.replace(/^\uFEFF/, "") : raw.replace(/\r$/, "");
    if (text.trim() === "") continue;
    format ??= corpusFormat(file, text);
    const p = parseCorpusLine(text, format, file, n);
    if (p === null || (wanted !== null && !wanted.has(p.docid))) continue;
    const prev = firstSeen.get(p.docid);
    if (prev !== undefined) throw new DataError({ file, line: n, field: "docid" }, "each docid once", `docid ${show(p.docid)} again (first at line ${prev})`);
    if (p.text.trim() === "") throw new DataError({ file, line: n, field: "text" }, "a passage text", "an empty field");
    firstSeen.set(p.docid, n);
    out.set(p.docid, p.text);
  }
  if (n === 0 || format === null) throw new DataError({ file }, "a non-empty corpus file", "an empty file");
  return out;
}
