import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { ConfigError } from "../../lib/core/errors";
import { shippedCorpus, trainShippedVocab } from "../../lib/tokenize/corpus";
import { trainWordPiece, trainWordPieceVocab } from "../../lib/tokenize/wordpiece-train";
import type { WordPieceTokenizer } from "../../lib/tokenize/wordpiece";
import { GOLDEN_TRAIN, goldenTable } from "../fixtures/wordpiece-golden";

describe("trainWordPieceVocab", () => {
  it("merges the most frequent pair first, ties lexicographically (hand-computed)", () => {
    // Symbols: a ##b (x3), a ##c (x3), b ##c (x1). Pairs: (a,##b)=3, (a,##c)=3, (b,##c)=1.
    const texts = ["ab ab ab ac ac ac bc"];
    const r = trainWordPieceVocab(texts, { vocabSize: 14, minFrequency: 1 });
    assert.deepEqual(r.vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "##b", "##c", "a", "b", "ab", "ac", "bc"]);
    assert.equal(r.stats.stoppedBy, "noPairs");
  });
  it("stops below minFrequency", () => {
    const r = trainWordPieceVocab(["ab ab ab ac ac ac bc"], { vocabSize: 14, minFrequency: 2 });
    assert.deepEqual(r.vocab.slice(9), ["ab", "ac"]);
    assert.equal(r.stats.stoppedBy, "minFrequency");
  });
  it("keeps only the most frequent characters with limitAlphabet", () => {
    const r = trainWordPieceVocab(["aaa bb c"], { vocabSize: 100, minFrequency: 1, limitAlphabet: 2 });
    assert.equal(r.stats.alphabet, 2);
    assert.ok(!r.vocab.includes("c"));
  });
  it("rejects unknown options and a vocabSize below the alphabet", () => {
    assert.throws(() => trainWordPieceVocab(["a"], { vocab_size: 10 } as never), /unknown option "vocab_size"/);
    assert.throws(() => trainWordPieceVocab(["abcdef"], { vocabSize: 6 }), ConfigError);
  });
});

describe("trainShippedVocab (vocab 8000 on the shipped corpus)", () => {
  let corpus: string[];
  let tok: WordPieceTokenizer;
  let ms = 0;
  before(() => {
    corpus = shippedCorpus();
    const t0 = Date.now();
    tok = trainShippedVocab(GOLDEN_TRAIN);
    ms = Date.now() - t0;
  });

  it("trains in a few seconds and respects the vocabulary size", () => {
    assert.equal(tok.size, 8000);
    assert.ok(ms < 15_000, `training took ${ms} ms`);
  });
  it("is deterministic: the same texts give the identical vocabulary twice", () => {
    assert.deepEqual(trainWordPiece(corpus, GOLDEN_TRAIN).idToToken, tok.idToToken);
  });
  it("keeps frequent words whole", () => {
    for (const w of ["the", "of", "and", "is", "what", "flea", "concrete"]) assert.deepEqual(tok.encode(w).tokens, [w]);
  });
  it("matches the regression snapshot test/fixtures/wordpiece-golden.json", () => {
    const file = join(__dirname, "..", "fixtures", "wordpiece-golden.json");
    const expected = JSON.parse(readFileSync(file, "utf8"));
    const actual = JSON.parse(JSON.stringify(goldenTable(tok, corpus)));
    if (JSON.stringify(actual) !== JSON.stringify(expected)) writeFileSync(file.replace(/\.json$/, "-changed.json"), JSON.stringify(actual, null, 1) + "\n");
    assert.deepEqual(actual, expected);
  });
});
