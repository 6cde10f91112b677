/**
 * The student training configuration (TrainConfig, its defaults, validation and run id) and the result
 * types shared by the encoder loop (loop.ts) and the decoder loop (gpt-loop.ts).
 */
import { ConfigError, show } from "../core/errors";
import { hash8 } from "../core/hash";
import { MISSING_POLICIES, type MissingPolicy } from "../labels/parse";
import { getLoss } from "../losses/index";
import { MODEL_PRESETS } from "../models/presets";
import { parseSelectionMode } from "../models/token-selection";
import type { Dataset } from "../data/types";
import { trainShippedVocab } from "../tokenize/corpus";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";

/** Configuration of a student training run. Unknown keys are rejected. */
export interface TrainConfig {
  /** Student architecture: "bert" (RRA-BERT) or "gpt" (RRA-GPT decoder, lib/train/gpt-loop.ts; it ignores tcl, ts and match). Default "bert". */
  arch: string;
  /** RRA-GPT rationale source: "auto" (the label job's stored rationales, else the template stand-in), "template" (gpt-loop.ts; not an LLM rationale) or "none" (no LM loss). Default "auto". */
  rationale: string;
  /** RRA-GPT weight a of the listed-vs-missing classification loss. Default 0.5. */
  clsWeight: number;
  /** RRA-GPT weight b of the rationale LM loss. Default 0.5. */
  lmWeight: number;
  /** Encoder preset (MODEL_PRESETS): tiny or small. Default "tiny". */
  preset: string;
  /** Training dataset (its first-stage lists give the label windows). Default "dl19". */
  train: string;
  /** Dev dataset, evaluated every epoch. Default "dl20". */
  dev: string;
  /** A labels.jsonl (lib/labels/jsonl.ts) to train on; null = run/reuse the teacher label job in the store. Default null. */
  labels: string | null;
  /** Teacher of the label job when `labels` is null. Default "projected:rankvicuna-7b". */
  teacher: string;
  /** Window selection of the label job. Default "top10+bottom10". */
  selection: string;
  /** Ranking loss (lib/losses LOSSES). Default "listNet". */
  loss: string;
  /** Policy for teacher-missing documents. Default "hardNegative". */
  missing: MissingPolicy;
  /** Train with the Term Control Layer. Default true. */
  tcl: boolean;
  /** Token Selection mode (exact, topk:<k>, ...+query). Default "exact". */
  ts: string;
  /** Exact-match channel in the token types (train and inference; batches.ts). Default true. */
  match: boolean;
  /** Bucket the match channel by the matched word's IDF over the training passages (saved as idf.json with the model). Default false. */
  matchIdf: boolean;
  /**
   * First-stage prior weight beta: training losses and serving score s_cls + beta * z, z = the candidate's first-stage
   * score standardised within its list (the student learns the teacher's correction of BM25). 0 = the student alone. Default 0.
   */
  prior: number;
  /**
   * Logit scale k: the ranking losses see k * s_cls (+ the prior), and serving scores are k * s_cls (+ prior). A
   * freshly initialised score head outputs |s| ~ 0.05, where a softmax loss is flat (measured: listNet stayed at
   * ln 20 for 24 steps at k = 1); k = 10 is a softmax temperature of 0.1. Default 1.
   */
  scoreScale: number;
  /** Seed of initialisation, shuffling and dropout. Default 42. */
  seed: number;
  /** Maximum epochs. Default 3. */
  epochs: number;
  /** Peak learning rate. Default 5e-4. */
  lr: number;
  /** Linear warm-up steps; -1 = 10% of the total steps. Default -1. */
  warmupSteps: number;
  /** AdamW decoupled weight decay. Default 0.01. */
  weightDecay: number;
  /** Clip gradients to this global norm (0 = off). Default 1. */
  clip: number;
  /** Query groups per batch. Default 8. */
  groupsPerBatch: number;
  /** Groups per forward/backward pass; gradients are accumulated over a batch's micro-batches before one AdamW step (0 = whole batch). Default 0. */
  microBatch: number;
  /** Self-supervised pseudo-query warm-up steps (lib/train/warmup.ts) before label training (0 = off). Default 0. */
  pretrainSteps: number;
  /** Documents per group (shorter windows are padded with label -1). Default 20. */
  groupSize: number;
  /** Tokens per packed pair. Default 128. */
  maxLength: number;
  /** WordPiece vocabulary size (trained on the shipped corpus). Default 8000. */
  vocabSize: number;
  /** Encoder dropout. Default 0.1. */
  dropout: number;
  /** Epochs without a dev nDCG@10 gain before stopping. Default 2. */
  patience: number;
  /** Stop after this many optimizer steps (smoke runs); 0 = no limit. Default 0. */
  maxSteps: number;
  /** Evaluate on the first N dev queries only; 0 = all. Default 0. */
  devQueries: number;
  /** Train on the windows of the first N training queries only; 0 = all. Default 0. */
  trainQueries: number;
  /** Model directory; "" = models/<runId>. Not part of the run id. Default "". */
  out: string;
}

/** Defaults of every TrainConfig field. */
export const TRAIN_DEFAULTS: Readonly<TrainConfig> = Object.freeze({
  arch: "bert", rationale: "auto", clsWeight: 0.5, lmWeight: 0.5, preset: "tiny", train: "dl19", dev: "dl20", labels: null, teacher: "projected:rankvicuna-7b", selection: "top10+bottom10",
  loss: "listNet", missing: "hardNegative" as MissingPolicy, tcl: true, ts: "exact", match: true, matchIdf: false, prior: 0, scoreScale: 1, seed: 42, epochs: 3, lr: 5e-4, warmupSteps: -1,
  weightDecay: 0.01, clip: 1, groupsPerBatch: 8, microBatch: 0, pretrainSteps: 0, groupSize: 20, maxLength: 128, vocabSize: 8000, dropout: 0.1, patience: 2,
  maxSteps: 0, devQueries: 0, trainQueries: 0, out: "",
});

/** Values of TrainConfig.rationale (RRA-GPT). */
export const RATIONALE_MODES: readonly string[] = ["auto", "template", "none"];

const INT_KEYS = ["seed", "epochs", "warmupSteps", "groupsPerBatch", "microBatch", "pretrainSteps", "groupSize", "maxLength", "vocabSize", "patience", "maxSteps", "devQueries", "trainQueries"] as const;

/** Merge overrides into TRAIN_DEFAULTS; ConfigError on unknown keys, wrong types and bad values. Returns a frozen copy. */
export function resolveTrainConfig(overrides: Partial<TrainConfig> = {}): Readonly<TrainConfig> {
  const out = { ...TRAIN_DEFAULTS } as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in TRAIN_DEFAULTS)) throw new ConfigError(`train config: unknown key ${show(k)}; expected some of ${Object.keys(TRAIN_DEFAULTS).join(", ")}`);
    if (v === undefined) continue;
    const def = (TRAIN_DEFAULTS as unknown as Record<string, unknown>)[k];
    if (def !== null && typeof v !== typeof def) throw new ConfigError(`train config: ${k} must be a ${typeof def}, got ${show(v)}`);
    out[k] = v;
  }
  const c = out as unknown as TrainConfig;
  if (c.arch !== "bert" && c.arch !== "gpt") throw new ConfigError(`train config: arch must be "bert" or "gpt", got ${show(c.arch)}`);
  if (!RATIONALE_MODES.includes(c.rationale)) throw new ConfigError(`train config: rationale must be one of ${RATIONALE_MODES.join(", ")}, got ${show(c.rationale)}`);
  for (const k of ["clsWeight", "lmWeight"] as const) if (!Number.isFinite(c[k]) || c[k] < 0) throw new ConfigError(`train config: ${k} must be a non-negative number, got ${show(c[k])}`);
  if (!(c.preset in MODEL_PRESETS)) throw new ConfigError(`train config: unknown preset ${show(c.preset)}; expected one of ${Object.keys(MODEL_PRESETS).join(", ")}`);
  if (c.labels !== null && typeof c.labels !== "string") throw new ConfigError(`train config: labels must be a file path or null, got ${show(c.labels)}`);
  getLoss(c.loss);
  if (c.loss === "marginMse" || c.loss === "klDistill") throw new ConfigError(`train config: loss ${show(c.loss)} needs teacher scores, which permutation labels do not have; use listNet, listMle, rankNet, lambdaNdcg2 or pointwiseBce`);
  if (!MISSING_POLICIES.includes(c.missing)) throw new ConfigError(`train config: missing must be one of ${MISSING_POLICIES.join(", ")}, got ${show(c.missing)}`);
  parseSelectionMode(c.ts);
  for (const k of INT_KEYS) {
    const v = c[k];
    const min = k === "warmupSteps" ? -1 : ["seed", "patience", "maxSteps", "devQueries", "trainQueries", "microBatch", "pretrainSteps"].includes(k) ? 0 : 1;
    if (!Number.isInteger(v) || v < min) throw new ConfigError(`train config: ${k} must be an integer >= ${min}, got ${show(v)}`);
  }
  if (c.groupSize < 2) throw new ConfigError(`train config: groupSize must be >= 2, got ${c.groupSize}`);
  const maxLen = (MODEL_PRESETS as Record<string, { maxLen: number }>)[c.preset].maxLen;
  if (c.maxLength > maxLen) throw new ConfigError(`train config: maxLength ${c.maxLength} exceeds the ${c.preset} preset's maxLen ${maxLen}`);
  for (const k of ["lr", "weightDecay", "clip", "dropout", "prior", "scoreScale"] as const) {
    if (!Number.isFinite(c[k]) || c[k] < 0) throw new ConfigError(`train config: ${k} must be a non-negative number, got ${show(c[k])}`);
  }
  if (!(c.lr > 0)) throw new ConfigError(`train config: lr must be positive, got ${c.lr}`);
  if (!(c.scoreScale > 0)) throw new ConfigError(`train config: scoreScale must be positive, got ${c.scoreScale}`);
  if (c.dropout >= 1) throw new ConfigError(`train config: dropout must be in [0, 1), got ${c.dropout}`);
  return Object.freeze(out as unknown as TrainConfig);
}

/** Fields added after run ids were first issued: left out of the hash while 0 / false, so older run ids stay valid. */
const OPTIONAL_ZERO_KEYS = ["microBatch", "pretrainSteps", "match", "prior", "matchIdf"] as const;
/** RRA-GPT fields: left out of the hash while at their TRAIN_DEFAULTS value, so bert run ids stay unchanged. */
const OPTIONAL_DEFAULT_KEYS = ["rationale", "clsWeight", "lmWeight", "scoreScale"] as const;

/** The run id of a config: `student-<hash8>` of every field but `out` (and microBatch/pretrainSteps when 0). */
export function trainRunId(config: Readonly<TrainConfig>): string {
  const { out: _out, ...rest } = config;
  const keyed = rest as Record<string, unknown>;
  for (const k of OPTIONAL_ZERO_KEYS) if (keyed[k] === 0 || keyed[k] === false) delete keyed[k];
  for (const k of OPTIONAL_DEFAULT_KEYS) if (keyed[k] === TRAIN_DEFAULTS[k]) delete keyed[k];
  return `student-${hash8(keyed)}`;
}

/** One curve point: train loss/lr/grad_norm per step, dev ndcg@10 per epoch; pretrain loss/lr/grad_norm per warm-up step (epoch 0, own step count). */
export interface CurvePoint {
  step: number;
  epoch: number;
  split: "train" | "dev" | "pretrain";
  metric: string;
  value: number;
}

/** The best epoch so far. */
export interface BestEpoch {
  epoch: number;
  step: number;
  "ndcg@10": number;
}

/** What trainStudent returns (and training.json holds, with the config and provenance). */
export interface TrainResult {
  runId: string;
  outDir: string;
  status: "done" | "stopped" | "interrupted";
  curves: CurvePoint[];
  best: BestEpoch | null;
  /** Optimizer steps done in total. */
  steps: number;
  /** Epoch the run resumed after (0 = fresh start). */
  resumedFromEpoch: number;
  /** Throughput of this process's training steps (excludes dev evaluation). */
  throughput: { stepsPerSec: number; examplesPerSec: number };
  /** The pseudo-query warm-up of this process (null when off or restored from a checkpoint). */
  pretrain: { steps: number; seconds: number; examplesPerSec: number; passages: number; firstLoss: number; lastLoss: number } | null;
}

/** Options of trainStudent. */
export interface TrainOptions {
  /** No progress bar. */
  quiet?: boolean;
  /** Simulate an interruption after this many completed epochs of this call (tests of resume). */
  stopAfterEpochs?: number;
  /** Datasets already loaded, by name (tests). */
  datasets?: Record<string, Dataset>;
  /** Datasets of the warm-up corpus (default: every shipped dataset, DATASET_NAMES). */
  pretrainDatasets?: Dataset[];
}

const vocabCache = new Map<number, WordPieceTokenizer>();

/** The deterministic shipped-corpus WordPiece vocabulary of a size (memoised per process). */
export function studentTokenizer(vocabSize: number): WordPieceTokenizer {
  let t = vocabCache.get(vocabSize);
  if (!t) {
    t = trainShippedVocab({ vocabSize });
    vocabCache.set(vocabSize, t);
  }
  return t;
}
