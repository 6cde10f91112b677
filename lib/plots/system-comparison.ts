/** Systems against a baseline: mean of one metric per system, significance after Holm marked on the bar. */
import type { ComparisonRow } from "../eval/compare";
import { axis, baseLayout, colour, legendBelow } from "./palette";
import type { PlotlyFigure } from "./types";

/** Options of `systemComparisonFigure`. */
export interface SystemComparisonOptions {
  title?: string;
  /** Metrics to draw as groups; default every metric in the rows, in order. */
  metrics?: readonly string[];
}

/**
 * One group of bars per metric, one bar per system; each non-baseline bar carries the bootstrap CI of
 * its difference to the baseline as an error bar and a dagger when the Holm-adjusted p is below alpha.
 */
export function systemComparisonFigure(rows: readonly ComparisonRow[], options: SystemComparisonOptions = {}): PlotlyFigure {
  const metrics = options.metrics ?? [...new Set(rows.map((r) => r.metric))];
  const systems = [...new Set(rows.map((r) => r.system))];
  const baseline = rows.find((r) => r.isBaseline)?.system ?? rows[0]?.baseline;
  const data = systems.map((system, i) => {
    const sel = metrics.map((m) => rows.find((r) => r.system === system && r.metric === m));
    return {
      type: "bar",
      name: system,
      x: metrics,
      y: sel.map((r) => r?.mean ?? null),
      marker: { color: colour(i) },
      text: sel.map((r) => (r ? r.mean.toFixed(3) + (r.significant ? "†" : "") : "")),
      // inside the bar when it fits, above it when the bar is too short (not shrunk to nothing)
      textposition: "auto",
      insidetextanchor: "start",
      textangle: -90,
      textfont: { size: 11 },
      insidetextfont: { color: "white", size: 11 },
      outsidetextfont: { color: "#333", size: 11 },
      constraintext: "none",
      cliponaxis: false,
      error_y: {
        type: "data", symmetric: false, visible: system !== baseline, color: "#444",
        array: sel.map((r) => (r && r.ciUpper !== null ? r.ciUpper - r.delta : 0)),
        arrayminus: sel.map((r) => (r && r.ciLower !== null ? r.delta - r.ciLower : 0)),
      },
      customdata: sel.map((r) => [r?.delta ?? 0, r?.pAdjusted ?? 1]),
      hovertemplate: `${system}<br>%{x}: %{y:.4f}<br>Δ vs ${baseline}: %{customdata[0]:+.4f}<br>Holm p: %{customdata[1]:.4f}<extra></extra>`,
    };
  });
  // more than four systems: the legend goes below the plot, where it cannot run into the title
  const below = systems.length > 4;
  const legendRows = Math.ceil(systems.length / 3);
  const alpha = rows[0]?.alpha ?? 0.05;
  const test = rows[0]?.test === "randomization" ? "randomization test" : "paired t-test";
  return {
    data,
    layout: baseLayout(options.title ?? `Systems vs ${baseline}`, {
      barmode: "group",
      yaxis: axis("mean over queries", { rangemode: "tozero" }),
      xaxis: axis(""),
      annotations: [{
        text: `† p < ${alpha} vs ${baseline} (${test}, Holm-corrected); error bars: 95% bootstrap CI of the difference`,
        xref: "paper", yref: "paper", x: 0, y: below ? -0.1 : -0.16, yanchor: "top", showarrow: false, font: { size: 11, color: "#555" }, xanchor: "left",
      }],
      ...(below ? { legend: legendBelow() } : {}),
      margin: { l: 60, r: 20, t: 70, b: below ? 90 + 24 * legendRows : 80 },
    }),
  };
}
