import assert from "node:assert/strict";
import { ConfigError } from "../../lib/core/errors";
import { shippedCorpus, trainShippedVocab } from "../../lib/tokenize/corpus";
import { trainWordPiece, trainWordPieceVocab } from "../../lib/tokenize/wordpiece-train";
import type { WordPieceTokenizer } from "../../lib/tokenize/wordpiece";
import * as hf from "@anush008/tokenizers";
import { sha256 } from "../../lib/core/hash";

/** The training setting of the shipped student vocabulary. */
const GOLDEN_TRAIN = { vocabSize: 8000, minFrequency: 2 };

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
  it("is the vocabulary every stored student was trained with (regression pin of the training output)", () => {
    // sha256 of vocab.txt's content; changes only when the training algorithm or the shipped corpus does
    assert.equal(corpus.length, 10195);
    assert.equal(sha256(tok.idToToken.join("\n") + "\n"), "35a0952637e355b5a10efaf3ae4b6605d04989bb85409968b65622af79c5b46a");
  });
  it("encodes every shipped text to the ids of the Hugging Face Rust tokenizers (independent reference) with this vocabulary", async () => {
    const rust = new hf.Tokenizer(hf.WordPiece.init(Object.fromEntries(tok.idToToken.map((t, i) => [t, i])), { unkToken: "[UNK]", continuingSubwordPrefix: "##", maxInputCharsPerWord: 100 }));
    rust.setNormalizer(hf.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
    rust.setPreTokenizer(hf.bertPreTokenizer());
    const enc = await rust.encodeBatch(corpus, { addSpecialTokens: false });
    const diffs = corpus.filter((t, i) => JSON.stringify(tok.encode(t).ids) !== JSON.stringify(enc[i].getIds()));
    assert.deepEqual(diffs.slice(0, 3), [], `${corpus.length - diffs.length}/${corpus.length} texts agree`);
  });
});
