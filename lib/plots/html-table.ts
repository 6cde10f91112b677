/** Plain records as an HTML table for notebook display (pure; escaping included). */

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Options of `htmlTable`. */
export interface HtmlTableOptions {
  /** Decimals of non-integer numbers. Default 4. */
  digits?: number;
  /** A caption above the table. */
  caption?: string;
}

/** An HTML table of records (columns from the first record); numbers right-aligned. */
export function htmlTable(records: ReadonlyArray<Record<string, unknown>>, options: HtmlTableOptions = {}): string {
  const { digits = 4, caption } = options;
  if (records.length === 0) return "<p><em>(no rows)</em></p>";
  const cols = Object.keys(records[0]);
  const cell = (v: unknown): string => {
    if (typeof v === "number") return `<td style="text-align:right">${Number.isInteger(v) ? v : v.toFixed(digits)}</td>`;
    return `<td style="text-align:left">${esc(v === null || v === undefined ? "" : String(v))}</td>`;
  };
  // the wrapper scrolls sideways inside the notebook column instead of spilling over it
  return [
    `<div class="rra-table" style="overflow-x:auto;max-width:100%">`,
    "<table>",
    caption ? `<caption style="text-align:left;font-weight:bold">${esc(caption)}</caption>` : "",
    `<thead><tr>${cols.map((c) => `<th style="text-align:left">${esc(c)}</th>`).join("")}</tr></thead>`,
    `<tbody>${records.map((r) => `<tr>${cols.map((c) => cell(r[c])).join("")}</tr>`).join("")}</tbody>`,
    "</table>",
    "</div>",
  ].join("");
}
