/**
 * Scoring with an exported directory (model.ts): ONNX exports run on ONNX Runtime (onnxruntime-node,
 * CPU execution provider), TensorFlow.js exports on tf.loadGraphModel over the current tfjs backend.
 * Pairs are packed exactly as the source model packs them (vocab.txt, the packing settings of
 * packing.json / config.json, lexicon.json) and batched in order of length to limit padding. An export
 * whose graph has a match_ids input gets token_type_ids 0/1 and the match channel apart
 * (models/match-channel.ts splitMatchTypes); an older export, the combined token types it was built for.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "fs";
import { cpus } from "os";
import { join } from "path";
import { tfjsEngineName } from "../backend/native-matmul";
import { ConfigError, DataError, show } from "../core/errors";
import { readFileBytes, readJsonObject } from "../data/text-file";
import { packDecoderBatch, packDecoderExample } from "../models/decoder-input";
import { matchTypeVocab, packPairs, type PairInput } from "../train/batches";
import { readScoringSpec, type ScoringSpec } from "../train/scoring";
import { lengthOrder } from "../train/rerank";
import { loadVocab, type WordPieceTokenizer } from "../tokenize/wordpiece";
import { loadSavedCheckpointTokenizer, type SavedCheckpointTokenizer } from "../tokenize/pretrained";
import { packedTypeVocab, splitMatchTypes } from "../models/match-channel";
import { exportPacking, readExportConfig, type ExportConfig } from "./model-card";
import { MATCH_INPUT } from "./student-graph";
import { loadTfjsGraph, TFJS_WEIGHTS_FILE } from "./tfjs-graph";

/** What computes an export's scores. */
export type ScorerEngine = "tfjs" | "onnxruntime";

/** A loaded export, scoring query-passage pairs. */
export interface ExportedScorer {
  kind: "bert" | "gpt";
  format: "onnx" | "tfjs";
  engine: string;
  prior: number;
  /** The student's composition and lexicon (score.json, lexicon.json), applied by the re-ranker. */
  scoring: ScoringSpec;
  config: ExportConfig;
  scorePairs(pairs: readonly PairInput[]): Promise<Float32Array>;
  /** The graph's inputs for pairs, packed as the export's source model packs them (padded to the longest row). */
  pack(pairs: readonly PairInput[]): PackedRows;
  /** Scores of rows packed by the caller (benchmarks, stacks with their own tokenizer): one forward pass. */
  runPacked(rows: PackedRows): Promise<Float32Array>;
  dispose(): void;
}

/** Packed rows for one forward pass: [B, T] int arrays (types only for RRA-BERT; matchIds for an RRA-BERT export with a match_ids input). */
export type PackedRows = Rows;
interface Rows { inputIds: Int32Array; attentionMask: Int32Array; tokenTypeIds?: Int32Array; matchIds?: Int32Array; batch: number; seqLen: number }

/** Options of loadExportedScorer. */
export interface ExportedScorerOptions {
  engine?: "auto" | ScorerEngine;
  batchSize?: number;
  /** ONNX Runtime intra-op threads; default min(cores, 4). */
  threads?: number;
  /**
   * Whether ONNX Runtime's pool threads spin waiting for work after a run (its default, true: lower latency
   * for back-to-back requests, but the spinning takes the cores from whatever runs next; false for
   * interleaved measurements, lib/bench/peer-rounds.ts).
   */
  spinning?: boolean;
}

/** onnxruntime-node, or null when it is not installed. */
export function onnxRuntime(): typeof import("onnxruntime-node") | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("onnxruntime-node") as typeof import("onnxruntime-node");
  } catch {
    return null;
  }
}

/** The packer of an export: the source model's tokenizer and settings. */
function packerOf(dir: string, config: ExportConfig, scoring: ScoringSpec): { pack: (pairs: readonly PairInput[]) => Rows } {
  const s = exportPacking(config, join(dir, "config.json")) as { maxLength: number; matchChannel?: boolean; matchIdf?: boolean; stems?: boolean; checkpointTokenizer?: SavedCheckpointTokenizer };
  // a warm-started student's tokenizer is the checkpoint's, kept in a subfolder (train/rerank.ts INIT_TOKENIZER_DIR)
  const saved = s.checkpointTokenizer ? loadSavedCheckpointTokenizer(dir, s.checkpointTokenizer, join(dir, "config.json")) : null;
  if (config.student.kind === "rra-gpt") {
    const tokenizer = saved ? saved.tokenizer : loadVocab(join(dir, "vocab.txt"));
    return { pack: (pairs) => packDecoderBatch(pairs.map((p) => packDecoderExample(tokenizer, p.query, p.passage, undefined, { maxLength: s.maxLength })), tokenizer.padId) };
  }
  if (saved && saved.kind !== "wordpiece") throw new DataError({ file: join(dir, "config.json"), field: "tokenizer.checkpointTokenizer" }, "a WordPiece (BERT) tokenizer for RRA-BERT", saved.kind);
  const tokenizer: WordPieceTokenizer = saved ? (saved.tokenizer as WordPieceTokenizer) : loadVocab(join(dir, "vocab.txt"));
  const matchIdf = s.matchIdf === true;
  if (matchIdf) {
    if (s.stems !== true) throw new ConfigError(`export ${show(dir)}: its match channel is bucketed by an older per-corpus idf.json; export a student trained by this version`);
    if (!scoring.lexicon) throw new ConfigError(`export ${show(dir)}: tokenizer settings say matchIdf but lexicon.json is missing`);
    const types = packedTypeVocab(config.student.config as { typeVocabSize: number; matchVocabSize?: number });
    if (types < matchTypeVocab(true)) throw new ConfigError(`export ${show(dir)}: ${types} token types are too few for the IDF-bucketed match channel`);
  }
  const separate = config.inputs.includes(MATCH_INPUT);
  if (separate && s.matchChannel !== true) throw new DataError({ file: join(dir, "config.json"), field: "inputs" }, `no ${MATCH_INPUT} input (the packing settings have no match channel)`, show(config.inputs.join(", ")));
  return {
    pack: (pairs) => {
      const packed = packPairs(tokenizer, pairs, { maxLength: s.maxLength, tokenSelection: null, padTo: "longest", matchChannel: s.matchChannel === true, matchIdf, lexicon: scoring.lexicon });
      return separate ? splitMatchTypes(packed) : packed;
    },
  };
}

/** The match_ids of rows for a graph that has the input (a caller's rows without them are refused, not scored as "no match"). */
function needMatch(rows: Rows): Int32Array {
  if (!rows.matchIds || rows.matchIds.length !== rows.batch * rows.seqLen) throw new ConfigError(`runPacked: this export's graph has a ${MATCH_INPUT} input; give matchIds [batch, seqLen] (${rows.batch} x ${rows.seqLen}), got ${rows.matchIds ? `${rows.matchIds.length} values` : "none"}`);
  return rows.matchIds;
}

/** Score pairs in batches of neighbours by length; `run` scores one packed batch. */
async function scoreBatched(pairs: readonly PairInput[], batchSize: number, pack: (p: readonly PairInput[]) => Rows, run: (rows: Rows) => Promise<ArrayLike<number>>): Promise<Float32Array> {
  const out = new Float32Array(pairs.length);
  const order = lengthOrder(pairs);
  for (let i = 0; i < order.length; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    const values = await run(pack(idx.map((j) => pairs[j])));
    idx.forEach((j, k) => { out[j] = values[k]; });
  }
  return out;
}

/** Load an exported directory (config.json format "rra-export/2", or "rra-export/1" of the older layout) for scoring. */
export async function loadExportedScorer(dir: string, options: ExportedScorerOptions = {}): Promise<ExportedScorer> {
  const config = readExportConfig(dir);
  const engine = options.engine ?? "auto";
  const batchSize = options.batchSize ?? 128;
  const settings = exportPacking(config) as { firstStagePrior?: number; scoreScale?: number };
  const scoring = readScoringSpec(dir, { firstStagePrior: config.firstStagePrior ?? settings.firstStagePrior ?? 0, scoreScale: 1 });
  const { pack } = packerOf(dir, config, scoring);
  const kind = config.student.kind === "rra-gpt" ? "gpt" : "bert";
  const prior = scoring.composition.prior;
  if (config.target === "onnx") {
    if (engine === "tfjs") throw new ConfigError(`loadReranker: ${show(dir)} is an ONNX export, which runs on ONNX Runtime; export with --format tfjs for TensorFlow.js`);
    const ort = onnxRuntime();
    if (!ort) throw new ConfigError(`loadReranker: ${show(dir)} is an ONNX export but onnxruntime-node is not installed (npm ci installs it; .npmrc needs onnxruntime-node-install=skip offline)`);
    const threads = options.threads ?? Math.max(1, Math.min(4, cpus().length));
    const onnxFile = join(dir, config.file);
    let session: import("onnxruntime-node").InferenceSession;
    try {
      session = await ort.InferenceSession.create(readFileBytes(onnxFile, "ONNX model"), { executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: "0" } } } } : {}) });
    } catch (e) {
      if (e instanceof DataError) throw e;
      // ONNX Runtime's own message ("Load model from ... failed: Protobuf parsing failed") names no cause a user can act on
      throw new DataError({ file: onnxFile }, "an ONNX model written by rra export --format onnx", `a file ONNX Runtime cannot load (${((e as Error).message ?? String(e)).split("\n")[0].slice(0, 200)})`, "re-export the model");
    }
    const long = (a: Int32Array, rows: Rows) => new ort.Tensor("int64", BigInt64Array.from(a, (x) => BigInt(x)), [rows.batch, rows.seqLen]);
    const run = async (rows: Rows): Promise<Float32Array> => {
      const feeds: Record<string, import("onnxruntime-node").Tensor> = { input_ids: long(rows.inputIds, rows), attention_mask: long(rows.attentionMask, rows) };
      if (config.inputs.includes("token_type_ids")) feeds.token_type_ids = long(rows.tokenTypeIds as Int32Array, rows);
      if (config.inputs.includes(MATCH_INPUT)) feeds[MATCH_INPUT] = long(needMatch(rows), rows);
      const out = await session.run(feeds);
      return out.logits.data as Float32Array;
    };
    return {
      kind, format: "onnx", engine: `onnxruntime-cpu (${threads} thread${threads === 1 ? "" : "s"})`, prior, scoring, config,
      scorePairs: (pairs) => scoreBatched(pairs, batchSize, pack, run),
      pack,
      runPacked: run,
      dispose: () => { void session.release(); },
    };
  }
  if (engine === "onnxruntime") throw new ConfigError(`loadReranker: ${show(dir)} is a TensorFlow.js export; ONNX Runtime needs an ONNX export (--format onnx)`);
  const modelJson = readJsonObject(join(dir, config.file), "TensorFlow.js graph model");
  const model = await loadTfjsGraph(modelJson, readFileBytes(join(dir, TFJS_WEIGHTS_FILE), "TensorFlow.js weights"));
  const run = async (rows: Rows): Promise<Float32Array> => {
    const t = (a: Int32Array) => tf.tensor2d(a, [rows.batch, rows.seqLen], "int32");
    const feeds: tf.NamedTensorMap = { input_ids: t(rows.inputIds), attention_mask: t(rows.attentionMask) };
    if (config.inputs.includes("token_type_ids")) feeds.token_type_ids = t(rows.tokenTypeIds as Int32Array);
    if (config.inputs.includes(MATCH_INPUT)) feeds[MATCH_INPUT] = t(needMatch(rows));
    const out = model.execute(feeds, "logits") as tf.Tensor;
    const values = out.dataSync() as Float32Array;
    tf.dispose([out, ...Object.values(feeds)]);
    return values;
  };
  return {
    kind, format: "tfjs", engine: tfjsEngineName(), prior, scoring, config,
    scorePairs: (pairs) => scoreBatched(pairs, batchSize, pack, run),
    pack,
    runPacked: run,
    dispose: () => model.dispose(),
  };
}
