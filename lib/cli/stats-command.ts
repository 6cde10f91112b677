/** `rra stats`: the collection statistics (lexicon) every lexical signal uses, recovered from first-stage scores. */
import { join } from "path";
import { ConfigError } from "../core/errors";
import { dataDir, loadDataset, TREC_DL_FILES } from "../data/datasets";
import { readRetrieveResults } from "../data/rankllm";
import { readQrels } from "../data/trec";
import type { Qrels, RankedList } from "../data/types";
import { analyzeLists } from "../lexical/analyzed";
import { extendLexicon, saveLexicon, type Lexicon } from "../lexical/lexicon";
import { shippedLexicon } from "../lexical/shipped";
import { lexiconReport, lexiconReportMarkdown } from "../pipeline/lexicon-report";
import { closeStore, defaultStoreTarget, openStore } from "../store/db";
import { storeLexicon } from "../store/lexicons";
import { parseFlags, type Command } from "./args";

const HELP = `rra stats [--input FILE [--qrels FILE]]... [--out lexicon.json] [--json]

The collection statistics behind every lexical signal of the students (the match channel's IDF buckets,
the TCL v3 term score, the lexical features, the residual prior of lists without scores). They are
recovered from the first stage's own BM25 scores: for each query, Lucene's BM25 (k1 and b tried from
a short list, lengths stored as Lucene stores them) is linear in the idf of the query's terms, so the
100 scored candidates give the idf of its terms by least squares, and one avgdl fits every query. The
shipped runs are Pyserini BM25 over the 8.8M MS MARCO passages, so these are that collection's
statistics. Terms the scores do not reveal fall back to document frequencies over the shipped passages
(each query's own candidates left out), calibrated on the recovered terms.

Prints how close BM25 re-scored with the statistics comes to the first stage (nDCG@10 and Kendall's tau
per query) for DL19, DL20 and every --input; stores the lexicon in the store (table lexicons) and, with
--out, writes it as JSON for rra train --lexicon.

Options:
  --input FILE     a candidates file (rank_llm retrieve-results JSON with first-stage scores and
                   passage text) to add: its query terms are recovered from its own scores,
                   its passages join the corpus (repeatable)
  --qrels FILE     judgments of the preceding --input (for nDCG@10)
  --out FILE       write the lexicon (lexicon.json format)
  --db FILE|URL    store (default: RRA_DB_URL, else RRA_DB, else data/rra.sqlite)
  --json           print the report as JSON
  -h, --help       this text

Example:
  rra stats
  rra stats --input my_bm25_candidates.json --qrels my_qrels.txt --out runs/my-lexicon.json`;

/** The stats command. */
export const statsCommand: Command = {
  name: "stats",
  summary: "collection statistics recovered from first-stage BM25 scores: report, store, --out lexicon.json",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("stats", argv, { input: { type: "string", multiple: true }, qrels: { type: "string", multiple: true }, out: { type: "string" }, db: { type: "string" }, json: { type: "boolean" } });
    if (values.help) { console.log(HELP); return 0; }
    const inputs = (values.input as string[] | undefined) ?? [];
    const qrelsFiles = (values.qrels as string[] | undefined) ?? [];
    if (qrelsFiles.length > inputs.length) throw new ConfigError(`rra stats: ${qrelsFiles.length} --qrels for ${inputs.length} --input; give each --qrels after its --input`);
    const dl19 = loadDataset("dl19"), dl20 = loadDataset("dl20");
    let lex: Lexicon = shippedLexicon({ dl19, dl20 });
    const sets: Array<{ name: string; lists: readonly RankedList[]; qrels?: Qrels }> = [
      { name: `DL19 (${TREC_DL_FILES.dl19.candidates})`, lists: dl19.lists, qrels: dl19.qrels },
      { name: `DL20 (${TREC_DL_FILES.dl20.candidates})`, lists: dl20.lists, qrels: dl20.qrels },
    ];
    inputs.forEach((file, i) => {
      const lists = readRetrieveResults(file);
      lex = extendLexicon(lex, analyzeLists(lists), { name: file, sources: [file] });
      sets.push({ name: file, lists, qrels: qrelsFiles[i] !== undefined ? readQrels(qrelsFiles[i]) : undefined });
    });
    const report = lexiconReport(lex, sets);
    const db = await openStore((values.db as string | undefined) ?? defaultStoreTarget());
    let id: string;
    try {
      id = await storeLexicon(db, lex);
    } finally {
      await closeStore(db);
    }
    if (values.out) saveLexicon(values.out as string, lex);
    if (values.json) console.log(JSON.stringify({ id, ...report, out: values.out ?? null }, null, 1));
    else console.log(`${lexiconReportMarkdown(report)}Stored as lexicon ${id}${values.out ? `; written to ${values.out}` : ""}. Data: ${join(dataDir())}`);
    return 0;
  },
};
