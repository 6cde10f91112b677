/**
 * A trained student as a re-ranker: the model directory format (save/load) and re-ranking of
 * first-stage candidate lists into a TREC run. Inference uses s_cls only (the TCL is train-only), so a
 * student loads without its TCL; the ranking score adds the composition (scoring.ts: scale, lexical
 * features, first-stage prior).
 *
 * Model directory: config.json + weights.json + weights.bin (encoder save format), vocab.txt,
 * tokenizer.json (packing settings), score.json (composition), lexicon.json (collection statistics),
 * training.json (the training record, written by the loop).
 * RRA-GPT directories (gpt-student.ts) say `kind: "rra-gpt"` in config.json; loadReranker (reranker.ts) dispatches on it.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync } from "fs";
import { join } from "path";
import { ConfigError, DataError, show } from "../core/errors";
import { interruptCheck } from "../core/interrupt";
import { writeFileAtomic } from "../core/files";
import { readJsonObject } from "../data/text-file";
import type { RankedList, Run } from "../data/types";
import type { LexicalFeature } from "../lexical/features";
import type { Lexicon } from "../lexical/lexicon";
import type { CompositionValues } from "../models/composition";
import { readEncoderWeights } from "../models/encoder";
import { checkEncoderConfig } from "../models/presets";
import { createRraBert, type RraBert } from "../models/tcl";
import { loadVocab, type WordPieceTokenizer } from "../tokenize/wordpiece";
import { copyCheckpointTokenizer, loadSavedCheckpointTokenizer, type SavedCheckpointTokenizer } from "../tokenize/pretrained";
import { packedTypeVocab } from "../models/match-channel";
import { zScores } from "../eval/fusion";
import { MATCH_TYPE_VOCAB, matchTypeVocab, packPairs, type PairInput } from "./batches";
import { readScoringSpec, rerankComposed, saveScoringSpec, type ScoringSpec } from "./scoring";

/** What scoring needs of a student. */
export interface StudentCore {
  model: RraBert;
  tokenizer: WordPieceTokenizer;
  /** Sequence length of packed pairs (tokens). */
  maxLength: number;
  /** Pack pairs with the exact-match channel. */
  matchChannel: boolean;
  /** The match channel is bucketed by idf (the lexicon's). */
  matchIdf: boolean;
  /** Collection statistics of matching, features and prior (null: none needed). */
  lexicon: Lexicon | null;
  /** Names of the lexical features the composition weighs. */
  features: LexicalFeature[];
  /** The composition's current values (the trained ones, read live during training). */
  composition: () => CompositionValues;
  /** false: the network was never trained (its zero head scores 0), so scoring skips it. Default true. */
  network?: boolean;
  /** A warm-started student's tokenizer: the checkpoint's files (folder `from`), kept with the model (saveStudent). Absent = the vocab.txt WordPiece. */
  initTokenizer?: InitTokenizer;
}

/** Where a checkpoint tokenizer's files are read from when a student is saved. */
export interface InitTokenizer {
  /** Folder holding the tokenizer files (the checkpoint, or a loaded student's copy). */
  from: string;
  modelType: "bert" | "gpt2";
  /** The model's position rows. */
  positions: number;
}

/** Subfolder of a model directory that holds a warm-started student's checkpoint tokenizer files. */
export const INIT_TOKENIZER_DIR = "init-tokenizer";

/** Copy a checkpoint tokenizer into model directory `dir`; returns the settings entry that finds it again. */
export function saveInitTokenizer(dir: string, t: InitTokenizer): SavedCheckpointTokenizer {
  copyCheckpointTokenizer(t.from, join(dir, INIT_TOKENIZER_DIR));
  return { folder: INIT_TOKENIZER_DIR, modelType: t.modelType, positions: t.positions };
}

/** Packing settings stored as tokenizer.json next to vocab.txt. */
export interface StudentTokenizerSettings {
  format: "rra-student-tokenizer/1";
  /** Sequence length of packed pairs (tokens). */
  maxLength: number;
  /** Token types carry the exact-match channel (batches.ts MATCH_TYPE_VOCAB). Absent in older directories = false. */
  matchChannel?: boolean;
  /** Weight of the first-stage prior added to s_cls (older directories; score.json supersedes it). Absent = 0. */
  firstStagePrior?: number;
  /** The match channel is IDF-bucketed with the lexicon in lexicon.json (batches.ts matchIdf). Absent = false. */
  matchIdf?: boolean;
  /** Serving score = scoreScale * s_cls (older directories; score.json supersedes it). Absent = 1. */
  scoreScale?: number;
  /** Matching on the analyzer's stems (reconstruction v3). Absent = false (an older directory: not loadable by this version's packer for matchIdf). */
  stems?: boolean;
  /** false: the network was not trained (rra train --network off) and scores 0; absent = true. */
  network?: boolean;
  /** A warm-started student: the checkpoint's tokenizer, copied into a subfolder (tokenize/pretrained.ts). Absent = vocab.txt with the project's WordPiece rules. */
  checkpointTokenizer?: SavedCheckpointTokenizer;
}

/** A loaded student re-ranker. */
export interface Student extends StudentCore {
  /** The scoring of the directory (composition, features, lexicon). */
  scoring: ScoringSpec;
  dispose(): void;
}

/** The scoring spec of a live student. */
export function studentScoring(student: StudentCore): ScoringSpec {
  return { composition: student.composition(), features: student.features, lexicon: student.lexicon };
}

/** Write a model directory: encoder config + weights, vocab.txt, tokenizer.json, score.json, lexicon.json. */
export function saveStudent(dir: string, student: StudentCore): void {
  mkdirSync(dir, { recursive: true });
  student.model.encoder.save(dir);
  student.tokenizer.saveVocab(dir);
  const settings: StudentTokenizerSettings = {
    format: "rra-student-tokenizer/1", maxLength: student.maxLength, matchChannel: student.matchChannel, matchIdf: student.matchIdf, stems: true, ...(student.network === false ? { network: false } : {}),
    ...(student.initTokenizer ? { checkpointTokenizer: saveInitTokenizer(dir, student.initTokenizer) } : {}),
  };
  writeFileAtomic(join(dir, "tokenizer.json"), JSON.stringify(settings, null, 1) + "\n");
  saveScoringSpec(dir, studentScoring(student));
}

/** Load a model directory written by `rra train` (no TCL: inference never reads it). */
export function loadStudent(dir: string): Student {
  for (const f of ["config.json", "weights.json", "weights.bin", "vocab.txt", "tokenizer.json"]) {
    if (!existsSync(join(dir, f))) throw new ConfigError(`loadStudent: ${show(dir)} is not a model directory: ${f} is missing (write one with rra train)`);
  }
  const settings = readJsonObject(join(dir, "tokenizer.json"), "tokenizer settings") as unknown as StudentTokenizerSettings;
  if (settings.format !== "rra-student-tokenizer/1") throw new DataError({ file: join(dir, "tokenizer.json") }, `format "rra-student-tokenizer/1"`, show(settings.format));
  const config = checkEncoderConfig(readJsonObject(join(dir, "config.json"), "model config"), join(dir, "config.json"));
  const saved = settings.checkpointTokenizer;
  const tokenizer = saved ? savedWordPiece(dir, saved) : loadVocab(join(dir, "vocab.txt"));
  if (saved ? tokenizer.size > config.vocabSize : tokenizer.idToToken.length !== config.vocabSize) throw new DataError({ file: join(dir, "vocab.txt") }, `${saved ? "at most " : ""}${config.vocabSize} tokens (config.json vocabSize)`, `${tokenizer.idToToken.length}`);
  const matchChannel = settings.matchChannel === true;
  const typeVocab = packedTypeVocab(config);
  if (matchChannel && typeVocab < MATCH_TYPE_VOCAB) throw new DataError({ file: join(dir, "config.json"), field: "typeVocabSize" }, `>= ${MATCH_TYPE_VOCAB} (tokenizer.json has matchChannel: true)`, `${typeVocab}`);
  const prior = settings.firstStagePrior ?? 0;
  if (typeof prior !== "number" || !Number.isFinite(prior) || prior < 0) throw new DataError({ file: join(dir, "tokenizer.json"), field: "firstStagePrior" }, "a non-negative number", show(prior));
  const scoreScale = settings.scoreScale ?? 1;
  if (typeof scoreScale !== "number" || !(scoreScale > 0)) throw new DataError({ file: join(dir, "tokenizer.json"), field: "scoreScale" }, "a positive number", show(scoreScale));
  const matchIdf = settings.matchIdf === true;
  if (matchIdf && settings.stems !== true) throw new DataError({ file: join(dir, "tokenizer.json"), field: "matchIdf" }, "an IDF-bucketed match channel on collection statistics (written by this version's rra train)", "a match channel bucketed by an older per-corpus idf.json; train the student again");
  if (matchIdf && typeVocab < matchTypeVocab(true)) throw new DataError({ file: join(dir, "config.json"), field: "typeVocabSize" }, `>= ${matchTypeVocab(true)} (IDF-bucketed match channel)`, `${typeVocab}`);
  const scoring = readScoringSpec(dir, { firstStagePrior: prior, scoreScale });
  if (matchIdf && !scoring.lexicon) throw new ConfigError(`loadStudent: ${show(dir)}: tokenizer.json says matchIdf but lexicon.json is missing`);
  const model = createRraBert(config, { tcl: false, tokenSelection: "exact" });
  try {
    model.encoder.setWeights(readEncoderWeights(dir));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return {
    model, tokenizer, maxLength: settings.maxLength, matchChannel, matchIdf, lexicon: scoring.lexicon, features: scoring.features,
    composition: () => scoring.composition, scoring, network: settings.network !== false, dispose: () => model.dispose(),
    ...(saved ? { initTokenizer: { from: join(dir, saved.folder), modelType: saved.modelType, positions: saved.positions } } : {}),
  };
}

/** A warm-started RRA-BERT's WordPiece tokenizer, kept in its model directory. */
function savedWordPiece(dir: string, saved: SavedCheckpointTokenizer): WordPieceTokenizer {
  const t = loadSavedCheckpointTokenizer(dir, saved, join(dir, "tokenizer.json"));
  if (t.kind !== "wordpiece") throw new DataError({ file: join(dir, "tokenizer.json"), field: "checkpointTokenizer.modelType" }, "\"bert\" (a WordPiece tokenizer for RRA-BERT)", show(saved.modelType));
  return t.tokenizer;
}

/** Options of rerankLists. */
export interface RerankOptions {
  /** Pairs scored per forward pass. Default 128. */
  batchSize?: number;
  /** Leading candidates of each list that are re-ranked and written. Default 100. */
  depth?: number;
  /** Run tag. Default "rra-student". */
  tag?: string;
  /** Override the student's prior weight beta (0: the network and features alone). Default: the student's own. */
  prior?: number;
}

/**
 * Indices of `pairs` in order of length (query + passage characters, a proxy for packed tokens), so a
 * batch of neighbours pads little; ties keep input order.
 */
export function lengthOrder(pairs: ReadonlyArray<{ query: string; passage: string }>): number[] {
  const len = pairs.map((p) => p.query.length + p.passage.length);
  return pairs.map((_, i) => i).sort((a, b) => len[a] - len[b] || a - b);
}

/** What scorePairs reads of a student. */
type PairScoringStudent = Pick<StudentCore, "model" | "tokenizer" | "maxLength" | "matchChannel" | "matchIdf" | "lexicon" | "network">;

/** Score `pairs` into `out` one batch at a time (see scorePairs), yielding after each batch. */
function* scoreBatches(student: PairScoringStudent, pairs: readonly PairInput[], batchSize: number, out: Float32Array): Generator<number> {
  if (student.network === false) return; // an untrained zero head: every network score is 0
  const order = lengthOrder(pairs);
  for (let i = 0; i < order.length; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    const batch = packPairs(student.tokenizer, idx.map((j) => pairs[j]), { maxLength: student.maxLength, tokenSelection: null, padTo: "longest", matchChannel: student.matchChannel, matchIdf: student.matchIdf, lexicon: student.lexicon });
    const scores = tf.tidy(() => student.model.inferenceScores(batch));
    const values = scores.dataSync();
    scores.dispose();
    idx.forEach((j, k) => { out[j] = values[k]; });
    yield i + idx.length;
  }
}

/**
 * Network scores s_cls of query-passage pairs (dropout off), in input order. Pairs are batched in order of
 * length (lengthOrder) to limit padding; padding is masked, so the scores do not depend on the batching
 * beyond float rounding. The composition (scale, features, prior) is not applied: see rerankLists.
 */
export function scorePairs(student: PairScoringStudent, pairs: readonly PairInput[], batchSize = 128): Float32Array {
  const out = new Float32Array(pairs.length);
  for (const _ of scoreBatches(student, pairs, batchSize, out)) { /* every batch */ }
  return out;
}

/** scorePairs that stops on an interrupt between batches (core/interrupt.ts), for long scoring in a notebook. */
export async function scorePairsInterruptible(student: PairScoringStudent, pairs: readonly PairInput[], batchSize = 128): Promise<Float32Array> {
  const out = new Float32Array(pairs.length);
  let done = 0;
  const interrupt = interruptCheck(() => `scoring pairs after ${done} of ${pairs.length} (scoring stores nothing)`);
  for (const n of scoreBatches(student, pairs, batchSize, out)) {
    done = n;
    await interrupt.check();
  }
  return out;
}

/** Re-rank the first `depth` candidates of each list by the student's ranking score (ties keep first-stage order); stops on an interrupt. */
export function rerankLists(student: StudentCore, lists: readonly RankedList[], options: RerankOptions = {}): Promise<Run> {
  return rerankComposed(lists, (pairs) => scorePairsInterruptible(student, pairs, options.batchSize ?? 128), studentScoring(student), { depth: options.depth, tag: options.tag, prior: options.prior });
}

/** Scores of query-passage pairs, in input order (any student kind). */
export type PairScorer = (pairs: ReadonlyArray<{ query: string; passage: string }>) => Float32Array;

/** Re-rank the first `depth` candidates of each list by `score` (ties keep first-stage order); shared by both student kinds. */
export function rerankWith(score: PairScorer, lists: readonly RankedList[], options: RerankOptions = {}): Run {
  const { pairs, heads } = rerankPairs(lists, options.depth ?? 100);
  return rankByScores(lists, heads, score(pairs), options);
}

/** The query-passage pairs of the first `depth` candidates of each list, in list order (rankByScores' input). */
export function rerankPairs(lists: readonly RankedList[], depth = 100): { pairs: Array<{ query: string; passage: string }>; heads: RankedList["candidates"][] } {
  const pairs: Array<{ query: string; passage: string }> = [];
  const heads = lists.map((l) => l.candidates.slice(0, depth));
  lists.forEach((l, i) => {
    for (const c of heads[i]) {
      if (c.text === undefined) throw new DataError({ file: `list ${l.qid}`, field: `docid ${c.docid}` }, "candidate text to re-rank", "no text");
      pairs.push({ query: l.query, passage: c.text });
    }
  });
  return { pairs, heads };
}

/** A run from the scores of rerankPairs' pairs (plus prior * z(first-stage score) when options.prior > 0). */
export function rankByScores(lists: readonly RankedList[], heads: RankedList["candidates"][], scores: ArrayLike<number>, options: RerankOptions = {}): Run {
  const { tag = "rra-student", prior = 0 } = options;
  const run: Run = { tag, queries: new Map() };
  let k = 0;
  lists.forEach((l, i) => {
    const z = prior > 0 ? zScores(heads[i].map((c) => c.score)) : null;
    const scored = heads[i].map((c, j) => ({ docid: c.docid, score: scores[k + j] + (z ? prior * z[j] : 0), order: j }));
    k += heads[i].length;
    scored.sort((a, b) => b.score - a.score || a.order - b.order);
    run.queries.set(l.qid, scored.map((s, r) => ({ docid: s.docid, score: s.score, rank: r + 1 })));
  });
  return run;
}
