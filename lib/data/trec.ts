/**
 * TREC formats: topics (`qid<TAB>text`), qrels (`qid iter docid rel`) and runs
 * (`qid Q0 docid rank score tag`). Readers validate every line and name file, line and field on error.
 */
import { writeFileAtomic } from "../core/files";
import { DataError, show } from "../core/errors";
import { checkId, idProblem } from "./ids";
import { readIdTextTsv, readLines } from "./text-file";
import type { Candidate, Judgment, Qrels, Query, Run } from "./types";

/** Read a TREC topics TSV file: one `qid<TAB>query text` per line. */
export function readTopics(file: string): Query[] {
  return readIdTextTsv(file, "topics", "qid", "query text").map(({ id, text }) => ({ qid: id, text: text.trim() }));
}

/** Read TREC qrels as a list of judgments, validating every line. */
export function readJudgments(file: string): Judgment[] {
  const seen = new Map<string, number>();
  return readLines(file, "qrels").map(({ line, text }) => {
    const f = text.trim().split(/\s+/);
    if (f.length !== 4) throw new DataError({ file, line }, "4 fields `qid iter docid rel`", `${f.length} field(s) in ${show(text)}`);
    const [qid, , docid, relText] = f;
    checkId(qid, { file, line, field: "qid" }, "qid");
    checkId(docid, { file, line, field: "docid" }, "docid");
    if (!/^-?\d+$/.test(relText)) throw new DataError({ file, line, field: "rel" }, "an integer relevance grade", show(relText));
    const key = `${qid}\u0000${docid}`;
    const prev = seen.get(key);
    if (prev !== undefined) throw new DataError({ file, line, field: "docid" }, "each (qid, docid) judged once", `qid ${qid} docid ${docid} again (first at line ${prev})`);
    seen.set(key, line);
    return { qid, docid, rel: Number(relText) };
  });
}

/** Index judgments by query and document. */
export function toQrels(judgments: readonly Judgment[]): Qrels {
  const qrels: Qrels = new Map();
  for (const j of judgments) {
    let m = qrels.get(j.qid);
    if (!m) qrels.set(j.qid, (m = new Map()));
    m.set(j.docid, j.rel);
  }
  return qrels;
}

/** Read a TREC qrels file into `qid -> docid -> grade`. */
export function readQrels(file: string): Qrels {
  return toQrels(readJudgments(file));
}

/**
 * Read a TREC run file. Every line needs six fields with an integer rank and a finite numeric score;
 * a document may appear once per query (trec_eval itself refuses duplicates).
 */
export function readRun(file: string): Run {
  const queries = new Map<string, Candidate[]>();
  const seen = new Map<string, number>();
  let tag: string | undefined;
  for (const { line, text } of readLines(file, "run")) {
    const f = text.trim().split(/\s+/);
    if (f.length !== 6) throw new DataError({ file, line }, "6 fields `qid Q0 docid rank score tag`", `${f.length} field(s) in ${show(text)}`);
    const [qid, , docid, rankText, scoreText, runTag] = f;
    checkId(qid, { file, line, field: "qid" }, "qid");
    checkId(docid, { file, line, field: "docid" }, "docid");
    if (!/^-?\d+$/.test(rankText)) throw new DataError({ file, line, field: "rank" }, "an integer rank", show(rankText));
    const score = Number(scoreText);
    if (scoreText === "" || !Number.isFinite(score)) throw new DataError({ file, line, field: "score" }, "a finite number", show(scoreText));
    const key = `${qid}\u0000${docid}`;
    const prev = seen.get(key);
    if (prev !== undefined) throw new DataError({ file, line, field: "docid" }, "each document once per query", `docid ${docid} again for qid ${qid} (first at line ${prev})`);
    seen.set(key, line);
    tag ??= runTag;
    let list = queries.get(qid);
    if (!list) queries.set(qid, (list = []));
    list.push({ docid, rank: Number(rankText), score });
  }
  return { tag: tag ?? "", queries };
}

/** Format a run in TREC format, each query's documents ranked by descending score (ranks rewritten 1..n). */
export function formatRun(run: Run): string {
  const out: string[] = [];
  for (const [qid, docs] of run.queries) {
    const sorted = docs.slice().sort(compareTrecEval);
    sorted.forEach((d, i) => out.push(`${qid} Q0 ${d.docid} ${i + 1} ${formatScore(d.score)} ${run.tag}`));
  }
  return out.join("\n") + "\n";
}

/** Write a run atomically (temporary file then rename): a crash leaves no half-written run. */
export function writeRun(file: string, run: Run): void {
  if (/\s/.test(run.tag) || run.tag === "") throw new DataError({ file, field: "tag" }, "a run tag without white space", show(run.tag));
  for (const [qid, docs] of run.queries) {
    // a run that rra eval (or trec_eval) could not read back is never written
    const bad = idProblem(qid) !== null ? { field: "qid", id: qid } : docs.map((d) => ({ field: `docid of qid ${qid}`, id: d.docid })).find((d) => idProblem(d.id) !== null);
    if (bad) throw new DataError({ file, field: bad.field }, "ids of valid UTF-8 without white space (TREC runs are split on white space)", idProblem(bad.id) as string);
  }
  writeFileAtomic(file, formatRun(run));
}

/** Scores are written so that they read back as the same double. */
function formatScore(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/**
 * trec_eval's ordering (form_res_rels.c, comp_sim_docno): score descending, ties broken by docid
 * descending in byte order (strcmp).
 */
export function compareTrecEval(a: Candidate, b: Candidate): number {
  if (a.score > b.score) return -1;
  if (a.score < b.score) return 1;
  return a.docid < b.docid ? 1 : a.docid > b.docid ? -1 : 0;
}

/** Build a run from ranked lists, scoring by position so that the file's order survives trec_eval's sort. */
export function runFromLists(tag: string, lists: ReadonlyArray<{ qid: string; docids: readonly string[] }>): Run {
  const queries = new Map<string, Candidate[]>();
  for (const { qid, docids } of lists) {
    queries.set(qid, docids.map((docid, i) => ({ docid, rank: i + 1, score: docids.length - i })));
  }
  return { tag, queries };
}
