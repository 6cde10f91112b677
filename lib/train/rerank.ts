/**
 * A trained student as a re-ranker: the model directory format (save/load) and re-ranking of
 * first-stage candidate lists into a TREC run. Inference uses s_cls only (the TCL is train-only), so a
 * student loads without its TCL.
 *
 * Model directory: config.json + weights.json + weights.bin (encoder save format), vocab.txt,
 * tokenizer.json (packing settings), training.json (the training record, written by the loop).
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync, readFileSync } from "fs";
import { join } from "path";
import { ConfigError, DataError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import type { RankedList, Run } from "../data/types";
import { readEncoderWeights } from "../models/encoder";
import { checkEncoderConfig } from "../models/presets";
import { createRraBert, type RraBert } from "../models/tcl";
import { loadVocab, type WordPieceTokenizer } from "../tokenize/wordpiece";
import { packPairs } from "./batches";

/** Packing settings stored as tokenizer.json next to vocab.txt. */
export interface StudentTokenizerSettings {
  format: "rra-student-tokenizer/1";
  /** Sequence length of packed pairs (tokens). */
  maxLength: number;
}

/** A loaded student re-ranker. */
export interface Student {
  model: RraBert;
  tokenizer: WordPieceTokenizer;
  /** Sequence length of packed pairs (tokens). */
  maxLength: number;
  dispose(): void;
}

/** Write a model directory: encoder config + weights, vocab.txt, tokenizer.json. */
export function saveStudent(dir: string, student: Pick<Student, "model" | "tokenizer" | "maxLength">): void {
  mkdirSync(dir, { recursive: true });
  student.model.encoder.save(dir);
  student.tokenizer.saveVocab(dir);
  const settings: StudentTokenizerSettings = { format: "rra-student-tokenizer/1", maxLength: student.maxLength };
  writeFileAtomic(join(dir, "tokenizer.json"), JSON.stringify(settings, null, 1) + "\n");
}

/** Load a model directory written by `rra train` (no TCL: inference never reads it). */
export function loadStudent(dir: string): Student {
  for (const f of ["config.json", "weights.json", "weights.bin", "vocab.txt", "tokenizer.json"]) {
    if (!existsSync(join(dir, f))) throw new ConfigError(`loadStudent: ${show(dir)} is not a model directory: ${f} is missing (write one with rra train)`);
  }
  const settings = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as StudentTokenizerSettings;
  if (settings.format !== "rra-student-tokenizer/1") throw new DataError({ file: join(dir, "tokenizer.json") }, `format "rra-student-tokenizer/1"`, show(settings.format));
  const config = checkEncoderConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")), join(dir, "config.json"));
  const tokenizer = loadVocab(join(dir, "vocab.txt"));
  if (tokenizer.idToToken.length !== config.vocabSize) throw new DataError({ file: join(dir, "vocab.txt") }, `${config.vocabSize} tokens (config.json vocabSize)`, `${tokenizer.idToToken.length}`);
  const model = createRraBert(config, { tcl: false, tokenSelection: "exact" });
  try {
    model.encoder.setWeights(readEncoderWeights(dir));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, tokenizer, maxLength: settings.maxLength, dispose: () => model.dispose() };
}

/** Options of rerankLists. */
export interface RerankOptions {
  /** Pairs scored per forward pass. Default 128. */
  batchSize?: number;
  /** Leading candidates of each list that are re-ranked and written. Default 100. */
  depth?: number;
  /** Run tag. Default "rra-student". */
  tag?: string;
}

/** Scores of query-passage pairs (s_cls, dropout off), in batches. */
export function scorePairs(student: Pick<Student, "model" | "tokenizer" | "maxLength">, pairs: ReadonlyArray<{ query: string; passage: string }>, batchSize = 128): Float32Array {
  const out = new Float32Array(pairs.length);
  for (let i = 0; i < pairs.length; i += batchSize) {
    const chunk = pairs.slice(i, i + batchSize);
    const batch = packPairs(student.tokenizer, chunk, { maxLength: student.maxLength, tokenSelection: null, padTo: "longest" });
    const scores = tf.tidy(() => student.model.inferenceScores(batch));
    out.set(scores.dataSync() as Float32Array, i);
    scores.dispose();
  }
  return out;
}

/** Re-rank the first `depth` candidates of each list by the student's score (ties keep first-stage order). */
export function rerankLists(student: Pick<Student, "model" | "tokenizer" | "maxLength">, lists: readonly RankedList[], options: RerankOptions = {}): Run {
  const { batchSize = 128, depth = 100, tag = "rra-student" } = options;
  const pairs: Array<{ query: string; passage: string }> = [];
  const heads = lists.map((l) => l.candidates.slice(0, depth));
  lists.forEach((l, i) => {
    for (const c of heads[i]) {
      if (c.text === undefined) throw new DataError({ file: `list ${l.qid}`, field: `docid ${c.docid}` }, "candidate text to re-rank", "no text");
      pairs.push({ query: l.query, passage: c.text });
    }
  });
  const scores = scorePairs(student, pairs, batchSize);
  const run: Run = { tag, queries: new Map() };
  let k = 0;
  lists.forEach((l, i) => {
    const scored = heads[i].map((c, j) => ({ docid: c.docid, score: scores[k + j], order: j }));
    k += heads[i].length;
    scored.sort((a, b) => b.score - a.score || a.order - b.order);
    run.queries.set(l.qid, scored.map((s, r) => ({ docid: s.docid, score: s.score, rank: r + 1 })));
  });
  return run;
}
