/**
 * WordPiece tokenizer (BERT): normalization and pre-tokenization (normalize.ts), then greedy
 * longest-match-first over a vocabulary, with "##" marking a piece that continues a word.
 * Vocabularies are saved and loaded as BERT `vocab.txt` (one token per line, id = 0-based line number)
 * or loaded from a Hugging Face `tokenizer.json` whose model is WordPiece. Training: wordpiece-train.ts.
 */
import { readFileSync, writeFileSync, mkdirSync } from "fs";
import { join } from "path";
import { DataError, ConfigError, show } from "../core/errors";
import { readTextFile } from "../data/text-file";
import { preTokenize, type NormalizeOptions } from "./normalize";

/** The special tokens of a vocabulary we create, in id order: [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4. */
export const SPECIAL_TOKENS: readonly string[] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** How a WordPiece vocabulary is applied. */
export interface WordPieceOptions {
  /** Token for a word that cannot be spelled with the vocabulary. Default "[UNK]". */
  unkToken: string;
  /** Prefix of a piece that continues a word. Default "##". */
  continuingSubwordPrefix: string;
  /** Words longer than this many characters (code points) become the unknown token. Default 100 (BERT). */
  maxInputCharsPerWord: number;
  /** Normalization (see normalize.ts). Default uncased, composed Hangul. */
  normalize: Partial<NormalizeOptions>;
}

/** Defaults: BERT's. */
export const WORDPIECE_DEFAULTS: Readonly<WordPieceOptions> = Object.freeze({
  unkToken: "[UNK]",
  continuingSubwordPrefix: "##",
  maxInputCharsPerWord: 100,
  normalize: {},
});

/** Tokens and ids of an encoded text. */
export interface Encoding {
  tokens: string[];
  ids: number[];
}

/** An encoding that also says, for every token, which whitespace word and which pre-token it came from. */
export interface WordEncoding extends Encoding {
  /** 0-based whitespace word index per token (normalize.ts rule 2). */
  wordIds: number[];
  /** 0-based pre-token index per token (after the punctuation / CJK split). */
  preTokenIds: number[];
  /** The pre-tokens themselves (normalized words to match query terms against). */
  preTokens: string[];
}

const CACHE_LIMIT = 200_000;

/** A WordPiece vocabulary with BERT's encoding rules. */
export class WordPieceTokenizer {
  /** Token -> id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** Id -> token. */
  readonly idToToken: readonly string[];
  readonly options: Readonly<WordPieceOptions>;
  readonly unkId: number;
  readonly padId: number;
  readonly clsId: number;
  readonly sepId: number;
  /** Id of [MASK], or -1 when the vocabulary has none. */
  readonly maskId: number;
  private readonly cache = new Map<string, number[]>();

  /** `tokens[i]` gets id i. Throws DataError on duplicates and when [PAD], [CLS], [SEP] or the unknown token is missing. */
  constructor(tokens: readonly string[], options: Partial<WordPieceOptions> = {}, source = "vocabulary") {
    this.options = Object.freeze({ ...WORDPIECE_DEFAULTS, ...options });
    const vocab = new Map<string, number>();
    tokens.forEach((t, i) => {
      if (vocab.has(t)) throw new DataError({ file: source, line: i + 1 }, "each token once", `${show(t)} again (first at line ${vocab.get(t)! + 1})`);
      vocab.set(t, i);
    });
    this.vocab = vocab;
    this.idToToken = tokens.slice();
    const need = (t: string): number => {
      const id = vocab.get(t);
      if (id === undefined) throw new DataError({ file: source }, `the special token ${t} in the vocabulary`, `a vocabulary of ${tokens.length} tokens without it`);
      return id;
    };
    this.unkId = need(this.options.unkToken);
    this.padId = need("[PAD]");
    this.clsId = need("[CLS]");
    this.sepId = need("[SEP]");
    this.maskId = vocab.get("[MASK]") ?? -1;
  }

  /** Number of tokens in the vocabulary. */
  get size(): number {
    return this.idToToken.length;
  }

  /** Ids of one pre-token by greedy longest-match-first (BERT `WordpieceTokenizer.tokenize`); [UNK] if it cannot be spelled. */
  wordIdsOf(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    const chars = Array.from(word);
    const { maxInputCharsPerWord, continuingSubwordPrefix } = this.options;
    let out: number[] = [];
    if (chars.length > maxInputCharsPerWord) out = [this.unkId];
    let start = 0;
    while (out[0] !== this.unkId && start < chars.length) {
      let end = chars.length;
      let found = -1;
      for (; start < end; end--) {
        const id = this.vocab.get((start > 0 ? continuingSubwordPrefix : "") + chars.slice(start, end).join(""));
        if (id !== undefined) {
          found = id;
          break;
        }
      }
      // BERT: a position no piece matches makes the whole word unknown.
      if (found < 0) out = [this.unkId];
      else out.push(found);
      start = end;
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, out);
    return out;
  }

  /** Encode a text: normalize, pre-tokenize, WordPiece. No special tokens are added (see pack.ts). */
  encode(text: string): Encoding {
    const e = this.encodeWords(text);
    return { tokens: e.tokens, ids: e.ids };
  }

  /** Encode a text and keep, for every token, its whitespace word and pre-token. */
  encodeWords(text: string): WordEncoding {
    const pre = preTokenize(text, this.options.normalize);
    const ids: number[] = [];
    const wordIds: number[] = [];
    const preTokenIds: number[] = [];
    pre.tokens.forEach((t, i) => {
      for (const id of this.wordIdsOf(t)) {
        ids.push(id);
        wordIds.push(pre.words[i]);
        preTokenIds.push(i);
      }
    });
    return { tokens: ids.map((id) => this.idToToken[id]), ids, wordIds, preTokenIds, preTokens: pre.tokens };
  }

  /** Text of ids: pieces joined by spaces, "##" pieces glued to the previous one; special tokens skipped unless asked. */
  decode(ids: ArrayLike<number>, opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    const prefix = this.options.continuingSubwordPrefix;
    let out = "";
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const t = this.idToToken[id];
      if (t === undefined) throw new ConfigError(`decode: id ${show(id)} is outside the vocabulary of ${this.size} tokens`);
      if (skip && id !== this.unkId && SPECIAL_TOKENS.includes(t)) continue;
      if (t.startsWith(prefix) && out !== "") out += t.slice(prefix.length);
      else out += (out === "" ? "" : " ") + t;
    }
    return out;
  }

  /** Write `<dir>/vocab.txt` (one token per line, id = line number) and return its path. */
  saveVocab(dir: string): string {
    for (const t of this.idToToken) {
      if (/[\r\n]/.test(t)) throw new ConfigError(`saveVocab: token ${show(t)} contains a line break and cannot be stored in vocab.txt`);
    }
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "vocab.txt");
    writeFileSync(file, this.idToToken.join("\n") + "\n", "utf8");
    return file;
  }
}

/**
 * "bert" when a vocabulary spells Hangul with conjoining jamo only (pretrained uncased multilingual BERT,
 * whose accent stripping decomposed syllables), else "compose". See normalize.ts rule 5.
 */
export function detectHangulMode(tokens: Iterable<string>): "compose" | "bert" {
  let jamo = false;
  for (const t of tokens) {
    if (/[\uAC00-\uD7A3]/.test(t)) return "compose";
    if (/[\u1100-\u11FF]/.test(t)) jamo = true;
  }
  return jamo ? "bert" : "compose";
}

/** Load a BERT `vocab.txt` (one token per line, id = 0-based line number; CRLF accepted). */
export function loadVocab(file: string, options: Partial<WordPieceOptions> = {}): WordPieceTokenizer {
  const text = readTextFile(file, "vocabulary (vocab.txt)");
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((t, i) => {
    if (t === "") throw new DataError({ file, line: i + 1 }, "one token per line", "an empty line");
  });
  const normalize = { hangul: detectHangulMode(lines), ...(options.normalize ?? {}) };
  return new WordPieceTokenizer(lines, { ...options, normalize }, file);
}

/**
 * Load a Hugging Face `tokenizer.json` whose `model.type` is "WordPiece": its vocab, unk_token,
 * continuing_subword_prefix, max_input_chars_per_word, added tokens, and the lowercase / strip_accents /
 * handle_chinese_chars flags of a `BertNormalizer` (or a `Sequence` of Lowercase / StripAccents / NFD / NFC).
 */
export function loadHfTokenizerJson(file: string, options: Partial<WordPieceOptions> = {}): WordPieceTokenizer {
  let json: any;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DataError({ file }, "a JSON tokenizer file", `unparsable JSON (${(e as Error).message})`);
  }
  const model = json === null || typeof json !== "object" ? undefined : json.model;
  if (model === undefined || model === null || typeof model !== "object") throw new DataError({ file, field: "model" }, "an object with type \"WordPiece\"", show(model));
  if (model.type !== "WordPiece") {
    throw new DataError({ file, field: "model.type" }, "\"WordPiece\"", show(model.type), "only WordPiece (BERT-style) tokenizers are supported; BPE / Unigram models need another tokenizer");
  }
  const vocab = model.vocab;
  if (vocab === null || typeof vocab !== "object" || Array.isArray(vocab)) throw new DataError({ file, field: "model.vocab" }, "an object token -> id", show(vocab));
  const byId: string[] = [];
  const place = (token: string, id: unknown, field: string): void => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) throw new DataError({ file, field }, "a non-negative integer id", show(id));
    if (byId[id] !== undefined && byId[id] !== token) throw new DataError({ file, field }, `a free id`, `id ${id} for both ${show(byId[id])} and ${show(token)}`);
    byId[id] = token;
  };
  for (const [token, id] of Object.entries(vocab)) place(token, id, `model.vocab[${JSON.stringify(token)}]`);
  const added: any[] = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  added.forEach((a, i) => place(String(a?.content), a?.id, `added_tokens[${i}]`));
  for (let i = 0; i < byId.length; i++) {
    if (byId[i] === undefined) throw new DataError({ file, field: "model.vocab" }, "ids 0..n-1 without gaps", `no token with id ${i}`);
  }
  const opts: Partial<WordPieceOptions> = {
    unkToken: typeof model.unk_token === "string" ? model.unk_token : WORDPIECE_DEFAULTS.unkToken,
    continuingSubwordPrefix: typeof model.continuing_subword_prefix === "string" ? model.continuing_subword_prefix : WORDPIECE_DEFAULTS.continuingSubwordPrefix,
    maxInputCharsPerWord: typeof model.max_input_chars_per_word === "number" ? model.max_input_chars_per_word : WORDPIECE_DEFAULTS.maxInputCharsPerWord,
    ...options,
  };
  const normalize = { hangul: detectHangulMode(byId), ...hfNormalizer(json.normalizer, file), ...(options.normalize ?? {}) };
  return new WordPieceTokenizer(byId, { ...opts, normalize }, file);
}

/** Our normalization flags for a HF normalizer object (null = no normalization). */
function hfNormalizer(n: any, file: string): Partial<NormalizeOptions> {
  if (n === null || n === undefined) return { lowercase: false, stripAccents: false, handleCjk: false };
  if (n.type === "BertNormalizer") {
    const lowercase = n.lowercase !== false;
    return { lowercase, stripAccents: typeof n.strip_accents === "boolean" ? n.strip_accents : undefined, handleCjk: n.handle_chinese_chars !== false };
  }
  if (n.type === "Sequence" && Array.isArray(n.normalizers)) {
    const out: Partial<NormalizeOptions> = { lowercase: false, stripAccents: false, handleCjk: false };
    for (const m of n.normalizers) {
      if (m?.type === "Lowercase") out.lowercase = true;
      else if (m?.type === "StripAccents") out.stripAccents = true;
      else if (m?.type !== "NFD" && m?.type !== "NFC") throw new DataError({ file, field: "normalizer.normalizers" }, "Lowercase, StripAccents, NFD or NFC", show(m?.type));
    }
    return out;
  }
  throw new DataError({ file, field: "normalizer.type" }, "\"BertNormalizer\", \"Sequence\" or null", show(n.type));
}

