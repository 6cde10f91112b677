/**
 * The lexicon of the shipped data: statistics recovered from the shipped Pyserini BM25 runs of TREC DL
 * 2019 and 2020 (MS MARCO v1 passage: k1 0.9, b 0.4, Lucene's English analyzer), with the corpus of every
 * shipped passage (both years and NovelEval) as the fallback. Built once per process (about 3 s).
 */
import { loadDataset, TREC_DL_FILES } from "../data/datasets";
import type { Dataset } from "../data/types";
import { analyzeLists, analyzeText } from "./analyzed";
import { buildLexicon, type Lexicon } from "./lexicon";

let cached: Lexicon | null = null;

/** The shipped lexicon (memoised); `datasets` lets a caller pass datasets it already loaded. */
export function shippedLexicon(datasets: Partial<Record<"dl19" | "dl20" | "noveleval", Dataset>> = {}): Lexicon {
  if (cached) return cached;
  const get = (n: "dl19" | "dl20" | "noveleval"): Dataset => datasets[n] ?? loadDataset(n);
  const dl19 = get("dl19"), dl20 = get("dl20"), novel = get("noveleval");
  const lists = analyzeLists([...dl19.lists, ...dl20.lists]);
  const corpus = [...novel.passages.values()].map((p) => ({ docid: p.docid, tf: analyzeText(p.text).tf }));
  cached = buildLexicon(lists, corpus, {
    name: "shipped: MS MARCO v1 passage statistics recovered from the Pyserini BM25 runs of DL19 and DL20; corpus fallback: every shipped passage",
    sources: [TREC_DL_FILES.dl19.candidates, TREC_DL_FILES.dl20.candidates, "noveleval/data.json"],
  });
  return cached;
}
