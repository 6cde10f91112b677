/**
 * Rich display in tslab notebooks: interactive plotly charts (text/html) and tables, each with a
 * text/plain fallback. The only module that talks to tslab.
 *
 * plotly.js (4.7 MB) is inlined into the first chart of a kernel session only; later charts reuse
 * `window.Plotly`, or load it themselves when the page has none (after a reload, in a reopened or
 * exported notebook, when the first output was cleared): from the notebook server (files/ of the
 * notebook's folder) or the CDN. Each chart also carries the PNG saveFigure wrote (if it did), shown
 * until the chart draws and kept where scripts do not run (untrusted notebooks).
 * Classic Notebook 6 does not render the plotly mime bundle, hence text/html.
 */
import { existsSync, readFileSync } from "fs";
import { join, relative, sep } from "path";
import { ConfigError } from "../core/errors";
import { hash8 } from "../core/hash";
import { htmlTable, type HtmlTableOptions } from "./html-table";
import type { PlotlyFigure } from "./types";

/** Options of `showFigure`. */
export interface ShowFigureOptions {
  /** Chart height in pixels. Default the figure's layout.height, else 420. */
  height?: number;
  /** Inline plotly.js into this output. Default: only into the first chart of the kernel session. */
  inlinePlotly?: boolean;
}

type Bundle = Record<string, string>;
type WriteDisplayData = (msg: { data: Bundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/** Session state on globalThis, so that tslab re-compiling this module does not reset it. */
interface DisplayState { plotlyInlined: boolean; counter: number; pngs: Map<string, Buffer> }
function state(): DisplayState {
  const g = globalThis as unknown as { __rraDisplay?: DisplayState };
  g.__rraDisplay ??= { plotlyInlined: false, counter: 0, pngs: new Map() };
  g.__rraDisplay.pngs ??= new Map();
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

/** Where a chart output can load plotly.js from when the page has no `window.Plotly`. */
export interface PlotlySources {
  /** Path of plotly.min.js relative to the notebook's folder, as the notebook server serves it under files/ (null: none). */
  relative: string | null;
  /** A CDN copy of the same version (for exported HTML opened on a machine with internet). */
  cdn: string;
}

/**
 * Where this kernel's charts can load plotly.js from: the committed symlink `assets/plotly.min.js` beside
 * the notebooks when there is one (classic Notebook serves only the notebook folder), else the package
 * file relative to the kernel's folder (JupyterLab or Notebook 7 started at the project root serve it).
 */
export function plotlySources(cwd = process.cwd()): PlotlySources {
  const version = (require("plotly.js-dist-min/package.json") as { version: string }).version;
  const cdn = `https://cdn.plot.ly/plotly-${version}.min.js`;
  const beside = join(cwd, "assets", "plotly.min.js");
  if (existsSync(beside)) return { relative: "assets/plotly.min.js", cdn };
  let file: string;
  try {
    file = require.resolve("plotly.js-dist-min");
  } catch {
    return { relative: null, cdn };
  }
  return { relative: relative(cwd, file).split(sep).join("/"), cdn };
}

/**
 * The page-side loader (ES5, runs in the output's script): draws at once when `window.Plotly` is there;
 * otherwise loads plotly.js once per page (shared promise) from the notebook server's files/ URL of the
 * notebook's folder (classic Notebook: body data-base-url / data-notebook-path; JupyterLab and
 * Notebook 7: #jupyter-config-data baseUrl and the /tree/ or /notebooks/ part of the address), then
 * the CDN; if all fail, the static copy (when there is one) stays and a note says what to do.
 */
const LOADER = String.raw`function rraPlotly(el,data,layout,sources){
function draw(){el.innerHTML="";window.Plotly.newPlot(el,data,layout,{responsive:true});}
if(window.Plotly){draw();return;}
function dirUrl(){var b=document.body,base=b&&b.getAttribute("data-base-url"),nb=b&&b.getAttribute("data-notebook-path");
if(base!==null&&base!==undefined&&nb!==null&&nb!==undefined){return base.replace(/\/?$/,"/")+"files/"+nb.replace(/[^\/]*$/,"");}
var cfg=document.getElementById("jupyter-config-data");if(!cfg)return null;
try{var c=JSON.parse(cfg.textContent||"{}");var m=location.pathname.match(/\/(?:tree|notebooks)\/(.*)$/);if(!m)return null;
return String(c.baseUrl||"/").replace(/\/?$/,"/")+"files/"+m[1].replace(/[^\/]*$/,"");}catch(e){return null;}}
var w=window;if(!w.__rraPlotlyLoad){var urls=[];var d=dirUrl();if(d!==null&&sources.relative)urls.push(d+sources.relative);urls.push(sources.cdn);
w.__rraPlotlyLoad=new Promise(function(ok,fail){(function next(i){if(i>=urls.length){fail(urls);return;}
var s=document.createElement("script");s.src=urls[i];s.onload=function(){if(window.Plotly)ok();else next(i+1);};
s.onerror=function(){s.parentNode&&s.parentNode.removeChild(s);next(i+1);};document.head.appendChild(s);})(0);});}
w.__rraPlotlyLoad.then(draw,function(urls){w.__rraPlotlyLoad=null;var n=document.createElement("div");n.className="rra-plot-note";
n.textContent="plotly.js could not be loaded here (tried "+urls.join(", ")+"): restart the kernel and re-run the notebook, or open it from the project folder (npm run notebook).";
el.appendChild(n);});}`;

/** The static copy shown until (or instead of) the interactive chart: untrusted notebooks, no JavaScript. */
function staticFallback(png: Buffer | undefined, height: number): string {
  if (png) return `<img alt="chart (static copy; trust the notebook or re-run the cell for the interactive chart)" src="data:image/png;base64,${png.toString("base64")}" style="max-width:100%;max-height:${height}px"/>`;
  return `<div class="rra-plot-note">Interactive chart: it needs JavaScript (trust the notebook, or re-run the cell).</div>`;
}

/** The text/html of an interactive chart (div with a static fallback + optional plotly.js + loader script). */
export function figureHtmlFragment(fig: PlotlyFigure, id: string, height: number, inlinePlotly: boolean, sources: PlotlySources = plotlySources(), png?: Buffer): string {
  let html = `<div id="${id}" class="rra-plot" style="width:100%;height:${height}px">${staticFallback(png, height)}</div>\n`;
  if (inlinePlotly) {
    html += `<script>${readFileSync(require.resolve("plotly.js-dist-min"), "utf8").replace(/<\/script/gi, "<\\/script")}</script>\n`;
  }
  html += `<script>(function(){${LOADER}\nrraPlotly(document.getElementById(${scriptJson(id)}),${scriptJson(fig.data)},${scriptJson(fig.layout ?? {})},${scriptJson(sources)});})();</script>`;
  return html;
}

/** Remember the PNG that saveFigure wrote for a figure, so that showFigure can carry it as the static copy. */
export function rememberFigurePng(fig: PlotlyFigure, png: Buffer): void {
  const s = state();
  const key = hash8({ data: fig.data, layout: fig.layout ?? {} });
  s.pngs.delete(key);
  s.pngs.set(key, png);
  while (s.pngs.size > 64) s.pngs.delete(s.pngs.keys().next().value as string);
}

/**
 * Show an interactive plotly chart in the notebook: text/html (the chart, drawn with plotly.js from this
 * output, the page, the notebook server or the CDN), image/png (the static copy saveFigure wrote, for
 * untrusted notebooks) and text/plain.
 */
export function showFigure(fig: PlotlyFigure, opts: ShowFigureOptions = {}): void {
  if (!fig || !Array.isArray(fig.data)) throw new ConfigError(`showFigure: expected a plotly figure {data: [...], layout}, got data=${typeof fig?.data}`);
  const s = state();
  const layoutHeight = fig.layout?.height;
  const { height = typeof layoutHeight === "number" && layoutHeight > 0 ? layoutHeight : 420, inlinePlotly = !s.plotlyInlined } = opts;
  const id = `rra-plot-${hash8(fig)}-${++s.counter}`;
  const png = s.pngs.get(hash8({ data: fig.data, layout: fig.layout ?? {} }));
  const html = figureHtmlFragment(fig, id, height, inlinePlotly, plotlySources(), png);
  if (inlinePlotly) s.plotlyInlined = true;
  emit({ "text/html": html, ...(png ? { "image/png": png.toString("base64") } : {}), "text/plain": describeFigure(fig) });
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
