/** The student ablation: grouped bars of one metric per configuration, seed error bars, BM25 as a line per test set. */
import type { AblationRow } from "../ablate/table";
import { axis, baseLayout, colour } from "./palette";
import type { PlotlyFigure } from "./types";

/** Options of `ablationFigure`. */
export interface AblationFigureOptions {
  title?: string;
  /** Metric key. Default "ndcg@10". */
  metric?: string;
  /** Series to draw, as `train->test`/test set pairs `dl19->dl20/dl20`; default every one in the rows. */
  series?: readonly string[];
}

const seriesKey = (r: AblationRow): string => `${r.direction}/${r.testSet}`;
const seriesName = (r: AblationRow): string => `${r.direction.split("->")[0]} → ${r.testSet}`;

/** A configuration label on one line per part ("listNet · hardNegative · TCL exact" -> three lines), so ticks need no rotation. */
function tickLabel(label: string): string {
  return label.split(" · ").join("<br>");
}

/**
 * One bar group per configuration (x), one bar per train → test series: the mean over seeds with the
 * sample std over seeds as error bar, † / ‡ when significantly different from BM25 / the no-TCL student;
 * BM25 of each series is a dashed horizontal line across the plot in the series' colour.
 */
export function ablationFigure(rows: readonly AblationRow[], options: AblationFigureOptions = {}): PlotlyFigure {
  const { metric = "ndcg@10" } = options;
  const series = options.series ?? [...new Set(rows.map(seriesKey))];
  const configs = [...new Set(rows.filter((r) => r.system === "student").map((r) => r.label))];
  const data: unknown[] = [];
  series.forEach((key, i) => {
    const mine = rows.filter((r) => seriesKey(r) === key);
    if (mine.length === 0) return;
    const name = seriesName(mine[0]);
    const sel = configs.map((c) => mine.find((r) => r.system === "student" && r.label === c));
    const m = sel.map((r) => r?.metrics[metric]);
    data.push({
      type: "bar",
      name,
      legendgroup: key,
      x: configs.map(tickLabel),
      y: m.map((v) => v?.mean ?? null),
      marker: { color: colour(i) },
      error_y: { type: "data", array: m.map((v) => v?.std ?? 0), visible: true, color: "#444" },
      text: m.map((v) => (v ? v.mean.toFixed(3) + (v.vsBm25?.significant ? "†" : "") + (v.vsNoTcl?.significant ? "‡" : "") : "")),
      // inside the bar when it fits, above it when the bar is too short (not shrunk to nothing)
      textposition: "auto",
      insidetextanchor: "start",
      textangle: -90,
      textfont: { size: 11 },
      insidetextfont: { color: "white", size: 11 },
      outsidetextfont: { color: "#333", size: 11 },
      constraintext: "none",
      cliponaxis: false,
      customdata: sel.map((r) => [r?.seeds.join(",") ?? "", r?.metrics[metric]?.vsBm25?.p ?? null, r?.metrics[metric]?.vsNoTcl?.p ?? null]),
      hovertemplate: `${name}<br>%{x}<br>${metric}: %{y:.4f} ± %{error_y.array:.4f} (seeds %{customdata[0]})<br>p vs BM25: %{customdata[1]:.4f}<br>p vs no TCL: %{customdata[2]:.4f}<extra></extra>`,
    });
    const bm25 = mine.find((r) => r.system === "bm25")?.metrics[metric];
    if (bm25) {
      // on a hidden [0, 1] axis over the categorical one, so the line spans the whole plot
      data.push({
        type: "scatter", mode: "lines", name: `BM25 (${name})`, legendgroup: key, showlegend: false, xaxis: "x2", x: [0, 1], y: [bm25.mean, bm25.mean],
        line: { color: colour(i), dash: "dash", width: 2 }, hovertemplate: `BM25 ${name}: ${bm25.mean.toFixed(4)}<extra></extra>`,
      });
    }
  });
  return {
    data,
    layout: baseLayout(options.title ?? `Student ablation: ${metric} per configuration`, {
      barmode: "group",
      yaxis: axis(`${metric} (mean over seeds)`, { rangemode: "tozero" }),
      xaxis: axis("", { tickangle: 0, automargin: true }),
      xaxis2: { overlaying: "x", range: [0, 1], visible: false, fixedrange: true },
      annotations: [{
        text: "error bars: std over seeds · dashed: BM25 (series colour) · † vs BM25, ‡ vs no TCL: paired p < alpha",
        xref: "paper", yref: "paper", x: 0, y: 0, yanchor: "top", yshift: -72, showarrow: false, font: { size: 11, color: "#555" }, xanchor: "left",
      }],
      margin: { l: 60, r: 20, t: 110, b: 120 },
    }),
  };
}
