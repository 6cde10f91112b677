import assert from "node:assert/strict";
import { ConfigError } from "../../lib/core/errors";
import { WordPieceTokenizer, SPECIAL_TOKENS } from "../../lib/tokenize/wordpiece";
import { bucketByLength, packBatch, packPair } from "../../lib/tokenize/pack";

// ids: [PAD]0 [UNK]1 [CLS]2 [SEP]3 [MASK]4 a5 b6 c7 d8 ##x9 .10
const tok = new WordPieceTokenizer([...SPECIAL_TOKENS, "a", "b", "c", "d", "##x", "."]);

describe("packPair", () => {
  it("packs [CLS] q [SEP] d [SEP] with types, mask, spans, word ids and padding", () => {
    const p = packPair(tok, "a bx", "c. d", { maxLength: 12 });
    assert.deepEqual(p.inputIds, [2, 5, 6, 9, 3, 7, 10, 8, 3, 0, 0, 0]);
    assert.deepEqual(p.tokenTypeIds, [0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0]);
    assert.deepEqual(p.attentionMask, [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    assert.deepEqual(p.wordIds, [-1, 0, 1, 1, -1, 0, 0, 1, -1, -1, -1, -1]);
    assert.deepEqual(p.preTokenIds, [-1, 0, 1, 1, -1, 0, 1, 2, -1, -1, -1, -1]);
    assert.deepEqual([p.queryTokenSpan, p.passageTokenSpan, p.length, p.truncated], [[1, 4], [5, 8], 9, false]);
  });
  it("truncates the passage first", () => {
    const p = packPair(tok, "a b", "c c c c c c", { maxLength: 8, maxQueryTokens: 2 });
    assert.deepEqual(p.inputIds, [2, 5, 6, 3, 7, 7, 7, 3]);
    assert.deepEqual([p.queryTokenSpan, p.passageTokenSpan, p.truncated, p.dropped], [[1, 3], [4, 7], true, { query: 0, passage: 3 }]);
  });
  it("keeps a long query whole when the passage fits beside it", () => {
    const p = packPair(tok, "a a a a a", "c", { maxLength: 10, maxQueryTokens: 2 });
    assert.deepEqual([p.queryTokenSpan, p.passageTokenSpan, p.truncated], [[1, 6], [7, 8], false]);
  });
  it("cuts the query to maxQueryTokens only when the pair does not fit", () => {
    const p = packPair(tok, "a a a a a", "c c c c c c", { maxLength: 10, maxQueryTokens: 2 });
    assert.deepEqual(p.inputIds, [2, 5, 5, 3, 7, 7, 7, 7, 7, 3]);
    assert.deepEqual(p.dropped, { query: 3, passage: 1 });
  });
  it("rejects unknown options and a maxLength below 3", () => {
    assert.throws(() => packPair(tok, "a", "b", { maxLen: 8 } as never), ConfigError);
    assert.throws(() => packPair(tok, "a", "b", { maxLength: 2 }), /maxLength must be an integer >= 3, got 2/);
  });
});

describe("packBatch", () => {
  const pairs = [{ query: "a", passage: "b" }, { query: "a b", passage: "c c c" }];
  it("returns flat Int32Arrays of shape [batch, maxLength]", () => {
    const b = packBatch(tok, pairs, { maxLength: 8 });
    assert.deepEqual(b.shape, [2, 8]);
    assert.ok(b.inputIds instanceof Int32Array);
    assert.deepEqual(Array.from(b.inputIds), [2, 5, 3, 6, 3, 0, 0, 0, 2, 5, 6, 3, 7, 7, 7, 3]);
    assert.deepEqual(Array.from(b.lengths), [5, 8]);
    assert.deepEqual(Array.from(b.wordIds.slice(8)), [-1, 0, 1, -1, 0, 1, 2, -1]);
  });
  it("pads to the longest row with padTo: \"longest\"", () => {
    const b = packBatch(tok, [pairs[0], pairs[0]], { maxLength: 64, padTo: "longest" });
    assert.deepEqual(b.shape, [2, 5]);
    assert.deepEqual(Array.from(b.attentionMask), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });
});

describe("bucketByLength", () => {
  it("groups indices of similar length, ties by index", () => {
    assert.deepEqual(bucketByLength([5, 1, 9, 1, 5], 2), [[1, 3], [0, 4], [2]]);
  });
});
