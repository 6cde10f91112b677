/**
 * The exported model directory's description: config.json (format "rra-export/1") and the model card
 * README.md (data, teacher, config, metrics, seed, versions, inputs, parity).
 */
import { existsSync } from "fs";
import { readJsonObject } from "../data/text-file";
import { join } from "path";
import { DataError, show } from "../core/errors";
import { MATCH_IDF_EDGES } from "../train/batches";

/** config.json `format` of an exported directory. */
export const EXPORT_FORMAT = "rra-export/1";

/** Export targets. */
export type ExportTarget = "onnx" | "tfjs";

/** The parity check's result, stored in config.json and the model card. */
export interface ParityResult {
  pairs: number;
  /** Where the pairs came from, e.g. "dl20: 15 queries x first 20 BM25 candidates". */
  source: string;
  maxAbsDiff: number;
  meanAbsDiff: number;
  /** The limit the check enforced. */
  tolerance: number;
  /** Engine that scored the re-loaded export. */
  engine: string;
}

/** config.json of an exported directory. */
export interface ExportConfig {
  format: typeof EXPORT_FORMAT;
  target: ExportTarget;
  /** The graph file: model.onnx or model.json (+ its weights file). */
  file: string;
  student: { kind: "rra-bert" | "rra-gpt"; config: Record<string, unknown>; params: number };
  /** Graph inputs in order; all [batch, sequence], int64 in ONNX, int32 in TensorFlow.js. */
  inputs: string[];
  /** Graph output: [batch, 1] float32 serving score. */
  output: "logits";
  /** Packing settings (tokenizer.json of the source model). */
  tokenizer: Record<string, unknown>;
  /** Weight of the first-stage prior the student was trained with (applied by loadReranker's rerank, not in the graph). */
  firstStagePrior: number;
  /** The lexical features of the student's composition (score.json; applied by the re-ranker, not in the graph). Absent in older exports. */
  features?: string[];
  source: { dir: string; runId: string | null };
  /** The checkpoint a warm-started student started from (train/init.ts InitRecord); null or absent when trained from scratch. */
  init?: { name: string; revision: string | null; files: Array<{ name: string; bytes: number; sha256: string }> } | null;
  parity: ParityResult;
  exportedAt: string;
  versions: Record<string, string>;
}

/** Read and check an exported directory's config.json. */
export function readExportConfig(dir: string): ExportConfig {
  const file = join(dir, "config.json");
  const config = readJsonObject(file, "export config") as unknown as ExportConfig;
  if (config.format !== EXPORT_FORMAT) throw new DataError({ file, field: "format" }, show(EXPORT_FORMAT), show(config.format));
  if (config.target !== "onnx" && config.target !== "tfjs") throw new DataError({ file, field: "target" }, `"onnx" or "tfjs"`, show(config.target));
  if (!existsSync(join(dir, config.file))) throw new DataError({ file, field: "file" }, `a file in ${dir}`, `${show(config.file)}, which does not exist`);
  return config;
}

/** The training record fields the card shows (training.json of the source model; absent fields are skipped). */
interface TrainingRecord {
  runId?: string; seed?: number; backend?: string; gitSha?: string; params?: number; versions?: Record<string, string>;
  best?: { epoch: number; "ndcg@10": number | null } | null;
  config?: Record<string, unknown>;
  init?: ExportConfig["init"];
}

/** Read the source model's training.json, or null when it has none. */
export function readTrainingRecord(dir: string): TrainingRecord | null {
  const file = join(dir, "training.json");
  return existsSync(file) ? (readJsonObject(file, "training record") as unknown as TrainingRecord) : null;
}

/** The model card (README.md) of an exported directory. */
export function modelCard(config: ExportConfig, training: TrainingRecord | null): string {
  const name = config.student.kind === "rra-bert" ? "RRA-BERT" : "RRA-GPT";
  const c = training?.config ?? {};
  const sc = config.student.config;
  const lines = [
    `# ${name} student (${String(sc.preset ?? "custom")}), exported as ${config.target === "onnx" ? "ONNX" : "a TensorFlow.js graph model"}`,
    "",
    `A passage re-ranker distilled from an LLM's listwise rankings by the RRADistill workbench (Choi et al., EMNLP 2024 Industry Track, as reconstructed in the workbench's DESIGN.md). It scores one (query, passage) pair per row; higher = more relevant.`,
    "",
    "## Data and teacher",
    `- training data: ${show(c.train ?? "unknown")} (TREC DL queries with BM25 top-100 candidates, MS MARCO passages); ${typeof c.folds === "number" && c.folds >= 2 ? `epoch count selected on ${String(c.folds)} held-out folds of ${show(c.train ?? "unknown")}, then one run on all of it` : `epoch selected on ${show(c.dev ?? "unknown")}${c.devQueries ? ` (first ${String(c.devQueries)} queries)` : ""}`}`,
    `- teacher: ${show(c.teacher ?? "unknown")}, selection ${show(c.selection ?? "unknown")}, missing documents as ${show(c.missing ?? "unknown")}`,
    `- loss: ${show(c.loss ?? "unknown")}; Term Control Layer in training: ${c.tcl === true ? "yes (train-only: not part of this graph)" : "no"}`,
    "",
    "## Model",
    `- ${config.student.params.toLocaleString("en-US")} parameters; ${Object.entries(sc).filter(([k]) => ["numLayers", "hiddenSize", "numHeads", "ffnSize", "maxLen", "vocabSize", "typeVocabSize", "layerNorm"].includes(k)).map(([k, v]) => `${k} ${String(v)}`).join(", ")}`,
    ...(config.init ? [`- warm-started from ${config.init.name}${config.init.revision ? ` @ ${config.init.revision}` : ""} (${config.init.files.map((f) => `${f.name} sha256 ${f.sha256.slice(0, 12)}`).join(", ")}; full hashes in config.json \`init\`)`] : []),
    `- inputs: ${config.inputs.map((i) => `\`${i}\``).join(", ")}, each [batch, sequence], ${config.target === "onnx" ? "int64" : "int32"}; output \`logits\` [batch, 1] float32 (the serving score${config.student.kind === "rra-bert" ? `, scoreScale ${String(config.tokenizer.scoreScale ?? 1)} included` : ""})`,
    config.student.kind === "rra-bert"
      ? `- packing: \`[CLS] query [SEP] passage [SEP]\` with the WordPiece vocabulary in vocab.txt (tokenizer.json: maxLength ${String(config.tokenizer.maxLength)}). token_type_ids: 0 query side, 1 passage side${config.tokenizer.matchChannel ? `, plus the exact-match channel (matched whole words get 2 + side${config.tokenizer.matchIdf ? `, shifted by 2 per IDF bucket of the collection statistics in lexicon.json: type = side + 2 (1 + bucket), buckets at idf ${MATCH_IDF_EDGES.join(", ")}` : ""}; words match when they share a stem); lib/train/batches.ts packPairs is the reference` : ""}.`
      : `- packing: the prompt \`[CLS] query: q document: d relevant?\` (lib/models/decoder-input.ts), right-padded; the score is read at the last real token.`,
    config.firstStagePrior > 0 || (config.features?.length ?? 0) > 0
      ? `- the re-ranker's score is the graph's logit${(config.features?.length ?? 0) > 0 ? ` + w . f (lexical features ${config.features!.join(", ")}; weights in score.json)` : ""}${config.firstStagePrior > 0 ? ` + ${config.firstStagePrior.toFixed(4)} x z(first-stage score) within each query's list` : ""}, computed by loadReranker with the collection statistics of lexicon.json (not in the graph; lib/train/scoring.ts is the reference).`
      : "",
    "",
    "## Metrics, seed, versions",
    `- best dev nDCG@10: ${typeof training?.best?.["ndcg@10"] === "number" ? `${training.best["ndcg@10"].toFixed(4)} (epoch ${training.best.epoch})` : training?.best ? `none (epoch ${training.best.epoch} kept without selection)` : "not recorded"}`,
    `- run ${show(training?.runId ?? config.source.runId ?? "unknown")}, seed ${String(training?.seed ?? "unknown")}, trained on the tfjs ${String(training?.backend ?? "unknown")} backend, git ${String(training?.gitSha ?? "unknown")}`,
    `- exported ${config.exportedAt} with ${Object.entries(config.versions).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    "",
    "## Parity",
    `Re-loaded after writing and compared with the in-memory model on ${config.parity.pairs} real pairs (${config.parity.source}): max |diff| ${config.parity.maxAbsDiff.toExponential(2)}, mean ${config.parity.meanAbsDiff.toExponential(2)} (limit ${config.parity.tolerance}), scored by ${config.parity.engine}.`,
    "",
    "## Use",
    config.target === "onnx"
      ? "```ts\nimport { loadReranker } from \"rradistill-workbench/lib/train/reranker\";\nconst r = await loadReranker(\"THIS_DIR\"); // ONNX Runtime\nconst scores = await r.score(\"what is a flea\", [\"Fleas are ...\", \"...\"]);\n```\nor any ONNX runtime with the inputs above (e.g. `onnxruntime.InferenceSession(\"model.onnx\")` in Python)."
      : "```ts\nconst r = await loadReranker(\"THIS_DIR\"); // tf.loadGraphModel underneath\n```\nor `tf.loadGraphModel(\"file or URL of model.json\")` in a browser, feeding int32 tensors.",
    "",
  ];
  return lines.filter((l, i) => l !== "" || lines[i - 1] !== "").join("\n");
}
