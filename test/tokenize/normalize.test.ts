import assert from "node:assert/strict";
import { basicTokenize, normalizedWords, normalizeText, preTokenize } from "../../lib/tokenize/normalize";

describe("basicTokenize (BERT BasicTokenizer, Hangul-aware)", () => {
  it("lowercases and strips Latin accents (NFD, drop Mn)", () => {
    assert.deepEqual(basicTokenize("Café NAÏVE Über façade"), ["cafe", "naive", "uber", "facade"]);
  });
  it("keeps case and accents when cased", () => {
    assert.deepEqual(basicTokenize("Café", { lowercase: false }), ["Café"]);
    assert.deepEqual(basicTokenize("Café", { lowercase: true, stripAccents: false }), ["café"]);
  });
  it("splits every punctuation character (Unicode P* and ASCII symbols) into its own pre-token", () => {
    assert.deepEqual(basicTokenize("Hello, world! it's $5+3=8 (a|b)~«ok»"),
      ["hello", ",", "world", "!", "it", "'", "s", "$", "5", "+", "3", "=", "8", "(", "a", "|", "b", ")", "~", "«", "ok", "»"]);
  });
  it("makes every CJK ideograph a pre-token of its own, but not kana", () => {
    assert.deepEqual(basicTokenize("東京タワーに行く"), ["東", "京", "タワーに", "行", "く"]);
  });
  it("keeps Hangul syllables composed, one Korean word = one pre-token", () => {
    assert.deepEqual(basicTokenize("한국어 검색"), ["한국어", "검색"]);
    assert.deepEqual(basicTokenize("한국어, 검색!"), ["한국어", ",", "검색", "!"]);
  });
  it("composes decomposed (conjoining jamo) Hangul input", () => {
    const decomposed = "한국어".normalize("NFD");
    assert.notEqual(decomposed, "한국어");
    assert.deepEqual(basicTokenize(decomposed), ["한국어"]);
  });
  it("reproduces BERT's jamo decomposition with hangul: \"bert\"", () => {
    assert.deepEqual(basicTokenize("한국", { hangul: "bert" }), ["한국".normalize("NFD")]);
  });
  it("removes control and format characters and normalizes whitespace", () => {
    assert.equal(normalizeText("a\u0000b\u200bc\tD\u00a0e\r\nf\ufffd"), "abc d e  f");
    assert.deepEqual(basicTokenize("  a\u3000\tb  "), ["a", "b"]);
  });
  it("gives each pre-token the index of its whitespace word", () => {
    assert.deepEqual(preTokenize("U.S. search engines"), { tokens: ["u", ".", "s", ".", "search", "engines"], words: [0, 0, 0, 0, 1, 2] });
  });
  it("lists the normalized whitespace words that word ids index", () => {
    assert.deepEqual(normalizedWords(" Café  검색.\tU.S. "), ["cafe", "검색.", "u.s."]);
  });
});
