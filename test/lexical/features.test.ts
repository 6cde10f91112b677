import assert from "node:assert/strict";
import { ConfigError } from "../../lib/core/errors";
import { loadDataset } from "../../lib/data/datasets";
import { analyzeLists } from "../../lib/lexical/analyzed";
import { answerTypeOf, DEFAULT_FEATURES, featureTable, hasAnswerCue, LEXICAL_FEATURES, listFeatures, parseFeatureNames, proximity, rawFeatures, repetition, windowCoverage } from "../../lib/lexical/features";
import { lexiconFromIdf } from "../../lib/lexical/lexicon";
import { matchPair, NO_PASSAGE_KEY, NO_QUERY_KEY } from "../../lib/lexical/match";
import { shippedLexicon } from "../../lib/lexical/shipped";

describe("matching on stems (lib/lexical/match.ts)", () => {
  it("matches words that share an analyzed term, skips stop words, counts occurrences per query term", () => {
    const idf = new Map([["flea", 7.4], ["life", 4.1], ["cycl", 5.2], ["long", 3.4], ["how", 2.8]]);
    const m = matchPair("How long is the life cycle of fleas?", "The flea's life-cycle: fleas live long; a flea cycles.", (t) => idf.get(t) ?? 1);
    assert.deepEqual(m.terms, ["how", "long", "life", "cycl", "flea"]);
    assert.deepEqual(m.qtf, [1, 1, 1, 1, 1]);
    assert.deepEqual(m.queryKeys, ["how", "long", NO_QUERY_KEY, NO_QUERY_KEY, "life", "cycl", NO_QUERY_KEY, "flea"]);
    // passage words: the | flea's | life-cycle: | fleas | live | long; | a | flea | cycles.
    assert.deepEqual(m.passageKeys, [NO_PASSAGE_KEY, "flea", "cycl", "flea", NO_PASSAGE_KEY, "long", NO_PASSAGE_KEY, "flea", "cycl"]);
    // "life-cycle:" carries life (term 2) and cycl (term 3); its key is the rarer one (cycl, idf 5.2)
    assert.deepEqual(m.passageCounts[2], [[2, 1], [3, 1]]);
    // analyzed length: flea life cycl flea live long flea cycl (the, a: stop words)
    assert.equal(m.length, 8);
  });
});

describe("lexical features (lib/lexical/features.ts)", () => {
  it("proximity, window coverage and repetition by hand", () => {
    assert.equal(proximity(["a", "x", "b", "y", "a", "b"], new Set(["a", "b"])), 2 / 2);
    assert.equal(proximity(["a", "x", "x", "b"], new Set(["a", "b"])), 2 / 4);
    assert.equal(proximity(["a", "b"], new Set(["a"])), 0);
    const idf = new Map([["a", 2], ["b", 3]]);
    assert.equal(windowCoverage(["a", "x", "x", "b"], idf, 3), 3);
    assert.equal(windowCoverage(["a", "x", "x", "b"], idf, 4), 5);
    assert.equal(repetition(["a", "b", "c", "a", "b", "c"]), 2 / 4); // trigrams abc, bca, cab, abc: the two abc repeat
    assert.equal(repetition(["a", "b", "c", "d"]), 0);
  });

  it("answer types and their cues", () => {
    assert.equal(answerTypeOf("how long is the life cycle of a flea"), "duration");
    assert.equal(answerTypeOf("how much does a tesla cost"), "quantity");
    assert.equal(answerTypeOf("when was the eiffel tower built"), "date");
    assert.equal(answerTypeOf("who killed nicholas ii of russia"), "person");
    assert.equal(answerTypeOf("where is the nile"), "place");
    assert.equal(answerTypeOf("what is a nonconformity? earth science"), "definition");
    assert.equal(answerTypeOf("rsa definition key"), null);
    assert.equal(hasAnswerCue("duration", "it lives 20 days", ["live", "20", "dai"]), true);
    assert.equal(hasAnswerCue("duration", "it lives long", ["live", "long"]), false);
    assert.equal(hasAnswerCue("date", "built in 1889", ["built", "1889"]), true);
    assert.equal(hasAnswerCue("definition", "A nonconformity is a gap in the rock record", []), true);
  });

  it("standardises every feature within the candidate list; names are checked with a did-you-mean", () => {
    const dl19 = loadDataset("dl19");
    const lex = shippedLexicon();
    const lists = dl19.lists.slice(0, 3);
    const analyzed = analyzeLists(lists);
    const rows = listFeatures(lex, analyzed[0], lists[0].candidates.map((c) => c.text ?? ""));
    assert.equal(rows.length, 100);
    assert.equal(rows[0].length, LEXICAL_FEATURES.length);
    for (let j = 0; j < LEXICAL_FEATURES.length; j++) {
      const col = rows.map((r) => r[j]);
      const mean = col.reduce((a, b) => a + b, 0) / col.length;
      const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
      assert.ok(Math.abs(mean) < 1e-9, `${LEXICAL_FEATURES[j]} mean ${mean}`);
      assert.ok(Math.abs(sd - 1) < 1e-9 || sd === 0, `${LEXICAL_FEATURES[j]} sd ${sd}`);
    }
    // firstStage is the first-stage score itself (before standardisation)
    const raw = rawFeatures(lex, analyzed[0], lists[0].candidates.map((c) => c.text ?? ""), ["firstStage", "coverage"]);
    assert.deepEqual(raw.map((r) => r[0]), lists[0].candidates.map((c) => c.score));
    assert.ok(raw.every((r) => r[1] >= 0 && r[1] <= 1));
    const table = featureTable(lex, lists, analyzed, DEFAULT_FEATURES);
    assert.equal(table.get(lists[2].qid)?.get(lists[2].candidates[5].docid)?.length, DEFAULT_FEATURES.length);
    assert.ok(!DEFAULT_FEATURES.includes("firstStage"));
    assert.throws(() => parseFeatureNames(["coverage", "Proximity"]), (e: Error) => e instanceof ConfigError && /unknown feature "Proximity".*did you mean "proximity"/.test(e.message));
    assert.throws(() => parseFeatureNames(["coverage", "coverage"]), /listed twice/);
  });

  it("a list without first-stage scores gets the lexicon's BM25 as its first stage", () => {
    const lex = lexiconFromIdf(new Map([["flea", 7], ["life", 4]]));
    const list = { qid: "q", query: "flea life", candidates: [{ docid: "a", score: NaN, rank: 1, text: "flea life flea" }, { docid: "b", score: NaN, rank: 2, text: "life of a dog" }] };
    const raw = rawFeatures(lex, analyzeLists([list])[0], ["flea life flea", "life of a dog"], ["firstStage"]);
    assert.ok(raw[0][0] > raw[1][0] && raw[1][0] > 0, JSON.stringify(raw));
  });
});
