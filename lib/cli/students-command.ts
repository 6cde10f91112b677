/** `rra students`: RRA-BERT with and without the TCL and RRA-GPT against BM25 and the teacher on a held-out year. */
import { mkdirSync } from "fs";
import { join } from "path";
import { ConfigError } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { provenance } from "../core/provenance";
import { compareSystems } from "../eval/compare";
import { comparisonMarkdown } from "../eval/tables";
import { crossValidateStudents } from "../pipeline/crossval";
import { compareStudents, studentKinds } from "../pipeline/students";
import { closeStore, defaultStoreTarget, openStore } from "../store/db";
import { MEASURED_SETTINGS, type TrainConfig } from "../train/config";
import { listFlag, numberFlag, parseFlags, required, type Command } from "./args";
import { defined, RECIPE_FLAGS, RECIPE_HELP, recipeConfig } from "./recipe-flags";

const HELP = `rra students --train dl19 --test dl20 --out DIR [options]
rra students --protocol crossval --out DIR [options]

The student table. Protocol "years" (default): train each student on the training year's teacher labels,
once per seed, select its epoch count on held-out folds of that year's queries (--folds; epoch 0 is the
untrained student, which with the residual prior ranks as BM25 does), re-rank the test year's BM25
top-100, and compare the seed-averaged per-query scores with the shipped BM25 run (paired t-test,
Holm-corrected, bootstrap CI) next to the teacher's shipped runs (RankVicuna-7B). Protocol "crossval":
pool both years' labelled queries (97), deal them into --outer-folds folds, train on all but one fold
(selecting on inner folds) and test on that fold, so every query is tested once by a model that never
saw it; NovelEval's queries are tested by their fold's model (an unseen domain, never trained on).
Finished runs in DIR are reused. Writes DIR/students-<train>-<test>.md and .json (or students-crossval.*).

Students (--students, comma-separated):
  residual          RRA-BERT: s = s_cls + w . f + beta z(BM25), TCL v3, lexical features (the default recipe)
  residual-notcl    the same without the TCL
  residual-nofeat   the same without the lexical features (prior only)
  lexical           the lexical features and the prior alone, no transformer (--network off)
  pure              RRA-BERT without prior or features (the pure cross-encoder), TCL v3
  pure-notcl        the pure cross-encoder without the TCL
  gpt               RRA-GPT with the same residual prior and features
  gpt-pure          RRA-GPT without prior or features

Options:
  --protocol P       years or crossval                                default years
  --train Y          years: training year, dl19 or dl20              default dl19
  --test Y           years: held-out year                             default dl20
  --outer-folds K    crossval: outer folds                            default 5
  --seeds LIST       comma-separated seeds                            default 1,2,3
  --students LIST    see above                                        default residual,residual-notcl,lexical,pure,gpt
  --epochs N         maximum epochs per run                           default ${MEASURED_SETTINGS.epochs}
  --gpt-epochs N     maximum epochs of the RRA-GPT runs               default: --epochs
  --lr X             peak learning rate                               default ${MEASURED_SETTINGS.lr}
  --batch G          query groups per optimizer step                  default ${MEASURED_SETTINGS.groupsPerBatch}
  --select MODE      teacher window: top10+bottom10 (RRADistill) or top100 (the full sliding-window
                     ranking; --group-size 100)                       default top10+bottom10
  --group-size N     documents per training group                     default 20
  --init SRC         warm-start the RRA-BERT transformer students (not lexical) from a BERT checkpoint:
                     a Hugging Face model folder or hf:ORG/NAME[@REVISION] (rra train --help)   default: none
  --gpt-init SRC     warm-start the RRA-GPT students from a GPT-2 checkpoint     default: none
  --test-queries N   years: test on the first N queries only (smoke runs)
  --max-steps N      stop every run after N optimizer steps (smoke runs)
  --train-queries N  train on the first N queries only (smoke runs)
  --out DIR          model directories and tables (required)
  --db FILE|URL      SQLite file or postgres:// URL (default: RRA_DB_URL, else RRA_DB, else data/rra.sqlite)
  --json             print the comparison rows as JSON
  -h, --help         this text

${RECIPE_HELP}
  (rra students uses --folds ${MEASURED_SETTINGS.folds} and --score-scale ${MEASURED_SETTINGS.scoreScale} unless told otherwise, the settings of npm start:
  it always selects on held-out folds)

Examples:
  rra students --train dl19 --test dl20 --seeds 1,2,3 --out runs/students
  rra students --protocol crossval --students residual,lexical --seeds 1 --out runs/crossval
  rra students --students residual-notcl,lexical --init hf:google/bert_uncased_L-4_H-256_A-4 --lr 5e-5 --out runs/students-bert-l4`;

const YEARS = ["dl19", "dl20"];

/** The students command. */
export const studentsCommand: Command = {
  name: "students",
  summary: "RRA-BERT (TCL on/off) and RRA-GPT vs BM25 and the teacher on a held-out year, over seeds",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("students", argv, {
      protocol: { type: "string" }, "outer-folds": { type: "string" },
      train: { type: "string" }, test: { type: "string" }, seeds: { type: "string" }, students: { type: "string" }, epochs: { type: "string" }, "gpt-epochs": { type: "string" },
      lr: { type: "string" }, "test-queries": { type: "string" }, "max-steps": { type: "string" }, select: { type: "string" }, "group-size": { type: "string" },
      "train-queries": { type: "string" }, batch: { type: "string" }, out: { type: "string" }, db: { type: "string" }, json: { type: "boolean" }, ...RECIPE_FLAGS,
      init: { type: "string" }, "gpt-init": { type: "string" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const protocol = (values.protocol as string | undefined) ?? "years";
    if (protocol !== "years" && protocol !== "crossval") throw new ConfigError(`rra students: --protocol expects years or crossval, got ${JSON.stringify(protocol)}`);
    const train = (values.train as string | undefined) ?? "dl19", test = (values.test as string | undefined) ?? "dl20";
    for (const [flag, y] of [["train", train], ["test", test]]) if (!YEARS.includes(y)) throw new ConfigError(`rra students: --${flag} expects dl19 or dl20, got ${JSON.stringify(y)}`);
    const seeds = (listFlag(values, "seeds") ?? ["1", "2", "3"]).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new ConfigError(`rra students: --seeds expects non-negative integers, got ${JSON.stringify(s)}`);
      return n;
    });
    const num = (f: string, d: number): number => numberFlag("students", values, f, d);
    const shared: Partial<TrainConfig> = {
      epochs: num("epochs", MEASURED_SETTINGS.epochs), lr: num("lr", MEASURED_SETTINGS.lr), scoreScale: MEASURED_SETTINGS.scoreScale, maxSteps: num("max-steps", 0), trainQueries: num("train-queries", 0), groupsPerBatch: num("batch", MEASURED_SETTINGS.groupsPerBatch),
      groupSize: num("group-size", 20), folds: MEASURED_SETTINGS.folds, ...(values.select ? { selection: values.select as string } : {}), ...defined(recipeConfig("students", values)),
    };
    const specs = studentKinds(shared, values["gpt-epochs"] === undefined ? undefined : num("gpt-epochs", MEASURED_SETTINGS.epochs), { bert: values.init as string | undefined, gpt: values["gpt-init"] as string | undefined });
    const kinds = listFlag(values, "students") ?? ["residual", "residual-notcl", "lexical", "pure", "gpt"];
    for (const k of kinds) if (!(k in specs)) throw new ConfigError(`rra students: --students expects some of ${Object.keys(specs).join(", ")}, got ${JSON.stringify(k)}`);
    const out = required("students", values, "out");
    mkdirSync(out, { recursive: true });
    const t0 = Date.now();
    const prov = provenance();
    const db = await openStore((values.db as string | undefined) ?? defaultStoreTarget());
    try {
      if (protocol === "crossval") {
        const r = await crossValidateStudents(db, {
          students: kinds.map((k) => specs[k]), seeds, out: join(out, "models"), folds: num("outer-folds", 5), quiet: Boolean(values.json),
          onRun: (name, seed, fold, res) => { if (!values.json) console.log(`[students] ${name} seed ${seed} fold ${fold + 1}: ${res.steps} steps, epoch ${res.best?.epoch ?? "-"}`); },
        });
        const base = join(out, "students-crossval");
        const md = `# Students: ${r.folds}-fold cross-validation over DL19 + DL20 (${r.queries.pooled} queries)\n\n${comparisonMarkdown(r.rows)}\n` +
          (r.novelRows.length ? `\nNovelEval (${r.queries.noveleval} queries, never trained on; each tested by its fold's model):\n\n${comparisonMarkdown(r.novelRows)}\n` : "");
        writeFileAtomic(`${base}.md`, md);
        writeFileAtomic(`${base}.json`, JSON.stringify({ format: "rra-students-crossval/1", seeds, ...r, versions: { node: prov.node, ...prov.packages }, gitSha: prov.gitSha, wallSeconds: (Date.now() - t0) / 1000 }, null, 1) + "\n");
        if (values.json) console.log(JSON.stringify(r.rows, null, 1));
        else console.log(`\n${md}\nwritten: ${base}.md, ${base}.json`);
        return 0;
      }
      const r = await compareStudents(db, {
        students: kinds.map((k) => specs[k]), train: train as "dl19" | "dl20", test: test as "dl19" | "dl20", seeds, out: join(out, "models"),
        testQueries: num("test-queries", 0), quiet: Boolean(values.json),
        onRun: (name, seed, res) => {
          if (!values.json) console.log(`[students] ${name} seed ${seed}: ${res.steps} steps, ${res.throughput.examplesPerSec.toFixed(1)} ex/s, epoch ${res.best?.epoch ?? "-"} selected`);
        },
      });
      const base = join(out, `students-${train}-${test}`);
      const spread = r.seedStats.map((s) => `| ${s.name} | ${s.metric} | ${s.mean.toFixed(4)} | ${s.std === null ? "-" : s.std.toFixed(4)} | ${s.seeds.join(",")} |`).join("\n");
      // the TCL ablation: each TCL student against the same student without it, paired over the test queries
      const pairs: Array<[string, string]> = [["residual", "residual-notcl"], ["pure", "pure-notcl"]];
      const tclRows = pairs.filter(([a, b]) => kinds.includes(a) && kinds.includes(b)).flatMap(([a, b]) => compareSystems({
        systems: [{ name: specs[b].name, perQuery: r.perQuery[specs[b].name] }, { name: specs[a].name, perQuery: r.perQuery[specs[a].name] }], baseline: specs[b].name, metrics: ["ndcg@10", "mrr@10"], seed: 42,
      }));
      const tclMd = tclRows.length ? `\nTCL against no TCL (same settings and seeds):\n\n${comparisonMarkdown(tclRows)}\n` : "";
      const selection = r.runs.map((x) => `| ${x.name} | ${x.seed} | ${x.selectedEpoch ?? "-"} | ${x.selectionNdcg === null ? "-" : x.selectionNdcg.toFixed(4)} |`).join("\n");
      const md = `# Students: ${train} labels -> ${test}\n\n${comparisonMarkdown(r.rows)}\n${tclMd}\nSelection on held-out folds of ${train} (never on ${test}):\n\n| student | seed | epochs selected | held-out nDCG@10 |\n|---|---|---|---|\n${selection}\n\nSpread over seeds (each seed's mean):\n\n| student | metric | mean | std | seeds |\n|---|---|---|---|---|\n${spread}\n`;
      writeFileAtomic(`${base}.md`, md);
      writeFileAtomic(`${base}.json`, JSON.stringify({ format: "rra-students/1", train, test, seeds, rows: r.rows, tclRows, runs: r.runs, seedStats: r.seedStats, versions: { node: prov.node, ...prov.packages }, gitSha: prov.gitSha, wallSeconds: (Date.now() - t0) / 1000 }, null, 1) + "\n");
      if (values.json) console.log(JSON.stringify(r.rows, null, 1));
      else console.log(`\n${md}\nwritten: ${base}.md, ${base}.json`);
      return 0;
    } finally {
      await closeStore(db);
    }
  },
};
