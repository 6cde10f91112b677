/**
 * The lexical analyzer shared by BM25, the collection statistics, Token Selection, the match channel and
 * the lexical features: text -> index terms, approximating Anserini's `DefaultEnglishAnalyzer`
 * (Pyserini's default for MS MARCO), which chains Lucene's StandardTokenizer, EnglishPossessiveFilter,
 * LowerCaseFilter, StopFilter (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET) and PorterStemFilter.
 *
 * Tokenization (`splitWords`), a simplification of StandardTokenizer's Unicode word breaks (UAX #29):
 * - a word is a run of letters (\p{L}), combining marks (\p{M}), digits and other numbers (\p{N}) and
 *   connector punctuation such as `_` (\p{Pc}); everything else separates words;
 * - inside a word, `'` `’` `.` `:` join two letters (`don't`, `u.s.a`, `fleas.part`) and `.` `,` `;`
 *   `'` `’` join two digits (`3.5`, `1,000`), as UAX #29 rules WB6/7 and WB11/12 do;
 * - every Han ideograph and Hiragana character is a word of its own (StandardTokenizer emits them one
 *   by one); Hangul syllables and other scripts form words like Latin letters.
 * Not reproduced: the 255-character token limit, emoji and Katakana/Thai details, numbers joined to
 * letters across a joiner (`a.1`). For English passages the differences are rare.
 *
 * Then, per word: strip a trailing possessive `'s` / `’s` (EnglishPossessiveFilter), lower-case
 * (locale-independent, like Lucene's LowerCaseFilter), drop the 33 stop words below, Porter-stem with
 * the maintained `stemmer` package (wooorm/stemmer 2.0.1, Porter 1980 with the reference
 * implementation's departures that Lucene's PorterStemmer keeps: -bli -> -ble, -logi -> -log). The
 * tests check it against an independent port of Lucene's PorterStemmer (test/ref-porter.ts) on every
 * word of the shipped corpus (35,377 words, no difference) and on Porter's published examples.
 */
import { stemmer } from "stemmer";


/** Lucene's `EnglishAnalyzer.ENGLISH_STOP_WORDS_SET` (the classic 33 words). */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
  "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they",
  "this", "to", "was", "will", "with",
]);

const WORD_CHAR = /[\p{L}\p{M}\p{N}\p{Pc}]/u;
const LETTER = /[\p{L}\p{M}]/u;
const DIGIT = /\p{N}/u;
const SINGLE_CHAR_WORD = /[\p{Script=Han}\p{Script=Hiragana}]/u;
const LETTER_JOINERS = new Set(["'", "\u2019", ".", ":"]);
const DIGIT_JOINERS = new Set([".", ",", ";", "'", "\u2019"]);

/** Split text into words by the rules in the file header (case and possessives kept). */
export function splitWords(text: string): string[] {
  const chars = Array.from(text); // code points, so that astral letters stay whole
  const words: string[] = [];
  const n = chars.length;
  let i = 0;
  while (i < n) {
    const c = chars[i];
    if (SINGLE_CHAR_WORD.test(c)) { words.push(c); i++; continue; }
    if (!WORD_CHAR.test(c)) { i++; continue; }
    const start = i++;
    for (;;) {
      if (i < n && WORD_CHAR.test(chars[i]) && !SINGLE_CHAR_WORD.test(chars[i])) { i++; continue; }
      if (i + 1 < n && joins(chars[i - 1], chars[i], chars[i + 1])) { i += 2; continue; }
      break;
    }
    words.push(chars.slice(start, i).join(""));
  }
  return words;
}

function joins(before: string, mid: string, after: string): boolean {
  if (SINGLE_CHAR_WORD.test(after)) return false;
  if (LETTER_JOINERS.has(mid) && LETTER.test(before) && LETTER.test(after)) return true;
  return DIGIT_JOINERS.has(mid) && DIGIT.test(before) && DIGIT.test(after);
}

/** EnglishPossessiveFilter: drop a trailing `'s`, `’s` or `'S`. */
export function stripPossessive(word: string): string {
  return /['\u2019\uff07][sS]$/.test(word) ? word.slice(0, -2) : word;
}

/** Options of `analyze`; the defaults are the BM25 analyzer. */
export interface AnalyzeOptions {
  /** Words removed after lower-casing. Default `ENGLISH_STOP_WORDS`; pass an empty set to keep all. */
  stopWords?: ReadonlySet<string>;
  /** Porter-stem every term. Default true. */
  stem?: boolean;
}

/** Text -> index terms: split, strip possessives, lower-case, drop stop words, Porter-stem. */
export function analyze(text: string, options: AnalyzeOptions = {}): string[] {
  const { stopWords = ENGLISH_STOP_WORDS, stem = true } = options;
  const terms: string[] = [];
  for (const word of splitWords(text)) {
    const t = stripPossessive(word).toLowerCase();
    if (t === "" || stopWords.has(t)) continue;
    terms.push(stem ? porterStem(t) : t);
  }
  return terms;
}

/** Porter-stem a lower-case word (the `stemmer` package); words of 1-2 characters are left alone. */
export function porterStem(word: string): string {
  return word.length <= 2 ? word : stemmer(word);
}
