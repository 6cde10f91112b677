/**
 * Untrained student directories for speed measurements: speed needs the shapes, not trained weights.
 * The vocabulary is the real student one (studentTokenizer: 8000 WordPiece tokens trained on the shipped
 * corpus), so pairs pack to the same lengths a trained student sees; the encoder is a seeded RRA-BERT of
 * the preset with the training defaults' exact-match channel (typeVocabSize 4), saved in the `rra train`
 * directory format (loadStudent / loadReranker / the exporter read it). initStd 0.2 (ten times the
 * training default, as in test/fixtures/tiny-student.ts) spreads the untrained scores, so the exporter's
 * parity check compares scores that actually differ.
 */
import { mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { deriveSeed } from "../core/rng";
import { resolveEncoderConfig, type EncoderConfig } from "../models/presets";
import { createRraBert } from "../models/tcl";
import { MATCH_TYPE_VOCAB } from "../train/batches";
import { studentTokenizer } from "../train/config";
import { saveStudent } from "../train/rerank";

/** Vocabulary size of the bench students (the TrainConfig default). */
export const BENCH_VOCAB_SIZE = 8000;

/** Options of makeBenchStudentDir. */
export interface BenchStudentOptions {
  /** MODEL_PRESETS name. */
  preset: string;
  /** Seed of the weights (through deriveSeed(seed, `bench/<preset>`)). Default 42. */
  seed?: number;
  /** Tokens per packed pair stored in tokenizer.json. Default 128. */
  maxLength?: number;
  /** Directory to write; default a fresh temporary one. */
  dir?: string;
}

/** The encoder config of a bench student (the weights' seed derived from `seed` and the preset). */
export function benchEncoderConfig(preset: string, seed = 42): Readonly<EncoderConfig> {
  const vocabSize = studentTokenizer(BENCH_VOCAB_SIZE).idToToken.length;
  return resolveEncoderConfig({ vocabSize, typeVocabSize: MATCH_TYPE_VOCAB, initStd: 0.2, seed: deriveSeed(seed, `bench/${preset}`) }, { preset });
}

/** Write an untrained RRA-BERT student directory of a preset and return its path. */
export function makeBenchStudentDir(options: BenchStudentOptions): string {
  const { preset, seed = 42, maxLength = 128 } = options;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `rra-bench-${preset}-`));
  const model = createRraBert(benchEncoderConfig(preset, seed), { tcl: false, tokenSelection: "exact" });
  try {
    saveStudent(dir, { model, tokenizer: studentTokenizer(BENCH_VOCAB_SIZE), maxLength, matchChannel: true, matchIdf: false, lexicon: null, features: [], composition: () => ({ scale: 1, prior: 0, weights: [] }) });
  } finally {
    model.dispose();
  }
  return dir;
}
