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
  /** Token Selection for the Term Control Layer; needed only when training with the TCL. */
  selection?: SelectionArrays;
}
