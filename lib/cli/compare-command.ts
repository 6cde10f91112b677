/** `rra compare`: several runs against a baseline with paired significance tests and Holm correction. */
import { basename } from "path";
import { ConfigError } from "../core/errors";
import { readQrels, readRun } from "../data/trec";
import { compareSystems, COMPARE_DEFAULTS, type CompareTest } from "../eval/compare";
import { evaluateRun } from "../eval/evaluate";
import { parseMetric } from "../eval/metrics";
import { comparisonLatex, comparisonMarkdown } from "../eval/tables";
import { listFlag, numberFlag, parseFlags, required, type Command } from "./args";

const DEFAULT_COMPARE_METRICS = ["ndcg@10", "mrr@10", "map", "recall@100"];

const HELP = `rra compare --qrels FILE --baseline RUN RUN... [options]

Evaluate every run (trec_eval rules, as rra eval) and test each against the baseline, query by query:
paired two-sided test per metric, Holm-Bonferroni correction over the compared systems, and a
bootstrap confidence interval of each difference. A run may be given as NAME=FILE; otherwise its name
is the file name without extension.

Options:
  --qrels FILE        TREC qrels
  --baseline RUN      the reference run ([NAME=]FILE)
  --metrics LIST      default ${DEFAULT_COMPARE_METRICS.join(",")}
  --rel N             lowest relevant grade for binary measures, default 2
  --test NAME         t (paired t-test, default) or randomization (Fisher, sign flips)
  --trials N          randomization trials, default ${COMPARE_DEFAULTS.trials} (exact enumeration when n <= 20)
  --bootstrap N       bootstrap resamples for the CIs, default ${COMPARE_DEFAULTS.bootstrapSamples}
  --alpha A           significance level after correction, default ${COMPARE_DEFAULTS.alpha}
  --seed N            seed of the randomization and bootstrap draws, default 42
  --format F          markdown (default), latex or json (all rows with p, adjusted p and CI)
  -h, --help          this text

Example:
  rra compare --qrels data/trec-dl-2019-2020/qrels.dl19-passage.txt \\
    --baseline bm25=data/trec-dl-2019-2020/bm25_trec_results_dl19.txt \\
    rankvicuna=data/rank-llm-listwise/rerank_runs/rankvicuna-7b_bm25-top100-sw20s10_dl19.trec`;

function namedRun(spec: string): { name: string; file: string } {
  const eq = spec.indexOf("=");
  if (eq > 0) return { name: spec.slice(0, eq), file: spec.slice(eq + 1) };
  return { name: basename(spec).replace(/\.(trec|txt|run)$/i, ""), file: spec };
}

/** The compare command. */
export const compareCommand: Command = {
  name: "compare",
  summary: "compare runs against a baseline: significance (t / randomization, Holm) and CIs",
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags("compare", argv, {
      qrels: { type: "string" }, baseline: { type: "string" }, metrics: { type: "string" }, rel: { type: "string" },
      test: { type: "string" }, trials: { type: "string" }, bootstrap: { type: "string" }, alpha: { type: "string" },
      seed: { type: "string" }, format: { type: "string" },
    }, true);
    if (values.help) { console.log(HELP); return 0; }
    const test = (values.test as string | undefined) ?? "t";
    if (test !== "t" && test !== "randomization") throw new ConfigError(`rra compare: --test expects t or randomization, got ${JSON.stringify(test)}`);
    const format = (values.format as string | undefined) ?? "markdown";
    if (!["markdown", "latex", "json"].includes(format)) throw new ConfigError(`rra compare: --format expects markdown, latex or json, got ${JSON.stringify(format)}`);
    if (positionals.length === 0) throw new ConfigError("rra compare: give at least one run to compare with the baseline (see rra compare --help)");
    const metrics = (listFlag(values, "metrics") ?? DEFAULT_COMPARE_METRICS).map((m) => parseMetric(m).key);
    const relThreshold = numberFlag("compare", values, "rel", 2);
    const qrels = readQrels(required("compare", values, "qrels"));
    const runs = [namedRun(required("compare", values, "baseline")), ...positionals.map(namedRun)];
    const names = new Set<string>();
    for (const r of runs) {
      if (names.has(r.name)) throw new ConfigError(`rra compare: two runs are named ${JSON.stringify(r.name)}; name them with NAME=FILE`);
      names.add(r.name);
    }
    const systems = runs.map((r) => ({ name: r.name, perQuery: evaluateRun(qrels, readRun(r.file), { metrics, relThreshold }).perQuery }));
    const rows = compareSystems({
      systems, baseline: runs[0].name, metrics, test: test as CompareTest,
      seed: numberFlag("compare", values, "seed", 42), alpha: numberFlag("compare", values, "alpha", COMPARE_DEFAULTS.alpha),
      trials: numberFlag("compare", values, "trials", COMPARE_DEFAULTS.trials),
      bootstrapSamples: numberFlag("compare", values, "bootstrap", COMPARE_DEFAULTS.bootstrapSamples),
    });
    if (format === "json") console.log(JSON.stringify(rows, null, 1));
    else console.log(format === "latex" ? comparisonLatex(rows) : comparisonMarkdown(rows));
    return 0;
  },
};
