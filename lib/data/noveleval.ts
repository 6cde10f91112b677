/**
 * NovelEval-2306 (RankGPT): 21 questions about events after mid-2023, 20 judged passages each.
 * Files: queries.tsv, corpus.tsv (`docid<TAB>passage`), qrels.txt, data.json (retrieve_results form).
 */
import { join } from "path";
import { DataError, show } from "../core/errors";
import { readRetrieveResults } from "./rankllm";
import { readIdTextTsv } from "./text-file";
import { readQrels, readTopics } from "./trec";
import type { Dataset, Passage } from "./types";

/**
 * A TSV field as pandas' `to_csv(sep="\t")` writes it: wrapped in double quotes, with inner quotes
 * doubled, when it contains a quote. NovelEval's corpus.tsv has 80 such passages.
 */
export function unquoteTsvField(field: string, file: string, line: number): string {
  if (!field.startsWith("\"")) return field;
  if (field.length < 2 || !field.endsWith("\"") || field.slice(1, -1).replace(/""/g, "").includes("\"")) {
    throw new DataError({ file, line, field: "passage" }, "a quoted field `\"...\"` with inner quotes doubled", show(field));
  }
  return field.slice(1, -1).replace(/""/g, "\"");
}

/** Read a `docid<TAB>passage` corpus file (quoted fields unquoted). */
export function readCorpus(file: string): Passage[] {
  return readIdTextTsv(file, "corpus", "docid", "passage").map(({ id, text, line }) => ({ docid: id, text: unquoteTsvField(text, file, line) }));
}

/** Load NovelEval from its folder, checking that queries, candidates, corpus and qrels agree. */
export function loadNovelEval(dir: string): Dataset {
  const queries = readTopics(join(dir, "queries.tsv"));
  const qrels = readQrels(join(dir, "qrels.txt"));
  const corpus = readCorpus(join(dir, "corpus.tsv"));
  const lists = readRetrieveResults(join(dir, "data.json"));
  const passages = new Map(corpus.map((p) => [p.docid, p]));
  const dataFile = join(dir, "data.json");
  for (const list of lists) {
    const q = queries.find((x) => x.qid === list.qid);
    if (!q) throw new DataError({ file: dataFile, field: `qid ${list.qid}` }, "a qid listed in queries.tsv", `unknown qid ${list.qid}`);
    for (const c of list.candidates) {
      const p = passages.get(c.docid);
      if (!p) throw new DataError({ file: dataFile, field: `qid ${list.qid}` }, "docids present in corpus.tsv", `unknown docid ${c.docid}`);
      if (c.text !== undefined && c.text !== p.text) throw new DataError({ file: dataFile, field: `qid ${list.qid} docid ${c.docid}` }, "the same passage text as corpus.tsv", show(c.text.slice(0, 40)));
    }
  }
  return { name: "noveleval", queries, qrels, lists, passages };
}
