/** Plotly figure JSON as the figure builders in lib/plots/ return it (no DOM, no plotly import). */

/** A plotly figure: traces and layout, exactly what `Plotly.newPlot(el, data, layout)` takes. */
export interface PlotlyFigure {
  data: unknown[];
  layout?: Record<string, unknown>;
}
