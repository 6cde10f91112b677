/**
 * Student training: a custom, seeded loop (no model.fit, no Math.random). Per step, inside tf.tidy:
 * forward with seeded dropout (deriveSeed(seed, `dropout/step-N`)), the RRA-BERT loss, variableGrads,
 * clipping by global norm, AdamW with linear warm-up and decay. Per epoch: re-rank the dev lists
 * (first-stage top-100) with s_cls, nDCG@10, early stopping with patience, a checkpoint (weights, AdamW
 * moments, curves) from which a rerun of the same run id resumes exactly, and the best model written
 * to the model directory. Curves go to the store (train_curves), the record to `training.json`.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "path";
import type { Kysely } from "kysely";
import { backendInfo, initBackend } from "../backend/tf";
import { ConfigError } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { projectPath } from "../core/paths";
import { createProgress } from "../core/progress";
import { provenance } from "../core/provenance";
import { deriveSeed } from "../core/rng";
import { DATASET_NAMES, loadDataset } from "../data/datasets";
import type { Dataset } from "../data/types";
import type { EncoderBatch } from "../models/types";
import { evaluateRun } from "../eval/evaluate";
import { getLoss } from "../losses/index";
import { resolveEncoderConfig } from "../models/presets";
import { createRraBert, type RraBert } from "../models/tcl";
import { saveTcl } from "../models/tcl-file";
import type { Database } from "../store/schema";
import { buildGroups, computeIdf, epochBatches, matchTypeVocab, packGroups, type TrainBatch } from "./batches";
import { rerankLists, saveStudent } from "./rerank";
import { trainGpt } from "./gpt-loop";
import { accumulateAndApply, createAdamW, type AdamW } from "./schedule";
import { buildPretrainCorpus, pretrainEncoder } from "./warmup";
import { resolveTrainConfig, studentTokenizer, trainRunId, type CurvePoint, type TrainConfig, type TrainOptions, type TrainResult } from "./config";
import { finishedRecord, labelWindows, runSchedule, saveCheckpoint, startRun, storeCurves } from "./run-state";

export * from "./config";
export * from "./run-state";


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
    encoder, labels: batch.labels.subarray(from * L, to * L), hardNegative: batch.hardNegative.subarray(from * L, to * L),
    firstStage: batch.firstStage.subarray(from * L, to * L), groups: to - from, groupSize: L,
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
export function createTrainStep(model: RraBert, optimizer: AdamW, config: Pick<TrainConfig, "loss" | "clip" | "seed"> & { microBatch?: number; prior?: number; scoreScale?: number }, lrAt: (step: number) => number): TrainStep {
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
        // with a first-stage prior the ranking losses see s + prior * z(first stage): the student learns the teacher's residual over it
        const prior = (config.prior ?? 0) > 0 ? tf.mul(tf.tensor2d(part.firstStage, [part.groups, part.groupSize]), config.prior as number) : null;
        const scale = config.scoreScale ?? 1;
        const scored = (sc: tf.Tensor2D): tf.Tensor2D => {
          const s = scale === 1 ? sc : (tf.mul(sc, scale) as tf.Tensor2D);
          return prior ? (tf.add(s, prior) as tf.Tensor2D) : s;
        };
        const l = model.trainingLoss(part.encoder, labels, (sc, y) => rankLoss(scored(sc), y, { hardNegativeMask }), { training: true, seed });
        return (weight === 1 ? l : tf.mul(l, weight)) as tf.Scalar;
      }, config.clip, lrAt(step));
      return [r.loss, r.norm];
    });
    const out = { loss: loss.dataSync()[0], gradNorm: norm.dataSync()[0] };
    tf.dispose([loss, norm]);
    return out;
  };
}


/** Train a student; resumes from `<out>/checkpoint` when it holds the same run id, returns a finished run's record. */
export async function trainStudent(db: Kysely<Database>, overrides: Partial<TrainConfig>, options: TrainOptions = {}): Promise<TrainResult> {
  const cfg = resolveTrainConfig(overrides);
  if (cfg.arch === "gpt") return trainGpt(db, cfg, options);
  await initBackend({ quiet: true });
  const runId = trainRunId(cfg);
  const outDir = cfg.out || projectPath("models", runId);
  const ckptDir = join(outDir, "checkpoint");
  const finished = finishedRecord(outDir, runId);
  if (finished !== null) return finished;
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
  const idf = cfg.tcl || (cfg.match && cfg.matchIdf) ? computeIdf([...train.passages.values()].map((p) => p.text)) : undefined;
  const encCfg = resolveEncoderConfig({ vocabSize: tokenizer.idToToken.length, typeVocabSize: cfg.match ? matchTypeVocab(cfg.matchIdf) : 2, dropout: cfg.dropout, seed: deriveSeed(cfg.seed, "model") }, { preset: cfg.preset });
  const model = createRraBert(encCfg, { tcl: cfg.tcl, tokenSelection: cfg.ts, tclConfig: { seed: deriveSeed(cfg.seed, "tcl") } });
  const vars = model.trainableVariables();
  const optimizer = createAdamW(vars, { weightDecay: cfg.weightDecay });
  try {
    const { stepsPerEpoch, totalSteps, warmupSteps, lrAt } = runSchedule(cfg, groups.length);
    const step = createTrainStep(model, optimizer, cfg, lrAt);
    const start = await startRun(db, ckptDir, runId, cfg, outDir, vars, optimizer);
    let { curves, best, badEpochs, steps } = start;
    const startEpoch = start.startEpoch;
    let pretrain: TrainResult["pretrain"] = null;
    if (cfg.pretrainSteps > 0 && !start.resumed) {
      // the warm-up is part of the run: done once, then checkpointed as epoch 0 (a rerun resumes after it)
      const corpus = buildPretrainCorpus(options.pretrainDatasets ?? DATASET_NAMES.map((n) => data(n)));
      const bar = createProgress({ label: `pretrain ${runId}`, total: cfg.pretrainSteps, unit: "steps", quiet: options.quiet });
      const r = pretrainEncoder(model.encoder, tokenizer, corpus, {
        steps: cfg.pretrainSteps, seed: deriveSeed(cfg.seed, "pretrain"), lr: cfg.lr, weightDecay: cfg.weightDecay, clip: cfg.clip,
        groupsPerBatch: cfg.groupsPerBatch, groupSize: cfg.groupSize, microBatch: cfg.microBatch, maxLength: cfg.maxLength, matchChannel: cfg.match,
        matchIdf: cfg.match && cfg.matchIdf ? idf ?? null : null,
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

    const matchIdf = cfg.match && cfg.matchIdf ? idf ?? null : null;
    const packOpts = { maxLength: cfg.maxLength, tokenSelection: cfg.tcl ? cfg.ts : null, idf, matchChannel: cfg.match, matchIdf };
    const student = { model, tokenizer, maxLength: cfg.maxLength, matchChannel: cfg.match, prior: cfg.prior, matchIdf, scoreScale: cfg.scoreScale };
    const progress = createProgress({ label: `train ${runId}`, total: totalSteps, unit: "steps", quiet: options.quiet });
    progress.tick(steps);
    let status: TrainResult["status"] = "done";
    let trainSec = 0, trainSteps = 0, trainExamples = 0;
    let epochsThisCall = 0;
    const patienceSpent = (): boolean => cfg.patience > 0 && badEpochs >= cfg.patience;
    if (patienceSpent()) status = "stopped"; // a run resumed after its early stop trains no further
    for (let epoch = startEpoch; epoch < cfg.epochs && steps < totalSteps && !patienceSpent(); epoch++) {
      const fresh: CurvePoint[] = [];
      for (const indices of epochBatches(groups.length, cfg.seed, epoch, cfg.groupsPerBatch)) {
        if (steps >= totalSteps) break;
        const t0 = Date.now();
        const batch = packGroups(tokenizer, groups, indices, packOpts);
        const { loss, gradNorm } = step(batch, steps);
        const lr = lrAt(steps);
        steps++;
        trainSec += (Date.now() - t0) / 1000;
        trainSteps++;
        trainExamples += batch.encoder.batch;
        fresh.push({ step: steps, epoch: epoch + 1, split: "train", metric: "loss", value: loss },
          { step: steps, epoch: epoch + 1, split: "train", metric: "lr", value: lr },
          { step: steps, epoch: epoch + 1, split: "train", metric: "grad_norm", value: gradNorm });
        progress.tick(1, `epoch ${epoch + 1} loss ${loss.toFixed(4)} ${(trainExamples / Math.max(trainSec, 1e-9)).toFixed(0)} ex/s`);
      }
      const run = rerankLists(student, devLists, { tag: runId });
      const ndcg = evaluateRun(dev.qrels, run, { metrics: ["ndcg@10"], querySet: "intersection" }).all["ndcg@10"];
      fresh.push({ step: steps, epoch: epoch + 1, split: "dev", metric: "ndcg@10", value: ndcg });
      curves = curves.concat(fresh);
      await storeCurves(db, runId, fresh);
      if (best === null || ndcg > best["ndcg@10"]) {
        best = { epoch: epoch + 1, step: steps, "ndcg@10": ndcg };
        badEpochs = 0;
        saveStudent(outDir, student);
        saveTcl(outDir, model); // tcl.json: the train-only TCL, for inspection (notebook 04); inference never reads it
      } else {
        badEpochs++;
      }
      saveCheckpoint(ckptDir, { format: "rra-train-checkpoint/1", runId, epoch: epoch + 1, step: steps, curves, best, badEpochs, shapes: vars.map((v) => v.shape) }, vars, optimizer);
      epochsThisCall++;
      if (patienceSpent()) { status = "stopped"; break; }
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
