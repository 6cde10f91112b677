/** `rra eval`: trec_eval-exact evaluation of one run. */
import { readQrels, readRun } from "../data/trec";
import { evaluateRun, uniqueMetrics } from "../eval/evaluate";
import { DEFAULT_METRICS } from "../eval/metrics";
import { listFlag, numberFlag, parseFlags, required, type Command } from "./args";
import { textTable } from "./format";

const HELP = `rra eval --qrels FILE --run FILE [options]

Evaluate a TREC run with NIST trec_eval's rules (score-descending order with ties broken by docid
descending; every judged query counts, as with trec_eval -c; unjudged documents are non-relevant).

Options:
  --qrels FILE        TREC qrels (qid iter docid grade)
  --run FILE          TREC run (qid Q0 docid rank score tag)
  --metrics LIST      comma-separated, default ${DEFAULT_METRICS.join(",")}
                      (ndcg@k, mrr@k, rr, map, map@k, p@k, recall@k, judged@k; trec_eval names work too)
  --rel N             lowest grade that binary measures count as relevant (trec_eval -l), default 2
  --query-set SET     qrels (trec_eval -c, default) or intersection (queries in both)
  --max-docs N        only the first N documents per query (trec_eval -M)
  --per-query         also print every query's values
  --json              print {"all": {metric: value}, "perQuery": {qid: {metric: value}}}
  -h, --help          this text

Example:
  rra eval --qrels data/trec-dl-2019-2020/qrels.dl19-passage.txt \\
           --run data/trec-dl-2019-2020/bm25_trec_results_dl19.txt --metrics ndcg@10,mrr@10`;

/** The eval command. */
export const evalCommand: Command = {
  name: "eval",
  summary: "evaluate a run against qrels (nDCG, MRR, MAP, P, Recall, judged), trec_eval-exact",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("eval", argv, {
      qrels: { type: "string" }, run: { type: "string" }, metrics: { type: "string" }, rel: { type: "string" },
      "query-set": { type: "string" }, "max-docs": { type: "string" }, "per-query": { type: "boolean" }, json: { type: "boolean" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const metrics = uniqueMetrics(listFlag(values, "metrics") ?? [...DEFAULT_METRICS]).map((m) => m.key);
    const qrels = readQrels(required("eval", values, "qrels"));
    const run = readRun(required("eval", values, "run"));
    const querySet = (values["query-set"] as string | undefined) ?? "qrels";
    const result = evaluateRun(qrels, run, {
      metrics, relThreshold: numberFlag("eval", values, "rel", 2), querySet: querySet as "qrels",
      maxDocs: numberFlag("eval", values, "max-docs", Infinity),
    });
    if (values.json) {
      console.log(JSON.stringify(result, null, 1));
      return 0;
    }
    const n = Object.keys(result.perQuery).length;
    console.log(textTable(["metric", `all (${n} queries)`], metrics.map((m) => [m, result.all[m]])));
    if (values["per-query"]) {
      console.log("");
      console.log(textTable(["qid", ...metrics], Object.entries(result.perQuery).map(([qid, v]) => [qid, ...metrics.map((m) => v[m])])));
    }
    return 0;
  },
};
