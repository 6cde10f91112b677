/**
 * The paper-style figures of `rra reproduce`, each as PNG, SVG and interactive HTML: label cost against
 * quality, hard-negative precision of missing documents, the loss x target ablation, TCL on/off, students
 * against the teacher and BM25 by query length (the long-tail view), the epoch selection on held-out
 * folds, the held-out comparison, and the cross-validation over both years.
 */
import { closeFigures, saveFigure } from "../export/figures";
import { computeQueryStats } from "../data/query-stats";
import { loadDataset } from "../data/datasets";
import type { LabelSummary } from "../labels/pipeline";
import { labelReportRows } from "../labels/report";
import { ablationFigure } from "../plots/ablation";
import { hardNegativeFigure, labelCostFigure } from "../plots/label-cost";
import { metricByLengthFigure } from "../plots/metric-by-length";
import { systemComparisonFigure } from "../plots/system-comparison";
import { trainingCurvesFigure } from "../plots/training-curves";
import type { PlotlyFigure } from "../plots/types";
import { selectionFigure } from "../plots/selection";
import type { CrossValOutput, DirectionOutput } from "./pipeline";

/** Move the legend under the plot (figures with many systems, whose legend would cover the title). */
export function legendBelow(fig: PlotlyFigure): PlotlyFigure {
  const layout = fig.layout as Record<string, unknown>;
  const margin = { ...(layout.margin as Record<string, number> | undefined), b: 150 };
  return { ...fig, layout: { ...layout, legend: { orientation: "h", x: 0, xanchor: "left", y: -0.2, yanchor: "top" }, margin } };
}

/** Write every figure to `dir`; returns the files written. */
export async function writeReproduceFigures(input: { labels: readonly LabelSummary[]; directions: readonly DirectionOutput[]; crossval?: CrossValOutput | null; dir: string }): Promise<string[]> {
  const { labels, directions, dir } = input;
  const figures: Array<[string, PlotlyFigure]> = [];
  figures.push(["label_cost_quality", labelCostFigure(labelReportRows(labels), { title: "Label cost vs teacher quality: RRADistill's one window vs single and sliding windows" })]);
  figures.push(["hard_negative_precision", hardNegativeFigure(labels)]);
  const rows = directions.flatMap((d) => d.ablation.rows);
  const lossRows = rows.filter((r) => r.system === "bm25" || r.tcl === false);
  const lossDirections = new Set(directions.filter((d) => new Set(d.ablation.rows.filter((r) => r.system === "student" && r.tcl === false).map((r) => r.loss)).size > 1).map((d) => d.direction));
  if (lossDirections.size) {
    figures.push(["loss_ablation", ablationFigure(lossRows.filter((r) => lossDirections.has(r.direction)), { title: "Loss and target ablation (residual RRA-BERT, no TCL): test nDCG@10; dashed: BM25" })]);
  }
  figures.push(["tcl_on_off", ablationFigure(rows.filter((r) => r.system === "bm25" || r.loss === "listNet"), { title: "Term Control Layer v3 on/off (residual RRA-BERT, listNet): test nDCG@10; dashed: BM25" })]);
  for (const d of directions) {
    const test = loadDataset(d.test);
    const pq = d.comparison.perQuery;
    const qids = new Set(Object.keys(pq.BM25 ?? {}));
    const stats = computeQueryStats(test.queries.filter((q) => qids.has(q.qid)));
    const keep = Object.fromEntries(Object.entries(pq).filter(([name]) => !name.includes("sliding")));
    figures.push([`by_query_length_${d.test}`, legendBelow(metricByLengthFigure(keep, stats, "ndcg@10", { title: `${d.train.toUpperCase()} labels → ${d.test.toUpperCase()}: nDCG@10 by query length (long-tail view)` }))]);
    figures.push([`selection_${d.train}`, selectionFigure(d.selection.map((x) => ({ name: x.name, curve: x.curve, selected: x.epoch })), { heldOutLabel: `${d.train.toUpperCase()} folds`, title: `Epoch selection on held-out folds of ${d.train.toUpperCase()} (never on ${d.test.toUpperCase()})` })]);
    figures.push([`training_curves_${d.train}`, trainingCurvesFigure(d.curves.map((c) => ({ name: c.name, curves: c.curves })), { devLabel: d.train, title: `Training on ${d.train.toUpperCase()} labels (the selected runs): loss per step` })]);
    figures.push([`students_vs_bm25_${d.test}`, systemComparisonFigure(d.comparison.rows, { title: `${d.train.toUpperCase()} labels → ${d.test.toUpperCase()}: students vs BM25 and the teacher` })]);
  }
  if (input.crossval) figures.push(["students_crossval", systemComparisonFigure(input.crossval.rows, { title: `${input.crossval.folds}-fold cross-validation over DL19 + DL20 (${input.crossval.queries.pooled} queries): students vs BM25 and the teacher` })]);
  const files: string[] = [];
  try {
    for (const [name, fig] of figures) files.push(...(await saveFigure(fig, name, { dir })));
  } finally {
    await closeFigures();
  }
  return files;
}
