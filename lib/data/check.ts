/**
 * `rra data check`: validate every vendored file (parse it with its loader, cross-check ids, and
 * verify the sizes and git blob ids that each SOURCE.md records).
 */
import { createHash } from "crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import { join } from "path";
import { DataError } from "../core/errors";
import { dataDir, DATASET_NAMES, loadDataset, shippedPromptLogs, shippedRuns } from "./datasets";
import { readPromptLog } from "./rankllm";
import { readRun } from "./trec";
import type { Dataset } from "./types";

/** One line of the check report. */
export interface CheckResult {
  /** Path relative to the data folder. */
  file: string;
  ok: boolean;
  /** What was found ("43 queries, 9260 judgments") or what is wrong. */
  detail: string;
}

/** The git blob id of a file's bytes (`git hash-object FILE`). */
export function gitBlobId(bytes: Buffer): string {
  return createHash("sha1").update(`blob ${bytes.length}\u0000`).update(bytes).digest("hex");
}

/** Rows of SOURCE.md tables that name a local file with its byte size and, when given, its full git blob id. */
export function sourceManifest(sourceMd: string): Array<{ file: string; bytes?: number; blob?: string }> {
  const rows: Array<{ file: string; bytes?: number; blob?: string }> = [];
  for (const line of sourceMd.split("\n")) {
    if (!line.startsWith("|")) continue;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const file = cells[0];
    if (!file || /\s|\{|\*|^-+$/.test(file) || !/\.[a-z]+$/i.test(file)) continue;
    const bytes = cells.find((c) => /^\d+$/.test(c));
    const blob = cells.find((c) => /^[0-9a-f]{40}$/.test(c));
    rows.push({ file, bytes: bytes === undefined ? undefined : Number(bytes), blob });
  }
  return rows;
}

function attempt(file: string, fn: () => string): CheckResult {
  try {
    return { file, ok: true, detail: fn() };
  } catch (e) {
    return { file, ok: false, detail: e instanceof DataError ? e.message : `${(e as Error).name}: ${(e as Error).message}` };
  }
}

/** Validate every vendored file under `dir`; one result per check, failures included (never throws). */
export function checkData(dir = dataDir()): CheckResult[] {
  const results: CheckResult[] = [];
  for (const folder of readdirSync(dir).sort()) {
    const src = join(dir, folder, "SOURCE.md");
    if (!existsSync(src)) continue;
    for (const row of sourceManifest(readFileSync(src, "utf8"))) {
      const path = join(dir, folder, row.file);
      results.push(attempt(`${folder}/${row.file}`, () => {
        if (!existsSync(path)) throw new DataError({ file: path }, `the file listed in ${folder}/SOURCE.md`, "no such file");
        const bytes = readFileSync(path);
        if (row.bytes !== undefined && bytes.length !== row.bytes) throw new DataError({ file: path }, `${row.bytes} bytes as SOURCE.md says`, `${bytes.length} bytes`);
        if (row.blob !== undefined && gitBlobId(bytes) !== row.blob) throw new DataError({ file: path }, `git blob ${row.blob}`, `git blob ${gitBlobId(bytes)}`);
        return `${bytes.length} bytes` + (row.blob ? ", git blob matches SOURCE.md" : ", size matches SOURCE.md");
      }));
    }
  }
  const datasets = new Map<string, Dataset>();
  for (const name of DATASET_NAMES) {
    results.push(attempt(`dataset ${name}`, () => {
      const d = loadDataset(name, dir);
      datasets.set(name, d);
      let judgments = 0;
      for (const m of d.qrels.values()) judgments += m.size;
      const cands = d.lists.reduce((n, l) => n + l.candidates.length, 0);
      return `${d.queries.length} queries, ${judgments} judgments, ${d.lists.length} candidate lists (${cands} pairs), ${d.passages.size} passages`;
    }));
  }
  for (const r of shippedRuns()) {
    results.push(attempt(r.file, () => {
      const run = readRun(join(dir, r.file));
      const d = datasets.get(r.dataset);
      if (!d) return `${run.queries.size} queries (dataset ${r.dataset} failed to load, ids not cross-checked)`;
      let pairs = 0;
      for (const [qid, docs] of run.queries) {
        const list = d.lists.find((l) => l.qid === qid);
        if (!list) throw new DataError({ file: join(dir, r.file), field: `qid ${qid}` }, `a query of ${r.dataset}`, `qid ${qid} has no candidates`);
        const ids = new Set(list.candidates.map((c) => c.docid));
        for (const doc of docs) if (!ids.has(doc.docid)) throw new DataError({ file: join(dir, r.file), field: `qid ${qid}` }, `documents among the BM25 candidates of ${r.dataset}`, `docid ${doc.docid}`);
        pairs += docs.length;
      }
      return `${run.queries.size} queries, ${pairs} ranked documents, all among the ${r.dataset} candidates`;
    }));
  }
  for (const file of shippedPromptLogs()) {
    results.push(attempt(file, () => `${readPromptLog(join(dir, file)).length} prompt/response objects`));
  }
  const ref = join(dir, "reference", "trec_eval_reference.tsv");
  results.push(attempt("reference/trec_eval_reference.tsv", () => {
    const rows = readReference(ref);
    for (const r of rows) {
      for (const p of [r.run, r.qrels]) {
        const file = referencedFile(dir, p);
        if (!existsSync(file) || !statSync(file).isFile()) throw new DataError({ file: ref, line: r.line }, "paths of vendored files", `missing ${p} (looked for ${file})`);
      }
    }
    return `${rows.length} trec_eval figures for ${new Set(rows.map((r) => r.run)).size} runs`;
  }));
  return results;
}

/**
 * Where a path of the reference file (written relative to the project, "data/trec-dl-.../x.txt") is in
 * the data folder `dir`, whatever that folder is called: a copy in ~/my-data checks like data/ does.
 */
export function referencedFile(dir: string, path: string): string {
  return join(dir, path.replace(/^data\//, ""));
}

/** One figure of the NIST trec_eval reference file. */
export interface ReferenceFigure {
  run: string;
  qrels: string;
  measure: string;
  value: number;
  line: number;
}

/** Read `trec_eval_reference.tsv` (comment header lines start with #; then `run qrels measure value`). */
export function readReference(file: string): ReferenceFigure[] {
  const out: ReferenceFigure[] = [];
  readFileSync(file, "utf8").split("\n").forEach((text, i) => {
    if (text === "" || text.startsWith("#") || text.startsWith("run\t")) return;
    const f = text.split("\t");
    if (f.length !== 4 || !Number.isFinite(Number(f[3]))) throw new DataError({ file, line: i + 1 }, "`run<TAB>qrels<TAB>measure<TAB>value`", JSON.stringify(text));
    out.push({ run: f[0], qrels: f[1], measure: f[2], value: Number(f[3]), line: i + 1 });
  });
  return out;
}
