/**
 * `rra train --labels FILE`: label windows from a labels.jsonl written by `rra label --out`
 * (lib/labels/jsonl.ts), one line per (window, document) with the raw facts; training targets are derived
 * again (labels/convert.ts). Every line is checked like the other readers check theirs (file, line, field,
 * expected, found), because each of these silently changes the weights: a line given twice, a rank that
 * is not a positive integer or given twice in a window, a listed document without a rank, a document that
 * is not a candidate of its query, a query that is not in the training dataset, and a window whose lines
 * disagree on its query.
 */
import { DataError, show } from "../core/errors";
import { checkId } from "../data/ids";
import { readLines } from "../data/text-file";
import type { Dataset } from "../data/types";
import type { LabelFact, WindowRecord } from "../store/labels";

type Line = Record<string, unknown>;

const kind = (v: unknown): string => (v === undefined ? "nothing (missing field)" : v === null ? "null" : Array.isArray(v) ? "an array" : `${typeof v} ${show(v)}`);
const positiveInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 1;

/**
 * Rebuild label windows from a labels.jsonl. With `dataset` (the training dataset), every qid must be one
 * of its queries and every docid one of that query's candidates.
 */
export function readLabelsJsonl(file: string, dataset?: Pick<Dataset, "name" | "lists">): WindowRecord[] {
  const candidates = dataset ? new Map(dataset.lists.map((l) => [l.qid, new Set(l.candidates.map((c) => c.docid))])) : null;
  const windows = new Map<string, WindowRecord & { firstLine: number }>();
  const seen = new Map<string, number>();
  const ranks = new Map<string, number>();
  const positions = new Map<string, number>();
  for (const { line, text } of readLines(file, "labels.jsonl")) {
    const at = (field?: string) => ({ file, line, field });
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch {
      throw new DataError(at(), "a JSON object per line", show(text, 80));
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) throw new DataError(at(), "a JSON object {qid, docid, window, missing, ...}", kind(o));
    const f = o as Line;
    for (const key of ["qid", "docid", "window"]) {
      if (typeof f[key] !== "string" || f[key] === "") throw new DataError(at(key), "a non-empty string", kind(f[key]));
    }
    const qid = checkId(f.qid as string, at("qid"), "qid");
    const docid = checkId(f.docid as string, at("docid"), "docid");
    const windowId = f.window as string;
    if (typeof f.missing !== "boolean") throw new DataError(at("missing"), "true or false", kind(f.missing));
    const missing = f.missing;
    const rank = f.teacherRank ?? null;
    if (missing && rank !== null) throw new DataError(at("teacherRank"), "null for a document the teacher left out (missing: true)", kind(rank));
    if (!missing && !positiveInt(rank)) throw new DataError(at("teacherRank"), "a rank >= 1 (an integer) for a listed document (missing: false)", kind(rank));
    if (f.positionShown !== undefined && !positiveInt(f.positionShown)) throw new DataError(at("positionShown"), "a position >= 1 (an integer)", kind(f.positionShown));
    if (f.flags !== undefined && (typeof f.flags !== "object" || f.flags === null || Array.isArray(f.flags))) throw new DataError(at("flags"), "an object", kind(f.flags));

    const key = `${windowId}\u0000${docid}`;
    const prev = seen.get(key);
    if (prev !== undefined) throw new DataError(at("docid"), "each (window, docid) once", `docid ${docid} of window ${show(windowId)} again (first at line ${prev})`);
    seen.set(key, line);
    let w = windows.get(windowId);
    if (!w) {
      w = { jobId: file, windowId, qid, ord: windows.size, docids: [], shuffleSeed: null, callId: null, anomalies: {}, facts: [], firstLine: line };
      windows.set(windowId, w);
    } else if (w.qid !== qid) {
      throw new DataError(at("qid"), `qid ${w.qid} like the other lines of window ${show(windowId)} (first at line ${w.firstLine})`, `qid ${qid}`);
    }
    if (!missing) {
      const rankKey = `${windowId}\u0000${rank as number}`;
      const other = ranks.get(rankKey);
      if (other !== undefined) throw new DataError(at("teacherRank"), `each rank once per window`, `rank ${rank as number} again in window ${show(windowId)} (first at line ${other})`);
      ranks.set(rankKey, line);
    }
    const positionShown = positiveInt(f.positionShown) ? f.positionShown : w.facts.length + 1;
    const posKey = `${windowId}\u0000${positionShown}`;
    const otherPos = positions.get(posKey);
    if (otherPos !== undefined) throw new DataError(at("positionShown"), "each position once per window", `position ${positionShown} again in window ${show(windowId)} (first at line ${otherPos})`);
    positions.set(posKey, line);
    if (candidates) {
      const pool = candidates.get(qid);
      if (!pool) throw new DataError(at("qid"), `a query of the training dataset ${dataset!.name}`, `qid ${qid}, which it does not have (labels of another dataset?)`);
      if (!pool.has(docid)) throw new DataError(at("docid"), `a candidate of qid ${qid} in ${dataset!.name}`, `docid ${docid}, which is not among its ${pool.size} candidates`);
    }
    const fact: LabelFact = { qid, docid, positionShown, teacherRank: missing ? null : (rank as number), missing, flags: (f.flags ?? {}) as LabelFact["flags"] };
    w.facts.push(fact);
    w.docids.push(docid);
  }
  return [...windows.values()].map(({ firstLine: _first, ...w }) => w);
}
