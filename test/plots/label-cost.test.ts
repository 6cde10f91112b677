import assert from "node:assert/strict";
import { labelCostFigure } from "../../lib/plots/label-cost";
import { boxesOverlap, labelBox, placeLabels, type Box } from "../../lib/plots/label-placement";
import { REPRO_ROWS } from "../fixtures/label-cost-rows";

interface Annotation { x: number; y: number; text: string; ax: number; ay: number }

describe("label-cost figure: point labels do not overlap (issue 15 item 18)", () => {
  it("labels every job once, in boxes that overlap no other label, no marker, and stay in the plot", () => {
    const fig = labelCostFigure(REPRO_ROWS);
    const layout = fig.layout as { annotations: Annotation[]; xaxis: { range: number[] }; yaxis: { range: number[] }; margin: { l: number; r: number; t: number; b: number } };
    const notes = layout.annotations;
    assert.deepEqual(notes.map((n) => n.text).sort(), REPRO_ROWS.map((r) => `${r.teacher.replace(/^(replay|projected):/, "").split("_")[0].replace(/^vicuna-7b-/, "vicuna-")} ${r.dataset}`).sort());
    const w = 800 - layout.margin.l - layout.margin.r;
    const h = 500 - layout.margin.t - layout.margin.b;
    const [x0, x1] = layout.xaxis.range;
    const [y0, y1] = layout.yaxis.range;
    const px = (n: Annotation) => ((n.x - x0) / (x1 - x0)) * w;
    const py = (n: Annotation) => ((y1 - n.y) / (y1 - y0)) * h;
    const labels: Box[] = notes.map((n) => labelBox(n.text, px(n) + n.ax, py(n) + n.ay, 11));
    const markers: Box[] = notes.map((n) => ({ left: px(n) - 6, right: px(n) + 6, top: py(n) - 6, bottom: py(n) + 6 }));
    labels.forEach((a, i) => {
      assert.ok(a.left >= 0 && a.top >= 0 && a.right <= w && a.bottom <= h, `${notes[i].text} stays inside the plot`);
      labels.forEach((b, j) => assert.ok(i === j || !boxesOverlap(a, b), `${notes[i].text} overlaps ${notes[j].text}`));
      markers.forEach((m, j) => assert.ok(!boxesOverlap(a, m), `${notes[i].text} covers the marker of ${notes[j].text}`));
    });
    // the traces are markers only: the text lives in the annotations (and in the hover)
    for (const t of fig.data as Array<{ mode: string }>) assert.equal(t.mode, "markers");
  });

  it("placeLabels moves a label away, with a longer leader, when the near places are taken", () => {
    const placed = placeLabels([{ px: 100, py: 100, text: "first label" }, { px: 101, py: 100, text: "second label" }], { width: 400, height: 300 });
    assert.ok(placed.every((p) => p.free));
    assert.equal(boxesOverlap(placed[0].box, placed[1].box), false);
  });
});
