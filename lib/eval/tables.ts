/**
 * Tables of evaluation results: danfo DataFrames for notebooks (`comparisonFrame`, `perQueryFrame`,
 * `summaryFrame`) and pure Markdown / LaTeX builders for papers (`comparisonMarkdown`,
 * `comparisonLatex`: systems as rows, metrics as columns, `mean (+delta)†` cells).
 * Only this file of eval/ uses danfo, and loads it (~1 s) on the first DataFrame call, so the text
 * builders stay cheap to import.
 */
import type { DataFrame } from "danfojs-node";
import { ConfigError, ShapeError, show } from "../core/errors";
import type { ComparisonRow } from "./compare";
import type { EvalResult, MetricName, PerQuery } from "./types";

type Danfo = typeof import("danfojs-node");
let danfo: Danfo | undefined;

// danfo is required lazily: importing this file for comparisonMarkdown must not cost a second.
function dfd(): Danfo {
  if (danfo === undefined) danfo = require("danfojs-node") as Danfo;
  return danfo;
}

const ROW_COLUMNS: readonly (keyof ComparisonRow)[] = [
  "system", "metric", "baseline", "isBaseline", "n", "mean", "baselineMean", "delta", "relDelta", "p", "pAdjusted",
  "significant", "ciLower", "ciUpper", "ciLevel", "test", "trials", "exact", "correction", "alpha",
];

/** DataFrame of `compareSystems` rows, one per (system, metric), with the ComparisonRow fields as columns. */
export function comparisonFrame(rows: readonly ComparisonRow[]): DataFrame {
  if (rows.length === 0) throw new ShapeError("comparisonFrame: expected at least one comparison row, got none");
  return new (dfd().DataFrame)(rows.map((r) => ROW_COLUMNS.map((c) => r[c])), { columns: ROW_COLUMNS as string[] });
}

function isEvalResult(x: EvalResult | PerQuery): x is EvalResult {
  const pq = (x as EvalResult).perQuery;
  if (typeof pq !== "object" || pq === null || typeof (x as EvalResult).all !== "object") return false;
  const first = Object.values(pq)[0];
  return first === undefined || (typeof first === "object" && first !== null);
}

/** DataFrame with a `qid` column and one column per metric (default: every metric of the result). */
export function perQueryFrame(result: EvalResult | PerQuery, metrics?: readonly MetricName[]): DataFrame {
  const perQuery = isEvalResult(result) ? result.perQuery : result;
  const qids = Object.keys(perQuery);
  if (qids.length === 0) throw new ShapeError("perQueryFrame: expected at least one query, got none");
  const cols = metrics ?? (isEvalResult(result) ? Object.keys(result.all) : Object.keys(perQuery[qids[0]]));
  const data = qids.map((qid) => [
    qid,
    ...cols.map((m) => {
      const v = perQuery[qid][m];
      if (typeof v !== "number") {
        throw new ShapeError(`perQueryFrame: qid ${show(qid)}: expected a number for ${show(m)}, got ${show(v)}; metrics there: ${Object.keys(perQuery[qid]).join(", ")}`);
      }
      return v;
    }),
  ]);
  return new (dfd().DataFrame)(data, { columns: ["qid", ...cols] });
}

/** DataFrame with one row per system: `system`, `queries` (count) and the mean of each metric. */
export function summaryFrame(results: Record<string, EvalResult>, metrics?: readonly MetricName[]): DataFrame {
  const names = Object.keys(results);
  if (names.length === 0) throw new ShapeError("summaryFrame: expected at least one system, got none");
  const cols = metrics ?? Object.keys(results[names[0]].all);
  const data = names.map((name) => [
    name,
    Object.keys(results[name].perQuery).length,
    ...cols.map((m) => {
      const v = results[name].all[m];
      if (typeof v !== "number") {
        throw new ConfigError(`summaryFrame: system ${show(name)}: expected a mean for ${show(m)}, got ${show(v)}; available: ${Object.keys(results[name].all).join(", ")}`);
      }
      return v;
    }),
  ]);
  return new (dfd().DataFrame)(data, { columns: ["system", "queries", ...cols] });
}

/** Options of `comparisonMarkdown` and `comparisonLatex`. */
export interface ComparisonTableOptions {
  /** Decimal places of means and deltas. Default 4. */
  digits?: number;
}

// Systems x metrics grid plus what the legend must say; validated once for both text formats.
interface Grid {
  systems: string[];
  metrics: string[];
  cell: Map<string, ComparisonRow>;
  ref: ComparisonRow;
  tested: ComparisonRow | undefined;
  compared: number;
}

function buildGrid(where: string, rows: readonly ComparisonRow[], opts: ComparisonTableOptions): Grid & { digits: number } {
  for (const k of Object.keys(opts)) if (k !== "digits") throw new ConfigError(`${where}: unknown option ${show(k)}; expected digits`);
  const { digits = 4 } = opts;
  if (!Number.isInteger(digits) || digits < 0 || digits > 12) throw new ConfigError(`${where}: digits must be an integer in [0, 12], got ${show(digits)}`);
  if (rows.length === 0) throw new ShapeError(`${where}: expected at least one comparison row, got none`);
  const ref = rows[0];
  const systems: string[] = [];
  const metrics: string[] = [];
  const cell = new Map<string, ComparisonRow>();
  for (const r of rows) {
    for (const f of ["baseline", "test", "alpha", "n", "correction"] as const) {
      if (r[f] !== ref[f]) {
        throw new ShapeError(`${where}: rows must come from one compareSystems call; expected ${f} ${show(ref[f])}, got ${show(r[f])} (system ${show(r.system)}, metric ${show(r.metric)})`);
      }
    }
    const key = `${r.system}\u0000${r.metric}`;
    if (cell.has(key)) throw new ShapeError(`${where}: expected one row per (system, metric), got (${show(r.system)}, ${show(r.metric)}) twice`);
    cell.set(key, r);
    if (!systems.includes(r.system)) systems.push(r.system);
    if (!metrics.includes(r.metric)) metrics.push(r.metric);
  }
  // Baseline first, then the order of first appearance.
  systems.sort((a, b) => Number(b === ref.baseline) - Number(a === ref.baseline));
  const tested = rows.find((r) => !r.isBaseline);
  const compared = systems.filter((s) => s !== ref.baseline).length;
  return { systems, metrics, cell, ref, tested, compared, digits };
}

function testName(r: ComparisonRow): string {
  if (r.test === "t") return "two-sided paired t-test";
  if (r.exact) return `two-sided paired randomization test (exact, all ${r.trials} sign patterns)`;
  return `two-sided paired randomization test (${r.trials} random sign flips)`;
}

// Symbols and escaping of one output format.
interface Flavor {
  esc: (s: string) => string;
  dagger: string;
  alpha: string;
  lt: string;
}

// Legend sentences: what † means (alpha, correction), which test, and how to read a cell.
function legendParts(g: Grid, f: Flavor): string[] {
  const base = `baseline ${f.esc(g.ref.baseline)}`;
  const queries = `n = ${g.ref.n} queries`;
  if (g.tested === undefined) return [`Baseline only (${base}, ${queries}); no test.`];
  const over = g.compared === 1 ? "1 system" : `${g.compared} systems`;
  return [
    `${f.dagger} significant: Holm-adjusted p ${f.lt} ${f.alpha} = ${g.ref.alpha} against the ${base}.`,
    `${capitalize(testName(g.tested))} over ${queries}; Holm-Bonferroni correction over ${over} per metric.`,
    "Cells: mean (delta vs. baseline).",
  ];
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

// `0.6799 (+0.1741)`; the sign comes from the rounded delta so that -0.00001 prints as +0.0000.
function cellText(r: ComparisonRow | undefined, digits: number, minus: string): string | undefined {
  if (r === undefined) return undefined;
  const m = r.mean.toFixed(digits);
  if (r.isBaseline) return m;
  const abs = Math.abs(r.delta).toFixed(digits);
  const sign = r.delta < 0 && Number(abs) !== 0 ? minus : "+";
  return `${m} (${sign}${abs})`;
}

const mdEscape = (s: string): string => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

/** Markdown table: systems as rows, metrics as columns, cells `mean (+delta)†` (†: Holm-adjusted p < alpha), legend below. */
export function comparisonMarkdown(rows: readonly ComparisonRow[], opts: ComparisonTableOptions = {}): string {
  const g = buildGrid("comparisonMarkdown", rows, opts);
  const lines = [
    `| System | ${g.metrics.map(mdEscape).join(" | ")} |`,
    `| :--- | ${g.metrics.map(() => "---:").join(" | ")} |`,
  ];
  for (const s of g.systems) {
    const cells = g.metrics.map((m) => {
      const r = g.cell.get(`${s}\u0000${m}`);
      const text = cellText(r, g.digits, "-");
      return text === undefined ? "–" : text + (r && r.significant ? "†" : "");
    });
    lines.push(`| ${mdEscape(s)}${s === g.ref.baseline ? " (baseline)" : ""} | ${cells.join(" | ")} |`);
  }
  return `${lines.join("\n")}\n\n${legendParts(g, { esc: mdEscape, dagger: "†", alpha: "α", lt: "<" }).join(" ")}\n`;
}

const LATEX_SPECIAL: Record<string, string> = {
  "\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "$": "\\$", "#": "\\#", "_": "\\_", "{": "\\{", "}": "\\}",
  "~": "\\textasciitilde{}", "^": "\\textasciicircum{}",
};

/** Escape LaTeX special characters (\ & % $ # _ { } ~ ^) in plain text. */
export function latexEscape(s: string): string {
  return s.replace(/[\\&%$#_{}~^]/g, (c) => LATEX_SPECIAL[c]);
}

/** booktabs LaTeX tabular with the content of `comparisonMarkdown` ($^\dagger$ marks significance; legend as last rows). */
export function comparisonLatex(rows: readonly ComparisonRow[], opts: ComparisonTableOptions = {}): string {
  const g = buildGrid("comparisonLatex", rows, opts);
  const lines = [
    `\\begin{tabular}{l${"r".repeat(g.metrics.length)}}`,
    "\\toprule",
    `System & ${g.metrics.map(latexEscape).join(" & ")} \\\\`,
    "\\midrule",
  ];
  for (const s of g.systems) {
    const cells = g.metrics.map((m) => {
      const r = g.cell.get(`${s}\u0000${m}`);
      const text = cellText(r, g.digits, "$-$");
      return text === undefined ? "--" : text + (r && r.significant ? "$^\\dagger$" : "");
    });
    lines.push(`${latexEscape(s)}${s === g.ref.baseline ? " (baseline)" : ""} & ${cells.join(" & ")} \\\\`);
  }
  const legend = legendParts(g, { esc: latexEscape, dagger: "$^\\dagger$", alpha: "$\\alpha$", lt: "$<$" });
  lines.push("\\bottomrule");
  // One short row per sentence, so that the legend does not widen the table much.
  for (const part of legend) lines.push(`\\multicolumn{${g.metrics.length + 1}}{l}{\\footnotesize ${part}} \\\\`);
  lines.push("\\end{tabular}");
  return lines.join("\n") + "\n";
}

/** DataFrame of plain records (one row each, columns from the first record's keys), e.g. dataset summaries. */
export function recordsFrame(records: ReadonlyArray<Record<string, string | number | boolean | null>>): DataFrame {
  if (records.length === 0) throw new ShapeError("recordsFrame: expected at least one record, got none");
  const columns = Object.keys(records[0]);
  return new (dfd().DataFrame)(records.map((r) => columns.map((c) => r[c] ?? null)), { columns });
}
