/** results.md of `rra reproduce`: headline tables with significance, ablations, label cost, export, figures, provenance. */
import { dirname, relative } from "path";
import { ablationMarkdown } from "../ablate/table";
import type { Provenance } from "../core/provenance";
import { comparisonMarkdown } from "../eval/tables";
import { labelReportMarkdown, labelReportRows } from "../labels/report";
import { isPostgresUrl, redactStoreTarget } from "../store/db";
import type { ReproduceResult } from "./pipeline";

const f4 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(4));

/** The whole results.md. */
export function reproduceMarkdown(r: ReproduceResult, p: Provenance): string {
  const here = dirname(r.paths.results);
  const link = (file: string) => relative(here, file).split("\\").join("/");
  const ran = r.outcomes.filter((o) => o.status === "ran");
  const computeTotal = r.outcomes.reduce((s, o) => s + o.computeSeconds, 0);
  const lines: string[] = [
    `# RRADistill workbench: results (${r.config.name} configuration)`,
    "",
    `Produced by \`rra reproduce${r.config.name === "fast" ? " --fast" : r.config.name === "default" ? "" : " --config ..."}\` (\`npm start\`). This run took ${r.seconds.toFixed(1)} s ` +
      (ran.length === r.outcomes.length ? `(every step computed now); ` : `(${ran.length} of ${r.outcomes.length} steps computed now, the others read back from earlier runs); `) + `computing every step took ${computeTotal.toFixed(0)} s in all ` +
      `(the sum of the steps' own times; two directions overlap unless --serial, so a first run's wall time is less). Machine: ${p.cpus} cores, ${p.memoryGiB} GiB; engine ${[...new Set(r.directions.map((d) => d.engine))].join(", ")}; ` +
      `git ${p.gitSha ?? "unknown"}${p.gitDirty ? " (uncommitted changes)" : ""}.`,
    "",
    ...(r.config.name === "fast" ? ["> **--fast**: every step runs on a few queries, short sequences and 1-2 epochs, to check the pipeline end to end. Its numbers are not results.", ""] : []),
    "## Headline: students on the held-out year against BM25 and the teacher",
    "",
    "Students learn from the teacher's labels of one TREC DL year (RRADistill window: top 10 + bottom 10 of the first 50 BM25 candidates, one listwise call per query, missing documents as hard negatives) " +
      `with reconstruction v3: collection statistics recovered from the first stage's BM25 scores, matching on stems, a residual score s = ${r.config.student.scoreScale ?? 1} s_net + w . f + beta z(BM25) whose lexical-feature weights w and prior beta are fitted first, top-heavy targets, the TCL v3. ` +
      `Each selects its epoch count on ${r.config.student.folds ?? 0} held-out folds of its training year (epoch 0 is the untrained student: the fitted lexical ranker, or BM25 itself without features); the test year is used for nothing but this table. ` +
      `Seeds: ${r.config.seeds.join(", ")} (per-query scores averaged over seeds before testing). † = significantly different from BM25 (paired t-test, Holm-corrected over the table's systems).`,
    "",
  ];
  for (const d of r.directions) {
    lines.push(`### ${d.train.toUpperCase()} labels → ${d.test.toUpperCase()}`, "", comparisonMarkdown(d.comparison.rows), "");
    const spread = d.comparison.seedStats.filter((s) => s.metric === "ndcg@10");
    if (r.config.seeds.length > 1) lines.push("Spread over seeds (nDCG@10): " + spread.map((s) => `${s.name} ${f4(s.mean)} ± ${f4(s.std)}`).join("; ") + ".", "");
    lines.push(`Selection on held-out folds of ${d.train.toUpperCase()}:`, "", "| student | seed | epochs selected | held-out nDCG@10 | steps | fusion weight |", "| :--- | ---: | ---: | ---: | ---: | ---: |",
      ...d.comparison.runs.map((x) => `| ${x.name} | ${x.seed} | ${x.selectedEpoch ?? "–"} | ${f4(x.selectionNdcg)} | ${x.steps} | ${x.fusionWeight ?? "–"} |`), "");
  }
  if (r.crossval) {
    const c = r.crossval;
    lines.push(`## Cross-validation over both years (${c.folds} folds, ${c.queries.pooled} queries)`, "",
      `The labelled queries of DL19 and DL20 pooled and dealt into ${c.folds} folds; each fold is re-ranked by a student trained (and its epoch count selected) on the other folds only, so every query is tested once, by a model that never saw it. Students: ${c.students.join("; ")}. Seeds: ${r.config.seeds.join(", ")}.`, "",
      comparisonMarkdown(c.rows), "");
    if (c.novelRows.length) lines.push(`NovelEval (${c.queries.noveleval} queries; no teacher ranking ships for it, so it is never trained on: each query is re-ranked by its fold's model; BM25 over each query's 20 candidates):`, "", comparisonMarkdown(c.novelRows), "");
  }
  lines.push("## Ablations: Term Control Layer v3, losses and targets, on the held-out year and on NovelEval", "",
    "The residual RRA-BERT (features + prior); every cell selects its epoch count on held-out folds of its training year; seeds averaged per query. † against BM25 (the shipped run on TREC DL; BM25 over each query's candidate pool on NovelEval), ‡ against the same configuration without the TCL. Losses are listNet unless named; gains are top-heavy (exp, tau 5) unless \"linear gains\".", "");
  for (const d of r.directions) lines.push(`### ${d.direction}`, "", ablationMarkdown(d.ablation.rows, { metrics: ["ndcg@10", "mrr@10"] }), "");
  const L = r.lexicon.report;
  lines.push("## Collection statistics", "",
    `Every lexical signal of the students (the match channel's IDF buckets, the TCL v3 term score, the lexical features, the prior of lists without scores) uses statistics recovered from the shipped Pyserini BM25 runs (lexicon ${r.lexicon.id} in the store; \`rra stats\`): ` +
      `k1 ${L.k1}, b ${L.b}, avgdl ${L.avgdl.toFixed(3)}, ${L.recoveredTerms} query terms' idf solved from the scores; the rest from ${L.corpusPassages} shipped passages, each query's own candidates left out, calibrated to the recovered scale.`, "",
    "| candidates | first stage nDCG@10 | BM25 re-scored nDCG@10 | Kendall tau mean (min) | query terms recovered |", "| :--- | ---: | ---: | ---: | ---: |",
    ...L.sets.map((x) => `| ${x.name} | ${f4(x.firstStageNdcg10)} | ${f4(x.rescoredNdcg10)} | ${f4(x.meanTau)} (${f4(x.minTau)}) | ${(100 * x.recoveredTerms).toFixed(1)}% |`), "");
  lines.push("## Label generation: cost against quality", "",
    "The RRADistill window asks the teacher once per query; RankGPT's sliding window (20, step 10, over the top 100) asks 9 times. Replayed jobs use real LLM outputs (rank_llm logs), projected ones the shipped RankVicuna-7B ranking seen through the window." +
      (r.config.labelQueries ? ` Jobs cover the first ${r.config.labelQueries} queries of each year.` : ""), "",
    labelReportMarkdown(labelReportRows(r.labels)), "");
  lines.push("## Baselines: the shipped LLM re-rankers against BM25 (trec_eval rules, rel >= 2 for binary measures)", "");
  for (const y of ["dl19", "dl20"] as const) lines.push(`### ${y.toUpperCase()}`, "", comparisonMarkdown(r.baselines[y]), "");
  const e = r.exported;
  lines.push("## Exported model", "",
    `${e.student} (${e.direction}, seed ${e.seed}; chosen by its held-out nDCG@10 on ${e.direction.split("->")[0].toUpperCase()} folds, ${f4(e.heldOutNdcg10)}; on the test year ${f4(e.testNdcg10)}) exported as ${e.format} to \`${link(e.out)}\` ` +
      `(${(e.bytes / 1e6).toFixed(1)} MB; parity with the trained model: max |diff| ${e.parityMaxAbsDiff.toExponential(2)} over ${e.parityPairs} DL20 pairs). ` +
      `Serve it with \`rra serve --model ${link(e.out)}\` or load it with \`loadReranker\`.`, "");
  lines.push("## Figures", "", "Each as PNG, SVG and interactive HTML.", "");
  for (const png of r.figures.filter((f) => f.endsWith(".png"))) lines.push(`![${png.split("/").pop()}](${link(png)})`, "");
  lines.push("## Steps", "", "| step | this run | seconds now | seconds when computed |", "| :--- | :--- | ---: | ---: |",
    ...r.outcomes.map((o) => `| ${o.name} | ${o.status === "ran" ? "computed" : "reused"} | ${o.seconds.toFixed(1)} | ${o.computeSeconds.toFixed(1)} |`), "");
  lines.push("## Configuration and provenance", "",
    `- work folder: \`${link(r.paths.work)}\` (config.json, steps/, students/models/<run id>/training.json per model)`,
    `- store: ${isPostgresUrl(r.paths.db) ? redactStoreTarget(r.paths.db) : `\`${link(r.paths.db)}\``}`,
    `- node ${p.node}; ${Object.entries(p.packages).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    "- significance: two-sided paired t-test over queries, Holm correction within each table; ablation cells averaged per query over seeds",
    "", "```json", JSON.stringify(r.config, null, 1), "```", "");
  return lines.join("\n");
}
