/**
 * Text normalization and pre-tokenization before WordPiece: the behaviour of BERT's `BasicTokenizer`
 * (google-research/bert tokenization.py; HF `BertNormalizer` + `BertPreTokenizer`), made Hangul-aware.
 *
 * Rules, applied in this order:
 * 1. Clean: U+0000, U+FFFD and every Unicode "Other" character (categories Cc, Cf, Cn, Co, Cs) are
 *    removed, except TAB, LF and CR, which are whitespace. (BERT `_clean_text` / `_is_control`.)
 * 2. Whitespace: SPACE, TAB, LF, CR, every Zs character and the line / paragraph separators U+2028,
 *    U+2029 become one ASCII space; words are the maximal runs of non-space characters. (BERT
 *    `_is_whitespace`, `whitespace_tokenize`; the separators as in Hugging Face's Rust BertNormalizer,
 *    which uses Unicode White_Space, where Python BERT kept them as word characters.)
 * 3. Hangul (our change, `hangul: "compose"`, the default): the text is first put in NFC, so that
 *    decomposed Hangul (conjoining jamo, as macOS file names produce) becomes precomposed syllables.
 * 4. Lowercase (uncased, the default): `toLowerCase()` character by character: a capital sigma
 *    becomes σ everywhere (as Hugging Face's Rust tokenizers do), never the word-final ς that
 *    JavaScript's and Python's context-sensitive lowercasing give.
 * 5. Strip accents (default: same as `lowercase`, as in BERT/HF): NFD, then every nonspacing mark (Mn)
 *    is dropped, so "Café" -> "cafe". Hangul syllables U+AC00-U+D7A3 are skipped by this step: NFD would
 *    split "한" into the jamo ᄒ ᅡ ᆫ (category Lo, so BERT keeps them, decomposed), and a vocabulary
 *    trained on composed text would then never match. With `hangul: "bert"` the original behaviour is
 *    kept (needed for pretrained uncased multilingual BERT vocabularies, whose Hangul pieces are jamo).
 * 6. CJK ideographs (the CJK Unified Ideographs blocks and extensions A-E, compatibility ideographs;
 *    BERT `_is_chinese_char`) become pre-tokens of one character each. Hangul, Hiragana and Katakana are
 *    not in these blocks and stay word characters, so a Korean word stays one pre-token.
 * 7. Punctuation becomes pre-tokens of one character each: every Unicode P* character and the ASCII
 *    symbol ranges 33-47, 58-64, 91-96, 123-126 (so "$", "+", "^", "`", "|", "~" too; BERT `_is_punctuation`).
 *
 * BERT's `never_split` list is not supported: special tokens are inserted by id (see pack.ts), never
 * parsed from text.
 */

/** How normalization behaves. */
export interface NormalizeOptions {
  /** Lowercase the text (an "uncased" model). Default true. */
  lowercase: boolean;
  /** Drop accents (NFD, remove Mn). Default: `undefined` = same as `lowercase`, as in BERT and HF. */
  stripAccents: boolean | undefined;
  /** Put CJK ideographs in pre-tokens of their own (BERT `tokenize_chinese_chars`). Default true. */
  handleCjk: boolean;
  /** "compose": Hangul stays composed syllables (default); "bert": the original decomposition into jamo. */
  hangul: "compose" | "bert";
}

/** Defaults: uncased BERT with composed Hangul. */
export const NORMALIZE_DEFAULTS: Readonly<NormalizeOptions> = Object.freeze({
  lowercase: true,
  stripAccents: undefined,
  handleCjk: true,
  hangul: "compose" as const,
});

/** The pre-tokens of a text, each with the index of the whitespace-separated word it belongs to. */
export interface PreTokens {
  /** Normalized pre-tokens (words split at punctuation and CJK ideographs). */
  tokens: string[];
  /** For each pre-token, the 0-based index of its whitespace word in the cleaned text (step 2). */
  words: number[];
}

const WHITESPACE = /[\t\n\r\p{Zs}\u2028\u2029]/gu;
const CONTROL = /[\p{C}\uFFFD]/gu;
const NOT_HANGUL_SYLLABLES = /[^\uAC00-\uD7A3]+/g;
const MARKS = /\p{Mn}/gu;
const CJK = "\\u4E00-\\u9FFF\\u3400-\\u4DBF\\uF900-\\uFAFF\\u{20000}-\\u{2A6DF}\\u{2A700}-\\u{2B73F}\\u{2B740}-\\u{2B81F}\\u{2B820}-\\u{2CEAF}\\u{2F800}-\\u{2FA1F}";
const PUNCT = "\\p{P}!-\\/:-@\\[-`{-~";
/** One CJK ideograph, one punctuation character, or a run of other characters. */
const PIECES = new RegExp(`[${CJK}]|[${PUNCT}]|[^${CJK}${PUNCT}]+`, "gu");
const PIECES_NO_CJK = new RegExp(`[${PUNCT}]|[^${PUNCT}]+`, "gu");

/** Rules 1-5: the cleaned, lowercased, accent-stripped text (whitespace runs kept as single spaces). */
export function normalizeText(text: string, options: Partial<NormalizeOptions> = {}): string {
  const o = { ...NORMALIZE_DEFAULTS, ...options };
  let s = text.replace(WHITESPACE, " ").replace(CONTROL, "");
  if (o.hangul === "compose") s = s.normalize("NFC");
  // U+03A3 first: toLowerCase maps a word-final capital sigma to ς, the Rust reference to σ.
  if (o.lowercase) s = s.replace(/\u03A3/g, "\u03C3").toLowerCase();
  const strip = o.stripAccents === undefined ? o.lowercase : o.stripAccents;
  if (strip) {
    s = o.hangul === "compose"
      ? s.replace(NOT_HANGUL_SYLLABLES, (run) => run.normalize("NFD").replace(MARKS, ""))
      : s.normalize("NFD").replace(MARKS, "");
  }
  return s;
}

/** All rules: the pre-tokens WordPiece sees, with the whitespace word each comes from. */
export function preTokenize(text: string, options: Partial<NormalizeOptions> = {}): PreTokens {
  const handleCjk = options.handleCjk ?? NORMALIZE_DEFAULTS.handleCjk;
  const re = handleCjk ? PIECES : PIECES_NO_CJK;
  const tokens: string[] = [];
  const words: number[] = [];
  let w = 0;
  for (const word of normalizeText(text, options).split(" ")) {
    if (word === "") continue;
    // Accent stripping may have emptied a word made only of marks: it then yields no pre-token.
    for (const m of word.matchAll(re)) {
      tokens.push(m[0]);
      words.push(w);
    }
    w++;
  }
  return { tokens, words };
}

/** All rules: the pre-tokens of a text (BERT `BasicTokenizer.tokenize`). */
export function basicTokenize(text: string, options: Partial<NormalizeOptions> = {}): string[] {
  return preTokenize(text, options).tokens;
}

/**
 * The normalized whitespace words of a text (rules 1-5), indexed like `PreTokens.words` and the packed
 * `wordIds`, e.g. the `queryWords` / `passageWords` of Token Selection. Punctuation stays attached
 * ("search."); match on `preTokenize(text).tokens` with `preTokenIds` to ignore it.
 */
export function normalizedWords(text: string, options: Partial<NormalizeOptions> = {}): string[] {
  return normalizeText(text, options).split(" ").filter((w) => w !== "");
}
