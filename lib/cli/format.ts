/** Plain-text tables and number formatting for the terminal. */

/** Format a number with fixed decimals. */
export function fmt(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** Align rows of cells under a header; numbers are right-aligned, text left-aligned. */
export function textTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>, digits = 4): string {
  const numeric = header.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === "number"));
  // a column of whole numbers (counts) prints without decimals
  const counts = header.map((_, j) => numeric[j] && rows.every((r) => Number.isInteger(r[j])));
  const cells = rows.map((r) => r.map((c, j) => (typeof c === "number" ? (counts[j] ? String(c) : fmt(c, digits)) : c)));
  const widths = header.map((h, j) => Math.max(h.length, ...cells.map((r) => (r[j] ?? "").length)));
  const line = (r: readonly string[]) => r.map((c, j) => (numeric[j] ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}
