/** `rra rerank`: re-rank first-stage candidates with a trained student and write a TREC run. */
import { readRetrieveResults } from "../data/rankllm";
import { writeRun } from "../data/trec";
import { initBackend } from "../backend/tf";
import { loadReranker } from "../train/reranker";
import { numberFlag, parseFlags, required, type Command } from "./args";

const HELP = `rra rerank --model DIR --input FILE --out RUN [options]

Re-rank the candidates of a rank_llm retrieve_results JSON ([{query, hits: [{content, qid, docid,
rank, score}]}]) with a student written by rra train, and write a TREC run (the first --depth
candidates per query) ready for rra eval. The model kind is read from DIR/config.json: RRA-BERT scores
by s_cls (the TCL is train-only), RRA-GPT (rra train --arch gpt) by its ranking layer in one forward
pass over the prompt.

Options:
  --model DIR      model directory (rra train --out)
  --input FILE     rank_llm retrieve_results JSON
  --out RUN        TREC run file to write
  --batch N        pairs (bert) or prompts (gpt) per forward pass (default 128)
  --depth N        candidates re-ranked per query (default 100)
  --tag TAG        run tag (default: the model directory name)
  -h, --help       this text

Example:
  rra rerank --model models/tiny-listnet --input data/trec-dl-2019-2020/bm25_retrieve_results_dl20.json --out runs/tiny-dl20.txt`;

/** The rerank command. */
export const rerankCommand: Command = {
  name: "rerank",
  summary: "re-rank retrieve_results candidates with a trained student; writes a TREC run",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("rerank", argv, {
      model: { type: "string" }, input: { type: "string" }, out: { type: "string" }, batch: { type: "string" }, depth: { type: "string" }, tag: { type: "string" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const modelDir = required("rerank", values, "model");
    const input = required("rerank", values, "input");
    const out = required("rerank", values, "out");
    const batchSize = numberFlag("rerank", values, "batch", 128);
    const depth = numberFlag("rerank", values, "depth", 100);
    await initBackend({ quiet: true });
    const lists = readRetrieveResults(input);
    const student = loadReranker(modelDir);
    try {
      const tag = (values.tag as string | undefined) ?? (modelDir.replace(/\/+$/, "").split("/").pop() || "rra-student");
      const run = student.rerank(lists, { batchSize, depth, tag });
      writeRun(out, run);
      console.error(`[rerank] ${run.queries.size} queries re-ranked with ${modelDir} (${student.kind}) -> ${out}`);
      return 0;
    } finally {
      student.dispose();
    }
  },
};
