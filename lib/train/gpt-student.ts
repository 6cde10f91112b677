/**
 * A trained RRA-GPT student (lib/models/decoder.ts) as a re-ranker: its model directory and the scoring
 * of query-passage pairs by the ranking layer (one forward pass over the prompt, no rationale, no LM head).
 *
 * Model directory: config.json = the decoder config plus `kind: "rra-gpt"` (so loaders can tell it from
 * an RRA-BERT directory, whose config.json has no kind), weights.json + weights.bin (decoder save
 * format), vocab.txt (or, warm-started from GPT-2, the checkpoint's tokenizer files in init-tokenizer/),
 * tokenizer.json (packing settings), training.json (written by gpt-loop.ts).
 */
import { existsSync, mkdirSync } from "fs";
import { join } from "path";
import { ConfigError, DataError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { interruptCheck } from "../core/interrupt";
import { readJsonObject } from "../data/text-file";
import type { RankedList, Run } from "../data/types";
import { checkDecoderConfig, createRraGpt, type RraGpt } from "../models/decoder";
import { packDecoderBatch, packDecoderExample } from "../models/decoder-input";
import { readWeightsDir } from "../models/weights-file";
import { loadSavedCheckpointTokenizer, type SavedCheckpointTokenizer } from "../tokenize/pretrained";
import { loadVocab, WordPieceTokenizer } from "../tokenize/wordpiece";
import type { DecoderTokenizer } from "../models/decoder-input";
import { saveInitTokenizer, type InitTokenizer, type RerankOptions, type StudentTokenizerSettings } from "./rerank";
import { readScoringSpec, rerankComposed, saveScoringSpec, type ScoringSpec } from "./scoring";

/** The `kind` field of an RRA-GPT directory's config.json. */
export const GPT_STUDENT_KIND = "rra-gpt";
/** The decoder's weights.json format (lib/models/decoder.ts). */
const DECODER_WEIGHTS_FORMAT = "rra-decoder-weights/1";

/** What an RRA-GPT student tokenizes with: the project's WordPiece, or a warm-started GPT-2's byte-level BPE. */
export type GptTokenizer = DecoderTokenizer & { padId: number; size: number };

/** A loaded RRA-GPT re-ranker. */
export interface GptStudent {
  model: RraGpt;
  tokenizer: GptTokenizer;
  /** A warm-started student's checkpoint tokenizer files (rerank.ts InitTokenizer); absent = vocab.txt. */
  initTokenizer?: InitTokenizer;
  /** Longest packed prompt (+ rationale in training), tokens. */
  maxLength: number;
  /** The composition of the ranking score (scoring.ts). */
  scoring: ScoringSpec;
  dispose(): void;
}

/** What scoring needs of an RRA-GPT student. */
export type GptStudentCore = Pick<GptStudent, "model" | "tokenizer" | "maxLength" | "scoring" | "initTokenizer">;

/** Write an RRA-GPT model directory (see the module comment). */
export function saveGptStudent(dir: string, student: GptStudentCore): void {
  mkdirSync(dir, { recursive: true });
  student.model.save(dir);
  writeFileAtomic(join(dir, "config.json"), JSON.stringify({ kind: GPT_STUDENT_KIND, ...student.model.config }, null, 2) + "\n");
  const tok = student.tokenizer;
  let checkpointTokenizer: SavedCheckpointTokenizer | undefined;
  if (student.initTokenizer) checkpointTokenizer = saveInitTokenizer(dir, student.initTokenizer);
  else if (tok instanceof WordPieceTokenizer) tok.saveVocab(dir);
  else throw new ConfigError("saveGptStudent: a byte-level BPE tokenizer is kept as a checkpoint's files (initTokenizer), which this student does not name");
  const settings: StudentTokenizerSettings = { format: "rra-student-tokenizer/1", maxLength: student.maxLength, matchChannel: false, ...(checkpointTokenizer ? { checkpointTokenizer } : {}) };
  writeFileAtomic(join(dir, "tokenizer.json"), JSON.stringify(settings, null, 1) + "\n");
  saveScoringSpec(dir, student.scoring);
}

/** Load an RRA-GPT model directory written by `rra train --arch gpt`. */
export function loadGptStudent(dir: string): GptStudent {
  for (const f of ["config.json", "weights.json", "weights.bin", "tokenizer.json"]) {
    if (!existsSync(join(dir, f))) throw new ConfigError(`loadGptStudent: ${show(dir)} is not a model directory: ${f} is missing (write one with rra train --arch gpt)`);
  }
  const configFile = join(dir, "config.json");
  const { kind, ...config } = readJsonObject(configFile, "model config");
  if (kind !== GPT_STUDENT_KIND) throw new DataError({ file: configFile, field: "kind" }, show(GPT_STUDENT_KIND), show(kind));
  const settings = readJsonObject(join(dir, "tokenizer.json"), "tokenizer settings") as unknown as StudentTokenizerSettings;
  if (settings.format !== "rra-student-tokenizer/1") throw new DataError({ file: join(dir, "tokenizer.json") }, `format "rra-student-tokenizer/1"`, show(settings.format));
  const decoderConfig = checkDecoderConfig(config, configFile);
  const saved = settings.checkpointTokenizer;
  if (!saved && !existsSync(join(dir, "vocab.txt"))) throw new ConfigError(`loadGptStudent: ${show(dir)} is not a model directory: vocab.txt is missing (write one with rra train --arch gpt)`);
  const tokenizer: GptTokenizer = saved ? loadSavedCheckpointTokenizer(dir, saved, join(dir, "tokenizer.json")).tokenizer : loadVocab(join(dir, "vocab.txt"));
  if (saved ? tokenizer.size > decoderConfig.vocabSize : tokenizer.size !== decoderConfig.vocabSize) throw new DataError({ file: join(dir, saved ? saved.folder : "vocab.txt") }, `${saved ? "at most " : ""}${decoderConfig.vocabSize} tokens (config.json vocabSize)`, `${tokenizer.size}`);
  const model = createRraGpt(decoderConfig);
  try {
    model.setWeights(readWeightsDir(dir, DECODER_WEIGHTS_FORMAT));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return {
    model, tokenizer, maxLength: settings.maxLength, scoring: readScoringSpec(dir), dispose: () => model.dispose(),
    ...(saved ? { initTokenizer: { from: join(dir, saved.folder), modelType: saved.modelType, positions: saved.positions } } : {}),
  };
}

/** Score `pairs` into `out` one batch at a time (see scoreGptPairs), yielding after each batch. */
function* scoreGptBatches(student: GptStudentCore, pairs: ReadonlyArray<{ query: string; passage: string }>, batchSize: number, out: Float32Array): Generator<number> {
  const examples = pairs.map((p) => packDecoderExample(student.tokenizer, p.query, p.passage, undefined, { maxLength: student.maxLength }));
  const order = examples.map((_, i) => i).sort((a, b) => examples[a].ids.length - examples[b].ids.length || a - b);
  for (let i = 0; i < order.length; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    const scores = student.model.inferenceScores(packDecoderBatch(idx.map((j) => examples[j]), student.tokenizer.padId));
    const values = scores.dataSync();
    scores.dispose();
    idx.forEach((j, k) => { out[j] = values[k]; });
    yield i + idx.length;
  }
}

/**
 * Ranking-layer scores of query-passage pairs (dropout off), in input order. Prompts are batched in
 * order of length, so each forward pass pads little; the result does not depend on the batching
 * beyond float rounding (padding is masked).
 */
export function scoreGptPairs(student: GptStudentCore, pairs: ReadonlyArray<{ query: string; passage: string }>, batchSize = 128): Float32Array {
  const out = new Float32Array(pairs.length);
  for (const _ of scoreGptBatches(student, pairs, batchSize, out)) { /* every batch */ }
  return out;
}

/** scoreGptPairs that stops on an interrupt between batches (core/interrupt.ts), for long scoring in a notebook. */
export async function scoreGptPairsInterruptible(student: GptStudentCore, pairs: ReadonlyArray<{ query: string; passage: string }>, batchSize = 128): Promise<Float32Array> {
  const out = new Float32Array(pairs.length);
  let done = 0;
  const interrupt = interruptCheck(() => `scoring pairs after ${done} of ${pairs.length} (scoring stores nothing)`);
  for (const n of scoreGptBatches(student, pairs, batchSize, out)) {
    done = n;
    await interrupt.check();
  }
  return out;
}

/** Re-rank the first `depth` candidates of each list by the ranking-layer score (same Run format as rerankLists). */
export function rerankGptLists(student: GptStudentCore, lists: readonly RankedList[], options: RerankOptions = {}): Promise<Run> {
  return rerankComposed(lists, (pairs) => scoreGptPairsInterruptible(student, pairs, options.batchSize ?? 128), student.scoring, { depth: options.depth, tag: options.tag, prior: options.prior });
}
