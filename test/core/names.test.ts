/** Names typed by users: did-you-mean suggestions and the shipped-system check notebook 07 uses (issue 14 item 5). */
import assert from "node:assert/strict";
import { ConfigError } from "../../lib/core/errors";
import { checkNames, closestName, didYouMean, editDistance } from "../../lib/core/names";
import { checkShippedSystems, shippedRunOf } from "../../lib/eval/baselines";
import { parseFeatureNames } from "../../lib/lexical/features";
import { getLoss } from "../../lib/losses/index";
import { createProjectedTeacher } from "../../lib/labels/teachers/offline";
import { createReplayTeacher } from "../../lib/labels/teachers/replay";
import { createTeacher } from "../../lib/labels/teachers/create";
import { loadDataset } from "../../lib/data/datasets";

describe("names: did-you-mean", () => {
  it("edit distance is Levenshtein's", () => {
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(editDistance("flaw", "lawn"), 2);
  });

  it("suggests a near miss (case counts as near) and nothing for a far name", () => {
    const known = ["rankvicuna-7b", "rankvicuna-7b-top20", "gpt-3.5-turbo-run1"];
    assert.equal(closestName("rankvicuna-7B", known), "rankvicuna-7b");
    assert.equal(closestName("gpt-35-turbo-run1", known), "gpt-3.5-turbo-run1");
    assert.equal(closestName("monot5", known), undefined);
    assert.equal(didYouMean("monot5", known), "");
    assert.throws(() => checkNames("cfg", ["rankvicuna-7b", "rankVicuna-7b"], known), (e: Error) =>
      e instanceof ConfigError && /cfg: unknown name "rankVicuna-7b"; expected one of rankvicuna-7b, .*did you mean "rankvicuna-7b"/.test(e.message));
    assert.doesNotThrow(() => checkNames("cfg", known, known));
  });

  it("a wrongly cased system name is an error, not a silently missing row; a system without a run for a year is null", () => {
    assert.throws(() => checkShippedSystems(["bm25", "rankvicuna-7B"], "CONFIG.systems"), /CONFIG\.systems: unknown name "rankvicuna-7B".*did you mean "rankvicuna-7b"/);
    assert.throws(() => shippedRunOf("dl20", "Vicuna-7b-v1.5-zeroshot"), /did you mean "vicuna-7b-v1.5-zeroshot"/);
    assert.equal(shippedRunOf("dl20", "vicuna-7b-v1.5-zeroshot"), null);
    assert.match(shippedRunOf("dl19", "vicuna-7b-v1.5-zeroshot")?.file ?? "", /zeroshot.*dl19/);
  });

  it("losses and features use the same suggestion", () => {
    assert.throws(() => getLoss("listnet"), /did you mean "listNet"/);
    assert.throws(() => getLoss("lambdaNdcg"), /did you mean "lambdaNdcg2"/);
    assert.throws(() => parseFeatureNames(["coverage", "proximty"]), /unknown feature "proximty".*did you mean "proximity"/);
  });

  it("teacher names too: the kind, the replayed log and the projected run", () => {
    const ds = loadDataset("dl19");
    assert.throws(() => createTeacher("projectd:rankvicuna-7b", { db: null as never, dataset: ds }), /unknown teacher.*did you mean "projected"/);
    assert.throws(() => createReplayTeacher("rankvicuna-7b_bm25-top20-single_dl91"), /unknown log.*did you mean "rankvicuna-7b_bm25-top20-single_dl19"/);
    assert.throws(() => createProjectedTeacher("rankvicuna-7B", "dl19"), /no shipped dl19 run named "rankvicuna-7B".*did you mean "rankvicuna-7b"/);
  });
});
