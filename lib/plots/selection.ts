/**
 * Honest selection at a glance: for each student, the held-out nDCG@10 of its training side by epoch
 * (epoch 0 = the untrained student; with the residual prior, the first stage itself), pooled over the
 * folds, with the selected epoch count marked.
 */
import { axis, baseLayout, colour, legendBelow } from "./palette";
import type { PlotlyFigure } from "./types";

/** One student's held-out curve and its selected epoch count. */
export interface SelectionSeries {
  name: string;
  curve: ReadonlyArray<{ epoch: number; ndcg: number }>;
  selected: number | null;
}

/** Options of selectionFigure. */
export interface SelectionFigureOptions {
  title?: string;
  /** Label of the held-out data, e.g. "DL19 folds". Default "held-out folds". */
  heldOutLabel?: string;
}

/** Lines of held-out nDCG@10 per epoch; a marker on each student's selected epoch. */
export function selectionFigure(series: readonly SelectionSeries[], options: SelectionFigureOptions = {}): PlotlyFigure {
  const data: unknown[] = [];
  series.filter((s) => s.curve.length > 0).forEach((s, i) => {
    data.push({
      type: "scatter", mode: "lines+markers", name: s.name, legendgroup: s.name, x: s.curve.map((c) => c.epoch), y: s.curve.map((c) => c.ndcg),
      line: { color: colour(i), width: 2 }, marker: { size: 6 }, hovertemplate: `${s.name}<br>epoch %{x}<br>held-out nDCG@10 %{y:.4f}<extra></extra>`,
    });
    const pick = s.curve.find((c) => c.epoch === s.selected);
    if (pick) {
      data.push({
        type: "scatter", mode: "markers", name: `${s.name} (selected)`, legendgroup: s.name, showlegend: false, x: [pick.epoch], y: [pick.ndcg],
        marker: { color: colour(i), size: 14, symbol: "circle-open", line: { width: 3 } }, hovertemplate: `${s.name}: ${pick.epoch} epoch(s) selected<extra></extra>`,
      });
    }
  });
  return {
    data,
    layout: baseLayout(options.title ?? "Epoch selection on held-out folds of the training queries", {
      xaxis: axis("epochs trained (0 = the untrained student)", { dtick: 1 }),
      yaxis: axis(`nDCG@10 on ${options.heldOutLabel ?? "held-out folds"}`),
      legend: legendBelow(),
      margin: { l: 60, r: 20, t: 70, b: 150 },
    }),
  };
}
