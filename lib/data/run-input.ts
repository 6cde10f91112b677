/**
 * First-stage candidates from the files a retrieval user has: a TREC run, the topics (`qid<TAB>query`)
 * and the passage collection (TSV or JSONL, corpus.ts), joined into the RankedLists every re-ranker
 * takes (what a rank_llm retrieve_results JSON holds). Each query's candidates are in the run's own order
 * (trec_eval's: score descending, ties by docid descending), cut to `depth`.
 */
import { DataError, show } from "../core/errors";
import { readCorpusTexts } from "./corpus";
import { compareTrecEval, readRun, readTopics } from "./trec";
import type { RankedList } from "./types";

/** The three files of `rra rerank --run --topics --corpus`. */
export interface RunInputFiles {
  run: string;
  topics: string;
  corpus: string;
}

/** Ranked lists of the run's queries (in run order) with the query text and each candidate's passage text. */
export async function readRunCandidates(files: RunInputFiles, depth = Infinity): Promise<RankedList[]> {
  const run = readRun(files.run);
  const topics = new Map(readTopics(files.topics).map((q) => [q.qid, q.text]));
  const heads = new Map([...run.queries].map(([qid, docs]) => [qid, docs.slice().sort(compareTrecEval).slice(0, depth)]));
  const missingTopic = [...heads.keys()].filter((qid) => !topics.has(qid));
  if (missingTopic.length > 0) {
    throw new DataError({ file: files.topics, field: "qid" }, `a topic for every query of ${files.run}`,
      `none for ${missingTopic.length} of its ${heads.size} queries (${missingTopic.slice(0, 5).join(", ")}${missingTopic.length > 5 ? ", ..." : ""})`);
  }
  const wanted = new Set([...heads.values()].flatMap((docs) => docs.map((d) => d.docid)));
  const texts = await readCorpusTexts(files.corpus, wanted);
  const missing = [...wanted].filter((d) => !texts.has(d));
  if (missing.length > 0) {
    throw new DataError({ file: files.corpus, field: "docid" }, `the passage of every document of ${files.run} (first ${Number.isFinite(depth) ? depth : "all"} per query)`,
      `none for ${missing.length} of ${wanted.size} docids (${missing.slice(0, 5).map((d) => show(d)).join(", ")}${missing.length > 5 ? ", ..." : ""})`);
  }
  return [...heads].map(([qid, docs]) => ({
    qid, query: topics.get(qid) as string,
    candidates: docs.map((d, i) => ({ docid: d.docid, score: d.score, rank: i + 1, text: texts.get(d.docid) as string })),
  }));
}
