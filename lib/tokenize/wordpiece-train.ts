/**
 * Deterministic WordPiece training, the way HF `tokenizers`' WordPieceTrainer does it (it wraps its BPE
 * trainer): merges are chosen by **pair frequency**, not by the likelihood score count(ab)/(count(a)count(b))
 * of the original WordPiece paper / HF course.
 *
 * 1. Every text is pre-tokenized (normalize.ts) and the pre-tokens are counted. Pre-tokens longer than
 *    `maxInputCharsPerWord` are ignored (WordPiece turns them into [UNK] anyway).
 * 2. Alphabet: every character (code point) seen; with `limitAlphabet` > 0 only the most frequent ones
 *    (ties: the smaller character first), and words with any other character are left out of training.
 * 3. Each word is spelled as symbols: its first character as is, the following ones with the "##" prefix.
 *    Initial vocabulary = special tokens, then these symbols sorted (JavaScript string order).
 * 4. Repeatedly, the adjacent symbol pair with the highest total count (each word weighted by its count)
 *    is merged everywhere, "a" + "##b" -> "ab", "##a" + "##b" -> "##ab"; the result joins the vocabulary
 *    (unless already in it). Ties: the pair whose (left, right) strings are lexicographically smallest.
 * 5. Stop when the vocabulary has `vocabSize` tokens, or the best pair occurs fewer than `minFrequency` times.
 *
 * No randomness: the same texts in the same order give the same vocabulary.
 */
import { ConfigError } from "../core/errors";
import { preTokenize, type NormalizeOptions } from "./normalize";
import { SPECIAL_TOKENS, WordPieceTokenizer, WORDPIECE_DEFAULTS } from "./wordpiece";
import { checkInt, resolveOptions } from "./options";

/** Options of the WordPiece trainer. */
export interface WordPieceTrainConfig {
  /** Target vocabulary size, special tokens included. Default 8000. */
  vocabSize: number;
  /** A pair is merged only if it occurs at least this many times (counting word repeats). Default 2. */
  minFrequency: number;
  /** Keep at most this many distinct characters (most frequent first); 0 = keep all. Default 0. */
  limitAlphabet: number;
  /** Normalization used to pre-tokenize the texts (and kept by the tokenizer). Default uncased, composed Hangul. */
  normalize: Partial<NormalizeOptions>;
}

/** Defaults of the trainer. */
export const WORDPIECE_TRAIN_DEFAULTS: Readonly<WordPieceTrainConfig> = Object.freeze({
  vocabSize: 8000,
  minFrequency: 2,
  limitAlphabet: 0,
  normalize: {},
});

/** What training did. */
export interface WordPieceTrainStats {
  /** Distinct pre-tokens used for training. */
  wordTypes: number;
  /** Characters kept / seen. */
  alphabet: number;
  alphabetSeen: number;
  /** Merges performed (some produce a token already in the vocabulary). */
  merges: number;
  /** Why training stopped. */
  stoppedBy: "vocabSize" | "minFrequency" | "noPairs";
}

/** The trained vocabulary (id order) with statistics. */
export interface WordPieceTrainResult {
  vocab: string[];
  stats: WordPieceTrainStats;
}

const SHIFT = 2 ** 22; // pair key = left * SHIFT + right; symbol ids stay far below 2^22

/** Train a WordPiece vocabulary (see the module comment for the algorithm). */
export function trainWordPieceVocab(texts: Iterable<string>, config: Partial<WordPieceTrainConfig> = {}): WordPieceTrainResult {
  const c = resolveOptions(WORDPIECE_TRAIN_DEFAULTS, config, "trainWordPiece");
  checkInt("trainWordPiece", "vocabSize", c.vocabSize, SPECIAL_TOKENS.length);
  checkInt("trainWordPiece", "minFrequency", c.minFrequency, 1);
  checkInt("trainWordPiece", "limitAlphabet", c.limitAlphabet, 0);
  const prefix = WORDPIECE_DEFAULTS.continuingSubwordPrefix;

  // 1. Word counts.
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const w of preTokenize(text, c.normalize).tokens) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  }
  // 2. Alphabet.
  const charCounts = new Map<string, number>();
  const spelled: Array<[string[], number]> = [];
  for (const [w, n] of wordCounts) {
    const chars = Array.from(w);
    if (chars.length > WORDPIECE_DEFAULTS.maxInputCharsPerWord) continue;
    spelled.push([chars, n]);
    for (const ch of chars) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
  }
  let alphabet = [...charCounts.keys()];
  if (c.limitAlphabet > 0 && alphabet.length > c.limitAlphabet) {
    alphabet.sort((a, b) => charCounts.get(b)! - charCounts.get(a)! || (a < b ? -1 : a > b ? 1 : 0));
    alphabet = alphabet.slice(0, c.limitAlphabet);
  }
  const kept = new Set(alphabet);

  // 3. Initial symbols.
  const words: string[][] = [];
  const freqs: number[] = [];
  const initial = new Set<string>();
  for (const [chars, n] of spelled) {
    if (!chars.every((ch) => kept.has(ch))) continue;
    const syms = chars.map((ch, i) => (i === 0 ? ch : prefix + ch));
    for (const s of syms) initial.add(s);
    words.push(syms);
    freqs.push(n);
  }
  const vocab: string[] = [...SPECIAL_TOKENS];
  for (const s of [...initial].sort()) if (!vocab.includes(s)) vocab.push(s);
  if (vocab.length > c.vocabSize) {
    throw new ConfigError(`trainWordPiece: vocabSize ${c.vocabSize} is smaller than the ${vocab.length} special tokens and initial symbols; raise vocabSize or set limitAlphabet`);
  }
  const idOf = new Map<string, number>(vocab.map((t, i) => [t, i]));
  // Symbol ids may differ from vocabulary ids only in that merges can recreate an existing token.
  const seqs: number[][] = words.map((syms) => syms.map((s) => idOf.get(s)!));

  // 4. Pair counts, where each pair occurs, and a max-heap of (count, pair) with lazy deletion.
  const counts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const touched = new Set<number>();
  const addWord = (w: number, sign: number): void => {
    const s = seqs[w];
    for (let i = 0; i + 1 < s.length; i++) {
      const k = s[i] * SHIFT + s[i + 1];
      counts.set(k, (counts.get(k) ?? 0) + sign * freqs[w]);
      touched.add(k);
      if (sign > 0) {
        let set = where.get(k);
        if (set === undefined) where.set(k, (set = new Set()));
        set.add(w);
      }
    }
  };
  for (let w = 0; w < seqs.length; w++) addWord(w, 1);
  const heap = new PairHeap(vocab);
  const flush = (): void => {
    for (const k of touched) {
      const n = counts.get(k)!;
      if (n > 0) heap.push(n, k);
      else counts.delete(k);
    }
    touched.clear();
  };
  flush();

  let merges = 0;
  let stoppedBy: WordPieceTrainStats["stoppedBy"] = "noPairs";
  while (vocab.length < c.vocabSize) {
    const top = heap.pop();
    if (top === undefined) break;
    if (counts.get(top.key) !== top.count) continue; // stale entry
    if (top.count < c.minFrequency) {
      stoppedBy = "minFrequency";
      break;
    }
    const a = Math.floor(top.key / SHIFT);
    const b = top.key - a * SHIFT;
    const merged = vocab[a] + vocab[b].slice(prefix.length);
    let id = idOf.get(merged);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(merged);
      idOf.set(merged, id);
    }
    for (const w of where.get(top.key)!) {
      const s = seqs[w];
      let has = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) has = true;
      if (!has) continue; // the word lost this pair to an earlier merge
      addWord(w, -1);
      const next: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          next.push(id);
          i++;
        } else next.push(s[i]);
      }
      seqs[w] = next;
      addWord(w, 1);
    }
    where.delete(top.key);
    merges++;
    flush();
  }
  if (vocab.length >= c.vocabSize) stoppedBy = "vocabSize";
  return { vocab, stats: { wordTypes: words.length, alphabet: alphabet.length, alphabetSeen: charCounts.size, merges, stoppedBy } };
}

/** Train a WordPiece vocabulary on `texts` and return a tokenizer using it (same normalization). */
export function trainWordPiece(texts: Iterable<string>, config: Partial<WordPieceTrainConfig> = {}): WordPieceTokenizer {
  const { vocab } = trainWordPieceVocab(texts, config);
  return new WordPieceTokenizer(vocab, { normalize: config.normalize ?? {} }, "trainWordPiece");
}

/** Binary max-heap on (count desc, then left token asc, then right token asc). */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];
  constructor(private readonly vocab: readonly string[]) {}

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { count: number; key: number } | undefined {
    if (this.keys.length === 0) return undefined;
    const top = { count: this.counts[0], key: this.keys[0] };
    const lastC = this.counts.pop()!;
    const lastK = this.keys.pop()!;
    if (this.keys.length > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.keys.length && this.better(l, m)) m = l;
        if (r < this.keys.length && this.better(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private better(i: number, j: number): boolean {
    if (this.counts[i] !== this.counts[j]) return this.counts[i] > this.counts[j];
    const ai = Math.floor(this.keys[i] / SHIFT), aj = Math.floor(this.keys[j] / SHIFT);
    const la = this.vocab[ai], lb = this.vocab[aj];
    if (la !== lb) return la < lb;
    return this.vocab[this.keys[i] - ai * SHIFT] < this.vocab[this.keys[j] - aj * SHIFT];
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i];
    this.counts[i] = this.counts[j];
    this.counts[j] = c;
    const k = this.keys[i];
    this.keys[i] = this.keys[j];
    this.keys[j] = k;
  }
}
