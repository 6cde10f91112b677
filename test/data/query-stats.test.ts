import assert from "node:assert/strict";
import { computeQueryStats, lengthBucket, queryForm, queryWords } from "../../lib/data/query-stats";
import { loadDataset } from "../../lib/data/datasets";

describe("query statistics", () => {
  it("counts words without surrounding punctuation", () => {
    assert.deepEqual(queryWords("  who is rep. scalise? "), ["who", "is", "rep", "scalise"]);
  });
  it("tells question form from keyword form", () => {
    assert.equal(queryForm("how long is life cycle of flea"), "question");
    assert.equal(queryForm("Does mono have a cure"), "question");
    assert.equal(queryForm("anthropological definition of environment"), "keyword");
    assert.equal(queryForm("vision pro screen resolution?"), "question");
  });
  it("buckets lengths", () => {
    assert.deepEqual([1, 3, 4, 6, 7, 9, 10, 15].map(lengthBucket), ["1-3", "1-3", "4-6", "4-6", "7-9", "7-9", "10+", "10+"]);
  });
  it("matches the shipped data's documented mean lengths (SOURCE.md: 5.4 words DL19, 6.0 DL20, longest 15)", () => {
    const mean = (name: string) => {
      const s = computeQueryStats(loadDataset(name).queries);
      return { mean: s.reduce((a, b) => a + b.words, 0) / s.length, max: Math.max(...s.map((x) => x.words)) };
    };
    assert.equal(mean("dl19").mean.toFixed(1), "5.4");
    assert.equal(mean("dl20").mean.toFixed(1), "6.0");
    assert.equal(mean("dl20").max, 15);
  });
});
