/** `rra students`: RRA-BERT with and without the TCL and RRA-GPT against BM25 and the teacher on a held-out year. */
import { mkdirSync } from "fs";
import { join } from "path";
import { ConfigError } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { provenance } from "../core/provenance";
import { compareSystems } from "../eval/compare";
import { comparisonMarkdown } from "../eval/tables";
import { compareStudents, type StudentSpec } from "../pipeline/students";
import { closeStore, defaultStoreTarget, openStore } from "../store/db";
import type { TrainConfig } from "../train/config";
import { listFlag, numberFlag, onOffFlag, parseFlags, required, type Command } from "./args";

const HELP = `rra students --train dl19 --test dl20 --out DIR [options]

The cross-year student table: train RRA-BERT with the TCL, RRA-BERT without it (also fused with BM25 at
a weight tuned on the training year) and RRA-GPT on the training year's teacher labels, once per seed;
each picks its best epoch by nDCG@10 on the training year's qrels. Every saved model re-ranks the test
year's BM25 top-100; the per-query scores, averaged over seeds, are compared with the shipped BM25 run
(paired t-test, Holm-corrected, bootstrap CI) next to the teacher's shipped runs (RankVicuna-7B).
Finished runs in DIR are reused. Writes DIR/students-<train>-<test>.md and .json.

Options:
  --train Y          training year: dl19 or dl20                      default dl19
  --test Y           held-out year                                    default dl20
  --seeds LIST       comma-separated seeds                            default 1,2,3
  --students LIST    which of bert-tcl, bert, gpt                     default bert-tcl,bert,gpt
  --epochs N         maximum epochs per run                           default 4
  --gpt-epochs N     maximum epochs of the RRA-GPT runs               default: --epochs
  --lr X             peak learning rate                               default 1e-3
  --match-idf on|off IDF-bucketed match channel for the BERT students   default on
  --batch G          query groups per optimizer step                  default 2
  --score-scale K    logit scale of the BERT students (rra train)     default 1
  --dev-queries N    pick the best epoch on the first N training-year queries (0 = all)   default 0
  --test-queries N   test on the first N queries only (smoke runs)
  --max-steps N      stop every run after N optimizer steps (smoke runs)
  --train-queries N  train on the first N queries only (smoke runs)
  --out DIR          model directories and tables (required)
  --db FILE|URL      SQLite file or postgres:// URL (default: RRA_DB_URL, else RRA_DB, else data/rra.sqlite)
  --json             print the comparison rows as JSON
  -h, --help         this text

Example:
  rra students --train dl19 --test dl20 --seeds 1,2,3 --out runs/students`;

const YEARS = ["dl19", "dl20"];
const KINDS = ["bert-tcl", "bert", "gpt"];

/** The students command. */
export const studentsCommand: Command = {
  name: "students",
  summary: "RRA-BERT (TCL on/off) and RRA-GPT vs BM25 and the teacher on a held-out year, over seeds",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("students", argv, {
      train: { type: "string" }, test: { type: "string" }, seeds: { type: "string" }, students: { type: "string" }, epochs: { type: "string" }, "gpt-epochs": { type: "string" },
      lr: { type: "string" }, "match-idf": { type: "string" }, "test-queries": { type: "string" }, "max-steps": { type: "string" },
      "train-queries": { type: "string" }, batch: { type: "string" }, "score-scale": { type: "string" }, "dev-queries": { type: "string" }, out: { type: "string" }, db: { type: "string" }, json: { type: "boolean" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const train = (values.train as string | undefined) ?? "dl19", test = (values.test as string | undefined) ?? "dl20";
    for (const [flag, y] of [["train", train], ["test", test]]) if (!YEARS.includes(y)) throw new ConfigError(`rra students: --${flag} expects dl19 or dl20, got ${JSON.stringify(y)}`);
    const seeds = (listFlag(values, "seeds") ?? ["1", "2", "3"]).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new ConfigError(`rra students: --seeds expects non-negative integers, got ${JSON.stringify(s)}`);
      return n;
    });
    const kinds = listFlag(values, "students") ?? KINDS;
    for (const k of kinds) if (!KINDS.includes(k)) throw new ConfigError(`rra students: --students expects some of ${KINDS.join(", ")}, got ${JSON.stringify(k)}`);
    const matchIdf = onOffFlag("students", values, "match-idf") ?? true;
    const num = (f: string, d: number): number => numberFlag("students", values, f, d);
    const shared: Partial<TrainConfig> = { epochs: num("epochs", 4), lr: num("lr", 1e-3), maxSteps: num("max-steps", 0), trainQueries: num("train-queries", 0),
      groupsPerBatch: num("batch", 2), devQueries: num("dev-queries", 0) };
    const bert: Partial<TrainConfig> = { ...shared, arch: "bert", matchIdf, scoreScale: num("score-scale", 1) };
    const specs: Record<string, StudentSpec> = {
      "bert-tcl": { name: "RRA-BERT + TCL", config: { ...bert, tcl: true } },
      bert: { name: "RRA-BERT no TCL", config: { ...bert, tcl: false }, fuse: true },
      gpt: { name: "RRA-GPT", config: { ...shared, arch: "gpt", tcl: false, epochs: num("gpt-epochs", shared.epochs as number) } },
    };
    const out = required("students", values, "out");
    mkdirSync(out, { recursive: true });
    const t0 = Date.now();
    const db = await openStore((values.db as string | undefined) ?? defaultStoreTarget());
    try {
      const r = await compareStudents(db, {
        students: kinds.map((k) => specs[k]), train: train as "dl19" | "dl20", test: test as "dl19" | "dl20", seeds, out: join(out, "models"),
        testQueries: num("test-queries", 0), quiet: Boolean(values.json),
        onRun: (name, seed, res) => {
          if (!values.json) console.log(`[students] ${name} seed ${seed}: ${res.steps} steps, ${res.throughput.examplesPerSec.toFixed(1)} ex/s, best ${train} nDCG@10 ${res.best ? res.best["ndcg@10"].toFixed(4) : "-"} (epoch ${res.best?.epoch ?? "-"})`);
        },
      });
      const prov = provenance();
      const base = join(out, `students-${train}-${test}`);
      const spread = r.seedStats.map((s) => `| ${s.name} | ${s.metric} | ${s.mean.toFixed(4)} | ${s.std === null ? "-" : s.std.toFixed(4)} | ${s.seeds.join(",")} |`).join("\n");
      // the TCL ablation: the TCL student against the same student without it, paired over the test queries
      const tcl = specs["bert-tcl"].name, noTcl = specs.bert.name;
      const tclRows = r.perQuery[tcl] && r.perQuery[noTcl]
        ? compareSystems({ systems: [{ name: noTcl, perQuery: r.perQuery[noTcl] }, { name: tcl, perQuery: r.perQuery[tcl] }], baseline: noTcl, metrics: ["ndcg@10", "mrr@10"], seed: 42 })
        : [];
      const tclMd = tclRows.length ? `\nTCL against no TCL (same settings and seeds):\n\n${comparisonMarkdown(tclRows)}\n` : "";
      const md = `# Students: ${train} labels -> ${test}\n\n${comparisonMarkdown(r.rows)}\n${tclMd}\nSpread over seeds (each seed's mean):\n\n| student | metric | mean | std | seeds |\n|---|---|---|---|---|\n${spread}\n`;
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
