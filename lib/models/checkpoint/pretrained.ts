/**
 * A Hugging Face model folder as this workbench's models: the entry points to warm-start a student
 * from a pretrained checkpoint, or to score with a pretrained cross-encoder.
 *
 *   const pre = loadPretrainedEncoder("models/ms-marco-MiniLM-L-6-v2", { head: "new", matchVocabSize: 10, seed });
 *   const model = createRraBert(pre.config, { tcl: true, tokenSelection: "exact" });
 *   model.encoder.setWeights(pre.weights, { partial: true });   // pre.fresh keep their seeded values
 *   // pack with pre.tokenizer (token types 0/1 as the checkpoint learned them; the match signal goes in
 *   // batch.matchIds, whose embedding starts at zero, so step 0 scores as the checkpoint)
 *
 * `dir` is a folder (config.json, weights, tokenizer files), e.g. a snapshot of the Hugging Face cache
 * (lib/hub/cache.ts resolveModelDir turns "hf:ORG/NAME" into one). Nothing is written.
 */
import { DataError } from "../../core/errors";
import { createEncoder, type Encoder } from "../encoder";
import { createRraGpt, type DecoderConfig, type RraGpt } from "../decoder";
import type { EncoderConfig } from "../presets";
import type { NamedWeights } from "../weights-file";
import { loadCheckpointTokenizer } from "../../tokenize/pretrained";
import type { ByteLevelBpeTokenizer } from "../../tokenize/bpe";
import type { WordPieceTokenizer } from "../../tokenize/wordpiece";
import { mapBertTensors, type BertMapOptions } from "./bert";
import { readCheckpointTensors } from "./folder";
import { mapGpt2Tensors } from "./gpt2";
import { bertEncoderConfig, gpt2DecoderConfig, readHfConfig, type PretrainedConfigOptions } from "./hf-config";

/** Options of loadPretrainedEncoder. */
export interface PretrainedEncoderOptions extends PretrainedConfigOptions, BertMapOptions {}

/** A BERT checkpoint read as the encoder's config, weights and tokenizer. */
export interface PretrainedEncoder {
  /** Encoder config: post-LN, the checkpoint's GELU, eps and sizes (preset "custom"). */
  config: Readonly<EncoderConfig>;
  /** The checkpoint's weights under our variable names (a subset when the head is new). */
  weights: NamedWeights;
  /** Our variables the checkpoint does not provide (new score head, pooler if absent, match embedding). */
  fresh: string[];
  /** True when the checkpoint's one-label classifier became the score head (a cross-encoder). */
  hasScoreHead: boolean;
  /** The checkpoint's WordPiece tokenizer, applied as Hugging Face does. */
  tokenizer: WordPieceTokenizer;
  /** Longest packed input (tokens): tokenizer model_max_length, at most max_position_embeddings. */
  maxLength: number;
  /** The weight file that was read. */
  weightFile: string;
  /** Things a researcher should know (unused heads, a missing pooler). */
  warnings: string[];
}

/** Read a BERT model folder (BertModel, BertForSequenceClassification, ...). Throws DataError naming the file and tensors on any mismatch. */
export function loadPretrainedEncoder(dir: string, options: PretrainedEncoderOptions = {}): PretrainedEncoder {
  const hf = readHfConfig(dir);
  if (hf.modelType !== "bert" && hf.modelType !== "rra-bert") throw new DataError({ file: hf.file, field: "model_type" }, "\"bert\" (an encoder; GPT-2 folders load with loadPretrainedDecoder) or \"rra-bert\" (an RRA-BERT export)", JSON.stringify(hf.modelType));
  const config = bertEncoderConfig(hf, options);
  const tok = loadCheckpointTokenizer(dir, "bert", config.maxLen);
  if (tok.kind !== "wordpiece") throw new DataError({ file: dir }, "a WordPiece tokenizer", tok.kind);
  if (tok.tokenizer.size > config.vocabSize) throw new DataError({ file: tok.files[0] }, `at most ${config.vocabSize} tokens (config.json vocab_size)`, `${tok.tokenizer.size}`);
  const { file, tensors } = readCheckpointTensors(dir);
  const mapped = mapBertTensors(tensors, config, file, options);
  return { config, weights: mapped.weights, fresh: mapped.fresh, hasScoreHead: !mapped.fresh.includes("head/kernel"), tokenizer: tok.tokenizer, maxLength: tok.maxLength, weightFile: file, warnings: mapped.warnings };
}

/** An encoder with a pretrained BERT's weights (fresh variables keep their seeded values). */
export function createPretrainedEncoder(pre: PretrainedEncoder): Encoder {
  const encoder = createEncoder(pre.config);
  try {
    encoder.setWeights(pre.weights, { partial: pre.fresh.length > 0 });
  } catch (e) {
    encoder.dispose();
    throw e;
  }
  return encoder;
}

/** A GPT-2 checkpoint read as the decoder's config, weights and tokenizer. */
export interface PretrainedDecoder {
  config: Readonly<DecoderConfig>;
  weights: NamedWeights;
  /** New variables (the ranking and classification heads). */
  fresh: string[];
  tokenizer: ByteLevelBpeTokenizer;
  maxLength: number;
  weightFile: string;
  warnings: string[];
}

/** Read a GPT-2 model folder (GPT2Model or GPT2LMHeadModel names). */
export function loadPretrainedDecoder(dir: string, options: Omit<PretrainedConfigOptions, "matchVocabSize"> = {}): PretrainedDecoder {
  const hf = readHfConfig(dir);
  if (hf.modelType !== "gpt2") throw new DataError({ file: hf.file, field: "model_type" }, "\"gpt2\" (a decoder; BERT folders load with loadPretrainedEncoder)", JSON.stringify(hf.modelType));
  const config = gpt2DecoderConfig(hf, options);
  const tok = loadCheckpointTokenizer(dir, "gpt2", config.maxLen);
  if (tok.kind !== "bpe") throw new DataError({ file: dir }, "a byte-level BPE tokenizer", tok.kind);
  if (tok.tokenizer.size > config.vocabSize) throw new DataError({ file: tok.files[0] }, `at most ${config.vocabSize} tokens (config.json vocab_size)`, `${tok.tokenizer.size}`);
  const { file, tensors } = readCheckpointTensors(dir);
  const mapped = mapGpt2Tensors(tensors, config, file);
  return { config, weights: mapped.weights, fresh: mapped.fresh, tokenizer: tok.tokenizer, maxLength: tok.maxLength, weightFile: file, warnings: mapped.warnings };
}

/** RRA-GPT with a pretrained GPT-2's weights (the ranking and classification heads seeded). */
export function createPretrainedDecoder(pre: PretrainedDecoder): RraGpt {
  const model = createRraGpt(pre.config);
  try {
    const current = model.getWeights();
    model.setWeights({ ...current, ...pre.weights });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
