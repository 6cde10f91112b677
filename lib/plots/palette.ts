/** Colours and common layout of every workbench figure (colour-blind safe, Okabe-Ito). */

/** Okabe-Ito palette, in the order systems are drawn. */
export const PALETTE: readonly string[] = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

/** The colour of the i-th series. */
export function colour(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** The layout every figure starts from: white background, readable font, legend on top. */
export function baseLayout(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: { text: title, x: 0.02, xanchor: "left" },
    font: { family: "DejaVu Sans, Arial, sans-serif", size: 13 },
    paper_bgcolor: "white",
    plot_bgcolor: "white",
    margin: { l: 60, r: 20, t: 70, b: 60 },
    legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 1, xanchor: "right" },
    ...extra,
  };
}

/**
 * A horizontal legend below the plot, anchored to the bottom edge of the figure (yref "container"): it
 * stays clear of the x-axis title at any figure height (the bottom margin must hold tick labels, axis
 * title and `rows` legend rows). Placed as a fraction of the plot height instead, a legend that cleared
 * the title at 500 px sat on it at the notebook's 420 px.
 */
export function legendBelow(): Record<string, unknown> {
  return { orientation: "h", x: 0, xanchor: "left", yref: "container", y: 0, yanchor: "bottom" };
}

/** Axis style with light grid lines. */
export function axis(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { title: { text: title }, gridcolor: "#e5e5e5", zerolinecolor: "#bbbbbb", ...extra };
}

/** Round every number in a figure to `digits` decimals (smaller HTML, stable snapshots). */
export function roundNumbers<T>(value: T, digits = 6): T {
  const f = 10 ** digits;
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isInteger(v) ? Math.round(v * f) / f : v))) as T;
}
