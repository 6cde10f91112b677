import assert from "node:assert/strict";
import { selectExamplePairs, termOverlap } from "../../lib/analysis/example-pairs";
import type { Dataset } from "../../lib/data/types";
import { lexiconFromIdf } from "../../lib/lexical/lexicon";

const P = (docid: string, text: string) => [docid, { docid, text }] as const;
const dataset: Dataset = {
  name: "toy",
  queries: [{ qid: "1", text: "seoul food market" }, { qid: "2", text: "cheap rain boots" }, { qid: "3", text: "what is the best street food market in seoul" }],
  qrels: new Map([
    ["1", new Map([["a", 3], ["b", 0]])],
    ["2", new Map([["c", 0], ["d", 2]])],
    ["3", new Map([["e", 2], ["f", 3]])],
  ]),
  lists: [],
  passages: new Map([
    P("a", "The Seoul night market, sells street food."), P("b", "A food blog."), P("c", "Cheap rain boots, cheap!"), P("d", "Boots."),
    P("e", "Street food in Seoul."), P("f", "The best street food market in Seoul is the night market."),
  ]),
};

describe("selectExamplePairs", () => {
  it("weighs overlap by idf over distinct analyzed terms (stems, stop words dropped)", () => {
    assert.equal(termOverlap("seoul food market", "The Seoul night market, sells street food."), 1);
    assert.equal(termOverlap("seoul food market", "A food blog."), 1 / 3);
    assert.equal(termOverlap("seoul food markets", "A food blog.", lexiconFromIdf(new Map([["seoul", 2], ["market", 2]]))), 1 / 5);
    assert.equal(termOverlap("the markets", "market day"), 1, "\"the\" is a stop word; markets and market share the stem");
    assert.equal(termOverlap("", "anything"), 0);
  });
  it("picks a relevant pair, a non-relevant pair with overlap and the longest query, on distinct queries", () => {
    const pairs = selectExamplePairs(dataset);
    assert.deepEqual(pairs.map((p) => [p.qid, p.docid, p.rel]), [["1", "a", 3], ["2", "c", 0], ["3", "f", 3]]);
    assert.match(pairs[2].label, /^long query/);
    assert.deepEqual(selectExamplePairs(dataset, { maxPassageWords: 4 }).map((p) => p.docid), ["d", "b", "e"]);
  });
});
