/**
 * Lucene's BM25 as the first stage computed it (Pyserini / Anserini on Lucene 8 and later), so that a
 * score can be re-computed, and its statistics recovered, exactly:
 *
 *   score(q, d) = sum over distinct query terms t of  qtf(t) * idf(t) * tf / (tf + k1 * (1 - b + b * L(dl) / avgdl))
 *   idf(t)      = ln(1 + (N - df + 0.5) / (df + 0.5))
 *
 * - qtf: the term's count in the query (Anserini's bag-of-words query boosts a repeated term);
 * - tf: the term's count in the passage; dl: the passage's length in analyzed terms (stop words removed);
 * - L(dl): the length as Lucene stores it, one byte per document (`SmallFloat.intToByte4`, decoded with
 *   `byte4ToInt`): exact below 24, then 4 significant bits (e.g. 61 is stored as 60). Pass
 *   `quantize: false` for exact lengths;
 * - no `(k1 + 1)` factor in the numerator (dropped in Lucene 8, LUCENE-8563): it scales every score by
 *   the same constant and leaves rankings unchanged.
 */

/** BM25 parameters and the collection's average document length. */
export interface LuceneBm25Params {
  k1: number;
  b: number;
  /** Mean analyzed length of the collection's documents (sumTotalTermFreq / docCount). */
  avgdl: number;
  /** Store lengths as Lucene does (one byte, SmallFloat). Default true. */
  quantize?: boolean;
}

const NUM_FREE_VALUES = 24; // 255 - longToInt4(Integer.MAX_VALUE)

function longToInt4(i: number): number {
  const numBits = 32 - Math.clz32(i);
  if (numBits < 4) return i; // subnormal
  const shift = numBits - 4;
  return ((i >>> shift) & 0x07) | ((shift + 1) << 3);
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

/** A document length as Lucene's norms keep it: SmallFloat.byte4ToInt(SmallFloat.intToByte4(length)). */
export function luceneLength(length: number): number {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`luceneLength: expected a non-negative integer, got ${length}`);
  return length < NUM_FREE_VALUES ? length : NUM_FREE_VALUES + int4ToLong(longToInt4(length - NUM_FREE_VALUES));
}

/** Lucene's BM25 idf: ln(1 + (N - df + 0.5) / (df + 0.5)), always positive. */
export function bm25Idf(numDocs: number, docFreq: number): number {
  return Math.log(1 + (numDocs - docFreq + 0.5) / (docFreq + 0.5));
}

/** The document frequency an idf corresponds to in a collection of `numDocs` (the inverse of bm25Idf). */
export function docFreqOfIdf(numDocs: number, idf: number): number {
  const e = Math.exp(idf);
  return (numDocs + 1 - 0.5 * e) / e;
}

/** The length normaliser k1 * (1 - b + b * L(dl) / avgdl) of a document of `dl` analyzed terms. */
export function lengthNorm(dl: number, p: LuceneBm25Params): number {
  const len = p.quantize === false ? dl : luceneLength(dl);
  return p.k1 * (1 - p.b + (p.avgdl > 0 ? (p.b * len) / p.avgdl : 0));
}

/** One term's saturated frequency tf / (tf + norm) (0 for tf = 0); the score adds qtf * idf times this. */
export function saturatedTf(tf: number, norm: number): number {
  return tf > 0 ? tf / (tf + norm) : 0;
}
