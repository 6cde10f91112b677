/** Training curves of one or more student runs: train loss per step (left) and dev nDCG@10 per epoch (right). */
import type { CurvePoint } from "../train/config";
import { axis, baseLayout, colour } from "./palette";
import type { PlotlyFigure } from "./types";

/** One run's curves under a display name. */
export interface NamedCurves {
  name: string;
  curves: readonly CurvePoint[];
}

/** Options of trainingCurvesFigure. */
export interface TrainingCurvesOptions {
  title?: string;
  /** Moving-average window over train-loss steps (1 = raw). Default 5. */
  smooth?: number;
  /** Horizontal reference lines on the nDCG@10 panel, e.g. {BM25: 0.4796}. */
  references?: Readonly<Record<string, number>>;
  /** Label of the dev metric's data set, for the right panel's title. Default "dev". */
  devLabel?: string;
}

/** Trailing moving average of `values` over `window` points. */
export function movingAverage(values: readonly number[], window: number): number[] {
  const w = Math.max(1, Math.floor(window));
  let sum = 0;
  return values.map((v, i) => {
    sum += v;
    if (i >= w) sum -= values[i - w];
    return sum / Math.min(i + 1, w);
  });
}

/** Left: train loss by optimizer step (smoothed, raw faint); right: dev nDCG@10 by epoch with reference lines. */
export function trainingCurvesFigure(runs: readonly NamedCurves[], options: TrainingCurvesOptions = {}): PlotlyFigure {
  const { smooth = 5, references = {}, devLabel = "dev" } = options;
  const data: unknown[] = [];
  runs.forEach((run, i) => {
    const loss = run.curves.filter((c) => c.split === "train" && c.metric === "loss");
    const dev = run.curves.filter((c) => c.split === "dev" && c.metric === "ndcg@10");
    data.push({ type: "scatter", mode: "lines", name: run.name, legendgroup: run.name, showlegend: false, x: loss.map((c) => c.step), y: loss.map((c) => c.value),
      line: { color: colour(i), width: 1 }, opacity: 0.3, hoverinfo: "skip" });
    data.push({ type: "scatter", mode: "lines", name: run.name, legendgroup: run.name, x: loss.map((c) => c.step), y: movingAverage(loss.map((c) => c.value), smooth),
      line: { color: colour(i), width: 2 }, hovertemplate: `${run.name}<br>step %{x}<br>loss %{y:.4f}<extra></extra>` });
    data.push({ type: "scatter", mode: "lines+markers", name: run.name, legendgroup: run.name, showlegend: false, xaxis: "x2", yaxis: "y2",
      x: dev.map((c) => c.epoch), y: dev.map((c) => c.value), line: { color: colour(i), width: 2 }, hovertemplate: `${run.name}<br>epoch %{x}<br>nDCG@10 %{y:.4f}<extra></extra>` });
  });
  const refNames = Object.keys(references);
  refNames.forEach((name, k) => {
    data.push({ type: "scatter", mode: "lines", name, xaxis: "x3", yaxis: "y2", x: [0, 1], y: [references[name], references[name]],
      line: { color: "#555", dash: k === 0 ? "dash" : "dot", width: 1.5 }, hovertemplate: `${name}: ${references[name].toFixed(4)}<extra></extra>` });
  });
  return {
    data,
    layout: baseLayout(options.title ?? "Student training curves", {
      xaxis: axis("optimizer step", { domain: [0, 0.46] }),
      yaxis: axis(`train loss (moving average of ${smooth})`),
      xaxis2: axis("epoch", { domain: [0.56, 1], dtick: 1 }),
      yaxis2: axis(`${devLabel} nDCG@10`, { anchor: "x2", rangemode: "tozero" }),
      xaxis3: { overlaying: "x2", range: [0, 1], visible: false, fixedrange: true },
      margin: { l: 60, r: 20, t: 90, b: 60 },
    }),
  };
}
