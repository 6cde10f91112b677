import assert from "node:assert/strict";
import { ConfigError } from "../../lib/core/errors";
import { offlineLabelJobs, pickLabelJob } from "../../lib/labels/jobs";

// notebook 02's CONFIG.example names one label job; a typo used to surface as a TypeError two cells later
describe("pickLabelJob (notebook 02's example job)", () => {
  const jobs = offlineLabelJobs(["dl19", "dl20"]);
  const teacher = "replay:vicuna-7b-ckpt800_bm25-top20-single_dl19";

  it("finds the job with that dataset and teacher, in configs and in summaries alike", () => {
    assert.deepEqual(pickLabelJob(jobs, { dataset: "dl19", teacher }), { dataset: "dl19", teacher });
    const summaries = [{ dataset: "dl20", teacher, job: "a" }, { dataset: "dl19", teacher, job: "b" }];
    assert.equal(pickLabelJob(summaries, { dataset: "dl19", teacher }).job, "b");
  });

  it("refuses a teacher typo with the dataset's teachers and the nearest one", () => {
    assert.throws(() => pickLabelJob(jobs, { dataset: "dl19", teacher: "replay:Vicuna-7b-ckpt800_bm25-top20-single_dl19" }, "CONFIG.example"), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^CONFIG\.example\.teacher \(the dl19 jobs\): unknown name "replay:Vicuna-7b-ckpt800_bm25-top20-single_dl19"; expected one of replay:rankvicuna-7b_bm25-top20-single_dl19, /);
      assert.match(e.message, /\(did you mean "replay:vicuna-7b-ckpt800_bm25-top20-single_dl19"\?\)$/);
      return true;
    });
    // the dl20 log under dl19 is no dl19 job
    assert.throws(() => pickLabelJob(jobs, { dataset: "dl19", teacher: "replay:vicuna-7b-ckpt800_bm25-top20-single_dl20" }), /label job\.teacher \(the dl19 jobs\): unknown name .*did you mean "replay:vicuna-7b-ckpt800_bm25-top20-single_dl19"/);
  });

  it("refuses an unknown dataset with the known ones", () => {
    assert.throws(() => pickLabelJob(jobs, { dataset: "DL20", teacher }, "CONFIG.example"), /CONFIG\.example\.dataset: unknown name "DL20"; expected one of dl19, dl20 \(did you mean "dl20"\?\)/);
  });
});
