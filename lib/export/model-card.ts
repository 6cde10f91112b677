/**
 * The exported model directory's description: config.json (format "rra-export/2"; "rra-export/1" in older exports) and the model card
 * README.md (data, teacher, config, metrics, seed, versions, inputs, parity).
 */
import { existsSync } from "fs";
import { readJsonObject } from "../data/text-file";
import { join } from "path";
import { DataError, show } from "../core/errors";
import { MATCH_IDF_EDGES } from "../train/batches";
import { PACK_DEFAULTS } from "../tokenize/pack";
import { MATCH_INPUT } from "./student-graph";

/**
 * config.json `format` of an exported directory: "rra-export/2" = the Hugging Face layout (EXPORT_LAYOUT);
 * "rra-export/1" = the older layout, still read. The number changed so that an older reader refuses a
 * new folder by name instead of failing on its renamed files.
 */
export const EXPORT_FORMAT = "rra-export/2";

/** Every export format this version reads. */
export const EXPORT_FORMATS: readonly string[] = ["rra-export/1", EXPORT_FORMAT];

/** Whether a config.json object is an export's (either layout). */
export function isExportConfig(config: { format?: unknown }): boolean {
  return typeof config.format === "string" && EXPORT_FORMATS.includes(config.format);
}

/** The packing settings' file in an export (older exports kept them in tokenizer.json). */
export const PACKING_FILE = "packing.json";

/**
 * The files of an export, in the layout the card describes. Older exports (before issue 13) had
 * tokenizer.json = the packing settings, config.json `tokenizer` = the same, no Hugging Face tokenizer,
 * no model.safetensors, and the match channel inside token_type_ids; they still load (runtime.ts).
 */
export const EXPORT_LAYOUT: ReadonlyArray<[string, string]> = [
  ["config.json", "Hugging Face config (model_type, sizes) + this export's record (format rra-export/2, inputs, packing, parity, versions)"],
  ["model.onnx / model.json + group1-shard1of1.bin", "the scoring graph (ONNX, or a TensorFlow.js graph model)"],
  ["model.safetensors", "the weights with Hugging Face parameter names (F32)"],
  ["tokenizer.json, tokenizer_config.json, special_tokens_map.json", "the WordPiece tokenizer as Hugging Face tokenizer files"],
  ["vocab.txt", "the same vocabulary, one token per line (BERT's format)"],
  [PACKING_FILE, "the project's packing settings (maxLength, match channel, stems)"],
  ["score.json, lexicon.json", "the score composition and the collection statistics it and the match channel read"],
  ["training.json, README.md", "the training record and this card"],
];

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
  format: "rra-export/1" | "rra-export/2";
  target: ExportTarget;
  /** The graph file: model.onnx or model.json (+ its weights file). */
  file: string;
  student: { kind: "rra-bert" | "rra-gpt"; config: Record<string, unknown>; params: number };
  /** Graph inputs in order; all [batch, sequence], int64 in ONNX, int32 in TensorFlow.js. */
  inputs: string[];
  /** Graph output: [batch, 1] float32 serving score. */
  output: "logits";
  /** Hugging Face model_type ("bert", "rra-bert" or "gpt2"; hf-checkpoint.ts) and the sizes beside it. Absent in older exports. */
  model_type?: string;
  architectures?: string[];
  /** Packing settings (tokenizer.json of the source model, packing.json of the export). Absent in older exports: see `tokenizer`. */
  packing?: Record<string, unknown>;
  /** Older exports: the packing settings under this name. Read them with exportPacking. */
  tokenizer?: Record<string, unknown>;
  /** Weight of the first-stage prior the student was trained with (applied by loadReranker's rerank, not in the graph). */
  firstStagePrior: number;
  /** The factor on the graph's logit in the student's composition (score.json; applied by the re-ranker). Absent in older exports. */
  scoreScale?: number;
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
  if (!isExportConfig(config)) throw new DataError({ file, field: "format" }, EXPORT_FORMATS.map((f) => show(f)).join(" or "), show(config.format));
  if (config.target !== "onnx" && config.target !== "tfjs") throw new DataError({ file, field: "target" }, `"onnx" or "tfjs"`, show(config.target));
  if (!existsSync(join(dir, config.file))) throw new DataError({ file, field: "file" }, `a file in ${dir}`, `${show(config.file)}, which does not exist`);
  exportPacking(config, file);
  return config;
}

/** The packing settings of an export: `packing` (this layout) or `tokenizer` (older exports). */
export function exportPacking(config: ExportConfig, file = "config.json"): Record<string, unknown> {
  const p = config.packing ?? config.tokenizer;
  if (p === null || typeof p !== "object" || Array.isArray(p)) throw new DataError({ file, field: "packing" }, "the packing settings (an object with maxLength)", show(p));
  return p;
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
  const packing = exportPacking(config);
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
    ...inputLines(config, packing),
    "",
    "## Metrics, seed, versions",
    `- best dev nDCG@10: ${typeof training?.best?.["ndcg@10"] === "number" ? `${training.best["ndcg@10"].toFixed(4)} (epoch ${training.best.epoch})` : training?.best ? `none (epoch ${training.best.epoch} kept without selection)` : "not recorded"}`,
    `- run ${show(training?.runId ?? config.source.runId ?? "unknown")}, seed ${String(training?.seed ?? "unknown")}, trained on the tfjs ${String(training?.backend ?? "unknown")} backend, git ${String(training?.gitSha ?? "unknown")}`,
    `- exported ${config.exportedAt} with ${Object.entries(config.versions).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    "",
    "## Parity",
    `Re-loaded after writing and compared with the in-memory model on ${config.parity.pairs} real pairs (${config.parity.source}): max |diff| ${config.parity.maxAbsDiff.toExponential(2)}, mean ${config.parity.meanAbsDiff.toExponential(2)} (limit ${config.parity.tolerance}), scored by ${config.parity.engine}.`,
    "",
    ...hfLines(config),
    "## Use",
    config.target === "onnx"
      ? "```ts\nimport { loadReranker } from \"rradistill-workbench/lib/train/reranker\";\nconst r = await loadReranker(\"THIS_DIR\"); // ONNX Runtime\nconst scores = await r.score(\"what is a flea\", [\"Fleas are ...\", \"...\"]);\n```\nor any ONNX runtime with the inputs above (e.g. `onnxruntime.InferenceSession(\"model.onnx\")` in Python)."
      : "```ts\nconst r = await loadReranker(\"THIS_DIR\"); // tf.loadGraphModel underneath\n```\nor `tf.loadGraphModel(\"file or URL of model.json\")` in a browser, feeding int32 tensors.",
    "",
  ];
  return lines.filter((l, i) => l !== "" || lines[i - 1] !== "").join("\n");
}

/** The card's inputs, packing and composition lines (the layout of EXPORT_LAYOUT; older exports keep their own wording). */
function inputLines(config: ExportConfig, packing: Record<string, unknown>): string[] {
  const int = config.target === "onnx" ? "int64" : "int32";
  const separate = config.inputs.includes(MATCH_INPUT);
  const lines = [`- inputs: ${config.inputs.map((i) => `\`${i}\``).join(", ")}, each [batch, sequence], ${int}; output \`logits\` [batch, 1] float32 (the network score; score.json's composition is added outside the graph)`];
  if (config.student.kind === "rra-bert") {
    const idf = packing.matchIdf === true;
    lines.push(`- packing: \`[CLS] query [SEP] passage [SEP]\` with the WordPiece vocabulary of tokenizer.json / vocab.txt, at most ${String(packing.maxLength)} tokens (the passage is cut; ${PACKING_FILE}). \`input_ids\`, \`attention_mask\` and \`token_type_ids\` (0 query side, 1 passage side) are exactly what a Hugging Face tokenizer gives for the pair (query, passage) from tokenizer.json (truncation LongestFirst: the same cut while the query has at most ${PACK_DEFAULTS.maxQueryTokens} tokens; a longer query of a pair that does not fit is cut to ${PACK_DEFAULTS.maxQueryTokens} tokens here, so cut it yourself)${packing.matchChannel === true ? "" : "."}`);
    if (packing.matchChannel === true) {
      lines.push(separate
        ? `- \`match_ids\` (the exact-match channel, a separate input because a Hugging Face tokenizer cannot compute it): 0 for every token except the tokens of a word that shares a stem (Porter stemmer, stop words dropped; lib/lexical/match.ts) with a word on the other side, which get ${idf ? `1 + the word's IDF bucket (idf from lexicon.json's collection statistics, bucket edges ${MATCH_IDF_EDGES.join(", ")}: values 1-${MATCH_IDF_EDGES.length + 1})` : "1"}; punctuation pieces and special tokens get 0. lib/train/batches.ts packPairs + lib/models/match-channel.ts splitMatchTypes is the reference; the graph reads token type row \`token_type_ids + 2 * match_ids\` (config.json type_vocab_size ${String(config.student.config.typeVocabSize)}). All-zero match_ids score the pair as if nothing matched: valid input, but not the student's score.`
        : `- token_type_ids also carry the exact-match channel (older export layout): type = side + 2 (1 + IDF bucket) for matched words; lib/train/batches.ts packPairs is the reference.`);
    }
  } else {
    lines.push(`- packing: the prompt \`[CLS] query: q document: d relevant?\` (lib/models/decoder-input.ts), right-padded; the score is read at the last real token. tokenizer.json adds [CLS] to the text \`query: {q} document: {d} relevant?\` and gives the same ids when the prompt fits ${String(packing.maxLength)} tokens; longer prompts are cut in the passage, which the caller does (no Hugging Face truncation strategy cuts in the middle).`);
  }
  const scale = config.scoreScale ?? 1;
  if (config.firstStagePrior !== 0 || (config.features?.length ?? 0) > 0 || scale !== 1) {
    lines.push(`- the re-ranker's score is ${scale !== 1 ? `${scale} x ` : ""}the graph's logit${(config.features?.length ?? 0) > 0 ? ` + w . f (lexical features ${config.features!.join(", ")}, standardised within each query's list; weights in score.json)` : ""}${config.firstStagePrior !== 0 ? ` + ${config.firstStagePrior.toFixed(4)} x z(first-stage score) within each query's list (BM25 of lexicon.json when a request has no first-stage scores)` : ""}, computed by loadReranker with the collection statistics of lexicon.json (not in the graph; lib/train/scoring.ts is the reference). The graph alone is the neural part: it ranks, but its scores are not the student's serving scores.`);
  }
  return lines;
}

/** The card's section on the folder's files and the Hugging Face tools that read them. */
function hfLines(config: ExportConfig): string[] {
  if (config.model_type === undefined) return [];
  const bert = config.student.kind === "rra-bert";
  return [
    "## Files",
    ...EXPORT_LAYOUT.map(([f, what]) => `- ${f}: ${what}`),
    "",
    "## Hugging Face tools",
    `- tokenizer: \`Tokenizer.from_file("tokenizer.json")\` (Rust/Python tokenizers), \`new Tokenizer(tokenizerJson, tokenizerConfig)\` (@huggingface/tokenizers; it does not truncate: cut the passage yourself), \`AutoTokenizer.from_pretrained(THIS_DIR)\` (transformers)${bert ? "; encode the pair (query, passage)" : ""}. Ids equal this project's for texts without Hangul or decomposed accents (its Hangul-aware normalization has no Hugging Face equivalent).`,
    bert
      ? `- weights: model.safetensors under BertForSequenceClassification names. model_type ${show(config.model_type)}: ${config.model_type === "bert" ? "transformers' BertForSequenceClassification computes this student's logit from token_type_ids = token_type_ids + 2 * match_ids" : `this student is pre-LN (the project's preset), which transformers' BERT does not compute, so the type is the project's own and transformers refuses it rather than score wrongly; it adds bert.encoder.LayerNorm (the final LayerNorm)${Number(config.student.config.matchVocabSize ?? 0) > 0 ? " and bert.embeddings.match_embeddings" : ""}`}. This project reads it back with loadPretrainedEncoder(THIS_DIR).`
      : "- weights: model.safetensors under GPT2Model names (model_type \"gpt2\"); the ranking layer is rra_rank_head: score = rra_rank_head(last_hidden_state at the last real token). transformers' GPT2Model computes the hidden states; this project's GPT-2 mapping (lib/models/checkpoint/gpt2.ts mapGpt2Tensors) reads it back (loadPretrainedDecoder wants GPT-2's byte-level BPE, and this student's tokenizer is WordPiece).",
    ...(config.inputs.includes(MATCH_INPUT)
      ? ["- match_ids for your own stack: `const s = await loadExportedScorer(\"THIS_DIR\"); const rows = s.pack([{ query, passage }]);` (lib/export/runtime.ts) gives input_ids, attention_mask, token_type_ids (equal to the Hugging Face tokenizer's) and matchIds, as [batch, sequence] Int32Arrays padded to the longest row; `await s.runPacked(rows)` scores them."]
      : []),
    "- serving score: `(await loadReranker(\"THIS_DIR\")).score(query, passages)` adds score.json's composition (scale, lexical features, first-stage prior) to the graph's logits with the statistics of lexicon.json; lib/train/scoring.ts rerankComposed is the reference for a re-implementation.",
    "",
  ];
}
