/**
 * Rich display in tslab notebooks: interactive plotly charts (text/html) and tables, each with a
 * text/plain fallback. The only module that talks to tslab.
 *
 * plotly.js (4.7 MB) is inlined into the first chart of a kernel session only; later charts reuse
 * `window.Plotly`. If that first output is cleared, later charts say so instead of staying blank.
 * Classic Notebook 6 does not render the plotly mime bundle, hence text/html.
 */
import { readFileSync } from "fs";
import { ConfigError } from "../core/errors";
import { hash8 } from "../core/hash";
import { htmlTable, type HtmlTableOptions } from "./html-table";
import type { PlotlyFigure } from "./types";

/** Options of `showFigure`. */
export interface ShowFigureOptions {
  /** Chart height in pixels. Default 420. */
  height?: number;
  /** Inline plotly.js into this output. Default: only into the first chart of the kernel session. */
  inlinePlotly?: boolean;
}

type Bundle = Record<string, string>;
type WriteDisplayData = (msg: { data: Bundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/** Session state on globalThis, so that tslab re-compiling this module does not reset it. */
interface DisplayState { plotlyInlined: boolean; counter: number }
function state(): DisplayState {
  const g = globalThis as unknown as { __rraDisplay?: DisplayState };
  g.__rraDisplay ??= { plotlyInlined: false, counter: 0 };
  return g.__rraDisplay;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** The running kernel's display writer (tslab 1.0.22 `dist/jupyter.lastWriteDisplayData`), if any. */
function kernelWriter(): WriteDisplayData | undefined {
  for (const m of Object.values(require.cache)) {
    const w = (m?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    if (typeof w === "function" && /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(m!.filename)) return w as WriteDisplayData;
  }
  return undefined;
}

/**
 * Show a multi-mime bundle as one output. In a tslab kernel all mime types go out together; if the
 * tslab internals moved, the public `display.html`/`markdown` is used; outside a kernel, text/plain is printed.
 */
function emit(bundle: Bundle): void {
  const write = kernelWriter();
  if (write) return write({ data: bundle, metadata: {}, transient: {} }, false);
  const inTslab = Object.keys(require.cache).some((f) => /[\\/]tslab[\\/]dist[\\/]/.test(f));
  if (inTslab) {
    const tslab = require("tslab") as typeof import("tslab");
    if (bundle["text/html"] !== undefined) return tslab.display.html(bundle["text/html"]);
    if (bundle["text/markdown"] !== undefined) return tslab.display.markdown(bundle["text/markdown"]);
  }
  console.log(bundle["text/plain"]);
}

/** One-line description of a figure: the text/plain fallback. */
export function describeFigure(fig: PlotlyFigure): string {
  const layout = fig.layout ?? {};
  const t = layout.title as { text?: unknown } | string | undefined;
  const title = typeof t === "string" ? t : typeof t?.text === "string" ? t.text : "";
  const traces = fig.data.map((d) => {
    const tr = (d ?? {}) as { type?: unknown; name?: unknown };
    return `${typeof tr.type === "string" ? tr.type : "scatter"}${typeof tr.name === "string" ? ` "${tr.name}"` : ""}`;
  });
  return `Plotly figure${title ? ` "${title}"` : ""}: ${traces.length} trace${traces.length === 1 ? "" : "s"}` +
    (traces.length ? ` (${traces.join(", ")})` : "");
}

/** The text/html of an interactive chart (div + optional plotly.js + newPlot script). */
export function figureHtmlFragment(fig: PlotlyFigure, id: string, height: number, inlinePlotly: boolean): string {
  let html = `<div id="${id}" class="rra-plot" style="width:100%;height:${height}px"></div>\n`;
  if (inlinePlotly) {
    html += `<script>${readFileSync(require.resolve("plotly.js-dist-min"), "utf8").replace(/<\/script/gi, "<\\/script")}</script>\n`;
  }
  html += `<script>(function(){var el=document.getElementById(${scriptJson(id)});` +
    `if(!window.Plotly){el.textContent="plotly.js is not loaded here: re-run the notebook (the first chart output carries plotly.js).";return;}` +
    `window.Plotly.newPlot(el,${scriptJson(fig.data)},${scriptJson(fig.layout ?? {})},{responsive:true});})();</script>`;
  return html;
}

/** Show an interactive plotly chart in the notebook (text/html, with a text/plain fallback). */
export function showFigure(fig: PlotlyFigure, opts: ShowFigureOptions = {}): void {
  if (!fig || !Array.isArray(fig.data)) throw new ConfigError(`showFigure: expected a plotly figure {data: [...], layout}, got data=${typeof fig?.data}`);
  const s = state();
  const { height = 420, inlinePlotly = !s.plotlyInlined } = opts;
  const id = `rra-plot-${hash8(fig)}-${++s.counter}`;
  const html = figureHtmlFragment(fig, id, height, inlinePlotly);
  if (inlinePlotly) s.plotlyInlined = true;
  emit({ "text/html": html, "text/plain": describeFigure(fig) });
}

/** Show a table given as HTML (starts with "<") or Markdown, with the source as text/plain. */
export function showTable(table: string): void {
  if (table.trimStart().startsWith("<")) emit({ "text/html": table, "text/plain": table.replace(/<[^>]*>/g, " ").replace(/[ \t]+/g, " ").trim() });
  else emit({ "text/markdown": table, "text/plain": table });
}

/** The parts of a danfo DataFrame that `showFrame` reads (no danfo import needed here). */
export interface FrameLike {
  columns: string[];
  values: unknown[];
}

/** Show a danfo DataFrame as an HTML table (all columns, full text), numbers to `digits` decimals. */
export function showFrame(df: FrameLike, options: HtmlTableOptions = {}): void {
  if (!df || !Array.isArray(df.columns) || !Array.isArray(df.values)) throw new ConfigError("showFrame: expected a danfo DataFrame (columns and values)");
  const records = (df.values as unknown[][]).map((row) => Object.fromEntries(df.columns.map((c, j) => [c, row[j]])));
  showTable(htmlTable(records, options));
}
