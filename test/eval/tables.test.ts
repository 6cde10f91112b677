import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { join } from "path";
import { ConfigError, ShapeError } from "../../lib/core/errors";
import type { ComparisonRow } from "../../lib/eval/compare";
import {
  comparisonFrame, comparisonLatex, comparisonMarkdown, latexEscape, perQueryFrame, summaryFrame,
} from "../../lib/eval/tables";
import type { EvalResult } from "../../lib/eval/types";

// A fixed, hand-written comparison (values as compareSystems would give them).
function row(system: string, metric: string, mean: number, baselineMean: number, p: number | null, pAdjusted: number | null): ComparisonRow {
  const isBaseline = p === null;
  return {
    system, metric, baseline: "bm25", isBaseline, n: 43, mean, baselineMean, delta: mean - baselineMean,
    relDelta: (mean - baselineMean) / baselineMean, p, pAdjusted, significant: pAdjusted !== null && pAdjusted < 0.05,
    ciLower: isBaseline ? null : mean - baselineMean - 0.03, ciUpper: isBaseline ? null : mean - baselineMean + 0.03,
    ciLevel: 0.95, test: "t", trials: null, exact: false, correction: "holm", alpha: 0.05,
  };
}

const ROWS: ComparisonRow[] = [
  row("bm25", "ndcg@10", 0.50576, 0.50576, null, null),
  row("bm25", "mrr@10", 0.70240, 0.70240, null, null),
  row("monoT5", "ndcg@10", 0.67986, 0.50576, 0.00001, 0.00002),
  row("monoT5", "mrr@10", 0.80110, 0.70240, 0.031, 0.062),
  row("rra_tcl", "ndcg@10", 0.50575, 0.50576, 0.98, 0.98),
  row("rra_tcl", "mrr@10", 0.69000, 0.70240, 0.012, 0.024),
];

describe("comparisonMarkdown", () => {
  it("renders systems as rows, metrics as columns, † after Holm, legend below (snapshot)", () => {
    const expected = [
      "| System | ndcg@10 | mrr@10 |",
      "| :--- | ---: | ---: |",
      "| bm25 (baseline) | 0.5058 | 0.7024 |",
      "| monoT5 | 0.6799 (+0.1741)† | 0.8011 (+0.0987) |",
      "| rra_tcl | 0.5058 (+0.0000) | 0.6900 (-0.0124)† |",
      "",
      "† significant: Holm-adjusted p < α = 0.05 against the baseline bm25. Two-sided paired t-test over n = 43 queries; " +
        "Holm-Bonferroni correction over 2 systems per metric. Cells: mean (delta vs. baseline).",
      "",
    ].join("\n");
    assert.equal(comparisonMarkdown(ROWS), expected);
  });

  it("puts the baseline first whatever the row order, and honours digits", () => {
    const md = comparisonMarkdown(ROWS.slice().reverse(), { digits: 2 });
    const lines = md.split("\n");
    assert.equal(lines[0], "| System | mrr@10 | ndcg@10 |");
    assert.equal(lines[2], "| bm25 (baseline) | 0.70 | 0.51 |");
    assert.equal(lines[3], "| rra_tcl | 0.69 (-0.01)† | 0.51 (+0.00) |");
  });

  it("names the randomization test in the legend, exact or sampled", () => {
    const sampled = ROWS.map((r) => ({ ...r, test: "randomization" as const, trials: r.isBaseline ? null : 10000 }));
    assert.match(comparisonMarkdown(sampled), /Two-sided paired randomization test \(10000 random sign flips\) over n = 43 queries/);
    const exact = ROWS.map((r) => ({ ...r, n: 12, test: "randomization" as const, trials: r.isBaseline ? null : 4096, exact: !r.isBaseline }));
    assert.match(comparisonMarkdown(exact), /exact, all 4096 sign patterns/);
  });

  it("escapes | in names and marks a missing cell with –", () => {
    const rows = [row("bm25", "ndcg@10", 0.5, 0.5, null, null), row("bm25", "map", 0.3, 0.3, null, null), row("a|b", "ndcg@10", 0.6, 0.5, 0.01, 0.01)];
    assert.match(comparisonMarkdown(rows), /\| a\\\|b \| 0\.6000 \(\+0\.1000\)† \| – \|/);
  });

  it("rejects rows of different comparisons, duplicates, no rows and unknown options", () => {
    assert.throws(() => comparisonMarkdown([...ROWS, { ...ROWS[2], metric: "map", baseline: "dpr" }]), (e: Error) => e instanceof ShapeError && /baseline "bm25", got "dpr"/.test(e.message));
    assert.throws(() => comparisonMarkdown([...ROWS, ROWS[3]]), /\("monoT5", "mrr@10"\) twice/);
    assert.throws(() => comparisonMarkdown([]), ShapeError);
    assert.throws(() => comparisonMarkdown(ROWS, { digts: 2 } as never), (e: Error) => e instanceof ConfigError && /"digts"/.test(e.message));
  });
});

describe("comparisonLatex", () => {
  it("renders a booktabs tabular with the same cells, escaped (snapshot)", () => {
    const expected = [
      "\\begin{tabular}{lrr}",
      "\\toprule",
      "System & ndcg@10 & mrr@10 \\\\",
      "\\midrule",
      "bm25 (baseline) & 0.5058 & 0.7024 \\\\",
      "monoT5 & 0.6799 (+0.1741)$^\\dagger$ & 0.8011 (+0.0987) \\\\",
      "rra\\_tcl & 0.5058 (+0.0000) & 0.6900 ($-$0.0124)$^\\dagger$ \\\\",
      "\\bottomrule",
      "\\multicolumn{3}{l}{\\footnotesize $^\\dagger$ significant: Holm-adjusted p $<$ $\\alpha$ = 0.05 against the baseline bm25.} \\\\",
      "\\multicolumn{3}{l}{\\footnotesize Two-sided paired t-test over n = 43 queries; Holm-Bonferroni correction over 2 systems per metric.} \\\\",
      "\\multicolumn{3}{l}{\\footnotesize Cells: mean (delta vs. baseline).} \\\\",
      "\\end{tabular}",
      "",
    ].join("\n");
    assert.equal(comparisonLatex(ROWS), expected);
  });

  it("escapes LaTeX special characters", () => {
    assert.equal(latexEscape("a_b 50% R&D $x #1 {y} ~ ^ \\"), "a\\_b 50\\% R\\&D \\$x \\#1 \\{y\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}");
    const rows = ROWS.map((r) => ({ ...r, metric: r.metric === "mrr@10" ? "p_10%" : r.metric }));
    assert.match(comparisonLatex(rows), /System & ndcg@10 & p\\_10\\% \\\\/);
  });
});

const EVAL: EvalResult = {
  all: { "ndcg@10": 0.5, "mrr@10": 0.75 },
  perQuery: { "1037798": { "ndcg@10": 0.25, "mrr@10": 1 }, "104861": { "ndcg@10": 0.75, "mrr@10": 0.5 } },
};

describe("DataFrame tables", () => {
  it("load danfo on the first DataFrame call, not on import (the text builders stay cheap)", () => {
    const script = "require('./lib/eval/tables'); require('./lib/eval/compare');" +
      "process.stdout.write(String(Object.keys(require.cache).some((k) => k.includes('danfojs'))))";
    const out = execFileSync(process.execPath, ["-r", "tsx/cjs", "-e", script], { cwd: join(__dirname, "../.."), encoding: "utf8" });
    assert.equal(out, "false");
  });

  it("comparisonFrame has one row per comparison row and its fields as columns", () => {
    const df = comparisonFrame(ROWS);
    assert.deepEqual(df.shape, [6, 20]);
    assert.deepEqual(df.columns.slice(0, 4), ["system", "metric", "baseline", "isBaseline"]);
    assert.deepEqual(df.column("pAdjusted").values, ROWS.map((r) => r.pAdjusted));
    assert.deepEqual(df.column("system").values, ROWS.map((r) => r.system));
  });

  it("perQueryFrame has a qid column and the metrics, from an EvalResult or a PerQuery", () => {
    const df = perQueryFrame(EVAL);
    assert.deepEqual(df.columns, ["qid", "ndcg@10", "mrr@10"]);
    assert.deepEqual(df.column("qid").values, ["104861", "1037798"]);
    assert.deepEqual(df.column("ndcg@10").values, [0.75, 0.25]);
    const only = perQueryFrame(EVAL.perQuery, ["mrr@10"]);
    assert.deepEqual(only.columns, ["qid", "mrr@10"]);
    assert.deepEqual(only.column("mrr@10").values, [0.5, 1]);
  });

  it("perQueryFrame names the qid and metric of a missing value", () => {
    assert.throws(() => perQueryFrame(EVAL, ["map"]), /qid "104861": expected a number for "map", got undefined/);
  });

  it("summaryFrame has one row per system with the query count and means", () => {
    const df = summaryFrame({ bm25: EVAL, monoT5: { ...EVAL, all: { "ndcg@10": 0.6, "mrr@10": 0.8 } } }, ["ndcg@10"]);
    assert.deepEqual(df.columns, ["system", "queries", "ndcg@10"]);
    assert.deepEqual(df.values, [["bm25", 2, 0.5], ["monoT5", 2, 0.6]]);
    assert.throws(() => summaryFrame({ bm25: EVAL }, ["map"]), /system "bm25": expected a mean for "map", got undefined; available: ndcg@10, mrr@10/);
  });
});
