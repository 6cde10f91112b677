/**
 * What a training run keeps between processes: checkpoints (weights, AdamW moments, curves), the run
 * row and curves in the store, the label windows it trains on, and the record of a finished run.
 * Shared by loop.ts (RRA-BERT) and gpt-loop.ts (RRA-GPT).
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync, readFileSync } from "fs";
import { join } from "path";
import type { Kysely } from "kysely";
import { backendInfo } from "../backend/tf";
import { ConfigError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { provenance } from "../core/provenance";
import { loadDataset } from "../data/datasets";
import { readJsonObject } from "../data/text-file";
import type { Dataset } from "../data/types";
import { runLabelJob } from "../labels/pipeline";
import { loadWindows, type WindowRecord } from "../store/labels";
import type { Database } from "../store/schema";
import { readLabelsJsonl } from "./labels-file";
import type { CurvePoint, TrainConfig, TrainResult, BestEpoch } from "./config";
import type { InitRecord } from "./init";
import { learningRateAt, type AdamW } from "./schedule";

/** A training checkpoint's state.json (besides the tensors). */
export interface CheckpointState {
  format: "rra-train-checkpoint/1";
  runId: string;
  epoch: number;
  step: number;
  curves: CurvePoint[];
  best: BestEpoch | null;
  badEpochs: number;
  shapes: number[][];
}

/** Write a checkpoint: state.json and tensors.bin (variables, then AdamW moments). */
export function saveCheckpoint(dir: string, state: CheckpointState, vars: readonly tf.Variable[], optimizer: AdamW): void {
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

/** Restore a checkpoint of `runId` into the variables and optimizer; null when there is none for this run. */
export function loadCheckpoint(dir: string, runId: string, vars: readonly tf.Variable[], optimizer: AdamW): CheckpointState | null {
  if (!existsSync(join(dir, "state.json")) || !existsSync(join(dir, "tensors.bin"))) return null;
  const state = readJsonObject(join(dir, "state.json"), "training checkpoint state") as unknown as CheckpointState & { optimizerStep: number };
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

/** Upsert the train_runs row and drop curve points after `resumeStep` (all of them on a fresh start). */
export async function storeRunStart(db: Kysely<Database>, runId: string, cfg: Readonly<TrainConfig>, outDir: string, resumeStep: number, init: InitRecord | null = null): Promise<void> {
  const prov = provenance();
  const row = {
    id: runId, config_json: JSON.stringify(cfg), init_json: init ? JSON.stringify(init) : null, seed: cfg.seed, backend: backendInfo()?.name ?? tf.getBackend(),
    versions_json: JSON.stringify({ node: prov.node, ...prov.packages }), git_sha: prov.gitSha, status: "running", finished_at: null, out_dir: outDir,
  };
  await db.insertInto("train_runs").values(row).onConflict((oc) => oc.column("id").doUpdateSet({ ...row, id: undefined })).execute();
  await db.deleteFrom("train_curves").where("run_id", "=", runId).where("split", "!=", "pretrain").where("step", ">", resumeStep).execute();
  if (resumeStep === 0) await db.deleteFrom("train_curves").where("run_id", "=", runId).execute();
}

/** Record a run stopped by an interrupt as "interrupted" (not finished; a rerun resumes it from its checkpoint). */
export async function markInterrupted(db: Kysely<Database>, runId: string): Promise<void> {
  await db.updateTable("train_runs").set({ status: "interrupted", finished_at: null }).where("id", "=", runId).execute();
}

/** Insert curve points into train_curves (existing points are kept). */
export async function storeCurves(db: Kysely<Database>, runId: string, points: readonly CurvePoint[]): Promise<void> {
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

/**
 * The label windows of a config: its labels.jsonl, or the stored (run if missing) teacher label job; for a
 * merged training set (`dl19+dl20`) one job per part, windows in part order.
 */
export async function labelWindows(db: Kysely<Database>, cfg: Readonly<TrainConfig>, dataset: Dataset, parts: Record<string, Dataset> = {}): Promise<WindowRecord[]> {
  if (cfg.labels !== null) return readLabelsJsonl(cfg.labels, dataset);
  const names = cfg.train.split("+").map((n) => n.trim());
  const out: WindowRecord[] = [];
  for (const name of names) {
    const part = names.length === 1 ? dataset : parts[name] ?? loadDataset(name);
    const { summary } = await runLabelJob(db, { dataset: name, teacher: cfg.teacher, selection: cfg.selection }, { quiet: true, dataset: part });
    out.push(...(await loadWindows(db, summary.job)));
  }
  return out;
}

/**
 * The result of a finished run (training.json of this run id with status done or stopped, model files
 * present), or null. A rerun of a finished run returns it without building the model or training.
 */
export function finishedRecord(outDir: string, runId: string): TrainResult | null {
  const file = join(outDir, "training.json");
  if (!existsSync(file) || !["config.json", "weights.json", "weights.bin"].every((f) => existsSync(join(outDir, f)))) return null;
  let rec: Partial<TrainResult> & { format?: string };
  try {
    rec = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null; // a damaged record: train again
  }
  if (rec.runId !== runId || (rec.status !== "done" && rec.status !== "stopped")) return null;
  // a refit's record has no selection score of its own (null in JSON): NaN in memory
  const best = rec.best ? { ...rec.best, "ndcg@10": typeof rec.best["ndcg@10"] === "number" ? rec.best["ndcg@10"] : NaN } : null;
  return {
    runId, outDir, status: rec.status, curves: rec.curves ?? [], best, steps: rec.steps ?? 0,
    resumedFromEpoch: rec.resumedFromEpoch ?? 0, throughput: rec.throughput ?? { stepsPerSec: 0, examplesPerSec: 0 }, pretrain: rec.pretrain ?? null, reused: true,
  };
}

/** The step schedule of a run: steps per epoch, total steps (maxSteps caps it), warm-up steps and the learning rate of a step. */
export function runSchedule(cfg: Pick<TrainConfig, "epochs" | "groupsPerBatch" | "maxSteps" | "warmupSteps" | "lr">, groups: number): { stepsPerEpoch: number; totalSteps: number; warmupSteps: number; lrAt: (step: number) => number } {
  const stepsPerEpoch = Math.ceil(groups / cfg.groupsPerBatch);
  const totalSteps = cfg.maxSteps > 0 ? Math.min(cfg.maxSteps, cfg.epochs * stepsPerEpoch) : cfg.epochs * stepsPerEpoch;
  const warmupSteps = cfg.warmupSteps >= 0 ? cfg.warmupSteps : Math.round(0.1 * totalSteps);
  return { stepsPerEpoch, totalSteps, warmupSteps, lrAt: (step) => learningRateAt(step, { lr: cfg.lr, warmupSteps, totalSteps }) };
}

/** Where a run starts: restored from its checkpoint (weights and AdamW state assigned) or fresh; the run row is (re)written. */
export interface RunStart {
  resumed: boolean;
  curves: CurvePoint[];
  best: BestEpoch | null;
  badEpochs: number;
  steps: number;
  startEpoch: number;
}

/**
 * Restore `<ckptDir>` into vars and optimizer when it holds this run, record the run start in the store
 * (with the checkpoint a warm-started run starts from), and say where to go on.
 */
export async function startRun(db: Kysely<Database>, ckptDir: string, runId: string, cfg: Readonly<TrainConfig>, outDir: string, vars: readonly tf.Variable[], optimizer: AdamW, init: InitRecord | null = null): Promise<RunStart> {
  const resumed = loadCheckpoint(ckptDir, runId, vars, optimizer);
  const start: RunStart = {
    resumed: resumed !== null, curves: resumed?.curves ?? [], best: resumed?.best ?? null, badEpochs: resumed?.badEpochs ?? 0,
    steps: resumed?.step ?? 0, startEpoch: resumed?.epoch ?? 0,
  };
  await storeRunStart(db, runId, cfg, outDir, start.steps, init);
  if (resumed !== null) await storeCurves(db, runId, start.curves); // e.g. the warm-up's points of a run resumed at step 0
  return start;
}
