/** Query length distribution per dataset, split by question vs keyword form: the long-tail view of the data. */
import type { QueryStats } from "../data/query-stats";
import { axis, baseLayout, colour } from "./palette";
import type { PlotlyFigure } from "./types";

/** Options of `queryLengthFigure`. */
export interface QueryLengthOptions {
  title?: string;
  /** Split each dataset's bars by question / keyword form. Default true. */
  byForm?: boolean;
}

/** Grouped bars of how many queries have each length in words, one colour per dataset (and form). */
export function queryLengthFigure(stats: Record<string, readonly QueryStats[]>, options: QueryLengthOptions = {}): PlotlyFigure {
  const { title = "Query length (words) per dataset", byForm = true } = options;
  const all = Object.values(stats).flat();
  const maxWords = Math.max(1, ...all.map((s) => s.words));
  const xs = Array.from({ length: maxWords }, (_, i) => i + 1);
  const data: unknown[] = [];
  Object.entries(stats).forEach(([name, rows], i) => {
    const forms = byForm ? (["question", "keyword"] as const) : ([undefined] as const);
    for (const form of forms) {
      const sel = rows.filter((r) => form === undefined || r.form === form);
      if (sel.length === 0) continue;
      data.push({
        type: "bar",
        name: form ? `${name} (${form})` : name,
        x: xs,
        y: xs.map((w) => sel.filter((r) => r.words === w).length),
        marker: { color: colour(i), opacity: form === "keyword" ? 0.55 : 0.95, pattern: { shape: form === "keyword" ? "/" : "" } },
        offsetgroup: name,
        legendgroup: name,
        hovertemplate: `${name}${form ? ` ${form}` : ""}: %{y} queries of %{x} words<extra></extra>`,
      });
    }
  });
  return {
    data,
    layout: baseLayout(title, { barmode: byForm ? "relative" : "group", xaxis: axis("words in the query", { dtick: 1 }), yaxis: axis("queries") }),
  };
}
