/**
 * Figures of the Term Control Layer (notebook 04) from lib/analysis/tcl-inspect.ts results: term weights
 * as a heatmap over the passage text, s_cls against s_cls + t, and the [CLS] attention share on matched
 * terms of a model trained with the TCL against one trained without.
 */
import type { AttentionComparison, PairInspection } from "../analysis/tcl-types";
import { ConfigError } from "../core/errors";
import { axis, baseLayout, colour } from "./palette";
import type { PlotlyFigure } from "./types";

/** Options of termWeightFigure. */
export interface TermWeightFigureOptions {
  title?: string;
  /** Passage tokens per heatmap row (the passage wraps like text). Default 12. */
  rowLength?: number;
}

/** One pair's passage tokens laid out in rows of `rowLength`: tokens, term weights (null = unselected) and positions. */
export function passageGrid(p: PairInspection, rowLength: number): { text: string[][]; w: Array<Array<number | null>>; selected: boolean[][] } {
  if (!p.termWeights) throw new ConfigError(`termWeightFigure: pair ${JSON.stringify(p.label)} has no term weights (inspected with a model without TCL)`);
  const weights = p.termWeights;
  const idx = p.tokens.map((tok, i) => i).filter((i) => p.side[i] === 1 && p.tokens[i] !== "[SEP]");
  const text: string[][] = [], w: Array<Array<number | null>> = [], selected: boolean[][] = [];
  for (let r = 0; r * rowLength < idx.length; r++) {
    const row = idx.slice(r * rowLength, (r + 1) * rowLength);
    const pad = rowLength - row.length;
    text.push([...row.map((i) => p.tokens[i]), ...Array<string>(pad).fill("")]);
    w.push([...row.map((i) => (p.selected[i] > 0 ? weights[i] : null)), ...Array<null>(pad).fill(null)]);
    selected.push([...row.map((i) => p.selected[i] > 0), ...Array<boolean>(pad).fill(false)]);
  }
  return { text, w, selected };
}

/**
 * Heatmap of TCL term weights w_i over the passage tokens, one panel per pair, the passage wrapped in
 * rows of `rowLength` tokens. Selected tokens are coloured by w_i (colour range = the weights' range over all
 * pairs); unselected tokens are shown on grey.
 * Per panel two traces: a grey one for every passage token (text of unselected tokens) and the weights.
 */
export function termWeightFigure(pairs: readonly PairInspection[], options: TermWeightFigureOptions = {}): PlotlyFigure {
  const { title = "TCL term weights over the passage", rowLength = 12 } = options;
  if (pairs.length === 0) throw new ConfigError("termWeightFigure: no pairs to plot");
  const grids = pairs.map((p) => passageGrid(p, rowLength));
  const all = grids.flatMap((g) => g.w.flat()).filter((v): v is number => v !== null);
  const cmax = all.length ? Math.max(...all) : 1;
  const cmin = all.length && Math.min(...all) < cmax ? Math.min(...all) : 0; // the weights' own range: softplus keeps them > 0
  const totalRows = grids.reduce((n, g) => n + g.text.length, 0);
  const gap = 0.06;
  const usable = 1 - gap * (pairs.length - 1);
  const data: unknown[] = [];
  const layout: Record<string, unknown> = {};
  const annotations: unknown[] = [];
  let top = 1;
  grids.forEach((g, k) => {
    const ax = k === 0 ? "" : String(k + 1);
    const h = (usable * g.text.length) / totalRows;
    const x = Array.from({ length: rowLength }, (_, i) => i);
    const y = g.text.map((_, r) => r);
    const real = g.text.map((row) => row.map((t) => (t === "" ? null : 0)));
    data.push({
      type: "heatmap", x, y, z: real, xaxis: `x${ax}`, yaxis: `y${ax}`, colorscale: [[0, "#ececec"], [1, "#ececec"]], showscale: false, xgap: 2, ygap: 2,
      text: g.text.map((row, r) => row.map((t, i) => (g.selected[r][i] ? "" : t))), texttemplate: "%{text}", textfont: { size: 11, color: "#777" },
      hoverinfo: "skip", name: `${pairs[k].label} (unselected)`,
    });
    data.push({
      type: "heatmap", x, y, z: g.w, xaxis: `x${ax}`, yaxis: `y${ax}`, coloraxis: "coloraxis", xgap: 2, ygap: 2,
      text: g.text.map((row, r) => row.map((t, i) => (g.selected[r][i] ? t : ""))), texttemplate: "%{text}", textfont: { size: 11 },
      hovertemplate: "%{text}: w = %{z:.3f}<extra></extra>", name: pairs[k].label,
    });
    layout[`xaxis${ax}`] = { domain: [0, 1], anchor: `y${ax}`, showticklabels: false, ticks: "", showgrid: false, zeroline: false };
    layout[`yaxis${ax}`] = { domain: [Math.max(0, top - h), top], anchor: `x${ax}`, autorange: "reversed", showticklabels: false, ticks: "", showgrid: false, zeroline: false };
    const p = pairs[k];
    const score = p.t === null ? "" : ` · t = ${p.t.toFixed(3)}`;
    annotations.push({ text: `<b>${p.label}</b>: ${p.query}${score}`, xref: "paper", yref: "paper", x: 0, y: top, yanchor: "bottom", xanchor: "left", showarrow: false, font: { size: 12 } });
    top -= h + gap;
  });
  return {
    data,
    layout: baseLayout(title, {
      ...layout, annotations, height: 140 + 32 * totalRows + 40 * pairs.length, margin: { l: 20, r: 20, t: 90, b: 20 },
      coloraxis: { colorscale: "YlOrRd", reversescale: true, cmin, cmax, colorbar: { title: { text: "w<sub>i</sub>" }, thickness: 14 } },
    }),
  };
}

/** The height a figure asks for (layout.height), else `fallback`: pass it to saveFigure/showFigure. */
export function figureHeight(fig: PlotlyFigure, fallback = 500): number {
  const h = fig.layout?.height;
  return typeof h === "number" && h > 0 ? h : fallback;
}

/** Options of tclScoreFigure. */
export interface TclScoreFigureOptions {
  title?: string;
  /** The same pairs inspected with a model trained without TCL: adds its s_cls. */
  without?: readonly PairInspection[];
}

/** Grouped bars per pair: s_cls and s_cls + t of the TCL model (and s_cls of a model trained without TCL). */
export function tclScoreFigure(pairs: readonly PairInspection[], options: TclScoreFigureOptions = {}): PlotlyFigure {
  const { title = "Serving score s_cls and training score s_cls + t", without } = options;
  if (without && without.length !== pairs.length) throw new ConfigError(`tclScoreFigure: ${without.length} pairs in "without" but ${pairs.length} pairs`);
  const x = pairs.map((p) => p.label);
  const bar = (name: string, y: Array<number | null>, i: number): Record<string, unknown> => ({
    type: "bar", name, x, y, marker: { color: colour(i) }, text: y.map((v) => (v === null ? "" : v.toFixed(3))), textposition: "outside",
    hovertemplate: `${name}<br>%{x}: %{y:.4f}<extra></extra>`,
  });
  const data = [bar("s_cls (with TCL)", pairs.map((p) => p.sCls), 0), bar("s_cls + t (with TCL)", pairs.map((p) => p.sTcl), 1)];
  if (without) data.push(bar("s_cls (without TCL)", without.map((p) => p.sCls), 2));
  return { data, layout: baseLayout(title, { barmode: "group", yaxis: axis("score"), xaxis: axis("") }) };
}

/** Options of attentionShareFigure. */
export interface AttentionShareFigureOptions {
  title?: string;
  /** Names of model A and model B. Default "with TCL", "without TCL". */
  names?: [string, string];
}

/** Grouped bars per pair: [CLS] attention share on matched passage tokens for two models, with the uniform-attention share as a marker. */
export function attentionShareFigure(rows: readonly AttentionComparison[], options: AttentionShareFigureOptions = {}): PlotlyFigure {
  const { title = "[CLS] attention on matched passage terms", names = ["with TCL", "without TCL"] } = options;
  const x = rows.map((r) => r.label);
  const bar = (name: string, y: number[], i: number): Record<string, unknown> => ({
    type: "bar", name, x, y, marker: { color: colour(i) }, text: y.map((v) => v.toFixed(3)), textposition: "outside",
    hovertemplate: `${name}<br>%{x}: %{y:.4f} of [CLS] attention<extra></extra>`,
  });
  return {
    data: [
      bar(names[0], rows.map((r) => r.shareA), 0), bar(names[1], rows.map((r) => r.shareB), 2),
      {
        type: "scatter", mode: "markers", name: "uniform attention", x, y: rows.map((r) => r.matchedFraction),
        marker: { symbol: "line-ew-open", size: 36, color: "#444", line: { width: 2 } }, hovertemplate: "uniform: %{y:.4f}<extra></extra>",
      },
    ],
    layout: baseLayout(title, { barmode: "group", yaxis: axis("share of [CLS] attention", { rangemode: "tozero" }), xaxis: axis("") }),
  };
}

/** One table row per pair: scores, how many tokens were selected, and the [CLS] attention share on matched terms. */
export function tclSummaryRows(pairs: readonly PairInspection[]): Array<Record<string, string | number>> {
  return pairs.map((p) => ({
    pair: p.label, query: p.query, tokens: p.tokens.length, selected: p.selected.reduce((a, b) => a + b, 0),
    s_cls: p.sCls, t: p.t ?? NaN, "s_cls + t": p.sTcl ?? NaN, "CLS attn on matched": p.matchedShare, "uniform share": p.matchedFraction,
  }));
}

/** One table row per selected token of a pair: side, idf, term weight w_i and mean [CLS] attention. */
export function selectedTokenRows(p: PairInspection): Array<Record<string, string | number>> {
  return p.tokens.flatMap((token, i) => (p.selected[i] > 0 ? [{
    position: i, token, side: p.side[i] === 0 ? "query" : "passage", idf: p.idf[i], w: p.termWeights ? p.termWeights[i] : NaN, "CLS attn": p.clsAttentionMean[i],
  }] : []));
}
