import assert from "node:assert/strict";
import type { LabelSummary } from "../../lib/labels/pipeline";
import { labelReportMarkdown, labelReportRows } from "../../lib/labels/report";
import { labelCostFigure } from "../../lib/plots/label-cost";

/** A summary like the one `rra label` stored for a live teacher that answered 401 to both windows. */
function summary(over: Partial<LabelSummary> = {}): LabelSummary {
  return {
    job: "job-1", dataset: "dl19", teacher: "live:gpt-4o-mini", model: "gpt-4o-mini", selection: "top10+bottom10", queries: 2, windows: 2, failed: 2, calls: 0,
    promptTokens: 0, completionTokens: 0, latencyMs: 0, missing: 0, duplicates: 0, outOfRange: 0, malformed: 0, echo: 0, freeText: 0, empty: 0,
    teacherNdcg10: 0.5169, preRankNdcg10: 0.5169, hardNegativePrecision: { missing: null, listed: null, judgedMissing: 0, judgedListed: 0 },
    rationales: 0, rationaleFailed: 0, seconds: 1, ...over,
  };
}

describe("label report (issue 15 item 7)", () => {
  it("shows no teacher nDCG@10 for a job whose teacher answered no window", () => {
    const [row] = labelReportRows([summary()]);
    assert.equal(row.teacherNdcg10, null);
    assert.equal(row.answeredWindows, 0);
    assert.equal(row.failedRate, 1);
    const md = labelReportMarkdown([row]);
    assert.match(md, /\| – \(no window answered\) \(0\.5169\) \|/);
    assert.doesNotMatch(md, /\| 0\.5169 \(0\.5169\)/);
    assert.equal(JSON.parse(JSON.stringify(row)).teacherNdcg10, null, "rra label report --json prints null");
  });

  it("keeps the teacher nDCG@10 when some windows were answered, and the cost figure leaves out jobs without one", () => {
    const rows = labelReportRows([summary({ job: "ok", failed: 1, calls: 1, promptTokens: 2000, teacherNdcg10: 0.6 }), summary({ job: "none", promptTokens: 10 })]);
    assert.deepEqual(rows.map((r) => r.teacherNdcg10), [0.6, null]);
    const fig = labelCostFigure(rows);
    assert.deepEqual((fig.data[0] as { y: number[] }).y, [0.6]);
  });
});
