/**
 * Simulated online evaluation against offline nDCG@10 (lib/online, a SIMULATION with click models over
 * the graded qrels, never a real online result): left, the interleaving win rate of each system over the
 * baseline with its 95% Wilson interval; right, the A/B split's delta CTR@k with its 95% interval; both
 * against the offline nDCG@10 difference, one marker series per click model. Points in the top-right or
 * bottom-left quadrant agree in sign with the offline metric.
 */
import type { OnlineComparison } from "../online/simulate";
import { axis, baseLayout, colour, legendBelow } from "./palette";
import type { PlotlyFigure } from "./types";

/** One system's comparison against the baseline under one click model. */
export interface OnlineRow {
  /** e.g. "RankVicuna-7B (DL19)". */
  label: string;
  /** Series name, e.g. "cascade" or "DCM, eta 1". */
  clickModel: string;
  comparison: OnlineComparison;
}

/** The two-panel figure of the module comment. */
export function onlineVsOfflineFigure(rows: readonly OnlineRow[], options: { title?: string; baseline?: string } = {}): PlotlyFigure {
  const models = [...new Set(rows.map((r) => r.clickModel))];
  const data: unknown[] = [];
  models.forEach((m, i) => {
    const rs = rows.filter((r) => r.clickModel === m);
    const x = rs.map((r) => r.comparison.offline.diff);
    const win = rs.map((r) => 1 - r.comparison.interleaving.winRateA);
    // the Wilson interval is of A's win rate: B's is its mirror image
    const winHi = rs.map((r, j) => 1 - r.comparison.interleaving.winRateCi.lower - win[j]);
    const winLo = rs.map((r, j) => win[j] - (1 - r.comparison.interleaving.winRateCi.upper));
    const ctr = rs.map((r) => r.comparison.split.deltaCtr);
    const marker = { color: colour(i), size: 9, symbol: ["circle", "diamond", "square", "triangle-up"][i % 4] };
    const text = rs.map((r) => r.label);
    data.push({
      type: "scatter", mode: "markers", name: m, legendgroup: m, x, y: win, text, marker,
      error_y: { type: "data", symmetric: false, array: winHi, arrayminus: winLo, thickness: 1 },
      hovertemplate: `%{text}<br>${m}<br>offline ΔnDCG@10 %{x:.3f}<br>win rate %{y:.3f}<extra></extra>`,
    }, {
      type: "scatter", mode: "markers", name: m, legendgroup: m, showlegend: false, x, y: ctr, text, marker, xaxis: "x2", yaxis: "y2",
      error_y: { type: "data", symmetric: false, array: rs.map((r, j) => r.comparison.split.deltaCtrCi.upper - ctr[j]), arrayminus: rs.map((r, j) => ctr[j] - r.comparison.split.deltaCtrCi.lower), thickness: 1 },
      hovertemplate: `%{text}<br>${m}<br>offline ΔnDCG@10 %{x:.3f}<br>ΔCTR %{y:.4f}<extra></extra>`,
    });
  });
  const k = rows[0]?.comparison.config.k ?? 10;
  const line = (xref: string, yref: string, x0: number | null, y0: number | null) => ({
    type: "line", xref: x0 === null ? `${xref} domain` : xref, yref: y0 === null ? `${yref} domain` : yref,
    x0: x0 ?? 0, x1: x0 ?? 1, y0: y0 ?? 0, y1: y0 ?? 1, line: { color: "#999", width: 1, dash: "dot" },
  });
  return {
    data,
    layout: baseLayout(options.title ?? `Simulated online evaluation against offline nDCG@10 (vs ${options.baseline ?? "the baseline"})`, {
      xaxis: axis("offline ΔnDCG@10 (system - baseline)", { domain: [0, 0.46], zeroline: false }),
      yaxis: axis("interleaving win rate of the system", { zeroline: false }),
      xaxis2: axis("offline ΔnDCG@10 (system - baseline)", { domain: [0.54, 1], anchor: "y2", zeroline: false }),
      yaxis2: axis(`A/B split ΔCTR@${k}`, { anchor: "x2", zeroline: false }),
      shapes: [line("x", "y", null, 0.5), line("x", "y", 0, null), line("x2", "y2", null, 0), line("x2", "y2", 0, null)],
      legend: legendBelow(),
      margin: { l: 70, r: 20, t: 70, b: 110 },
    }),
  };
}
