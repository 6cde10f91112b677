/** A metric by query-length bucket for several systems: where rankers gain or lose on long (tail) queries. */
import { LENGTH_BUCKETS, type QueryStats } from "../data/query-stats";
import type { PerQuery } from "../eval/types";
import { axis, baseLayout, colour } from "./palette";
import type { PlotlyFigure } from "./types";

/** Mean of `metric` per length bucket for each system; bucket sizes in the axis labels. */
export function metricByLengthFigure(systems: Record<string, PerQuery>, stats: readonly QueryStats[], metric: string, options: { title?: string } = {}): PlotlyFigure {
  const buckets = LENGTH_BUCKETS.filter((b) => stats.some((s) => s.bucket === b));
  const labels = buckets.map((b) => `${b} words (n=${stats.filter((s) => s.bucket === b).length})`);
  const data = Object.entries(systems).map(([name, perQuery], i) => ({
    type: "bar",
    name,
    x: labels,
    y: buckets.map((b) => {
      const vals = stats.filter((s) => s.bucket === b && perQuery[s.qid] !== undefined).map((s) => perQuery[s.qid][metric]);
      return vals.length ? vals.reduce((a, c) => a + c, 0) / vals.length : null;
    }),
    marker: { color: colour(i) },
    hovertemplate: `${name}<br>%{x}: ${metric} %{y:.4f}<extra></extra>`,
  }));
  return {
    data,
    layout: baseLayout(options.title ?? `${metric} by query length`, { barmode: "group", yaxis: axis(metric, { rangemode: "tozero" }), xaxis: axis("query length") }),
  };
}
