/** Label cost against quality: prompt tokens per query (log axis) vs the teacher ranking's nDCG@10. */
import type { LabelReportRow } from "../labels/report";
import { placeLabels } from "./label-placement";
import { axis, baseLayout, colour } from "./palette";
import type { PlotlyFigure } from "./types";

/** A short name for a job's teacher: the model of a replayed log, the system of a projected run. */
export function shortTeacherName(teacher: string): string {
  return teacher.replace(/^(replay|projected):/, "").split("_")[0].replace(/^vicuna-7b-/, "vicuna-");
}

/** The figure size the label positions are computed for (saveFigure's default), in CSS pixels. */
const FIGURE_SIZE = { width: 800, height: 500 };

/**
 * One marker per job, coloured by selection mode; hover shows calls per query and the job. Each marker
 * is labelled by an annotation placed where it overlaps no other label or marker (label-placement.ts;
 * with a leader line when it had to move away), for a figure of `width` x `height` pixels.
 */
export function labelCostFigure(rows: readonly LabelReportRow[], options: { title?: string; width?: number; height?: number } = {}): PlotlyFigure {
  const { width = FIGURE_SIZE.width, height = FIGURE_SIZE.height } = options;
  // a job whose teacher answered nothing has no quality to plot
  const shown = rows.filter((r) => r.promptTokensPerQuery > 0 && r.teacherNdcg10 !== null);
  const selections = [...new Set(rows.map((r) => r.selection))];
  const data = selections.map((sel, i) => {
    const sub = shown.filter((r) => r.selection === sel);
    return {
      type: "scatter", mode: "markers", name: sel,
      x: sub.map((r) => r.promptTokensPerQuery), y: sub.map((r) => r.teacherNdcg10),
      text: sub.map((r) => `${shortTeacherName(r.teacher)} ${r.dataset}`),
      marker: { size: 12, color: colour(i), symbol: ["circle", "square", "diamond", "triangle-up"][i % 4] },
      customdata: sub.map((r) => [r.callsPerQuery, r.completionTokensPerQuery, r.job]),
      hovertemplate: "%{text}<br>%{x:.0f} prompt tokens/query, %{customdata[0]:.1f} calls/query<br>nDCG@10 %{y:.4f}<br>%{customdata[2]}<extra></extra>",
    };
  });
  // the height the labels were placed for goes into the layout: showFigure and saveFigure draw at it
  const layout = baseLayout(options.title ?? "Label cost vs quality", { height });
  const xs = shown.map((r) => Math.log10(r.promptTokensPerQuery));
  const ys = shown.map((r) => r.teacherNdcg10 as number);
  const xRange = xs.length ? [Math.min(...xs) - 0.1, Math.max(...xs) + 0.35] : undefined;
  const pad = ys.length ? Math.max(0.02, 0.08 * (Math.max(...ys) - Math.min(...ys))) : 0;
  const yRange = ys.length ? [Math.min(...ys) - pad, Math.max(...ys) + pad] : undefined;
  layout.xaxis = axis("LLM prompt tokens per query (log scale)", { type: "log", ...(xRange ? { range: xRange } : {}) });
  layout.yaxis = axis("nDCG@10 of the teacher's ranking", yRange ? { range: yRange } : {});
  if (xRange && yRange) {
    const margin = layout.margin as { l: number; r: number; t: number; b: number };
    const area = { width: width - margin.l - margin.r, height: height - margin.t - margin.b };
    const points = shown.map((r, i) => ({
      px: ((xs[i] - xRange[0]) / (xRange[1] - xRange[0])) * area.width,
      py: ((yRange[1] - ys[i]) / (yRange[1] - yRange[0])) * area.height,
      text: `${shortTeacherName(r.teacher)} ${r.dataset}`,
    }));
    // the highest points first: they sit under the legend and the title, where there is least room
    const order = points.map((_, i) => i).sort((a, b) => points[a].py - points[b].py || points[a].px - points[b].px);
    const placed = placeLabels(order.map((i) => points[i]), { ...area, fontSize: 11, markerSize: 12 });
    layout.annotations = order.map((i, k) => ({
      x: xs[i], y: ys[i], xref: "x", yref: "y", text: points[i].text, font: { size: 11 },
      showarrow: true, arrowhead: 0, arrowwidth: 1, arrowcolor: "#9a9a9a", standoff: 7, ax: placed[k].dx, ay: placed[k].dy,
    }));
  }
  return { data, layout };
}

/** Grouped bars of anomaly rates (missing, echo, duplicates per window) per job. */
export function labelAnomalyFigure(rows: readonly LabelReportRow[], options: { title?: string } = {}): PlotlyFigure {
  const names = rows.map((r) => `${shortTeacherName(r.teacher)} ${r.selection} ${r.dataset}`);
  const series: Array<[string, (r: LabelReportRow) => number]> = [
    ["missing ids (share of shown)", (r) => r.missingRate], ["echo windows (share)", (r) => r.echoRate], ["duplicate ids per window", (r) => r.duplicatesPerWindow],
  ];
  return {
    data: series.map(([name, f], i) => ({ type: "bar", name, x: names, y: rows.map(f), marker: { color: colour(i + 1) } })),
    layout: baseLayout(options.title ?? "Parse anomalies of the teachers' answers", {
      barmode: "group", xaxis: axis("", { tickangle: -30, automargin: true }), yaxis: axis("rate"), margin: { l: 60, r: 20, t: 70, b: 140 },
    }),
  };
}

/** What `hardNegativeFigure` needs of a label job (a LabelSummary has it). */
export interface HardNegativeInput {
  dataset: string;
  teacher: string;
  selection: string;
  hardNegativePrecision: { missing: number | null; listed: number | null; judgedMissing: number; judgedListed: number };
}

/**
 * Hard-negative precision: per label job, the share of judged documents the teacher left out ("missing")
 * that NIST judged non-relevant (grade <= 1), next to the same share among the documents it listed. A
 * missing set that is mostly non-relevant is what makes "missing = hard negative" a sound label. Jobs
 * whose teacher never left a judged document out show no missing bar (n = 0 in the hover).
 */
export function hardNegativeFigure(jobs: readonly HardNegativeInput[], options: { title?: string } = {}): PlotlyFigure {
  const names = jobs.map((j) => `${shortTeacherName(j.teacher)}<br>${j.selection} ${j.dataset}`);
  const series: Array<["missing" | "listed", string, number]> = [["missing", "missing (left out by the teacher)", 3], ["listed", "listed by the teacher", 0]];
  const data = series.map(([key, name, c]) => ({
    type: "bar", name, x: names,
    y: jobs.map((j) => j.hardNegativePrecision[key]),
    customdata: jobs.map((j) => (key === "missing" ? j.hardNegativePrecision.judgedMissing : j.hardNegativePrecision.judgedListed)),
    marker: { color: colour(c) },
    hovertemplate: `%{x}<br>${name}: %{y:.1%} judged non-relevant (n = %{customdata} judged)<extra></extra>`,
  }));
  return {
    data,
    layout: baseLayout(options.title ?? "Hard-negative precision: missing documents judged non-relevant", {
      barmode: "group", yaxis: axis("share judged non-relevant (grade <= 1)", { tickformat: ".0%", range: [0, 1] }), xaxis: axis("label job", { tickfont: { size: 9 } }),
    }),
  };
}
