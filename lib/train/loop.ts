/**
 * Student training: a custom, seeded loop (no model.fit, no Math.random). Per step, inside tf.tidy:
 * forward with seeded dropout (deriveSeed(seed, `dropout/step-N`)), the RRA-BERT loss, variableGrads,
 * clipping by global norm, AdamW with linear warm-up and decay. Per epoch: re-rank the dev lists
 * (first-stage top-100) with s_cls, nDCG@10, early stopping with patience, a checkpoint (weights, AdamW
 * moments, curves) from which a rerun of the same run id resumes exactly, and the best model written
 * to the model directory. Curves go to the store (train_curves), the record to `training.json`.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync, readFileSync } from "fs";
import { join } from "path";
import type { Kysely } from "kysely";
import { backendInfo, initBackend } from "../backend/tf";
import { ConfigError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { hash8 } from "../core/hash";
import { projectPath } from "../core/paths";
import { createProgress } from "../core/progress";
import { provenance } from "../core/provenance";
import { deriveSeed } from "../core/rng";
import { DATASET_NAMES, loadDataset } from "../data/datasets";
import type { Dataset } from "../data/types";
import type { EncoderBatch } from "../models/types";
import { evaluateRun } from "../eval/evaluate";
import { runLabelJob } from "../labels/pipeline";
import { MISSING_POLICIES, type MissingPolicy } from "../labels/parse";
import { getLoss } from "../losses/index";
import { MODEL_PRESETS, resolveEncoderConfig } from "../models/presets";
import { createRraBert, type RraBert } from "../models/tcl";
import { parseSelectionMode } from "../models/token-selection";
import { loadWindows, type WindowRecord } from "../store/labels";
import type { Database } from "../store/schema";
import { trainShippedVocab } from "../tokenize/corpus";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";
import { buildGroups, computeIdf, epochBatches, packGroups, readLabelsJsonl, type TrainBatch } from "./batches";
import { rerankLists, saveStudent } from "./rerank";
import { accumulateAndApply, createAdamW, learningRateAt, type AdamW } from "./schedule";
import { buildPretrainCorpus, pretrainEncoder } from "./warmup";

/** Configuration of a student training run. Unknown keys are rejected. */
export interface TrainConfig {
  /** Student architecture: "bert" (RRA-BERT). "gpt" is not implemented yet. Default "bert". */
  arch: string;
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
  arch: "bert", preset: "tiny", train: "dl19", dev: "dl20", labels: null, teacher: "projected:rankvicuna-7b", selection: "top10+bottom10",
  loss: "listNet", missing: "hardNegative" as MissingPolicy, tcl: true, ts: "exact", seed: 42, epochs: 3, lr: 5e-4, warmupSteps: -1,
  weightDecay: 0.01, clip: 1, groupsPerBatch: 8, microBatch: 0, pretrainSteps: 0, groupSize: 20, maxLength: 128, vocabSize: 8000, dropout: 0.1, patience: 2,
  maxSteps: 0, devQueries: 0, trainQueries: 0, out: "",
});

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
  if (c.arch === "gpt") throw new ConfigError(`train config: arch "gpt" (RRA-GPT) is not yet implemented; use arch "bert"`);
  if (c.arch !== "bert") throw new ConfigError(`train config: arch must be "bert", got ${show(c.arch)}`);
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
  for (const k of ["lr", "weightDecay", "clip", "dropout"] as const) {
    if (!Number.isFinite(c[k]) || c[k] < 0) throw new ConfigError(`train config: ${k} must be a non-negative number, got ${show(c[k])}`);
  }
  if (!(c.lr > 0)) throw new ConfigError(`train config: lr must be positive, got ${c.lr}`);
  if (c.dropout >= 1) throw new ConfigError(`train config: dropout must be in [0, 1), got ${c.dropout}`);
  return Object.freeze(out as unknown as TrainConfig);
}

/** Fields added after run ids were first issued: left out of the hash while at their default 0, so older run ids stay valid. */
const OPTIONAL_ZERO_KEYS = ["microBatch", "pretrainSteps"] as const;

/** The run id of a config: `student-<hash8>` of every field but `out` (and microBatch/pretrainSteps when 0). */
export function trainRunId(config: Readonly<TrainConfig>): string {
  const { out: _out, ...rest } = config;
  const keyed = rest as Record<string, unknown>;
  for (const k of OPTIONAL_ZERO_KEYS) if (keyed[k] === 0) delete keyed[k];
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

/** One training step, as a function of (batch, step index); everything it allocates is freed. */
export type TrainStep = (batch: TrainBatch, step: number) => { loss: number; gradNorm: number };

/** The rows of groups [from, to) of a batch, as a batch of its own (selection arrays included). */
export function sliceBatch(batch: TrainBatch, from: number, to: number): TrainBatch {
  const L = batch.groupSize, e = batch.encoder, T = e.seqLen;
  const r0 = from * L, r1 = to * L;
  const encoder: EncoderBatch = {
    inputIds: e.inputIds.subarray(r0 * T, r1 * T), tokenTypeIds: e.tokenTypeIds.subarray(r0 * T, r1 * T),
    attentionMask: e.attentionMask.subarray(r0 * T, r1 * T), batch: r1 - r0, seqLen: T,
  };
  if (e.selection) encoder.selection = { mask: e.selection.mask.subarray(r0 * T, r1 * T), idf: e.selection.idf.subarray(r0 * T, r1 * T) };
  return {
    encoder, labels: batch.labels.subarray(from * L, to * L), hardNegative: batch.hardNegative.subarray(from * L, to * L), groups: to - from, groupSize: L,
  };
}

/**
 * Build the step function: seeded dropout, the RRA-BERT loss, grads, clipping and AdamW, all inside tf.tidy.
 * With `microBatch` > 0 and smaller than the batch, the groups are run `microBatch` at a time: each micro-batch's
 * loss is weighted by its share of the groups, its gradients are added up, and one clipped AdamW step follows, so
 * only one micro-batch's activations are alive at a time. The update equals the full-batch one when every group
 * contributes to the loss (listwise losses average over contributing groups) and dropout is off; micro-batch k of
 * step N draws dropout from deriveSeed(seed, `dropout/step-N/mb-k`).
 */
export function createTrainStep(model: RraBert, optimizer: AdamW, config: Pick<TrainConfig, "loss" | "clip" | "seed"> & { microBatch?: number }, lrAt: (step: number) => number): TrainStep {
  const rankLoss = getLoss(config.loss);
  const vars = optimizer.variables as tf.Variable[];
  const micro = config.microBatch ?? 0;
  return (batch, step) => {
    const [loss, norm] = tf.tidy(() => {
      const size = micro > 0 && micro < batch.groups ? micro : batch.groups;
      const r = accumulateAndApply(vars, optimizer, Math.ceil(batch.groups / size), (k) => {
        const from = k * size;
        const part = size === batch.groups ? batch : sliceBatch(batch, from, Math.min(batch.groups, from + size));
        const weight = part.groups / batch.groups;
        const seed = deriveSeed(config.seed, size === batch.groups ? `dropout/step-${step}` : `dropout/step-${step}/mb-${k}`);
        const labels = tf.tensor2d(part.labels, [part.groups, part.groupSize]);
        const hardNegativeMask = tf.tensor2d(part.hardNegative, [part.groups, part.groupSize]);
        const l = model.trainingLoss(part.encoder, labels, (sc, y) => rankLoss(sc, y, { hardNegativeMask }), { training: true, seed });
        return (weight === 1 ? l : tf.mul(l, weight)) as tf.Scalar;
      }, config.clip, lrAt(step));
      return [r.loss, r.norm];
    });
    const out = { loss: loss.dataSync()[0], gradNorm: norm.dataSync()[0] };
    tf.dispose([loss, norm]);
    return out;
  };
}

interface CheckpointState {
  format: "rra-train-checkpoint/1";
  runId: string;
  epoch: number;
  step: number;
  curves: CurvePoint[];
  best: BestEpoch | null;
  badEpochs: number;
  shapes: number[][];
}

function saveCheckpoint(dir: string, state: CheckpointState, vars: readonly tf.Variable[], optimizer: AdamW): void {
  mkdirSync(dir, { recursive: true });
  const opt = optimizer.getState();
  const parts = [...vars.map((v) => v.dataSync() as Float32Array), ...opt.m, ...opt.v];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Float32Array(total);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  writeFileAtomic(join(dir, "tensors.bin"), Buffer.from(all.buffer, all.byteOffset, all.byteLength));
  writeFileAtomic(join(dir, "state.json"), JSON.stringify({ ...state, optimizerStep: opt.step }) + "\n");
}

function loadCheckpoint(dir: string, runId: string, vars: readonly tf.Variable[], optimizer: AdamW): CheckpointState | null {
  if (!existsSync(join(dir, "state.json")) || !existsSync(join(dir, "tensors.bin"))) return null;
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as CheckpointState & { optimizerStep: number };
  if (state.format !== "rra-train-checkpoint/1" || state.runId !== runId) return null;
  if (state.shapes.length !== vars.length || state.shapes.some((s, i) => s.join(",") !== vars[i].shape.join(","))) {
    throw new ConfigError(`resume: checkpoint ${show(dir)} of run ${runId} holds ${state.shapes.length} variables that do not match the model; delete it to start over`);
  }
  const bytes = readFileSync(join(dir, "tensors.bin"));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let o = 0;
  const take = (n: number): Float32Array => all.slice(o, (o += n));
  const values = vars.map((v) => take(v.size));
  const m = vars.map((v) => take(v.size));
  const s = vars.map((v) => take(v.size));
  vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(values[i], v.shape))));
  optimizer.setState({ step: state.optimizerStep, m, v: s });
  return state;
}

async function storeRunStart(db: Kysely<Database>, runId: string, cfg: Readonly<TrainConfig>, outDir: string, resumeStep: number): Promise<void> {
  const prov = provenance();
  const row = {
    id: runId, config_json: JSON.stringify(cfg), seed: cfg.seed, backend: backendInfo()?.name ?? tf.getBackend(),
    versions_json: JSON.stringify({ node: prov.node, ...prov.packages }), git_sha: prov.gitSha, status: "running", finished_at: null, out_dir: outDir,
  };
  await db.insertInto("train_runs").values(row).onConflict((oc) => oc.column("id").doUpdateSet({ ...row, id: undefined })).execute();
  await db.deleteFrom("train_curves").where("run_id", "=", runId).where("split", "!=", "pretrain").where("step", ">", resumeStep).execute();
  if (resumeStep === 0) await db.deleteFrom("train_curves").where("run_id", "=", runId).execute();
}

async function storeCurves(db: Kysely<Database>, runId: string, points: readonly CurvePoint[]): Promise<void> {
  for (let i = 0; i < points.length; i += 150) {
    const rows = points.slice(i, i + 150).map((p) => ({ run_id: runId, step: p.step, epoch: p.epoch, split: p.split, metric: p.metric, value: p.value }));
    await db.insertInto("train_curves").values(rows).onConflict((oc) => oc.doNothing()).execute();
  }
}

/** The stored curves of a run, by step. */
export async function loadTrainCurves(db: Kysely<Database>, runId: string): Promise<CurvePoint[]> {
  const rows = await db.selectFrom("train_curves").selectAll().where("run_id", "=", runId).orderBy("step").orderBy("split").orderBy("metric").execute();
  return rows.map((r) => ({ step: r.step, epoch: r.epoch, split: r.split as CurvePoint["split"], metric: r.metric, value: r.value }));
}

async function labelWindows(db: Kysely<Database>, cfg: Readonly<TrainConfig>, dataset: Dataset): Promise<WindowRecord[]> {
  if (cfg.labels !== null) return readLabelsJsonl(cfg.labels);
  const { summary } = await runLabelJob(db, { dataset: cfg.train, teacher: cfg.teacher, selection: cfg.selection }, { quiet: true, dataset });
  return loadWindows(db, summary.job);
}

/** Train a student; resumes from `<out>/checkpoint` when it holds the same run id. */
export async function trainStudent(db: Kysely<Database>, overrides: Partial<TrainConfig>, options: TrainOptions = {}): Promise<TrainResult> {
  const cfg = resolveTrainConfig(overrides);
  await initBackend({ quiet: true });
  const runId = trainRunId(cfg);
  const outDir = cfg.out || projectPath("models", runId);
  const ckptDir = join(outDir, "checkpoint");
  const data = (name: string): Dataset => options.datasets?.[name] ?? loadDataset(name);
  const train = data(cfg.train), dev = data(cfg.dev);

  let windows = await labelWindows(db, cfg, train);
  if (cfg.trainQueries > 0) {
    const keep = new Set<string>();
    for (const w of windows) if (keep.size < cfg.trainQueries || keep.has(w.qid)) keep.add(w.qid);
    windows = windows.filter((w) => keep.has(w.qid));
  }
  const groups = buildGroups(windows, train, cfg.missing, cfg.groupSize);
  if (groups.length === 0) throw new ConfigError(`train: no training groups from ${cfg.labels ?? `${cfg.teacher} labels of ${cfg.train}`} (check the labels and the dataset)`);
  const devLists = cfg.devQueries > 0 ? dev.lists.slice(0, cfg.devQueries) : dev.lists;

  const tokenizer = studentTokenizer(cfg.vocabSize);
  const idf = cfg.tcl ? computeIdf([...train.passages.values()].map((p) => p.text)) : undefined;
  const encCfg = resolveEncoderConfig({ vocabSize: tokenizer.idToToken.length, dropout: cfg.dropout, seed: deriveSeed(cfg.seed, "model") }, { preset: cfg.preset });
  const model = createRraBert(encCfg, { tcl: cfg.tcl, tokenSelection: cfg.ts, tclConfig: { seed: deriveSeed(cfg.seed, "tcl") } });
  const vars = model.trainableVariables();
  const optimizer = createAdamW(vars, { weightDecay: cfg.weightDecay });
  try {
    const stepsPerEpoch = Math.ceil(groups.length / cfg.groupsPerBatch);
    const totalSteps = cfg.maxSteps > 0 ? Math.min(cfg.maxSteps, cfg.epochs * stepsPerEpoch) : cfg.epochs * stepsPerEpoch;
    const warmupSteps = cfg.warmupSteps >= 0 ? cfg.warmupSteps : Math.round(0.1 * totalSteps);
    const step = createTrainStep(model, optimizer, cfg, (s) => learningRateAt(s, { lr: cfg.lr, warmupSteps, totalSteps }));

    const resumed = loadCheckpoint(ckptDir, runId, vars, optimizer);
    let curves: CurvePoint[] = resumed?.curves ?? [];
    let best: BestEpoch | null = resumed?.best ?? null;
    let badEpochs = resumed?.badEpochs ?? 0;
    let steps = resumed?.step ?? 0;
    const startEpoch = resumed?.epoch ?? 0;
    await storeRunStart(db, runId, cfg, outDir, steps);
    if (resumed !== null) await storeCurves(db, runId, curves); // e.g. the warm-up's points of a run resumed at step 0
    let pretrain: TrainResult["pretrain"] = null;
    if (cfg.pretrainSteps > 0 && resumed === null) {
      // the warm-up is part of the run: done once, then checkpointed as epoch 0 (a rerun resumes after it)
      const corpus = buildPretrainCorpus(options.pretrainDatasets ?? DATASET_NAMES.map((n) => data(n)));
      const bar = createProgress({ label: `pretrain ${runId}`, total: cfg.pretrainSteps, unit: "steps", quiet: options.quiet });
      const r = pretrainEncoder(model.encoder, tokenizer, corpus, {
        steps: cfg.pretrainSteps, seed: deriveSeed(cfg.seed, "pretrain"), lr: cfg.lr, weightDecay: cfg.weightDecay, clip: cfg.clip,
        groupsPerBatch: cfg.groupsPerBatch, groupSize: cfg.groupSize, microBatch: cfg.microBatch, maxLength: cfg.maxLength,
      }, (p) => bar.tick(1, `loss ${p.loss.toFixed(4)}`));
      bar.done(`pretrain loss ${r.points[0].loss.toFixed(4)} -> ${r.points[r.points.length - 1].loss.toFixed(4)} in ${r.seconds.toFixed(0)} s`);
      const pts: CurvePoint[] = r.points.flatMap((p) => [
        { step: p.step, epoch: 0, split: "pretrain" as const, metric: "loss", value: p.loss },
        { step: p.step, epoch: 0, split: "pretrain" as const, metric: "lr", value: p.lr },
        { step: p.step, epoch: 0, split: "pretrain" as const, metric: "grad_norm", value: p.gradNorm },
      ]);
      curves = curves.concat(pts);
      await storeCurves(db, runId, pts);
      pretrain = { steps: r.points.length, seconds: r.seconds, examplesPerSec: r.examplesPerSec, passages: corpus.passages, firstLoss: r.points[0].loss, lastLoss: r.points[r.points.length - 1].loss };
      saveCheckpoint(ckptDir, { format: "rra-train-checkpoint/1", runId, epoch: 0, step: 0, curves, best, badEpochs, shapes: vars.map((v) => v.shape) }, vars, optimizer);
    }

    const packOpts = { maxLength: cfg.maxLength, tokenSelection: cfg.tcl ? cfg.ts : null, idf };
    const progress = createProgress({ label: `train ${runId}`, total: totalSteps, unit: "steps", quiet: options.quiet });
    progress.tick(steps);
    let status: TrainResult["status"] = "done";
    let trainSec = 0, trainSteps = 0, trainExamples = 0;
    let epochsThisCall = 0;
    for (let epoch = startEpoch; epoch < cfg.epochs && steps < totalSteps; epoch++) {
      const fresh: CurvePoint[] = [];
      for (const indices of epochBatches(groups.length, cfg.seed, epoch, cfg.groupsPerBatch)) {
        if (steps >= totalSteps) break;
        const t0 = Date.now();
        const batch = packGroups(tokenizer, groups, indices, packOpts);
        const { loss, gradNorm } = step(batch, steps);
        const lr = learningRateAt(steps, { lr: cfg.lr, warmupSteps, totalSteps });
        steps++;
        trainSec += (Date.now() - t0) / 1000;
        trainSteps++;
        trainExamples += batch.encoder.batch;
        fresh.push({ step: steps, epoch: epoch + 1, split: "train", metric: "loss", value: loss },
          { step: steps, epoch: epoch + 1, split: "train", metric: "lr", value: lr },
          { step: steps, epoch: epoch + 1, split: "train", metric: "grad_norm", value: gradNorm });
        progress.tick(1, `epoch ${epoch + 1} loss ${loss.toFixed(4)} ${(trainExamples / Math.max(trainSec, 1e-9)).toFixed(0)} ex/s`);
      }
      const run = rerankLists({ model, tokenizer, maxLength: cfg.maxLength }, devLists, { tag: runId });
      const ndcg = evaluateRun(dev.qrels, run, { metrics: ["ndcg@10"], querySet: "intersection" }).all["ndcg@10"];
      fresh.push({ step: steps, epoch: epoch + 1, split: "dev", metric: "ndcg@10", value: ndcg });
      curves = curves.concat(fresh);
      await storeCurves(db, runId, fresh);
      if (best === null || ndcg > best["ndcg@10"]) {
        best = { epoch: epoch + 1, step: steps, "ndcg@10": ndcg };
        badEpochs = 0;
        saveStudent(outDir, { model, tokenizer, maxLength: cfg.maxLength });
      } else {
        badEpochs++;
      }
      saveCheckpoint(ckptDir, { format: "rra-train-checkpoint/1", runId, epoch: epoch + 1, step: steps, curves, best, badEpochs, shapes: vars.map((v) => v.shape) }, vars, optimizer);
      epochsThisCall++;
      if (badEpochs >= cfg.patience && cfg.patience > 0) { status = "stopped"; break; }
      if (options.stopAfterEpochs !== undefined && epochsThisCall >= options.stopAfterEpochs && epoch + 1 < cfg.epochs && steps < totalSteps) { status = "interrupted"; break; }
    }
    progress.done(best ? `best dev nDCG@10 ${best["ndcg@10"].toFixed(4)} (epoch ${best.epoch})` : "");
    const result: TrainResult = {
      runId, outDir, status, curves, best, steps, resumedFromEpoch: startEpoch,
      throughput: { stepsPerSec: trainSteps / Math.max(trainSec, 1e-9), examplesPerSec: trainExamples / Math.max(trainSec, 1e-9) }, pretrain,
    };
    const prov = provenance();
    writeFileAtomic(join(outDir, "training.json"), JSON.stringify({
      format: "rra-training-record/1", runId, config: cfg, encoder: encCfg, seed: cfg.seed, backend: backendInfo()?.name ?? tf.getBackend(),
      versions: { node: prov.node, ...prov.packages }, gitSha: prov.gitSha, groups: groups.length, stepsPerEpoch, totalSteps, warmupSteps,
      status, steps, best, bestEpoch: best?.epoch ?? null, resumedFromEpoch: startEpoch, throughput: result.throughput, pretrain, curves,
    }, null, 1) + "\n");
    await db.updateTable("train_runs").set({ status, finished_at: status === "interrupted" ? null : new Date().toISOString() }).where("id", "=", runId).execute();
    return result;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
