import assert from "node:assert/strict";
import { loadDataset } from "../../lib/data/datasets";
import type { Dataset } from "../../lib/data/types";
import { readLabelsJsonl } from "../../lib/train/labels-file";
import { readLabelsJsonl as fromBatches } from "../../lib/train/batches";
import { runCli } from "../cli/run-cli";
import { assertDataError } from "../helpers";

const DIR = "test/fixtures/labels";

describe("readLabelsJsonl: every line of rra train --labels is checked (issue 15 item 4)", () => {
  let dl19: Dataset;
  before(() => { dl19 = loadDataset("dl19"); });

  it("reads a labels.jsonl written by rra label --out into its windows (and batches.ts still exports it)", () => {
    const windows = readLabelsJsonl(`${DIR}/valid.jsonl`, dl19);
    assert.deepEqual(windows.map((w) => [w.qid, w.facts.length]), [["264014", 20], ["104861", 20]]);
    assert.equal(fromBatches, readLabelsJsonl);
  });

  const cases: Array<[string, number, RegExp]> = [
    ["duplicate-line.jsonl", 41, /\(docid\): expected each \(window, docid\) once, got docid \d+ of window "264014\/top10\+bottom10\/0" again \(first at line 5\)/],
    ["negative-rank.jsonl", 3, /\(teacherRank\): expected a rank >= 1 \(an integer\) for a listed document \(missing: false\), got number -2/],
    ["duplicate-rank.jsonl", 4, /\(teacherRank\): expected each rank once per window, got rank 3 again in window .* \(first at line 1\)/],
    ["listed-without-rank.jsonl", 2, /\(teacherRank\): expected a rank >= 1 .* got null/],
    ["unknown-docid.jsonl", 7, /\(docid\): expected a candidate of qid 264014 in dl19, got docid 0000000, which is not among its 100 candidates/],
    ["qid-mismatch.jsonl", 25, /\(qid\): expected qid 104861 like the other lines of window "104861\/top10\+bottom10\/0" \(first at line 21\), got qid 264014/],
  ];
  for (const [name, line, pattern] of cases) {
    it(`refuses ${name}, naming line ${line}`, () => {
      const file = `${DIR}/${name}`;
      assertDataError(() => readLabelsJsonl(file, dl19), { file, line }, pattern);
    });
  }

  it("refuses labels of queries the training dataset does not have", () => {
    const file = `${DIR}/valid.jsonl`;
    assertDataError(() => readLabelsJsonl(file, loadDataset("dl20")), { file, line: 1 }, /\(qid\): expected a query of the training dataset dl20, got qid 264014/);
  });

  it("rra train --labels of a missing file says so in one line (issue 15 item 8)", async () => {
    const r = await runCli(["train", "--labels", `${DIR}/no-such-labels.jsonl`, "--out", "/tmp/rra-never-written", "--db", ":memory:", "--train", "dl19", "--dev", "dl19", "--epochs", "1"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^rra train: .*no-such-labels\.jsonl: expected an existing labels\.jsonl file, got no such file\n$/);
  });

  it("rra train --labels of a bad file stops before training, naming the line", async () => {
    const r = await runCli(["train", "--labels", `${DIR}/negative-rank.jsonl`, "--out", "/tmp/rra-never-written", "--db", ":memory:", "--train", "dl19", "--dev", "dl19", "--epochs", "1"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /negative-rank\.jsonl:3 \(teacherRank\)/);
  });
});
