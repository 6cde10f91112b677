/**
 * `rra export`: write a trained student's inference path (no TCL, no LM head) as ONNX or as a
 * TensorFlow.js graph model, with its vocabulary, packing settings, config.json and a model card,
 * then re-load what was written and compare its scores with the in-memory model on real pairs.
 *
 * The folder is also a Hugging Face model folder (EXPORT_LAYOUT in model-card.ts): tokenizer.json +
 * tokenizer_config.json + special_tokens_map.json (tokenize/hf-tokenizer-json.ts), model.safetensors
 * with Hugging Face parameter names and config.json with model_type and the Hugging Face size fields
 * (hf-checkpoint.ts); the project's packing settings are packing.json.
 *
 * The directory is written under a temporary name next to `out` and renamed into place only after
 * the parity check passed, so a failed export leaves no half-written output and keeps an older one.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "fs";
import { basename, dirname, join, resolve } from "path";
import { ConfigError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { provenance } from "../core/provenance";
import { loadDataset, type DatasetName } from "../data/datasets";
import { readEncoderWeights } from "../models/encoder";
import { readWeightsDir } from "../models/weights-file";
import { loadGptStudent, scoreGptPairs } from "../train/gpt-student";
import { readScoringSpec } from "../train/scoring";
import { loadStudent, scorePairs } from "../train/rerank";
import { checkFinishedTraining } from "../train/training-state";
import { readJsonObject } from "../data/text-file";
import { writeSafetensors, type TensorToWrite } from "../models/checkpoint/safetensors-write";
import { hfTokenizerFiles } from "../tokenize/hf-tokenizer-json";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";
import { bertHfConfig, bertHfTensors, gptHfConfig, gptHfTensors } from "./hf-checkpoint";
import { EXPORT_FORMAT, isExportConfig, modelCard, PACKING_FILE, readTrainingRecord, type ExportConfig, type ExportTarget, type ParityResult } from "./model-card";
import { toOnnx } from "./onnx";
import { loadExportedScorer } from "./runtime";
import { bertGraph, gptGraph } from "./student-graph";
import { TFJS_WEIGHTS_FILE, toTfjsGraph } from "./tfjs-graph";
import type { InferenceGraph } from "./graph";

/** Parity limit: the largest absolute score difference allowed between the export and the in-memory model. */
export const PARITY_TOLERANCE = 1e-4;

/** Options of exportModel. */
export interface ExportOptions {
  /** Model directory written by rra train (either student). */
  model: string;
  format: ExportTarget;
  /** Directory to write (replaced when it holds an earlier export). */
  out: string;
  /** Real pairs in the parity check (at least 200). Default 300. */
  parityPairs?: number;
  /** Shipped dataset the parity pairs come from. Default "dl20". */
  parityDataset?: DatasetName;
  /** Pairs per forward pass when scoring. Default 64. */
  batchSize?: number;
  /** Parity limit; may tighten PARITY_TOLERANCE, never loosen it. Default PARITY_TOLERANCE. */
  tolerance?: number;
  /** Export a model folder whose training did not finish (train/training-state.ts) instead of refusing it. Default false. */
  allowUnfinished?: boolean;
}

/** What exportModel returns. */
export interface ExportResult {
  out: string;
  format: ExportTarget;
  kind: "bert" | "gpt";
  files: string[];
  bytes: number;
  parity: ParityResult;
}

/** A checkpoint's Hugging Face tokenizer files, copied to the top of a warm-started student's export. */
const CHECKPOINT_TOKENIZER_FILES: readonly string[] = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt"];

/** Bytes of a file, or of every file under a folder (a warm-started student's init-tokenizer/). */
function treeBytes(path: string): number {
  return statSync(path).isDirectory() ? readdirSync(path).reduce((n, f) => n + treeBytes(join(path, f)), 0) : statSync(path).size;
}

/** The parity pairs: the first candidates of the first lists of a shipped dataset, `perQuery` per list. */
export function parityPairs(dataset: DatasetName, count: number, perQuery = 20): { pairs: Array<{ query: string; passage: string }>; source: string } {
  const ds = loadDataset(dataset);
  const pairs: Array<{ query: string; passage: string }> = [];
  let queries = 0;
  for (const list of ds.lists) {
    if (pairs.length >= count) break;
    queries++;
    for (const c of list.candidates.slice(0, perQuery)) if (c.text !== undefined && pairs.length < count) pairs.push({ query: list.query, passage: c.text });
  }
  if (pairs.length < count) throw new ConfigError(`export: ${dataset} has only ${pairs.length} candidate pairs with text, fewer than the ${count} asked for the parity check`);
  return { pairs, source: `${dataset}: first ${perQuery} BM25 candidates of the first ${queries} queries` };
}

/** Export a trained student (see the module comment). Throws, leaving `out` untouched, when parity fails. */
export async function exportModel(options: ExportOptions): Promise<ExportResult> {
  const { model: src, format } = options;
  if (format !== "onnx" && format !== "tfjs") throw new ConfigError(`export: --format must be onnx or tfjs, got ${show(format)}`);
  const count = options.parityPairs ?? 300;
  const tolerance = options.tolerance ?? PARITY_TOLERANCE;
  if (!(tolerance >= 0 && tolerance <= PARITY_TOLERANCE)) throw new ConfigError(`export: the parity tolerance may tighten ${PARITY_TOLERANCE}, not loosen it; got ${show(tolerance)}`);
  if (!Number.isInteger(count) || count < 200) throw new ConfigError(`export: the parity check needs at least 200 pairs, got ${show(count)}`);
  for (const f of ["config.json", "weights.json", "weights.bin", "tokenizer.json"]) {
    if (!existsSync(join(src, f))) throw new ConfigError(`export: ${show(src)} is not a model directory written by rra train: ${f} is missing`);
  }
  // the vocabulary: vocab.txt, or a warm-started student's checkpoint tokenizer folder (train/rerank.ts INIT_TOKENIZER_DIR)
  const savedTokenizer = (readJsonObject(join(src, "tokenizer.json"), "tokenizer settings").checkpointTokenizer as { folder?: string } | undefined)?.folder;
  if (!existsSync(join(src, savedTokenizer ?? "vocab.txt"))) throw new ConfigError(`export: ${show(src)} is not a model directory written by rra train: ${savedTokenizer ?? "vocab.txt"} is missing`);
  checkFinishedTraining(src, options.allowUnfinished);
  const out = resolve(options.out);
  if (existsSync(out) && readdirSync(out).length > 0) {
    const cfg = join(out, "config.json");
    const isExport = existsSync(cfg) && isExportConfig(readJsonObject(cfg, "export config"));
    if (!isExport) throw new ConfigError(`export: ${show(options.out)} exists and is not an earlier export; choose an empty or new --out`);
  }
  const srcConfig = readJsonObject(join(src, "config.json"), "model config");
  const kind: "bert" | "gpt" = srcConfig.kind === "rra-gpt" ? "gpt" : "bert";
  const settings = readJsonObject(join(src, "tokenizer.json"), "tokenizer settings");
  const { pairs, source } = parityPairs(options.parityDataset ?? "dl20", count);
  const batchSize = options.batchSize ?? 64;

  // the in-memory model: its graph, its Hugging Face view and its scores of the parity pairs
  let graph: InferenceGraph, reference: Float32Array, params: number, modelConfig: Record<string, unknown>;
  // tokenizer: the student's own WordPiece, written as Hugging Face files (null: a warm-started student's checkpoint tokenizer, copied)
  let hfTensors: TensorToWrite[], hfConfig: Record<string, unknown>, tokenizer: WordPieceTokenizer | null = null;
  if (kind === "gpt") {
    const gpt = loadGptStudent(src);
    try {
      const weights = readWeightsDir(src, "rra-decoder-weights/1");
      graph = gptGraph(gpt.model.config, weights);
      hfTensors = gptHfTensors(gpt.model.config, weights);
      const tok = gpt.tokenizer;
      if (!savedTokenizer) tokenizer = tok as WordPieceTokenizer;
      hfConfig = gptHfConfig(gpt.model.config, { pad: tok.padId, cls: tok.clsId, sep: tok.sepId });
      reference = scoreGptPairs(gpt, pairs, batchSize);
      params = gpt.model.countParams();
      modelConfig = { ...gpt.model.config };
    } finally {
      gpt.dispose();
    }
  } else {
    const bert = loadStudent(src);
    try {
      const weights = readEncoderWeights(src);
      // the network score s_cls; score.json's composition is applied by the re-ranker
      graph = bertGraph(bert.model.encoder.config, weights, { match: bert.matchChannel ? "separate" : "none" });
      hfTensors = bertHfTensors(bert.model.encoder.config, weights);
      const tok = bert.tokenizer;
      if (!savedTokenizer) tokenizer = tok;
      hfConfig = bertHfConfig(bert.model.encoder.config, { pad: tok.padId, cls: tok.clsId, sep: tok.sepId });
      reference = scorePairs(bert, pairs, batchSize);
      params = bert.model.encoder.countParams();
      modelConfig = { ...bert.model.encoder.config };
    } finally {
      bert.dispose();
    }
  }

  const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const training = readTrainingRecord(src);
    const prov = provenance();
    const versions: Record<string, string> = { node: prov.node, ...prov.packages };
    const config: ExportConfig = {
      ...hfConfig, model_type: String(hfConfig.model_type), architectures: hfConfig.architectures as string[],
      format: EXPORT_FORMAT, target: format, file: format === "onnx" ? "model.onnx" : "model.json",
      student: { kind: kind === "gpt" ? "rra-gpt" : "rra-bert", config: modelConfig, params },
      inputs: graph.inputs.map((i) => i.name), output: "logits", packing: settings,
      ...((spec) => ({ firstStagePrior: spec.composition.prior, scoreScale: spec.composition.scale, features: [...spec.features] }))(readScoringSpec(src, { firstStagePrior: Number(settings.firstStagePrior ?? 0), scoreScale: Number(settings.scoreScale ?? 1) })),
      source: { dir: src, runId: training?.runId ?? null }, init: training?.init ?? null,
      parity: { pairs: 0, source, maxAbsDiff: NaN, meanAbsDiff: NaN, tolerance, engine: "" },
      exportedAt: new Date().toISOString(), versions,
    };
    if (format === "onnx") {
      writeFileSync(join(tmp, "model.onnx"), toOnnx(graph, { producerVersion: versions["@tensorflow/tfjs"] ?? "", docString: `${config.student.kind} exported by rra export`, metadata: { source: src, kind: config.student.kind, inputs: config.inputs.join(",") } }));
    } else {
      const art = toTfjsGraph(graph, { userDefinedMetadata: { kind: config.student.kind, source: src } });
      writeFileSync(join(tmp, "model.json"), JSON.stringify(art.modelJson));
      writeFileSync(join(tmp, TFJS_WEIGHTS_FILE), art.weightData);
    }
    for (const f of ["vocab.txt", "score.json", "lexicon.json", "training.json"]) if (existsSync(join(src, f))) copyFileSync(join(src, f), join(tmp, f));
    // the packing settings under their own name; tokenizer.json is the Hugging Face tokenizer
    writeFileSync(join(tmp, PACKING_FILE), JSON.stringify(settings, null, 1) + "\n");
    if (savedTokenizer) {
      // a warm-started student tokenizes as its checkpoint: its folder is kept, and the checkpoint's own
      // Hugging Face tokenizer files are the export's
      cpSync(join(src, savedTokenizer), join(tmp, savedTokenizer), { recursive: true });
      for (const f of CHECKPOINT_TOKENIZER_FILES) if (existsSync(join(src, savedTokenizer, f))) copyFileSync(join(src, savedTokenizer, f), join(tmp, f));
    } else if (tokenizer) {
      const hfTok = hfTokenizerFiles(tokenizer, { layout: kind === "gpt" ? "prompt" : "pair", maxLength: Number(settings.maxLength) });
      writeFileSync(join(tmp, "tokenizer.json"), JSON.stringify(hfTok.tokenizerJson) + "\n");
      writeFileSync(join(tmp, "tokenizer_config.json"), JSON.stringify(hfTok.tokenizerConfig, null, 2) + "\n");
      writeFileSync(join(tmp, "special_tokens_map.json"), JSON.stringify(hfTok.specialTokensMap, null, 2) + "\n");
    }
    // "format": "pt" is what transformers requires of a safetensors file's metadata
    writeSafetensors(join(tmp, "model.safetensors"), hfTensors, { format: "pt", producer: "rra export", kind: config.student.kind });
    writeFileSync(join(tmp, "config.json"), JSON.stringify(config, null, 2) + "\n");

    // parity: re-load what was written and score the same pairs
    const exported = await loadExportedScorer(tmp, { batchSize });
    let scores: Float32Array;
    try {
      scores = await exported.scorePairs(pairs);
    } finally {
      exported.dispose();
    }
    let maxAbs = 0, sum = 0;
    for (let i = 0; i < pairs.length; i++) {
      const d = Math.abs(scores[i] - reference[i]);
      if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
      sum += Number.isNaN(d) ? Infinity : d;
    }
    const parity: ParityResult = { pairs: pairs.length, source, maxAbsDiff: maxAbs, meanAbsDiff: sum / pairs.length, tolerance, engine: exported.engine };
    if (!(maxAbs <= tolerance)) {
      throw new ConfigError(`export: parity check failed: the ${format} export's scores differ from the in-memory model's by up to ${maxAbs.toExponential(3)} (limit ${tolerance}) on ${pairs.length} pairs of ${source}; nothing was written to ${show(options.out)}`);
    }
    config.parity = parity;
    writeFileAtomic(join(tmp, "config.json"), JSON.stringify(config, null, 2) + "\n");
    writeFileAtomic(join(tmp, "README.md"), modelCard(config, training));
    // swap into place: an earlier export goes only after the new one is complete
    const old = existsSync(out) ? `${tmp}.old` : null;
    if (old) renameSync(out, old);
    mkdirSync(dirname(out), { recursive: true });
    renameSync(tmp, out);
    if (old) rmSync(old, { recursive: true, force: true });
    const files = readdirSync(out).sort();
    const bytes = files.reduce((n, f) => n + treeBytes(join(out, f)), 0);
    return { out, format, kind, files, bytes, parity };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
