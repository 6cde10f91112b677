/**
 * The shipped datasets and runs (vendored under data/, see each folder's SOURCE.md), by name.
 */
import { join } from "path";
import { projectPath } from "../core/paths";
import { DataError, ConfigError, show } from "../core/errors";
import { didYouMean } from "../core/names";
import { loadNovelEval } from "./noveleval";
import { readRetrieveResults } from "./rankllm";
import { readQrels, readTopics } from "./trec";
import type { Dataset, Passage } from "./types";

/** Names of the shipped evaluation datasets. */
export type DatasetName = "dl19" | "dl20" | "noveleval";
/** Every shipped dataset name. */
export const DATASET_NAMES: readonly DatasetName[] = ["dl19", "dl20", "noveleval"];

/** Where the vendored data lives: `RRA_DATA_DIR`, else `<project>/data`. */
export function dataDir(): string {
  return process.env.RRA_DATA_DIR ?? projectPath("data");
}

const TREC = "trec-dl-2019-2020";
const LLM = "rank-llm-listwise";

/** Files of a TREC DL year, relative to the data folder. */
export const TREC_DL_FILES = {
  dl19: { topics: `${TREC}/topics.dl19-passage.txt`, qrels: `${TREC}/qrels.dl19-passage.txt`, candidates: `${TREC}/bm25_retrieve_results_dl19.json`, bm25Run: `${TREC}/bm25_trec_results_dl19.txt` },
  dl20: { topics: `${TREC}/topics.dl20.txt`, qrels: `${TREC}/qrels.dl20-passage.txt`, candidates: `${TREC}/bm25_retrieve_results_dl20.json`, bm25Run: `${TREC}/bm25_trec_results_dl20.txt` },
} as const;

/** A shipped TREC run: which dataset it belongs to, a short system name and its file (relative to data/). */
export interface ShippedRun {
  dataset: "dl19" | "dl20";
  system: string;
  file: string;
  /** One line on what produced it. */
  description: string;
}

/** Every shipped run, BM25 first. */
export function shippedRuns(): ShippedRun[] {
  const runs: ShippedRun[] = [];
  for (const y of ["dl19", "dl20"] as const) {
    runs.push({ dataset: y, system: "bm25", file: TREC_DL_FILES[y].bm25Run, description: "Pyserini BM25 (k1=0.9, b=0.4) top-100" });
    runs.push({ dataset: y, system: "rankvicuna-7b", file: `${LLM}/rerank_runs/rankvicuna-7b_bm25-top100-sw20s10_${y}.trec`, description: "RankVicuna-7B, sliding window 20/10 over BM25 top-100" });
    runs.push({ dataset: y, system: "rankvicuna-7b-top20", file: `${LLM}/rerank_runs/rankvicuna-7b_bm25-top20-single_${y}.trec`, description: "RankVicuna-7B, one window over BM25 top-20" });
    runs.push({ dataset: y, system: "vicuna-7b-ckpt800-top20", file: `${LLM}/rerank_runs/vicuna-7b-ckpt800_bm25-top20-single_${y}.trec`, description: "intermediate RankVicuna checkpoint, one window over top-20" });
    if (y === "dl19") runs.push({ dataset: y, system: "vicuna-7b-v1.5-zeroshot", file: `${LLM}/rerank_runs/vicuna-7b-v1.5-zeroshot_bm25-top100-sw20s10_dl19.trec`, description: "un-tuned Vicuna-7B v1.5, sliding window over top-100" });
    for (let i = 1; i <= 5; i++) runs.push({ dataset: y, system: `gpt-3.5-turbo-run${i}`, file: `${LLM}/rerank_runs/gpt-3.5-turbo_bm25-top100-sw20s10_${y}_run${i}.trec`, description: `RankGPT prompt, gpt-3.5-turbo (Aug 2023), repeat ${i} of 5` });
  }
  return runs;
}

/** Every shipped rank_llm prompt/response log (relative to data/). */
export function shippedPromptLogs(): string[] {
  const p = `${LLM}/prompts_and_responses`;
  return [
    `${p}/rankvicuna-7b_bm25-top100-sw20s10_dl19.json`, `${p}/rankvicuna-7b_bm25-top100-sw20s10_dl20.json`,
    `${p}/rankvicuna-7b_bm25-top20-single_dl19.json`, `${p}/rankvicuna-7b_bm25-top20-single_dl20.json`,
    `${p}/vicuna-7b-ckpt800_bm25-top20-single_dl19.json`, `${p}/vicuna-7b-ckpt800_bm25-top20-single_dl20.json`,
    `${p}/vicuna-7b-v1.5-zeroshot_bm25-top100-sw20s10_dl19.json`,
  ];
}

/** Load a TREC DL year: judged topics, qrels and the BM25 top-100 candidates with passage text. */
export function loadTrecDl(year: "dl19" | "dl20", dir = dataDir()): Dataset {
  const f = TREC_DL_FILES[year];
  const qrels = readQrels(join(dir, f.qrels));
  const topics = readTopics(join(dir, f.topics));
  const lists = readRetrieveResults(join(dir, f.candidates));
  const queries = topics.filter((q) => qrels.has(q.qid));
  for (const qid of qrels.keys()) {
    if (!queries.some((q) => q.qid === qid)) throw new DataError({ file: join(dir, f.topics) }, `a topic for every judged qid`, `no topic for qid ${qid} of ${f.qrels}`);
  }
  const passages = new Map<string, Passage>();
  for (const list of lists) {
    if (!qrels.has(list.qid)) throw new DataError({ file: join(dir, f.candidates), field: `qid ${list.qid}` }, "candidates for judged queries only", `unjudged qid ${list.qid}`);
    for (const c of list.candidates) if (c.text !== undefined) passages.set(c.docid, { docid: c.docid, text: c.text });
  }
  return { name: year, queries, qrels, lists, passages };
}

/**
 * Several datasets as one (queries, judgments, candidate lists and passages of each, in order), named
 * `a+b`: for training on both TREC DL years at once. Their qids must not overlap (DL19 and DL20 share none).
 */
export function mergeDatasets(parts: readonly Dataset[]): Dataset {
  const seen = new Map<string, string>();
  for (const d of parts) for (const q of d.queries) {
    const other = seen.get(q.qid);
    if (other !== undefined) throw new DataError({ file: `datasets ${other} and ${d.name}`, field: `qid ${q.qid}` }, "datasets without shared queries", `qid ${q.qid} in both`);
    seen.set(q.qid, d.name);
  }
  const passages = new Map<string, Passage>();
  for (const d of parts) for (const [k, p] of d.passages) passages.set(k, p);
  return {
    name: parts.map((d) => d.name).join("+"), queries: parts.flatMap((d) => d.queries), qrels: new Map(parts.flatMap((d) => [...d.qrels])),
    lists: parts.flatMap((d) => d.lists), passages,
  };
}

/** Load a shipped dataset by name; `dl19+dl20` merges the named ones (mergeDatasets). */
export function loadDataset(name: string, dir = dataDir()): Dataset {
  if (name.includes("+")) return mergeDatasets(name.split("+").map((n) => loadDataset(n.trim(), dir)));
  switch (name) {
    case "dl19":
    case "dl20": return loadTrecDl(name, dir);
    case "noveleval": return loadNovelEval(join(dir, "noveleval"));
    default: throw new ConfigError(`unknown dataset ${show(name)}; expected one of ${DATASET_NAMES.join(", ")}${didYouMean(String(name), DATASET_NAMES)}`);
  }
}
