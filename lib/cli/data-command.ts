/** `rra data check` and `rra data stats`: the vendored data. */
import { checkData } from "../data/check";
import { dataDir, DATASET_NAMES, loadDataset } from "../data/datasets";
import { computeQueryStats } from "../data/query-stats";
import { ConfigError } from "../core/errors";
import { parseFlags, type Command } from "./args";
import { textTable } from "./format";

const HELP = `rra data <check|stats> [options]

  check     validate every vendored file under data/: parse it with its loader, cross-check query and
            document ids between topics, qrels, candidates and runs, and verify byte sizes and git blob
            ids against each folder's SOURCE.md. Exits 1 when anything fails.
  stats     per-dataset query statistics (length in words, question vs keyword form)

Options:
  --dir DIR   data folder (default: RRA_DATA_DIR or <project>/data)
  --json      machine-readable output
  -h, --help  this text`;

/** The data command. */
export const dataCommand: Command = {
  name: "data",
  summary: "check the vendored data files, or print query statistics",
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags("data", argv, { dir: { type: "string" }, json: { type: "boolean" } }, true);
    if (values.help || positionals.length === 0) { console.log(HELP); return values.help ? 0 : 2; }
    const dir = (values.dir as string | undefined) ?? dataDir();
    const sub = positionals[0];
    if (sub === "check") {
      const results = checkData(dir);
      const failed = results.filter((r) => !r.ok);
      if (values.json) console.log(JSON.stringify({ ok: failed.length === 0, results }, null, 1));
      else {
        for (const r of results) console.log(`${r.ok ? "ok  " : "FAIL"}  ${r.file}: ${r.detail}`);
        console.log(`\n${results.length - failed.length} passed, ${failed.length} failed (${dir})`);
      }
      return failed.length === 0 ? 0 : 1;
    }
    if (sub === "stats") {
      const rows = DATASET_NAMES.map((name) => {
        const stats = computeQueryStats(loadDataset(name, dir).queries);
        const words = stats.map((s) => s.words);
        const mean = words.reduce((a, b) => a + b, 0) / words.length;
        const questions = stats.filter((s) => s.form === "question").length;
        return { dataset: name, queries: stats.length, meanWords: mean, maxWords: Math.max(...words), questions, keywords: stats.length - questions };
      });
      if (values.json) console.log(JSON.stringify(rows, null, 1));
      else console.log(textTable(["dataset", "queries", "mean words", "max words", "question form", "keyword form"], rows.map((r) => [r.dataset, r.queries, r.meanWords, r.maxWords, r.questions, r.keywords]), 2));
      return 0;
    }
    throw new ConfigError(`rra data: unknown subcommand ${JSON.stringify(sub)}; expected check or stats`);
  },
};
