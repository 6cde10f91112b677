/**
 * Token Selection (DESIGN.md section 2): which tokens of a packed `[CLS] q [SEP] d [SEP]` pair the
 * Term Control Layer reads. Pure functions over word ids; no tensors, no tokenizer dependency.
 *
 * A "matched word" is a passage word whose whole normalized string also occurs among the query words
 * (normalization, Hangul aware, is the caller's job: pass the words exactly as they must compare).
 * Modes:
 * - `exact`: every passage token whose word is a matched word (all sub-word pieces of it).
 * - `topk:<k>`: only the k matched words (distinct strings) with the highest idf; ties go to the word
 *   that occurs first in the passage. k >= 1.
 * - `exact+query` / `topk:<k>+query`: additionally the query-side tokens of the selected words.
 * The idf array holds, at each selected token, the idf of its word (`defaultIdf` when the word is not in
 * the idf map), and 0 at unselected tokens.
 */
import { ConfigError, ShapeError, show } from "../core/errors";
import { SelectionArrays } from "./types";

/** A Token Selection mode string: `exact`, `topk:<k>`, `exact+query`, `topk:<k>+query`. */
export type TokenSelectionMode = string;

/** A parsed mode. */
export interface ParsedSelectionMode {
  /** Keep only the k highest-idf matched words; null keeps all. */
  topK: number | null;
  /** Also select query-side tokens of the selected words. */
  querySide: boolean;
}

/** Parse a mode string; throws ConfigError naming the bad value. */
export function parseSelectionMode(mode: string): ParsedSelectionMode {
  const m = /^(exact|topk:(\d+))(\+query)?$/.exec(mode);
  const k = m && m[2] !== undefined ? Number(m[2]) : null;
  if (!m || (k !== null && k < 1)) throw new ConfigError(`token selection: unknown mode ${show(mode)}; expected exact, topk:<k> (k >= 1), exact+query or topk:<k>+query`);
  return { topK: k, querySide: m[3] !== undefined };
}

/** One packed pair, token by token. */
export interface TokenSelectionInput {
  /** Per token: index of its word in queryWords (query side) or passageWords (passage side); -1 for special tokens and padding. */
  wordIds: ArrayLike<number>;
  /** Per token: 0 = query side, 1 = passage side (the pair's tokenTypeIds). */
  sideIds: ArrayLike<number>;
  /** Normalized query words. */
  queryWords: readonly string[];
  /** Normalized passage words. */
  passageWords: readonly string[];
  /** IDF per normalized word. */
  idf: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** IDF of a matched word missing from the map. Default 0. */
  defaultIdf?: number;
}

/** Selection of one pair. */
export interface TokenSelection {
  /** 1 at selected tokens. [T] */
  mask: Float32Array;
  /** idf of the selected token's word, 0 elsewhere. [T] */
  idf: Float32Array;
  /** The selected words, highest idf first. */
  words: string[];
}

function idfOf(input: TokenSelectionInput, word: string): number {
  const v = input.idf instanceof Map ? input.idf.get(word) : (input.idf as Record<string, number>)[word];
  return typeof v === "number" ? v : input.defaultIdf ?? 0;
}

/** Select the tokens of one pair for the given mode. */
export function computeTokenSelection(input: TokenSelectionInput, mode: TokenSelectionMode): TokenSelection {
  const { topK, querySide } = parseSelectionMode(mode);
  const T = input.wordIds.length;
  if (input.sideIds.length !== T) throw new ShapeError(`token selection: wordIds has ${T} entries but sideIds has ${input.sideIds.length}`);
  const wordAt = (i: number): string | undefined => {
    const w = input.wordIds[i];
    if (w < 0) return undefined;
    const words = input.sideIds[i] === 0 ? input.queryWords : input.passageWords;
    if (w >= words.length) throw new ShapeError(`token selection: wordIds[${i}] = ${w} but side ${input.sideIds[i]} has ${words.length} words`);
    return words[w];
  };
  const queryWords = new Set(input.queryWords);
  // Matched words in order of first occurrence in the passage.
  const matched: string[] = [];
  for (const w of input.passageWords) if (queryWords.has(w) && !matched.includes(w)) matched.push(w);
  const ranked = matched.map((w, order) => ({ w, order, idf: idfOf(input, w) })).sort((a, b) => b.idf - a.idf || a.order - b.order);
  const chosen = (topK === null ? ranked : ranked.slice(0, topK)).map((r) => r.w);
  const chosenSet = new Set(chosen);
  const mask = new Float32Array(T), idf = new Float32Array(T);
  for (let i = 0; i < T; i++) {
    const w = wordAt(i);
    if (w === undefined || !chosenSet.has(w)) continue;
    if (input.sideIds[i] === 1 || querySide) {
      mask[i] = 1;
      idf[i] = idfOf(input, w);
    }
  }
  return { mask, idf, words: chosen };
}

/** Pack per-pair selections (each of length seqLen) into the [B, T] arrays of an EncoderBatch. */
export function packSelections(selections: readonly TokenSelection[], seqLen: number): SelectionArrays {
  const mask = new Float32Array(selections.length * seqLen), idf = new Float32Array(selections.length * seqLen);
  selections.forEach((s, b) => {
    if (s.mask.length !== seqLen) throw new ShapeError(`packSelections: selection ${b} has ${s.mask.length} tokens, expected seqLen ${seqLen}`);
    mask.set(s.mask, b * seqLen);
    idf.set(s.idf, b * seqLen);
  });
  return { mask, idf };
}
