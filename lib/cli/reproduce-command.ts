/** `rra reproduce` (`npm start`): the main job, end to end, every step stored and reused. */
import { existsSync } from "fs";
import { readJsonObject } from "../data/text-file";
import { join, relative } from "path";
import { ConfigError } from "../core/errors";
import { projectPath } from "../core/paths";
import { defaultNotebooks } from "../notebooks/cli";
import { runNotebooks } from "../notebooks/runner";
import { readReproduceConfig, resolveReproduceConfig, type ReproduceConfig } from "../reproduce/config";
import { reproduce, reproduceDirectionStep } from "../reproduce/pipeline";
import { defaultStoreTarget, isPostgresUrl } from "../store/db";
import { lockStore } from "../store/lock";
import { parseFlags, type Command } from "./args";

const HELP = `rra reproduce [--fast] [--config FILE] [options]      (npm start)

The paper's story on the shipped data, in one command:
  1. data check      every vendored file against its SOURCE.md manifest
  2. lexicon         collection statistics recovered from the shipped BM25 runs (rra stats), stored
  3. baselines       datasets and the shipped runs into the store; LLM re-rankers vs BM25 (DL19, DL20)
  4. labels          label jobs for cost vs quality: the RRADistill window (projected RankVicuna-7B, the
                     students' teacher) and real LLM logs with single and sliding windows
  5. students        per direction (DL19 -> DL20 and DL20 -> DL19; the second in a child process on the
                     second core): the residual RRA-BERT (lexical features + BM25 prior) with and
                     without the TCL v3, the lexical ranker alone, the pure cross-encoder, RRA-GPT,
                     the lexical ranker on the teacher's full top-100 ranking (9 calls per query), the
                     TCL and loss x target ablations; every epoch count selected on held-out folds of the
                     training year; tested on the other year and on NovelEval with paired tests (Holm)
  6. crossval        both years pooled, K folds: every query tested once by a student that never saw it
  7. export          the best student of the first direction (by its held-out score) as ONNX
  8. figures         PNG, SVG and HTML: label cost vs quality, hard-negative precision, loss x target
                     ablation, TCL on/off, nDCG@10 by query length, epoch selection, students vs BM25,
                     cross-validation
and writes results.md. Every step is stored (runs/reproduce/<name>-<hash>/steps/) and reused when its
inputs did not change: a second run takes seconds, a killed run resumes where it stopped (training
resumes from its last finished epoch).

Sizes (2 cores, no GPU): the default finishes within ~20 min; --fast within ~3 min (a few queries,
short sequences: it checks the pipeline, its numbers are not results).

Options:
  --fast               the small configuration (results-fast.md, figures/reproduce-fast/, models/best-fast/)
  --config FILE        JSON object overriding fields of the configuration (see lib/reproduce/config.ts);
                       combined with --fast it overrides the fast one; e.g. {"init": "hf:ORG/NAME"}
                       warm-starts the RRA-BERT transformer students from a BERT checkpoint and
                       {"gptInit": DIR} the RRA-GPT ones from GPT-2 (rra train --help; default: none)
  --db FILE|URL        the store: SQLite file or postgres:// URL (default: RRA_DB_URL, else RRA_DB, else
                       data/rra.sqlite)
  --work DIR           work folder (default runs/reproduce/<name>-<hash8 of the config>)
  --results FILE       results file (default results.md; results-<name>.md for other configurations)
  --figures DIR        figures folder (default figures/reproduce; figures/reproduce-<name>)
  --export DIR         exported model folder (default models/best; models/best-<name>)
  --serial             train the directions one after the other in this process
  --force              recompute every step (finished models are still reused)
  --notebooks          afterwards, also run every notebook, CI-sized (rra notebooks run --full for full sizes)
  --quiet              no progress bars
  --json               print {directions: [{direction, "ndcg@10": {system: mean}}], results, figures, model}
                       on stdout (no progress bars)
  -h, --help           this text

A second rra reproduce on the same SQLite store is refused while the first runs ("another rra reproduce
(pid N) is using this store"); other commands share the store with it.`;

/** The reproduce command. */
export const reproduceCommand: Command = {
  name: "reproduce",
  summary: "the main job (npm start): labels, students, ablations, export, figures and results.md; stored and resumable",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("reproduce", argv, {
      fast: { type: "boolean" }, config: { type: "string" }, db: { type: "string" }, work: { type: "string" }, results: { type: "string" },
      figures: { type: "string" }, export: { type: "string" }, serial: { type: "boolean" }, force: { type: "boolean" }, notebooks: { type: "boolean" },
      quiet: { type: "boolean" }, json: { type: "boolean" }, step: { type: "string" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const db = (values.db as string | undefined) ?? defaultStoreTarget();
    if (values.step !== undefined) {
      // internal: the child process that trains one direction of a running reproduce
      const work = values.work as string | undefined;
      if (!work) throw new ConfigError("rra reproduce --step needs --work (it is started by rra reproduce itself)");
      const file = join(work, "config.json");
      if (!existsSync(file)) throw new ConfigError(`rra reproduce --step: ${file} is missing; start rra reproduce instead`);
      const cfg = readJsonObject(file, "reproduce config") as unknown as ReproduceConfig;
      await reproduceDirectionStep(work, db, values.step as string, cfg, { quiet: true, force: Boolean(values.force) });
      return 0;
    }
    const fast = Boolean(values.fast);
    const cfg = values.config ? readReproduceConfig(values.config as string, { fast }) : resolveReproduceConfig({}, { fast });
    // the run rebuilds parts of the store: a second rra reproduce on it waits for nothing, it is refused
    const lock = lockStore(db, "rra reproduce");
    let result: Awaited<ReturnType<typeof reproduce>>;
    try {
      result = await reproduce(cfg, {
        db, work: values.work as string | undefined, results: values.results as string | undefined, figures: values.figures as string | undefined,
        export: values.export as string | undefined, parallel: !values.serial, force: Boolean(values.force), quiet: Boolean(values.quiet) || Boolean(values.json),
      });
    } finally {
      lock.release();
    }
    const json: Record<string, unknown> = {
      directions: result.directions.map((d) => ({
        direction: d.direction,
        "ndcg@10": Object.fromEntries(d.comparison.rows.filter((r) => r.metric === "ndcg@10").map((r) => [r.system, r.mean])),
      })),
      results: result.paths.results, figures: result.paths.figures, model: result.exported.out,
    };
    if (!values.json) {
      for (const d of result.directions) {
        const show = d.comparison.rows.filter((r) => r.metric === "ndcg@10" && !r.system.startsWith("teacher")).map((r) => `${r.system} ${r.mean.toFixed(4)}`).join(", ");
        console.log(`${d.direction} nDCG@10: ${show}`);
      }
      console.log(`results: ${relative(process.cwd(), result.paths.results) || result.paths.results}; figures: ${relative(process.cwd(), result.paths.figures)}; model: ${relative(process.cwd(), result.exported.out)}`);
    }
    let code = 0;
    if (values.notebooks) {
      const runs = await runNotebooks(defaultNotebooks(), { mode: "smoke", env: isPostgresUrl(db) ? { RRA_DB_URL: db } : { RRA_DB: db } });
      const bad = runs.filter((r) => !r.ok);
      for (const r of bad) console.error(r.error);
      json.notebooks = { ok: runs.length - bad.length, failed: bad.length };
      if (!values.json) console.log(`notebooks: ${runs.length - bad.length} ok, ${bad.length} failed (executed copies in ${relative(process.cwd(), projectPath(".cache", "notebooks"))})`);
      if (bad.length) code = 1;
    }
    if (values.json) console.log(JSON.stringify(json, null, 1));
    return code;
  },
};
