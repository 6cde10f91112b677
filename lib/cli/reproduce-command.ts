/** `rra reproduce` (`npm start`): the main job, end to end. */
import { writeFileAtomic } from "../core/files";
import { relative } from "path";
import { checkData } from "../data/check";
import { projectPath } from "../core/paths";
import { provenance } from "../core/provenance";
import { comparisonMarkdown } from "../eval/tables";
import { defaultNotebooks } from "../notebooks/cli";
import { runNotebooks } from "../notebooks/runner";
import { labelReportMarkdown, labelReportRows } from "../labels/report";
import type { LabelSummary } from "../labels/pipeline";
import { listLabelJobs } from "../store/labels";
import { runBaselineStage, type BaselineStageResult } from "../pipeline/baselines";
import { closeStore, defaultDbPath, openStore } from "../store/db";
import { parseFlags, type Command } from "./args";

const HELP = `rra reproduce [options]      (npm start)

The main job. Today it runs:
  1. rra data check        validate every vendored file
  2. baselines             store the datasets and every shipped run with its trec_eval metrics in the
                           SQLite store, compare the LLM re-rankers with BM25 (DL19, DL20)
  3. notebooks             every notebooks/*.ipynb (01-07) in a tslab kernel, at full size unless SMOKE=1
                           (03-06 then train students; SMOKE=1 runs them in their CI size, ~3 min in all);
                           figures in figures/<notebook>/
and writes results.md (tables, label cost and quality, configuration, versions, wall time). Later
stages (students, export) join as their issues land.

Options:
  --db PATH            SQLite store (default: RRA_DB or data/rra.sqlite)
  --skip-notebooks     do not run the notebooks
  --out FILE           where to write the results (default results.md)
  -h, --help           this text`;

/** The reproduce command. */
export const reproduceCommand: Command = {
  name: "reproduce",
  summary: "the main job (npm start): data check, baselines into the store, every notebook, results.md",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("reproduce", argv, { db: { type: "string" }, "skip-notebooks": { type: "boolean" }, out: { type: "string" } });
    if (values.help) { console.log(HELP); return 0; }
    const t0 = Date.now();
    const step = (s: string) => console.error(`[reproduce] ${s} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

    step("1/3 data check");
    const failed = checkData().filter((r) => !r.ok);
    if (failed.length) {
      for (const f of failed) console.error(`FAIL ${f.file}: ${f.detail}`);
      console.error(`[reproduce] ${failed.length} data check(s) failed; stopping`);
      return 1;
    }

    step("2/3 baselines");
    const dbPath = (values.db as string | undefined) ?? defaultDbPath();
    const db = await openStore(dbPath);
    let stage: BaselineStageResult;
    try {
      stage = await runBaselineStage(db, { log: (l) => console.error(`  ${l}`) });
    } finally {
      await closeStore(db);
    }
    const tables = (["dl19", "dl20"] as const).map((y) => `### ${y.toUpperCase()}\n\n${comparisonMarkdown(stage.comparisons[y])}`).join("\n\n");
    console.log(tables);

    let notebookLine = "skipped (--skip-notebooks)";
    if (!values["skip-notebooks"]) {
      step("3/3 notebooks");
      // the notebooks use the same store as this command
      const runs = await runNotebooks(defaultNotebooks(), { env: { RRA_DB: dbPath } });
      const bad = runs.filter((r) => !r.ok);
      if (bad.length) {
        for (const r of bad) console.error(r.error);
        return 1;
      }
      notebookLine = `${runs.map((r) => relative(projectPath("notebooks"), r.notebook)).join(", ")} ran in a tslab kernel; executed copies in .cache/notebooks/; figures in figures/<notebook>/`;
    }
    const labelDb = await openStore(dbPath);
    const labelSummaries = (await listLabelJobs(labelDb)).map((j) => j.summary as LabelSummary | undefined).filter((x): x is LabelSummary => x !== undefined);
    await closeStore(labelDb);
    const labelTable = labelSummaries.length ? labelReportMarkdown(labelReportRows(labelSummaries)) : "(no label jobs in the store)";
    const seconds = (Date.now() - t0) / 1000;
    const p = provenance();
    const out = (values.out as string | undefined) ?? projectPath("results.md");
    const md = [
      "# RRADistill workbench: results",
      "",
      `Produced by \`rra reproduce\` in ${seconds.toFixed(1)} s on ${p.cpus} cores; git ${p.gitSha ?? "unknown"}${p.gitDirty ? " (uncommitted changes)" : ""}.`,
      "",
      "## Baselines: LLM re-rankers against BM25 (trec_eval rules, rel >= 2 for binary measures)",
      "",
      tables,
      "",
      "## Label generation: cost and quality per teacher and selection",
      "",
      labelTable,
      "",
      "## Provenance",
      "",
      `- store: ${dbPath} (${Object.keys(stage.runIds).length} runs with per-query metrics)`,
      `- notebook 01: ${notebookLine}`,
      `- node ${p.node}; ${Object.entries(p.packages).map(([k, v]) => `${k} ${v}`).join(", ")}`,
      `- significance: paired t-test, Holm correction, seed 42 for the bootstrap CIs`,
      "",
    ].join("\n");
    writeFileAtomic(out, md);
    step(`done: ${relative(process.cwd(), out) || out}`);
    return 0;
  },
};
