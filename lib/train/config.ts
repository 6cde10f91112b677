/**
 * The student training configuration (TrainConfig, its defaults, validation and run id) and the result
 * types shared by the encoder loop (loop.ts) and the decoder loop (gpt-loop.ts).
 */
import { ConfigError, show } from "../core/errors";
import { hash8 } from "../core/hash";
import { checkTargetForm, type TargetForm } from "../labels/convert";
import { MISSING_POLICIES, type MissingPolicy } from "../labels/parse";
import { DEFAULT_FEATURES, parseFeatureNames, type LexicalFeature } from "../lexical/features";
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
  /** Encoder preset (MODEL_PRESETS): tiny or small. Default "tiny". Ignored with `init` (the checkpoint's config.json gives the sizes). */
  preset: string;
  /**
   * Warm start (train/init.ts): a Hugging Face checkpoint the student's encoder (arch "bert": a BERT folder)
   * or decoder (arch "gpt": a GPT-2 folder) starts from, with the checkpoint's own tokenizer instead of the
   * shipped-corpus WordPiece vocabulary: a model folder or "hf:ORG/NAME[@REVISION]" (the Hugging Face
   * cache; pulled when absent unless HF_HUB_OFFLINE=1). "" = a preset trained from scratch. Default "".
   */
  init: string;
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
  /** TCL reconstruction (models/tcl.ts tclVersion): 3 = BM25-shaped contextual impacts (default), 2 = mean term score + KL align, 1 = mean + MSE align. */
  tclVersion: number;
  /** TCL weight a of L_rank(augmented score). Default 1. */
  tclRankWeight: number;
  /** TCL weight b of the align term. Default 1. */
  tclAlignWeight: number;
  /** TCL v3: weight lambda of z(t) in the augmented score. Default 1. */
  tclLambda: number;
  /** Token Selection mode (exact, topk:<k>, ...+query) of TCL v1/v2. Default "exact". */
  ts: string;
  /** Exact-match channel in the token types (train and inference; batches.ts). Default true. */
  match: boolean;
  /** Bucket the match channel by the matched word's collection idf (the lexicon, saved as lexicon.json with the model). Default true. */
  matchIdf: boolean;
  /**
   * First-stage prior weight beta (the residual student, models/composition.ts): the ranking score is
   * k s_cls + w . f + beta z, z = the candidate's first-stage score standardised within its list. 0 = the
   * pure student. Default 1.
   */
  prior: number;
  /** Train beta (from `prior`). Default true. */
  learnPrior: boolean;
  /**
   * How the composition (features w, prior beta) is trained: "first" (default) fits it on every training
   * group at once before the network trains (train/composition-fit.ts) and freezes it, so the network
   * learns the residual; "joint" trains it with the network (learning rate lr * compositionLr).
   */
  compositionFit: string;
  /** Learning-rate multiplier of the composition's weights with compositionFit "joint". Default 10. */
  compositionLr: number;
  /** Train the network (encoder or decoder). false: s_net stays 0 and only the composition trains (the lexical features alone, a linear ranker); the TCL, which reads the network, is then off whatever `tcl` says. Default true. */
  network: boolean;
  /**
   * Start the score head at zero, so step 0 ranks by the composition alone (the first stage, with a prior).
   * Only with a prior or features: a pure student has nothing to rank by at step 0 (all its scores would
   * tie), so it keeps the seeded random head. Default true.
   */
  zeroHead: boolean;
  /** Lexical features of the feature channel (lexical/features.ts): "all" (every one but firstStage, the prior itself), "none", or a comma-separated list. Default "all". */
  features: string;
  /** A lexicon file (lexical/lexicon.ts, `rra stats --out`); "" = the shipped one (statistics recovered from the shipped BM25 runs). Default "". */
  lexicon: string;
  /** Gains of teacher ranks (labels/convert.ts): "linear" (v1) or "exp" (top-heavy 2^-(r-1)/tau). Default "exp". */
  targets: string;
  /** Ranks per halving of the exp gains. Default 5. */
  targetTau: number;
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
  /**
   * Threads per training step (train/parallel.ts): 1, or W > 1 for data parallelism, the main thread and W - 1
   * worker threads each computing a contiguous run of the batch's micro-batches, gradients summed in
   * micro-batch order before one AdamW step. A batch of G groups then runs in micro-batches of
   * min(microBatch, ceil(G / W)) groups (microBatch 0 = ceil(G / W)), bit-identical to workers 1 with that
   * microBatch. RRA-BERT only (the RRA-GPT loop and the pseudo-query warm-up run on one thread); part of the
   * run id when not 1. Default 1.
   */
  workers: number;
  /** Self-supervised pseudo-query warm-up steps (lib/train/warmup.ts) before label training (0 = off). Default 0. */
  pretrainSteps: number;
  /** Documents per group (shorter windows are padded with label -1). Default 20. */
  groupSize: number;
  /** Tokens per packed pair. Default 128. */
  maxLength: number;
  /** WordPiece vocabulary size (trained on the shipped corpus). Default 8000. Ignored with `init`. */
  vocabSize: number;
  /** Encoder dropout. Default 0.1. */
  dropout: number;
  /** Epochs without a dev nDCG@10 gain before stopping. Default 2. */
  patience: number;
  /** Stop after this many optimizer steps (smoke runs); 0 = no limit. Default 0. */
  maxSteps: number;
  /** Evaluate on the first N dev queries only; 0 = all. Default 0. */
  devQueries: number;
  /** Folds of the training queries for honest selection (train/select.ts); 0 = none. Used with `fold`. Default 0. */
  folds: number;
  /** With folds > 0: train on the other folds' queries and evaluate (select) on fold `fold` of the training set; -1 = all queries. Default -1. */
  fold: number;
  /** Cross-validation over the training set (pipeline/crossval.ts): "k/K" leaves its outer fold k of K out of training and selection (tested on it); "" = none. Default "". */
  heldOut: string;
  /** Stop after this many epochs of an `epochs`-long schedule and keep the last model (the refit of a selected epoch count; 0 = the untrained model); -1 = train every epoch and keep the best dev epoch. Default -1. */
  stopEpoch: number;
  /** Train on the windows of the first N training queries only; 0 = all. Default 0. */
  trainQueries: number;
  /** Model directory; "" = models/<runId>. Not part of the run id. Default "". */
  out: string;
}

/** Defaults of every TrainConfig field. */
export const TRAIN_DEFAULTS: Readonly<TrainConfig> = Object.freeze({
  arch: "bert", rationale: "auto", clsWeight: 0.5, lmWeight: 0.5, preset: "tiny", init: "", train: "dl19", dev: "dl20", labels: null, teacher: "projected:rankvicuna-7b", selection: "top10+bottom10",
  loss: "listNet", missing: "hardNegative" as MissingPolicy, tcl: true, tclVersion: 3, tclRankWeight: 1, tclAlignWeight: 1, tclLambda: 1, ts: "exact", match: true, matchIdf: true,
  prior: 1, learnPrior: true, compositionFit: "first", compositionLr: 10, network: true, zeroHead: true, features: "all", lexicon: "", targets: "exp", targetTau: 5, scoreScale: 1, seed: 42, epochs: 3, lr: 5e-4, warmupSteps: -1,
  weightDecay: 0.01, clip: 1, groupsPerBatch: 8, microBatch: 0, workers: 1, pretrainSteps: 0, groupSize: 20, maxLength: 128, vocabSize: 8000, dropout: 0.1, patience: 2,
  maxSteps: 0, devQueries: 0, folds: 0, fold: -1, heldOut: "", stopEpoch: -1, trainQueries: 0, out: "",
});

/**
 * The student settings npm start uses, measured on held-out folds of the training year
 * (notes/reconstruction-v3.md): `rra train`, `rra students` and the reproduce configuration start from them
 * where the library's TRAIN_DEFAULTS differ.
 */
export const MEASURED_SETTINGS = Object.freeze({ epochs: 4, lr: 3e-3, scoreScale: 10, groupsPerBatch: 2, folds: 3 });

/** Values of TrainConfig.rationale (RRA-GPT). */
export const RATIONALE_MODES: readonly string[] = ["auto", "template", "none"];

const INT_KEYS = ["seed", "epochs", "warmupSteps", "groupsPerBatch", "microBatch", "workers", "pretrainSteps", "groupSize", "maxLength", "vocabSize", "patience", "maxSteps", "devQueries", "trainQueries", "folds", "stopEpoch"] as const;

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
    const min = k === "warmupSteps" || k === "stopEpoch" ? -1 : ["seed", "patience", "maxSteps", "devQueries", "trainQueries", "microBatch", "pretrainSteps", "folds"].includes(k) ? 0 : 1;
    if (!Number.isInteger(v) || v < min) throw new ConfigError(`train config: ${k} must be an integer >= ${min}, got ${show(v)}`);
  }
  if (c.workers > 1 && c.arch !== "bert") throw new ConfigError(`train config: workers ${c.workers} (data-parallel threads) is for arch "bert"; the RRA-GPT loop runs on one thread, so expected 1 with arch ${show(c.arch)}`);
  if (c.groupSize < 2) throw new ConfigError(`train config: groupSize must be >= 2, got ${c.groupSize}`);
  const maxLen = (MODEL_PRESETS as Record<string, { maxLen: number }>)[c.preset].maxLen;
  // with init the checkpoint's positions bound maxLength (checked when it is loaded, train/init.ts)
  if (c.init === "" && c.maxLength > maxLen) throw new ConfigError(`train config: maxLength ${c.maxLength} exceeds the ${c.preset} preset's maxLen ${maxLen}`);
  if (![1, 2, 3].includes(c.tclVersion)) throw new ConfigError(`train config: tclVersion must be 1, 2 or 3, got ${show(c.tclVersion)}`);
  checkTargetForm(targetForm(c), "train config: targets");
  featureNames(c);
  if (c.folds === 1) throw new ConfigError("train config: folds must be 0 (no cross-validation) or at least 2, got 1");
  if (!Number.isInteger(c.fold) || c.fold < -1 || (c.folds === 0 ? c.fold !== -1 : c.fold >= c.folds)) throw new ConfigError(`train config: fold must be -1 (all queries) or an integer in [0, folds), got ${show(c.fold)} with folds ${c.folds}`);
  if (c.fold >= 0 && c.dev !== c.train) throw new ConfigError(`train config: with fold ${c.fold} the dev queries are that fold of the training set, so dev must equal train (${show(c.train)}), got ${show(c.dev)}`);
  parseHeldOut(c.heldOut);
  if (c.stopEpoch > c.epochs) throw new ConfigError(`train config: stopEpoch ${c.stopEpoch} exceeds epochs ${c.epochs}`);
  if (c.compositionFit !== "first" && c.compositionFit !== "joint") throw new ConfigError(`train config: compositionFit must be "first" or "joint", got ${show(c.compositionFit)}`);
  if (c.init !== "" && !c.network) throw new ConfigError(`train config: init ${show(c.init)} warm-starts the network, but network is false (the lexical ranker has no network to start); drop init or turn the network on`);
  if (c.init !== "" && c.pretrainSteps > 0) throw new ConfigError(`train config: pretrainSteps ${c.pretrainSteps} is the pseudo-query warm-up of a student trained from scratch; with init ${show(c.init)} the checkpoint is the pretraining, so expected 0`);
  if (!c.network && c.prior === 0 && featureNames(c).length === 0) throw new ConfigError("train config: network false with no prior and no features leaves nothing to train");
  for (const k of ["lr", "weightDecay", "clip", "dropout", "prior", "scoreScale", "tclRankWeight", "tclAlignWeight", "tclLambda", "targetTau", "compositionLr"] as const) {
    if (!Number.isFinite(c[k]) || c[k] < 0) throw new ConfigError(`train config: ${k} must be a non-negative number, got ${show(c[k])}`);
  }
  if (!(c.lr > 0)) throw new ConfigError(`train config: lr must be positive, got ${c.lr}`);
  if (!(c.scoreScale > 0)) throw new ConfigError(`train config: scoreScale must be positive, got ${c.scoreScale}`);
  if (c.dropout >= 1) throw new ConfigError(`train config: dropout must be in [0, 1), got ${c.dropout}`);
  return Object.freeze(out as unknown as TrainConfig);
}

/** The outer fold a config leaves out ("k/K"), or null for "". */
export function parseHeldOut(text: string): { fold: number; of: number } | null {
  if (text === "") return null;
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const fold = m ? Number(m[1]) : NaN, of = m ? Number(m[2]) : NaN;
  if (!m || of < 2 || fold >= of) throw new ConfigError(`train config: heldOut must be "" or "k/K" with 0 <= k < K and K >= 2, got ${show(text)}`);
  return { fold, of };
}

/** Whether a config's score head starts at zero (zeroHead, and a prior or features to start from). */
export function startsAtZero(c: Pick<TrainConfig, "zeroHead" | "prior" | "features" | "network">): boolean {
  return (c.zeroHead || !c.network) && (c.prior > 0 || featureNames(c).length > 0);
}

/** The target form of a config. */
export function targetForm(c: Pick<TrainConfig, "targets" | "targetTau">): TargetForm {
  return { kind: c.targets as TargetForm["kind"], tau: c.targets === "exp" ? c.targetTau : 0 };
}

/** The lexical feature names of a config ("all", "none" / "", or a comma-separated list). */
export function featureNames(c: Pick<TrainConfig, "features">): LexicalFeature[] {
  const f = c.features.trim();
  if (f === "all") return [...DEFAULT_FEATURES];
  if (f === "none" || f === "") return [];
  return parseFeatureNames(f.split(",").map((x) => x.trim()), "train config: features");
}

/**
 * The run id of a config: `student-<hash8>` of every field but `out` (and `init` when empty, `workers` when 1), with the recipe version (the
 * lexical statistics and matching of reconstruction v3 changed what every field means, so no run id of
 * an earlier version is reused).
 */
export function trainRunId(config: Readonly<TrainConfig>): string {
  // init joins the hash only when set, so the run ids of students trained from scratch stay as they were
  // so do workers (a run on more threads splits its batches into other micro-batches: other dropout draws)
  const { out: _out, init, workers, ...rest } = config;
  return `student-${hash8({ ...rest, ...(init ? { init } : {}), ...(workers !== 1 ? { workers } : {}), recipe: 3 })}`;
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
  /** True when the run had finished before and was returned from its training.json without training. */
  reused?: boolean;
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
  /** The held-out nDCG@10 that selected this run's epoch count (select.ts), recorded as its best for a refit (stopEpoch >= 0). */
  selectionNdcg?: number;
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
