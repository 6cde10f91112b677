/** `rra rerank`: re-rank first-stage candidates with a trained student and write a TREC run. */
import { ConfigError } from "../core/errors";
import { readRetrieveResults } from "../data/rankllm";
import { readRunCandidates } from "../data/run-input";
import { writeRun } from "../data/trec";
import { initBackend } from "../backend/tf";
import { loadReranker } from "../train/reranker";
import { resolveModelDir } from "../hub/resolve";
import { trainingState } from "../train/training-state";
import { numberFlag, parseFlags, required, type Command } from "./args";

const HELP = `rra rerank --model DIR|hf:ORG/NAME --input FILE --out RUN [options]
rra rerank --model DIR|hf:ORG/NAME --run RUN --topics TOPICS --corpus CORPUS --out RUN [options]

Re-rank first-stage candidates with a student written by rra train (or an export written by rra export)
and write a TREC run (the first --depth candidates per query) ready for rra eval. The candidates come
either from a rank_llm retrieve_results JSON ([{query, hits: [{content, qid, docid, rank, score}]}]) or
from a TREC run with its topics and the passage collection: --topics is a \`qid<TAB>query\` TSV, --corpus a
\`docid<TAB>passage\` TSV (MS MARCO's collection.tsv) or JSON lines ({"docid"|"_id"|"id", "text"|"contents",
"title"?}, Pyserini / BEIR; a title is put before the text); the corpus is streamed, so it may be large.
DIR's config.json says which model it is. RRA-BERT scores by s_cls (the TCL is train-only), RRA-GPT by
its ranking layer in one forward pass over the prompt. An ONNX export runs on ONNX Runtime (CPU), a
TensorFlow.js export on tf.loadGraphModel, a trained model on the tfjs backend. A student's ranking
score adds its lexical features and first-stage prior (score.json) with the collection statistics of its
lexicon.json, extended with what the candidates reveal: the idf of new query terms is recovered from the
candidates' own first-stage (BM25) scores, their passages join the corpus statistics; no judgments are
read. A pretrained Hugging Face cross-encoder (a BertForSequenceClassification folder with one label,
e.g. cross-encoder/ms-marco-MiniLM-L-6-v2) scores directly: DIR is its folder, or hf:ORG/NAME[@REVISION]
(taken from the Hugging Face cache, pulled first when missing, as rra pull does). Ids with white space or
bytes that are not valid UTF-8 are refused (a TREC run could not hold them), and so are non-finite scores.

Options:
  --model DIR          model directory (rra train --out), export directory (rra export --out), a Hugging
                       Face cross-encoder folder, or hf:ORG/NAME[@REVISION]
  --input FILE         rank_llm retrieve_results JSON
  --run RUN            first-stage TREC run (qid Q0 docid rank score tag), with --topics and --corpus
  --topics FILE        TREC topics TSV (qid<TAB>query) of the run's queries
  --corpus FILE        passages: TSV (docid<TAB>text) or JSONL ({docid|_id|id, text|contents, title?})
  --out RUN            TREC run file to write
  --batch N            pairs (bert) or prompts (gpt) per forward pass (default 128)
  --depth N            candidates re-ranked per query (default 100)
  --tag TAG            run tag (default: the model directory name)
  --threads N          ONNX Runtime threads for an ONNX export (default: the cores, at most 4)
  --allow-unfinished   use a model folder whose training did not finish (no training.json yet)
  --json               print {queries, pairs, out, model, kind, format, engine, seconds} on stdout
  -h, --help           this text

Examples:
  rra rerank --model models/tiny-listnet --input data/trec-dl-2019-2020/bm25_retrieve_results_dl20.json --out runs/tiny-dl20.txt
  rra rerank --model exports/tiny-onnx --run bm25.dl20.trec --topics topics.dl20.txt --corpus collection.tsv --out runs/onnx-dl20.txt
  rra rerank --model hf:cross-encoder/ms-marco-MiniLM-L-6-v2 --input data/trec-dl-2019-2020/bm25_retrieve_results_dl20.json --out runs/minilm-ce-dl20.txt`;

/** The rerank command. */
export const rerankCommand: Command = {
  name: "rerank",
  summary: "re-rank first-stage candidates (retrieve_results JSON, or a TREC run + topics + corpus) with a student; writes a TREC run",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("rerank", argv, {
      model: { type: "string" }, input: { type: "string" }, run: { type: "string" }, topics: { type: "string" }, corpus: { type: "string" }, out: { type: "string" },
      batch: { type: "string" }, depth: { type: "string" }, tag: { type: "string" }, threads: { type: "string" }, "allow-unfinished": { type: "boolean" }, json: { type: "boolean" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const modelArg = required("rerank", values, "model");
    const out = required("rerank", values, "out");
    const fromRun = ["run", "topics", "corpus"].filter((f) => values[f] !== undefined);
    if (values.input !== undefined && fromRun.length > 0) throw new ConfigError(`rra rerank: give --input or --run/--topics/--corpus, not both (see rra rerank --help)`);
    if (values.input === undefined && fromRun.length === 0) throw new ConfigError(`rra rerank: --input (retrieve_results JSON) or --run, --topics and --corpus are required (see rra rerank --help)`);
    const batchSize = numberFlag("rerank", values, "batch", 128);
    const depth = numberFlag("rerank", values, "depth", 100);
    const allowUnfinished = Boolean(values["allow-unfinished"]);
    const lists = values.input !== undefined
      ? readRetrieveResults(values.input as string)
      : await readRunCandidates({ run: required("rerank", values, "run"), topics: required("rerank", values, "topics"), corpus: required("rerank", values, "corpus") }, depth);
    await initBackend({ quiet: true });
    const threads = values.threads === undefined ? undefined : numberFlag("rerank", values, "threads", 1);
    const modelDir = modelArg.startsWith("hf:") ? (await resolveModelDir(modelArg)).dir : modelArg;
    const student = await loadReranker(modelDir, { batchSize, threads, allowUnfinished });
    try {
      if (allowUnfinished && student.format === "native" && trainingState(modelDir).status === "unfinished") {
        console.error(`[rerank] warning: ${modelDir} is an unfinished training run (${trainingState(modelDir).detail}); using its weights as they are`);
      }
      const tag = (values.tag as string | undefined) ?? ((modelArg.startsWith("hf:") ? modelArg.slice(3).replace(/[/@]/g, "_") : modelDir.replace(/\/+$/, "").split("/").pop()) || "rra-student");
      const t0 = Date.now();
      const run = await student.rerank(lists, { depth, tag });
      writeRun(out, run);
      const pairs = [...run.queries.values()].reduce((n, r) => n + r.length, 0);
      const seconds = (Date.now() - t0) / 1000;
      if (values.json) console.log(JSON.stringify({ queries: run.queries.size, pairs, out, model: modelArg, kind: student.kind, format: student.format, engine: student.engine, seconds }, null, 1));
      else console.error(`[rerank] ${run.queries.size} queries (${pairs} pairs) re-ranked with ${modelArg} (${student.kind}, ${student.format}, ${student.engine}) in ${seconds.toFixed(1)} s -> ${out}`);
      return 0;
    } finally {
      student.dispose();
    }
  },
};
