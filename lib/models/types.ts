/**
 * Input records of the encoder models. Plain typed arrays, so that models do not depend on a
 * particular tokenizer: any packer that writes `[CLS] q [SEP] d [SEP]` rows can feed them.
 */

/** Token Selection arrays for a batch (see token-selection.ts), row-major [B, T]. */
export interface SelectionArrays {
  /** 1 at selected tokens (matched whole words), 0 elsewhere. [B, T] */
  mask: Float32Array;
  /** IDF weight of the selected token's word, 0 elsewhere. [B, T] */
  idf: Float32Array;
}

/**
 * TCL v3 term arrays (models/tcl.ts): the query's analyzed terms (J slots) and, per passage token that
 * starts a word carrying a query term, that word's occurrences of each term, so that the TCL's contextual
 * term impacts can be summed per term into a BM25-shaped score.
 */
export interface TermArrays {
  /** Occurrences of term slot j in the word starting at token t. [B, T, J] */
  counts: Float32Array;
  /** Occurrences of term slot j in passage words cut off by truncation (impact 1 each). [B, J] */
  extra: Float32Array;
  /** qtf_j * idf_j of term slot j (0 for unused slots). [B, J] */
  weight: Float32Array;
  /** BM25 length normaliser k1 (1 - b + b L(dl) / avgdl) of the whole passage. [B] */
  norm: Float32Array;
  /** Term slots J. */
  terms: number;
}

/** A batch of packed query-passage pairs, row-major [B, T] arrays. */
export interface EncoderBatch {
  /** Token ids, 0 <= id < vocabSize. [B, T] */
  inputIds: Int32Array;
  /** 0 for `[CLS] q [SEP]`, 1 for `d [SEP]` (and, by convention, padding). [B, T] */
  tokenTypeIds: Int32Array;
  /** 1 = real token, 0 = padding. [B, T] */
  attentionMask: Int32Array;
  /** Number of rows B. */
  batch: number;
  /** Row length T (padded). */
  seqLen: number;
  /**
   * Match-channel ids, 0 <= id < config.matchVocabSize, row-major [B, T]: rows of the separate,
   * zero-initialised match embedding (presets.ts matchVocabSize). Absent = no match signal.
   */
  matchIds?: Int32Array;
  /** Token Selection for the Term Control Layer (v1/v2); needed only when training with the TCL. */
  selection?: SelectionArrays;
  /** Term arrays of the TCL v3 (BM25-shaped term score). */
  terms?: TermArrays;
}
