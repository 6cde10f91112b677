/**
 * The exact-match channel as a separate input for pretrained encoders. The project's packer
 * (lib/train/batches.ts) writes the channel into the token types: type = side + 2 * m, with side 0
 * (query) or 1 (passage) and m = 0 (no match), 1 (matched) or 1 + IDF bucket. A checkpoint has only two
 * token-type rows, so for it the two parts travel apart: `tokenTypeIds` = side (the checkpoint's own
 * rows) and `matchIds` = m (the rows of the encoder's zero-initialised match embedding,
 * EncoderConfig.matchVocabSize = the packer's type vocabulary / 2). At step 0 the match rows are zero,
 * so the encoder scores exactly as the checkpoint does.
 */
import { ShapeError } from "../core/errors";
import type { EncoderBatch } from "./types";

/** Rows of the match embedding for a packer's token-type vocabulary (4 -> 2, 2 + 2 * buckets -> 1 + buckets). */
export function matchVocabSizeFor(typeVocab: number): number {
  if (!Number.isInteger(typeVocab) || typeVocab < 2 || typeVocab % 2 !== 0) throw new ShapeError(`matchVocabSizeFor: the match channel's token-type vocabulary is even and >= 2, got ${typeVocab}`);
  return typeVocab / 2;
}

/** Split match-channel token types into side (0/1) and match ids; a batch without the channel gets all-zero match ids. */
export function splitMatchTypes(batch: EncoderBatch): EncoderBatch {
  const n = batch.tokenTypeIds.length;
  const tokenTypeIds = new Int32Array(n), matchIds = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = batch.tokenTypeIds[i];
    if (t < 0) throw new ShapeError(`splitMatchTypes: tokenTypeIds[${i}] = ${t} is negative`);
    tokenTypeIds[i] = t % 2;
    matchIds[i] = t >> 1;
  }
  return { ...batch, tokenTypeIds, matchIds };
}

/**
 * The token-type vocabulary a packer may write for an encoder: with a separate match embedding, side +
 * 2 * m for m < matchVocabSize (2 * matchVocabSize values, split by encoderInput); else typeVocabSize.
 */
export function packedTypeVocab(config: { typeVocabSize: number; matchVocabSize?: number }): number {
  return (config.matchVocabSize ?? 0) > 0 ? 2 * (config.matchVocabSize as number) : config.typeVocabSize;
}

/**
 * A packed batch as an encoder reads it: with a separate match embedding (config.matchVocabSize > 0),
 * the packer's combined token types are split into side and matchIds (splitMatchTypes); otherwise, or
 * when the batch already has matchIds, the batch itself.
 */
export function encoderInput(batch: EncoderBatch, config: { matchVocabSize?: number }): EncoderBatch {
  return (config.matchVocabSize ?? 0) > 0 && batch.matchIds === undefined ? splitMatchTypes(batch) : batch;
}
