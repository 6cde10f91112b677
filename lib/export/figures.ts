/**
 * Figure export: PNG and SVG through `Plotly.toImage` in one reused headless Chromium page
 * (playwright-core, Debian's /usr/bin/chromium), plus an interactive HTML page that loads plotly.js from one
 * shared copy in `<figures>/assets/` (so each page stays small and the folder can be committed). Loading plotly.js into the page costs 2-4 s once; later figures ~0.25 s.
 *
 * The browser never keeps a Node process alive: its process and pipes are unref'd between calls, and
 * playwright kills it when Node exits. `closeFigures()` closes it explicitly.
 *
 * Same figure, same bytes: plotly names the clip paths and layers of an SVG with random ids
 * (Math.random), so the page's Math.random is replaced by a seeded generator, reset before every
 * image; a committed figure written again from the same inputs leaves the checkout clean.
 */
import { ChildProcess } from "child_process";
import { existsSync, readFileSync } from "fs";
import { writeFileAtomic } from "../core/files";
import { dirname, join, relative, resolve, sep } from "path";
import type { Browser, Page } from "playwright-core";
import { ConfigError, RraError } from "../core/errors";
import { projectPath } from "../core/paths";
import { rememberFigurePng } from "../plots/display";
import type { PlotlyFigure } from "../plots/types";

/** A file format `saveFigure` writes. "json" is the figure itself (data + layout). */
export type FigureFormat = "png" | "svg" | "html" | "json";

/** Options of `saveFigure`. */
export interface SaveFigureOptions {
  /** Output folder. Default $RRA_FIGURES_DIR, else `<root>/figures`. */
  dir?: string;
  /** Files to write, one per format. Default ["png", "svg", "html"]. */
  formats?: FigureFormat[];
  /** Width in CSS pixels. Default 800. */
  width?: number;
  /** Height in CSS pixels. Default the figure's layout.height, else 500. */
  height?: number;
  /** Pixel ratio of the PNG (2 gives 1600x1000 for the defaults). Default 2. */
  scale?: number;
}

const FORMATS: readonly FigureFormat[] = ["png", "svg", "html", "json"];
const OPTION_KEYS = ["dir", "formats", "width", "height", "scale"];
/** Flags for headless Debian Chromium (measured on this machine; no sandbox as root in containers). */
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];
/**
 * Replaces the page's Math.random with mulberry32 (the project's seeded generator, core/rng.ts), reset by
 * `__rraSeedRandom(seed)` before each image, so that plotly's random element ids are the same every time.
 */
const SEEDED_RANDOM = `(() => {
  let s = 0;
  globalThis.__rraSeedRandom = (seed) => { s = seed >>> 0; };
  Math.random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
})();`;
/**
 * The seed of the page's Math.random before every image. The files do not depend on it: plotly's
 * random ids are renamed in the SVG (canonicalSvgIds), and nothing random reaches the pixels.
 */
let figureSeed = 1;
/** For tests: set the page's Math.random seed used before every image (any value gives the same files). */
export function setFigureSeed(seed: number): void { figureSeed = seed >>> 0; }
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;
const IDLE_CLOSE_MS = 10_000;

interface Session { browser: Browser; page: Page; unrefd: boolean }
let session: Promise<Session> | undefined;
let queue: Promise<unknown> = Promise.resolve();
let idleTimer: NodeJS.Timeout | undefined;
let plotlySource: string | undefined;

/** plotly.min.js (4.7 MB), read once. */
export function plotlyJs(): string {
  plotlySource ??= readFileSync(require.resolve("plotly.js-dist-min"), "utf8").replace(/<\/script/gi, "<\\/script");
  return plotlySource;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * An interactive HTML page for a figure. `plotlySrc` is the URL of plotly.js relative to the page
 * (one shared copy per figures folder keeps each page a few kB); without it plotly.js is inlined.
 */
export function figureHtml(fig: PlotlyFigure, title: string, height = 500, plotlySrc?: string): string {
  const lib = plotlySrc ? `<script src="${escapeHtml(plotlySrc)}"></script>` : `<script>${plotlyJs()}</script>`;
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>\n` +
    `${lib}</head>\n<body style="margin:0">\n` +
    `<div id="figure" style="width:100%;height:${height}px"></div>\n` +
    `<script>Plotly.newPlot("figure", ${scriptJson(fig.data)}, ${scriptJson(fig.layout ?? {})}, {responsive: true});</script>\n` +
    `</body></html>\n`;
}

/** Where saveFigure writes by default: $RRA_FIGURES_DIR when set (tests, CI-sized notebook runs), else `<root>/figures`. */
export function defaultFiguresDir(): string {
  return process.env.RRA_FIGURES_DIR || projectPath("figures");
}

/** Write `<dir>/assets/plotly-<version>.min.js` once and return its path. */
export function ensurePlotlyAsset(dir: string): string {
  const version = (require("plotly.js-dist-min/package.json") as { version: string }).version;
  const file = join(dir, "assets", `plotly-${version}.min.js`);
  if (!existsSync(file)) {
    writeFileAtomic(file, readFileSync(require.resolve("plotly.js-dist-min")));
  }
  return file;
}

function checkArgs(fig: PlotlyFigure, name: string, opts: SaveFigureOptions): void {
  const where = `saveFigure(${JSON.stringify(name)})`;
  if (!fig || !Array.isArray(fig.data)) throw new ConfigError(`${where}: expected a plotly figure {data: [...], layout}, got data=${typeof fig?.data}`);
  if (typeof name !== "string" || !NAME_RE.test(name) || /\.(png|svg|html|json)$/.test(name)) {
    throw new ConfigError(`${where}: expected a relative name without extension such as "02_loss_ablation/ndcg" (letters, digits, _ . - and /)`);
  }
  const unknown = Object.keys(opts).filter((k) => !OPTION_KEYS.includes(k));
  if (unknown.length) throw new ConfigError(`${where}: unknown option ${unknown.map((k) => JSON.stringify(k)).join(", ")}; expected one of ${OPTION_KEYS.join(", ")}`);
  const bad = (opts.formats ?? []).filter((f) => !FORMATS.includes(f));
  if (bad.length) throw new ConfigError(`${where}: unknown format ${JSON.stringify(bad[0])}; expected some of ${FORMATS.join(", ")}`);
  for (const [key, max] of [["width", 10000], ["height", 10000], ["scale", 10]] as const) {
    const v = opts[key];
    if (v !== undefined && !(typeof v === "number" && v > 0 && v <= max)) throw new ConfigError(`${where}: ${key} must be a number in (0, ${max}], got ${JSON.stringify(v)}`);
  }
}

/** Launch Chromium with plotly.js loaded in one page. */
async function openSession(): Promise<Session> {
  const fromEnv = process.env.CHROMIUM_PATH;
  const executablePath = fromEnv || "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    throw new RraError(`saveFigure: Chromium not found at ${executablePath}${fromEnv ? " (from CHROMIUM_PATH)" : ""}; ` +
      "install it with scripts/setup-system.sh (apt-get install chromium) or point CHROMIUM_PATH at a Chromium binary");
  }
  const getHandles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
  const before = new Set(getHandles ? getHandles.call(process) : []);
  let browser: Browser;
  try {
    // handleSIGINT false: a kernel interrupt (SIGINT) must not kill the browser and the kernel with it.
    // playwright-core is required here, not at the top: loading it takes ~1 s, which every notebook's
    // import cell paid even when it saved no figure.
    const { chromium } = require("playwright-core") as typeof import("playwright-core");
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, handleSIGINT: false, timeout: 60_000 });
  } catch (e) {
    throw new RraError(`saveFigure: could not start Chromium ${executablePath}: ${(e as Error).message.split("\n")[0]}`);
  }
  // Unref the browser process and its pipes so that it never holds the event loop open.
  let unrefd = false;
  for (const h of getHandles ? getHandles.call(process) : []) {
    if (before.has(h) || !(h instanceof ChildProcess)) continue;
    h.unref();
    for (const s of h.stdio) (s as { unref?: () => void } | null)?.unref?.();
    unrefd = true;
  }
  const page = await browser.newPage();
  await page.setContent("<!doctype html><html><body></body></html>");
  await page.addScriptTag({ content: SEEDED_RANDOM });
  await page.addScriptTag({ content: plotlyJs() });
  return { browser, page, unrefd };
}

/**
 * Write `<dir>/<name>.<format>` for each format (default png, svg, html), each atomically, and
 * return the paths. `name` may contain folders: `saveFigure(fig, "02_loss_ablation/ndcg")`.
 */
export function saveFigure(fig: PlotlyFigure, name: string, opts: SaveFigureOptions = {}): Promise<string[]> {
  checkArgs(fig, name, opts);
  const run = queue.then(() => render(fig, name, opts));
  queue = run.catch(() => undefined);
  return run;
}

async function render(fig: PlotlyFigure, name: string, opts: SaveFigureOptions): Promise<string[]> {
  const layoutHeight = fig.layout?.height;
  const { dir = defaultFiguresDir(), formats = ["png", "svg", "html"], width = 800, height = typeof layoutHeight === "number" && layoutHeight > 0 ? layoutHeight : 500, scale = 2 } = opts;
  const base = join(resolve(dir), name);
  const hold = setInterval(() => undefined, 1 << 30); // keeps Node alive while the unref'd browser works
  if (idleTimer) clearTimeout(idleTimer);
  try {
    const written: string[] = [];
    for (const format of formats) {
      const file = `${base}.${format}`;
      if (format === "html") {
        const asset = relative(dirname(file), ensurePlotlyAsset(dir)).split(sep).join("/");
        writeFileAtomic(file, figureHtml(fig, name, height, asset));
      }
      else if (format === "json") writeFileAtomic(file, JSON.stringify({ data: fig.data, layout: fig.layout ?? {} }, null, 1) + "\n");
      else {
        const image = await toImage(fig, name, format, width, height, scale);
        writeFileAtomic(file, image);
        if (format === "png" && Buffer.isBuffer(image)) rememberFigurePng(fig, image); // showFigure's static copy
      }
      written.push(file);
    }
    return written;
  } finally {
    clearInterval(hold);
    void scheduleIdleClose();
  }
}

async function toImage(fig: PlotlyFigure, name: string, format: "png" | "svg", width: number, height: number, scale: number): Promise<Buffer | string> {
  session ??= openSession();
  let page: Page;
  try {
    page = (await session).page;
  } catch (e) {
    session = undefined;
    throw e;
  }
  let url: string;
  try {
    url = await page.evaluate(
      (a) => {
        const g = globalThis as unknown as { __rraSeedRandom(seed: number): void; Plotly: { toImage(f: unknown, o: unknown): Promise<string> } };
        g.__rraSeedRandom(a.seed);
        return g.Plotly.toImage({ data: a.data, layout: a.layout }, { format: a.format, width: a.width, height: a.height, scale: a.scale });
      },
      // Each trace without a uid gets a fixed one: plotly would draw it at random and write it into
      // the SVG's class names (class="trace scatter trace77f6b9").
      { data: fig.data.map((t, i) => (t && typeof t === "object" && !("uid" in t) ? { ...t, uid: `rra-t${i}` } : t)),
        layout: fig.layout ?? {}, format, width, height, scale, seed: figureSeed });
  } catch (e) {
    throw new RraError(`saveFigure(${JSON.stringify(name)}): plotly could not render the figure as ${format}: ${(e as Error).message.split("\n")[0]}`);
  }
  const body = url.slice(url.indexOf(",") + 1);
  // PNG comes back base64-encoded, SVG percent-encoded.
  return format === "png" ? Buffer.from(body, "base64") : canonicalSvg(decodeURIComponent(body));
}

/**
 * Plotly names the defs, clip paths and legend of each plot after a random uid
 * (`id="clip172362xyplot"`, `url(#legend172362)`). Seeding Math.random before each image is not enough
 * to pin it: a timer left from the previous image may draw from the stream first (seen once in CI, under
 * load). Rename every such uid to a fixed one, so the SVG bytes depend on the figure alone.
 */
export function canonicalSvg(svg: string): string {
  return sortSvgAttributes(canonicalSvgIds(svg));
}

/**
 * Put every element's attributes in name order. The order plotly's serializer writes is the order the
 * attributes were first set, which depends on the code path: the first image in a new page sets the
 * legend's style before its size, later ones after (measured here: 1 of 8 renders). The drawing is the same.
 */
export function sortSvgAttributes(svg: string): string {
  return svg.replace(/<([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")+)(\s*\/?)>/g, (_m, tag: string, attrs: string, end: string) => {
    const list = [...attrs.matchAll(/\s+([\w:.-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]] as const);
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return `<${tag}${list.map(([k, v]) => ` ${k}="${v}"`).join("")}${end.trim() ? "/" : ""}>`;
  });
}

export function canonicalSvgIds(svg: string): string {
  const uids = new Set<string>();
  for (const m of svg.matchAll(/id="(?:top)?defs-([0-9A-Za-z]+)"/g)) uids.add(m[1]);
  let i = 0;
  for (const uid of uids) {
    const fixed = `rra${i++}`;
    // Only inside an id or a #reference, so that coordinates that happen to contain the digits stay.
    const ref = new RegExp(`(id="|#)([A-Za-z_-]*)${uid}(?=[A-Za-z0-9_-]*["')])`, "g");
    svg = svg.replace(ref, (_m, lead: string, prefix: string) => `${lead}${prefix}${fixed}`);
  }
  return svg;
}

/** Without `_getActiveHandles` the browser cannot be unref'd: close it after a quiet spell instead. */
async function scheduleIdleClose(): Promise<void> {
  const s = await session?.catch(() => undefined);
  if (!s || s.unrefd) return;
  idleTimer = setTimeout(() => void closeFigures(), IDLE_CLOSE_MS);
  idleTimer.unref();
}

/** Close the export browser (waits for figures in progress). Safe to call when none is open. */
export async function closeFigures(): Promise<void> {
  await queue;
  if (idleTimer) clearTimeout(idleTimer);
  const s = session;
  session = undefined;
  if (!s) return;
  const opened = await s.catch(() => undefined);
  await opened?.browser.close().catch(() => undefined);
}
