/**
 * Load a model directory as a re-ranker, whatever wrote it:
 *   - a student written by `rra train`: RRA-BERT (rerank.ts, no `kind` in config.json) or RRA-GPT
 *     (gpt-student.ts, `kind: "rra-gpt"`), scored by TensorFlow.js on the current backend;
 *   - an exported directory (`rra export`, config.json `format: "rra-export/2"`, or "rra-export/1" of the older layout): ONNX (scored by ONNX
 *     Runtime when it is installed, else by a TensorFlow.js port of the weights) or a TensorFlow.js graph model;
 *   - a Hugging Face cross-encoder folder (config.json with a `model_type`, a one-label
 *     BertForSequenceClassification; cross-encoder.ts), scored by TensorFlow.js as the checkpoint was trained.
 * Its own file so that rerank.ts and gpt-student.ts do not import each other (tslab cannot load circular imports).
 */
import { existsSync } from "fs";
import { join } from "path";
import { tfjsEngineName } from "../backend/native-matmul";
import { ConfigError, DataError, ModelError, show } from "../core/errors";
import { readJsonObject } from "../data/text-file";
import type { RankedList, Run } from "../data/types";
import { isExportConfig } from "../export/model-card";
import { loadExportedScorer, type ScorerEngine } from "../export/runtime";
import { isHfModelFolder, loadCrossEncoder } from "./cross-encoder";
import { GPT_STUDENT_KIND, loadGptStudent, scoreGptPairsInterruptible } from "./gpt-student";
import { loadStudent, scorePairsInterruptible, type RerankOptions } from "./rerank";
import { IDENTITY_SCORING, rerankComposed, scoreComposed, type ScoringSpec } from "./scoring";
import { checkFinishedTraining } from "./training-state";

/** The kind of a model directory: "gpt" when config.json has `kind: "rra-gpt"` (gpt-student.ts), "bert" when it has no kind. */
export function studentKind(dir: string): "bert" | "gpt" {
  const file = join(dir, "config.json");
  if (!existsSync(file)) throw new ConfigError(`studentKind: ${show(dir)} is not a model directory: config.json is missing (write one with rra train)`);
  const config = readJsonObject(file, "model config") as { kind?: unknown; format?: unknown; student?: { kind?: unknown } };
  const kind = isExportConfig(config) ? config.student?.kind : config.kind;
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
  /** Load a model folder whose training did not finish (training-state.ts) instead of refusing it. Default false. */
  allowUnfinished?: boolean;
}

/** Load any model directory (see the module comment) as a Reranker. */
export async function loadReranker(dir: string, options: LoadRerankerOptions = {}): Promise<Reranker> {
  const configFile = join(dir, "config.json");
  if (!existsSync(configFile)) throw new ConfigError(`loadReranker: ${show(dir)} is not a model directory: config.json is missing (write one with rra train or rra export)`);
  const config = readJsonObject(configFile, "model config") as { format?: unknown; model_type?: unknown };
  const batchSize = options.batchSize ?? 128;
  let base: Omit<Reranker, "score" | "rerank">;
  if (!isExportConfig(config) && !isHfModelFolder(config)) checkFinishedTraining(dir, options.allowUnfinished);
  if (isHfModelFolder(config)) {
    // a Hugging Face cross-encoder scores with its own logit: no composition
    const ce = loadCrossEncoder(dir);
    base = { kind: "bert", format: "hf", engine: tfjsEngineName(), dir, scoring: IDENTITY_SCORING, scorePairs: async (pairs) => ce.scorePairs(pairs, batchSize), dispose: () => ce.dispose() };
  } else if (isExportConfig(config)) {
    const exported = await loadExportedScorer(dir, { engine: options.engine ?? "auto", batchSize, threads: options.threads });
    base = { kind: exported.kind, format: exported.format, engine: exported.engine, dir, scoring: exported.scoring, scorePairs: exported.scorePairs, dispose: exported.dispose };
  } else if (studentKind(dir) === "gpt") {
    const gpt = loadGptStudent(dir);
    base = { kind: "gpt", format: "native", engine: tfjsEngineName(), dir, scoring: gpt.scoring, scorePairs: (pairs) => scoreGptPairsInterruptible(gpt, pairs, batchSize), dispose: () => gpt.dispose() };
  } else {
    const bert = loadStudent(dir);
    base = { kind: "bert", format: "native", engine: tfjsEngineName(), dir, scoring: bert.scoring, scorePairs: (pairs) => scorePairsInterruptible(bert, pairs, batchSize), dispose: () => bert.dispose() };
  }
  return {
    ...base,
    score: (query, passages) => scoreComposed(query, passages, base.scorePairs, base.scoring),
    async rerank(lists, rerankOptions = {}) {
      const run = await rerankComposed(lists, base.scorePairs, base.scoring, { depth: rerankOptions.depth, tag: rerankOptions.tag, prior: rerankOptions.prior });
      // a diverged model (NaN weights) must not write a run: name the query
      const heads = lists.map((l) => run.queries.get(l.qid) ?? []);
      checkFiniteScores(dir, lists, heads, heads.flatMap((h) => h.map((c) => c.score)));
      return run;
    },
  };
}


/**
 * Throw a ModelError naming the first query (and document) whose score is NaN or infinite: a run with
 * such scores would rank arbitrarily and still look like a run. `scores` are in rerankPairs' order.
 */
export function checkFiniteScores(dir: string, lists: readonly RankedList[], heads: ReadonlyArray<readonly { docid: string }[]>, scores: ArrayLike<number>): void {
  let k = 0;
  let bad = 0;
  let first: { qid: string; docid: string; value: number; index: number; of: number } | null = null;
  lists.forEach((l, i) => {
    heads[i].forEach((c, j) => {
      const v = scores[k + j];
      if (Number.isFinite(v)) return;
      bad++;
      first ??= { qid: l.qid, docid: c.docid, value: v, index: j + 1, of: heads[i].length };
    });
    k += heads[i].length;
  });
  if (first === null) return;
  const f = first as { qid: string; docid: string; value: number; index: number; of: number };
  throw new ModelError(`the model ${show(dir)} scored ${f.value} for qid ${f.qid} (docid ${f.docid}, candidate ${f.index} of ${f.of}); ` +
    `${bad} of ${scores.length} scores are not finite. Its weights probably hold NaN or Infinity (a diverged training run); nothing was written`);
}
