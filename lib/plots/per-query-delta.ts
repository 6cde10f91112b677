/** Per-query differences of one system against a baseline, sorted: wins, ties and losses at a glance. */
import type { PerQuery } from "../eval/types";
import { axis, baseLayout } from "./palette";
import type { PlotlyFigure } from "./types";

/** Sorted bars of `system - baseline` per query for `metric` (green wins, vermillion losses). */
export function perQueryDeltaFigure(system: { name: string; perQuery: PerQuery }, baseline: { name: string; perQuery: PerQuery }, metric: string, options: { title?: string; queryText?: Record<string, string> } = {}): PlotlyFigure {
  const rows = Object.keys(baseline.perQuery)
    .filter((qid) => system.perQuery[qid] !== undefined)
    .map((qid) => ({ qid, d: system.perQuery[qid][metric] - baseline.perQuery[qid][metric] }))
    .sort((a, b) => b.d - a.d);
  const wins = rows.filter((r) => r.d > 0).length;
  const losses = rows.filter((r) => r.d < 0).length;
  return {
    data: [{
      type: "bar",
      x: rows.map((_, i) => i + 1),
      y: rows.map((r) => r.d),
      marker: { color: rows.map((r) => (r.d > 0 ? "#009E73" : r.d < 0 ? "#D55E00" : "#999999")) },
      customdata: rows.map((r) => [r.qid, options.queryText?.[r.qid] ?? ""]),
      hovertemplate: "qid %{customdata[0]}: %{y:+.4f}<br>%{customdata[1]}<extra></extra>",
      showlegend: false,
    }],
    layout: baseLayout(options.title ?? `${metric}: ${system.name} − ${baseline.name} per query (${wins} wins, ${losses} losses, ${rows.length - wins - losses} ties)`, {
      xaxis: axis("queries, sorted by difference"), yaxis: axis(`Δ ${metric}`),
    }),
  };
}
