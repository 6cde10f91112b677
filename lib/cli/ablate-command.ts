/** `rra ablate`: the student ablation grid (loss x missing x TCL x Token Selection x seeds), one table. */
import { ABLATION_GRID_DEFAULTS, resolveAblationGrid, type AblationGrid } from "../ablate/grid";
import { runAblation, type AblationCellResult } from "../ablate/run";
import { ablationMarkdown, ablationTable, ABLATION_TEST_NAMES, AGGREGATE_DEFAULTS, configLabel } from "../ablate/table";
import { ConfigError } from "../core/errors";
import type { MissingPolicy } from "../labels/parse";
import { closeStore, defaultStoreTarget, openStore } from "../store/db";
import type { TrainConfig } from "../train/loop";
import { listFlag, numberFlag, parseFlags, required, type Command } from "./args";
import { RECIPE_FLAGS, RECIPE_HELP, recipeConfig } from "./recipe-flags";

const D = ABLATION_GRID_DEFAULTS;

const HELP = `rra ablate --out DIR [options]

Run the student ablation grid and write one table. Every combination of
  loss x missing policy x TCL on/off x Token Selection mode x seed x direction
is a student training run (rra train) on the teacher labels of the direction's first year, with the
epoch count picked by nDCG@10 on the first year alone (on K held-out folds with --folds K, then one run
on all of it; else on its qrels), so the second year is used only for testing
(TCL-off runs do not depend on the Token Selection mode and are trained once). Each best model re-ranks the second year's BM25 top-100 and, unless --no-noveleval,
NovelEval's BM25 pre-ranking (an unseen domain); nDCG@10 and MRR@10 follow trec_eval's rules.

The table has one row per configuration and train -> test set: mean ± sample std over seeds, with
  †  p < alpha against BM25 (the test set's first stage)
  ‡  p < alpha against the no-TCL student of the same loss and missing policy
from a two-sided paired test over queries (t-test by default) on the seed-averaged per-query scores,
uncorrected. Writes DIR/ablation.md, DIR/ablation.json (every cell, per-query scores, p-values, the
grid, seeds, backend, versions, wall time), DIR/models/<runId>/ (one model directory per cell) and
DIR/evals/<runId>.json. A rerun with the same DIR reuses every finished cell without training it again.

Grid (comma-separated lists):
  --losses LIST       listNet, listMle, rankNet, lambdaNdcg2, pointwiseBce   default ${D.losses.join(",")}
  --missing LIST      hardNegative, append, drop                             default ${D.missing.join(",")}
  --tcl LIST          on, off                                                default on,off
  --ts LIST           exact, topk:<k>, exact+query, topk:<k>+query           default ${D.ts.join(",")}
  --seeds LIST        integers                                               default ${D.seeds.join(",")}
  --directions LIST   dl19->dl20, dl20->dl19 (quote them in a shell, or
                      write dl19:dl20)                                       default ${D.directions.join(",")}

Training (shared by every cell; see rra train --help):
  --preset P          tiny or small                                          default tiny
  --epochs N          maximum epochs                                         default 3
  --max-steps N       stop each run after N optimizer steps (smoke runs)
  --train-queries N   train on the first N training queries only
  --dev-queries N     pick the best epoch on the first N training-year queries only
  --batch G           query groups per batch                                 default 8
  --group-size N      documents per group                                    default 20
  --max-length T      tokens per query-passage pair                          default 128
  --vocab-size V      WordPiece vocabulary size                              default 8000
  --lr X              peak learning rate                                     default 5e-4
  --arch A            bert or gpt (RRA-GPT ignores the TCL: use --tcl off)    default bert
  --init SRC          warm-start every cell from a Hugging Face checkpoint (a model folder or
                      hf:ORG/NAME[@REVISION]; BERT for --arch bert, GPT-2 for gpt; rra train --help)
                                                                         default: none
  --patience N        epochs without gain on the training year before stopping   default 2
  Every flag of the student recipe below (rra train --help); with --folds K each cell's epoch count is
  selected on K held-out folds of its training year.

Evaluation:
  --eval-queries N    test on the first N queries of each test set only (BM25 too); default all
  --no-noveleval      do not test on NovelEval
  --test NAME         t (paired t-test, default) or randomization (Fisher sign-flip)
  --alpha A           significance level, default ${AGGREGATE_DEFAULTS.alpha}

${RECIPE_HELP}

Output:
  --out DIR           output folder (required)
  --db FILE|URL       store of the label jobs and runs: SQLite file or postgres:// URL (default: RRA_DB_URL, else RRA_DB, else data/rra.sqlite)
  --json              print the table rows as JSON (no progress output)
  -h, --help          this text

Examples:
  rra ablate --out runs/ablation
  rra ablate --losses listNet,rankNet --missing hardNegative,drop --tcl on,off --ts exact,topk:3 \\
    --seeds 1,2,3 --directions 'dl19->dl20,dl20->dl19' --epochs 3 --out runs/ablation-full
  rra ablate --seeds 1 --directions 'dl19->dl20' --max-steps 2 --train-queries 2 --dev-queries 3 \\
    --eval-queries 3 --no-noveleval --out /tmp/ablate-smoke`;

function tclList(values: Record<string, unknown>): boolean[] | undefined {
  return listFlag(values, "tcl")?.map((v) => {
    if (v !== "on" && v !== "off") throw new ConfigError(`rra ablate: --tcl expects a list of on / off, got ${JSON.stringify(v)}`);
    return v === "on";
  });
}

function intList(values: Record<string, unknown>, flag: string): number[] | undefined {
  return listFlag(values, flag)?.map((v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n)) throw new ConfigError(`rra ablate: --${flag} expects comma-separated integers, got ${JSON.stringify(v)}`);
    return n;
  });
}

function seconds(s: number): string {
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function cellLine(c: AblationCellResult, total: number): string {
  const train = c.reused ? `reused ${c.runId}` : `trained ${c.steps} steps in ${seconds(c.trainSeconds)} (${c.status})`;
  const best = c.selection ? `, selected ${c.selection.epoch} epoch(s) on held-out folds (nDCG@10 ${c.selection.ndcg.toFixed(4)})`
    : c.best && Number.isFinite(c.best["ndcg@10"]) ? `, best dev nDCG@10 ${c.best["ndcg@10"].toFixed(4)} @ epoch ${c.best.epoch}` : "";
  const tests = c.evals.map((e) => `${e.testSet} nDCG@10 ${e.all["ndcg@10"]?.toFixed(4) ?? "-"} MRR@10 ${e.all["mrr@10"]?.toFixed(4) ?? "-"}`).join("; ");
  return `[ablate] cell ${c.index + 1}/${total} done: ${train}${best}; ${tests} (eval ${c.evalCached ? "cached" : seconds(c.evalSeconds)})`;
}


/** The ablate command. */
export const ablateCommand: Command = {
  name: "ablate",
  summary: "student ablation grid (loss x missing x TCL x TS x seeds, DL19 <-> DL20 + NovelEval): one table",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("ablate", argv, {
      losses: { type: "string" }, missing: { type: "string" }, tcl: { type: "string" }, ts: { type: "string" }, seeds: { type: "string" }, directions: { type: "string" },
      preset: { type: "string" }, epochs: { type: "string" }, "max-steps": { type: "string" }, "train-queries": { type: "string" }, "dev-queries": { type: "string" },
      batch: { type: "string" }, "group-size": { type: "string" }, "max-length": { type: "string" }, "vocab-size": { type: "string" }, lr: { type: "string" },
      arch: { type: "string" }, init: { type: "string" }, patience: { type: "string" }, ...RECIPE_FLAGS,
      "eval-queries": { type: "string" }, "no-noveleval": { type: "boolean" }, test: { type: "string" }, alpha: { type: "string" },
      out: { type: "string" }, db: { type: "string" }, json: { type: "boolean" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const out = required("ablate", values, "out");
    const test = (values.test as string | undefined) ?? "t";
    if (test !== "t" && test !== "randomization") throw new ConfigError(`rra ablate: --test expects t or randomization, got ${JSON.stringify(test)}`);
    const num = (f: string): number | undefined => (values[f] === undefined ? undefined : numberFlag("ablate", values, f, 0));
    const baseAll: Partial<TrainConfig> = {
      preset: values.preset as string | undefined, epochs: num("epochs"), maxSteps: num("max-steps"), trainQueries: num("train-queries"), devQueries: num("dev-queries"),
      groupsPerBatch: num("batch"), groupSize: num("group-size"), maxLength: num("max-length"), vocabSize: num("vocab-size"), lr: num("lr"),
      arch: values.arch as string | undefined, init: values.init as string | undefined, patience: num("patience"), ...recipeConfig("ablate", values),
    };
    const base = Object.fromEntries(Object.entries(baseAll).filter(([, v]) => v !== undefined)) as Partial<TrainConfig>;
    const grid: Partial<AblationGrid> = {
      losses: listFlag(values, "losses"), missing: listFlag(values, "missing") as MissingPolicy[] | undefined, tcl: tclList(values), ts: listFlag(values, "ts"),
      seeds: intList(values, "seeds"), directions: listFlag(values, "directions"), base,
    };
    resolveAblationGrid(grid); // bad values fail before the store is opened
    const evalQueries = num("eval-queries") ?? 0;
    if (!Number.isInteger(evalQueries) || evalQueries < 0) throw new ConfigError(`rra ablate: --eval-queries expects an integer >= 0, got ${JSON.stringify(values["eval-queries"])}`);
    const json = Boolean(values.json);
    const log = (line: string): void => { if (!json) console.error(line); };
    const db = await openStore((values.db as string | undefined) ?? defaultStoreTarget());
    try {
      const r = await runAblation(db, grid, {
        out, noveleval: !values["no-noveleval"], evalQueries, test, alpha: num("alpha") ?? AGGREGATE_DEFAULTS.alpha, quiet: json,
        onCellStart: (c, total) => log(`[ablate] cell ${c.index + 1}/${total}: ${c.direction} · ${configLabel(c)} · seed ${c.seed} (${c.runId})`),
        onCell: (c, total) => log(cellLine(c, total)),
      });
      if (json) {
        console.log(JSON.stringify({ files: r.files, backend: r.backend, wallSeconds: r.wallSeconds, test: ABLATION_TEST_NAMES[r.options.test], alpha: r.options.alpha, rows: ablationTable(r.rows) }, null, 1));
      } else {
        console.log(ablationMarkdown(r.rows, { test: r.options.test, alpha: r.options.alpha, metrics: r.options.metrics }));
        console.log(`[ablate] ${r.cells.length} cells (${r.cells.filter((c) => c.reused).length} reused) in ${seconds(r.wallSeconds)} on ${r.backend}; wrote ${r.files.markdown} and ${r.files.json}`);
      }
      return 0;
    } finally {
      await closeStore(db);
    }
  },
};
