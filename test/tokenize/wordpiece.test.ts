import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { DataError } from "../../lib/core/errors";
import { WordPieceTokenizer, loadHfTokenizerJson, loadVocab, SPECIAL_TOKENS } from "../../lib/tokenize/wordpiece";

const FIXTURE = join(__dirname, "..", "fixtures", "tokenizer-hand.json");
/** The hand-made vocabulary of test/fixtures/tokenizer-hand.json, in id order. */
const HAND_VOCAB = Object.entries(JSON.parse(readFileSync(FIXTURE, "utf8")).model.vocab as Record<string, number>)
  .sort((a, b) => a[1] - b[1]).map(([t]) => t);

/**
 * Golden table, hand-derived from BERT's algorithm (BasicTokenizer, then greedy longest-match-first with
 * "##" continuation, max 100 characters per word) over HAND_VOCAB. No independent implementation was
 * available to cross-check: Debian packages neither python3-tokenizers nor python3-transformers.
 */
const HAND_GOLDEN: Array<[string, string[]]> = [
  ["unaffable", ["un", "##aff", "##able"]],
  ["UNwanted, running", ["un", "##want", "##ed", ",", "runn", "##ing"]], // "runn" beats "run": longest match
  ["run", ["run"]],
  ["Café", ["caf", "##e"]], // accent stripped before matching
  ["abc ab a", ["a", "##b", "##c", "a", "##b", "a"]],
  ["the xyz.", ["the", "[UNK]", "."]], // no "x": the whole word is unknown
  ["unx", ["[UNK]"]], // "un" matches but "##x" cannot: the whole word, not just the tail
  ["한국어 검색", ["한국어", "검색"]],
  ["東京", ["東", "京"]],
  ["searches", ["search", "##es"]],
];

describe("WordPieceTokenizer", () => {
  const tok = new WordPieceTokenizer(HAND_VOCAB);

  it("numbers special tokens [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4", () => {
    assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 1, 2, 3, 4]);
    assert.deepEqual(HAND_VOCAB.slice(0, 5), SPECIAL_TOKENS);
  });
  for (const [text, tokens] of HAND_GOLDEN) {
    it(`encodes ${JSON.stringify(text)} as ${tokens.join(" ")} (hand-derived)`, () => {
      const e = tok.encode(text);
      assert.deepEqual(e.tokens, tokens);
      assert.deepEqual(e.ids, tokens.map((t) => HAND_VOCAB.indexOf(t)));
    });
  }
  it("turns words longer than 100 characters into [UNK]", () => {
    assert.equal(tok.encode("a".repeat(100)).ids.length, 100);
    assert.deepEqual(tok.encode("a".repeat(101)).tokens, ["[UNK]"]);
  });
  it("reports the word and pre-token of every token", () => {
    const e = tok.encodeWords("the unaffable, run");
    assert.deepEqual(e.tokens, ["the", "un", "##aff", "##able", ",", "run"]);
    assert.deepEqual(e.wordIds, [0, 1, 1, 1, 1, 2]);
    assert.deepEqual(e.preTokenIds, [0, 1, 1, 1, 2, 3]);
  });
  it("decodes by gluing ## pieces and skipping special tokens (not [UNK])", () => {
    const ids = [2, ...tok.encode("unaffable, the xyz").ids, 3, 0];
    assert.equal(tok.decode(ids), "unaffable , the [UNK]");
    assert.equal(tok.decode(ids, { skipSpecialTokens: false }), "[CLS] unaffable , the [UNK] [SEP] [PAD]");
  });
  it("rejects vocabularies with duplicates or without [CLS]", () => {
    assert.throws(() => new WordPieceTokenizer([...HAND_VOCAB, "the"]), DataError);
    assert.throws(() => new WordPieceTokenizer(HAND_VOCAB.filter((t) => t !== "[CLS]")), /\[CLS\]/);
  });
});

describe("vocab.txt", () => {
  it("round-trips: save, load, same ids and encodings", () => {
    const dir = mkdtempSync(join(tmpdir(), "rra-vocab-"));
    const tok = new WordPieceTokenizer(HAND_VOCAB);
    const file = tok.saveVocab(dir);
    assert.equal(readFileSync(file, "utf8"), HAND_VOCAB.join("\n") + "\n");
    const back = loadVocab(file);
    assert.deepEqual(back.idToToken, HAND_VOCAB);
    for (const [text] of HAND_GOLDEN) assert.deepEqual(back.encode(text), tok.encode(text));
  });
  it("accepts CRLF and names the line of an empty entry", () => {
    const dir = mkdtempSync(join(tmpdir(), "rra-vocab-"));
    writeFileSync(join(dir, "crlf.txt"), HAND_VOCAB.join("\r\n") + "\r\n");
    assert.deepEqual(loadVocab(join(dir, "crlf.txt")).idToToken, HAND_VOCAB);
    writeFileSync(join(dir, "gap.txt"), ["[PAD]", "[UNK]", "", "[CLS]"].join("\n"));
    assert.throws(() => loadVocab(join(dir, "gap.txt")), /gap\.txt:3: expected one token per line/);
  });
  it("uses BERT's Hangul decomposition for a jamo-only (pretrained multilingual) vocabulary", () => {
    const dir = mkdtempSync(join(tmpdir(), "rra-vocab-"));
    const jamo = "한".normalize("NFD");
    writeFileSync(join(dir, "vocab.txt"), [...SPECIAL_TOKENS, jamo].join("\n"));
    assert.equal(loadVocab(join(dir, "vocab.txt")).options.normalize.hangul, "bert");
    assert.deepEqual(loadVocab(join(dir, "vocab.txt")).encode("한").tokens, [jamo]);
  });
});

describe("loadHfTokenizerJson", () => {
  it("reads a WordPiece tokenizer.json (hand-written fixture) and encodes like the same vocab.txt", () => {
    const hf = loadHfTokenizerJson(FIXTURE);
    assert.deepEqual(hf.idToToken, HAND_VOCAB);
    assert.equal(hf.options.maxInputCharsPerWord, 100);
    assert.equal(hf.options.normalize.lowercase, true);
    for (const [text, tokens] of HAND_GOLDEN) assert.deepEqual(hf.encode(text).tokens, tokens);
  });
  it("honours normalizer flags, unk_token and the subword prefix", () => {
    const j = JSON.parse(readFileSync(FIXTURE, "utf8"));
    j.normalizer.lowercase = false;
    j.model.max_input_chars_per_word = 3;
    const file = join(mkdtempSync(join(tmpdir(), "rra-hf-")), "tokenizer.json");
    writeFileSync(file, JSON.stringify(j));
    const hf = loadHfTokenizerJson(file);
    assert.deepEqual(hf.encode("The the runn").tokens, ["[UNK]", "the", "[UNK]"]);
  });
  it("throws a DataError naming model.type for a BPE tokenizer", () => {
    const file = join(mkdtempSync(join(tmpdir(), "rra-hf-")), "tokenizer.json");
    writeFileSync(file, JSON.stringify({ model: { type: "BPE", vocab: {}, merges: [] } }));
    assert.throws(() => loadHfTokenizerJson(file), (e: unknown) =>
      e instanceof DataError && e.field === "model.type" && /expected "WordPiece", got "BPE"/.test(e.message));
  });
});
