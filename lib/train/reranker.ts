/**
 * Load a model directory as a re-ranker, whatever wrote it:
 *   - a student written by `rra train`: RRA-BERT (rerank.ts, no `kind` in config.json) or RRA-GPT
 *     (gpt-student.ts, `kind: "rra-gpt"`), scored by TensorFlow.js on the current backend;
 *   - an exported directory (`rra export`, config.json `format: "rra-export/1"`): ONNX (scored by ONNX
 *     Runtime when it is installed, else by a TensorFlow.js port of the weights) or a TensorFlow.js graph model;
 *   - a Hugging Face cross-encoder folder (config.json with a `model_type`, a one-label
 *     BertForSequenceClassification; cross-encoder.ts), scored by TensorFlow.js as the checkpoint was trained.
 * Its own file so that rerank.ts and gpt-student.ts do not import each other (tslab cannot load circular imports).
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { tfjsEngineName } from "../backend/native-matmul";
import { ConfigError, DataError, show } from "../core/errors";
import type { RankedList, Run } from "../data/types";
import { EXPORT_FORMAT } from "../export/model-card";
import { loadExportedScorer, type ScorerEngine } from "../export/runtime";
import { isHfModelFolder, loadCrossEncoder } from "./cross-encoder";
import { GPT_STUDENT_KIND, loadGptStudent, scoreGptPairs } from "./gpt-student";
import { loadStudent, scorePairs, type RerankOptions } from "./rerank";
import { IDENTITY_SCORING, rerankComposed, scoreComposed, type ScoringSpec } from "./scoring";

/** The kind of a model directory: "gpt" when config.json has `kind: "rra-gpt"` (gpt-student.ts), "bert" when it has no kind. */
export function studentKind(dir: string): "bert" | "gpt" {
  const file = join(dir, "config.json");
  if (!existsSync(file)) throw new ConfigError(`studentKind: ${show(dir)} is not a model directory: config.json is missing (write one with rra train)`);
  const config = JSON.parse(readFileSync(file, "utf8")) as { kind?: unknown; format?: unknown; student?: { kind?: unknown } };
  const kind = config.format === EXPORT_FORMAT ? config.student?.kind : config.kind;
  if (kind === undefined || kind === "rra-bert") return "bert";
  if (kind === GPT_STUDENT_KIND) return "gpt";
  throw new DataError({ file, field: "kind" }, `absent or "rra-bert" (RRA-BERT) or ${show(GPT_STUDENT_KIND)}`, show(kind));
}

/** A query-passage pair. */
export interface Pair { query: string; passage: string }

/** A loaded model of any kind and format, as a re-ranker. Scores are the serving scores (higher = more relevant). */
export interface Reranker {
  /** Student architecture. */
  kind: "bert" | "gpt";
  /** "native" = a directory written by rra train; "onnx" / "tfjs" = written by rra export; "hf" = a Hugging Face cross-encoder folder. */
  format: "native" | "onnx" | "tfjs" | "hf";
  /** What computes the scores: "tfjs-<backend>" or "onnxruntime-cpu". */
  engine: string;
  /** The model directory. */
  dir: string;
  /** What the student adds to its network score (scoring.ts: scale, lexical features, first-stage prior) and its lexicon. */
  scoring: ScoringSpec;
  /** Serving scores of `passages` for one query, in input order (the passages are the candidate pool; the lexicon's BM25 is their first stage). */
  score(query: string, passages: readonly string[]): Promise<Float32Array>;
  /** Network scores of query-passage pairs, in input order (batched by length to limit padding); no composition (it needs the candidate list). */
  scorePairs(pairs: readonly Pair[]): Promise<Float32Array>;
  /** Re-rank the first `depth` candidates of each list into a TREC run with the serving score (the prior is the student's unless options.prior says otherwise). */
  rerank(lists: readonly RankedList[], options?: RerankOptions): Promise<Run>;
  dispose(): void;
}

/** Options of loadReranker. */
export interface LoadRerankerOptions {
  /** For ONNX exports: "auto" (ONNX Runtime when installed, else tfjs), or one of them explicitly. Default "auto". */
  engine?: "auto" | ScorerEngine;
  /** Pairs (bert) or prompts (gpt) per forward pass. Default 128. */
  batchSize?: number;
  /** ONNX Runtime intra-op threads. Default: the machine's cores (at most 4). */
  threads?: number;
}

/** Load any model directory (see the module comment) as a Reranker. */
export async function loadReranker(dir: string, options: LoadRerankerOptions = {}): Promise<Reranker> {
  const configFile = join(dir, "config.json");
  if (!existsSync(configFile)) throw new ConfigError(`loadReranker: ${show(dir)} is not a model directory: config.json is missing (write one with rra train or rra export)`);
  const config = JSON.parse(readFileSync(configFile, "utf8")) as { format?: unknown; model_type?: unknown };
  const batchSize = options.batchSize ?? 128;
  let base: Omit<Reranker, "score" | "rerank">;
  if (isHfModelFolder(config)) {
    // a Hugging Face cross-encoder scores with its own logit: no composition
    const ce = loadCrossEncoder(dir);
    base = { kind: "bert", format: "hf", engine: tfjsEngineName(), dir, scoring: IDENTITY_SCORING, scorePairs: async (pairs) => ce.scorePairs(pairs, batchSize), dispose: () => ce.dispose() };
  } else if (config.format === EXPORT_FORMAT) {
    const exported = await loadExportedScorer(dir, { engine: options.engine ?? "auto", batchSize, threads: options.threads });
    base = { kind: exported.kind, format: exported.format, engine: exported.engine, dir, scoring: exported.scoring, scorePairs: exported.scorePairs, dispose: exported.dispose };
  } else if (studentKind(dir) === "gpt") {
    const gpt = loadGptStudent(dir);
    base = { kind: "gpt", format: "native", engine: tfjsEngineName(), dir, scoring: gpt.scoring, scorePairs: async (pairs) => scoreGptPairs(gpt, pairs, batchSize), dispose: () => gpt.dispose() };
  } else {
    const bert = loadStudent(dir);
    base = { kind: "bert", format: "native", engine: tfjsEngineName(), dir, scoring: bert.scoring, scorePairs: async (pairs) => scorePairs(bert, pairs, batchSize), dispose: () => bert.dispose() };
  }
  return {
    ...base,
    score: (query, passages) => scoreComposed(query, passages, base.scorePairs, base.scoring),
    rerank: (lists, rerankOptions = {}) => rerankComposed(lists, base.scorePairs, base.scoring, { depth: rerankOptions.depth, tag: rerankOptions.tag, prior: rerankOptions.prior }),
  };
}

