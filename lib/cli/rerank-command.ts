/** `rra rerank`: re-rank first-stage candidates with a trained student and write a TREC run. */
import { readRetrieveResults } from "../data/rankllm";
import { writeRun } from "../data/trec";
import { initBackend } from "../backend/tf";
import { loadReranker } from "../train/reranker";
import { resolveModelDir } from "../hub/resolve";
import { numberFlag, parseFlags, required, type Command } from "./args";

const HELP = `rra rerank --model DIR|hf:ORG/NAME --input FILE --out RUN [options]

Re-rank the candidates of a rank_llm retrieve_results JSON ([{query, hits: [{content, qid, docid,
rank, score}]}]) with a student written by rra train, and write a TREC run (the first --depth
candidates per query) ready for rra eval. DIR is a model written by rra train or an export written by
rra export; its config.json says which. RRA-BERT scores by s_cls (the TCL is train-only), RRA-GPT
(rra train --arch gpt) by its ranking layer in one forward pass over the prompt. An ONNX export runs on
ONNX Runtime (CPU), a TensorFlow.js export on tf.loadGraphModel, a trained model on the tfjs backend.
A pretrained Hugging Face cross-encoder (a BertForSequenceClassification folder with one label, e.g.
cross-encoder/ms-marco-MiniLM-L-6-v2) scores directly: DIR is its folder, or hf:ORG/NAME[@REVISION] (taken
from the Hugging Face cache, pulled first when missing, as rra pull does).

Options:
  --model DIR      model directory (rra train --out), export directory (rra export --out), a Hugging
                   Face cross-encoder folder, or hf:ORG/NAME[@REVISION]
  --input FILE     rank_llm retrieve_results JSON
  --out RUN        TREC run file to write
  --batch N        pairs (bert) or prompts (gpt) per forward pass (default 128)
  --depth N        candidates re-ranked per query (default 100)
  --tag TAG        run tag (default: the model directory name)
  --threads N      ONNX Runtime threads for an ONNX export (default: the cores, at most 4)
  -h, --help       this text

Example:
  rra rerank --model models/tiny-listnet --input data/trec-dl-2019-2020/bm25_retrieve_results_dl20.json --out runs/tiny-dl20.txt
  rra rerank --model exports/tiny-onnx --input data/trec-dl-2019-2020/bm25_retrieve_results_dl20.json --out runs/tiny-onnx-dl20.txt
  rra rerank --model hf:cross-encoder/ms-marco-MiniLM-L-6-v2 --input data/trec-dl-2019-2020/bm25_retrieve_results_dl20.json --out runs/minilm-ce-dl20.txt`;

/** The rerank command. */
export const rerankCommand: Command = {
  name: "rerank",
  summary: "re-rank retrieve_results candidates with a trained student; writes a TREC run",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("rerank", argv, {
      model: { type: "string" }, input: { type: "string" }, out: { type: "string" }, batch: { type: "string" }, depth: { type: "string" }, tag: { type: "string" }, threads: { type: "string" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const modelArg = required("rerank", values, "model");
    const input = required("rerank", values, "input");
    const out = required("rerank", values, "out");
    const batchSize = numberFlag("rerank", values, "batch", 128);
    const depth = numberFlag("rerank", values, "depth", 100);
    await initBackend({ quiet: true });
    const lists = readRetrieveResults(input);
    const threads = values.threads === undefined ? undefined : numberFlag("rerank", values, "threads", 1);
    const modelDir = modelArg.startsWith("hf:") ? (await resolveModelDir(modelArg)).dir : modelArg;
    const student = await loadReranker(modelDir, { batchSize, threads });
    try {
      const tag = (values.tag as string | undefined) ?? ((modelArg.startsWith("hf:") ? modelArg.slice(3).replace(/[/@]/g, "_") : modelDir.replace(/\/+$/, "").split("/").pop()) || "rra-student");
      const t0 = Date.now();
      const run = await student.rerank(lists, { depth, tag });
      writeRun(out, run);
      const pairs = [...run.queries.values()].reduce((n, r) => n + r.length, 0);
      console.error(`[rerank] ${run.queries.size} queries (${pairs} pairs) re-ranked with ${modelArg} (${student.kind}, ${student.format}, ${student.engine}) in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${out}`);
      return 0;
    } finally {
      student.dispose();
    }
  },
};
