/**
 * Student training: a custom, seeded loop (no model.fit, no Math.random). Per step, inside tf.tidy:
 * forward with seeded dropout (deriveSeed(seed, `dropout/step-N`)), the RRA-BERT loss, variableGrads,
 * clipping by global norm, AdamW with linear warm-up and decay. Per epoch: re-rank the dev lists
 * (first-stage top-100) with s_cls, nDCG@10, early stopping with patience, a checkpoint (weights, AdamW
 * moments, curves) from which a rerun of the same run id resumes exactly, and the best model written
 * to the model directory. Curves go to the store (train_curves), the record to `training.json`.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import type { Kysely } from "kysely";
import { backendInfo, initBackend } from "../backend/tf";
import { ConfigError, InterruptedError } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { interruptCheck } from "../core/interrupt";
import { projectPath } from "../core/paths";
import { createProgress } from "../core/progress";
import { provenance } from "../core/provenance";
import { deriveSeed } from "../core/rng";
import { DATASET_NAMES, loadDataset } from "../data/datasets";
import type { Dataset, RankedList } from "../data/types";
import { evaluateRun } from "../eval/evaluate";
import { resolveEncoderConfig } from "../models/presets";
import { createRraBert, tclVersion, type RraBert } from "../models/tcl";
import { saveTcl } from "../models/tcl-file";
import { storeLexicon } from "../store/lexicons";
import type { Database } from "../store/schema";
import { buildGroups, epochBatches, matchTypeVocab, packGroups, type PackGroupsOptions, type TrainBatch } from "./batches";
import { fitComposition } from "./composition-fit";
import { listInputs } from "./lexical-inputs";
import { rerankLists, saveStudent, type StudentCore } from "./rerank";
import { trainGpt } from "./gpt-loop";
import { createAdamW } from "./schedule";
import { createParallelTrainStep, type ParallelTrainStep } from "./parallel";
import { createTrainStep } from "./step";
import { buildPretrainCorpus, pretrainEncoder } from "./warmup";
import { featureNames, resolveTrainConfig, startsAtZero, studentTokenizer, targetForm, trainRunId, type BestEpoch, type CurvePoint, type TrainConfig, type TrainOptions, type TrainResult } from "./config";
import { checkInitUnchanged, initRecord, loadInitEncoder, resolveInit } from "./init";
import { splitRun, trainLexicon } from "./run-data";
import { finishedRecord, labelWindows, markInterrupted, runSchedule, saveCheckpoint, startRun, storeCurves } from "./run-state";

export * from "./config";
export * from "./run-state";
export { assignParts, createParallelTrainStep, parallelPartSize, type ParallelStepOptions, type ParallelTrainStep } from "./parallel";
export { batchCompose, createTrainStep, partLoss, partSize, sliceBatch, type StepLossConfig, type TrainStep } from "./step";


/** nDCG@10 of a student on lists (qrels of the lists' dataset; only the lists' queries count); the run is kept in `runs` under `epoch` when given. */
export async function devNdcg(student: StudentCore, dev: Dataset, lists: readonly RankedList[], tag: string, runs: DevRuns | null = null, epoch = 0): Promise<number> {
  const run = await rerankLists(student, lists, { tag });
  if (runs) runs[String(epoch)] = Object.fromEntries([...run.queries].map(([q, docs]) => [q, Object.fromEntries(docs.map((d) => [d.docid, d.score]))]));
  return evaluateRun(dev.qrels, run, { metrics: ["ndcg@10"], querySet: "intersection" }).all["ndcg@10"];
}

/** Whether RRA-BERT's score head is all zeros (the residual student before training), so s_net = 0 for every pair. */
export function scoreHeadIsZero(model: Pick<RraBert, "encoder">): boolean {
  const w = model.encoder.getWeights();
  return ["head/kernel", "head/bias"].every((k) => w[k] !== undefined && w[k].values.every((v) => v === 0));
}

/** Held-out runs per epoch: epoch -> qid -> docid -> score. */
export type DevRuns = Record<string, Record<string, Record<string, number>>>;

/** The dev-runs.json of a run (empty when absent or of another run). */
export function readDevRuns(outDir: string, runId: string): DevRuns {
  const file = join(outDir, "dev-runs.json");
  if (!existsSync(file)) return {};
  try {
    const o = JSON.parse(readFileSync(file, "utf8")) as { runId?: string; epochs?: DevRuns };
    return o.runId === runId && o.epochs ? o.epochs : {};
  } catch {
    return {};
  }
}

function writeDevRuns(outDir: string, runId: string, runs: DevRuns): void {
  writeFileAtomic(join(outDir, "dev-runs.json"), JSON.stringify({ format: "rra-dev-runs/1", runId, epochs: runs }) + "\n");
}

/** Train a student; resumes from `<out>/checkpoint` when it holds the same run id, returns a finished run's record. */
export async function trainStudent(db: Kysely<Database>, overrides: Partial<TrainConfig>, options: TrainOptions = {}): Promise<TrainResult> {
  const cfg = resolveTrainConfig(overrides);
  if (cfg.arch === "gpt") return trainGpt(db, cfg, options);
  const runId = trainRunId(cfg);
  // taken before the first await, so no interrupt during the run is missed; checked between steps
  let stopPoint = "before its first step";
  const interrupt = interruptCheck(() => `train ${runId} ${stopPoint}`);
  await initBackend({ quiet: true });
  const outDir = cfg.out || projectPath("models", runId);
  const ckptDir = join(outDir, "checkpoint");
  // warm start (init.ts): the checkpoint is resolved, fingerprinted and read before anything is written
  const init = cfg.init ? await resolveInit(cfg.init, cfg.arch) : null;
  const finished = finishedRecord(outDir, runId);
  if (finished !== null) {
    if (init) checkInitUnchanged(init, outDir);
    return finished;
  }
  const backbone = init ? loadInitEncoder(init, cfg) : null;
  const data = (name: string): Dataset => options.datasets?.[name] ?? loadDataset(name);
  const train = data(cfg.train), dev = data(cfg.dev);

  const lexicon = trainLexicon(cfg, options.datasets);
  const lexiconId = await storeLexicon(db, lexicon); // the statistics, with their provenance, in the store
  const names = featureNames(cfg);
  const split = splitRun(cfg, await labelWindows(db, cfg, train, options.datasets), train, dev);
  const inputs = listInputs(lexicon, train.lists, names);
  const groups = buildGroups(split.windows, train, cfg.missing, cfg.groupSize, { inputs, targets: targetForm(cfg) });
  if (groups.length === 0) throw new ConfigError(`train: no training groups from ${cfg.labels ?? `${cfg.teacher} labels of ${cfg.train}`} (check the labels and the dataset)`);
  const devLists = cfg.stopEpoch >= 0 ? [] : split.devLists;

  // warm-started: the checkpoint's tokenizer and config (its two token types; the match channel in a zero-initialised embedding)
  const tokenizer = backbone ? backbone.tokenizer : studentTokenizer(cfg.vocabSize);
  const encCfg = backbone ? backbone.config : resolveEncoderConfig({ vocabSize: tokenizer.idToToken.length, typeVocabSize: cfg.match ? matchTypeVocab(cfg.matchIdf) : 2, dropout: cfg.dropout, seed: deriveSeed(cfg.seed, "model") }, { preset: cfg.preset });
  const tcl = cfg.tcl && cfg.network; // the TCL reads the network: off with it
  const v3 = tcl && cfg.tclVersion === 3;
  const model = createRraBert(encCfg, {
    tcl, tokenSelection: cfg.ts, zeroHead: startsAtZero(cfg),
    tclConfig: { ...tclVersion(cfg.tclVersion), rankWeight: cfg.tclRankWeight, alignWeight: cfg.tclAlignWeight, lambda: cfg.tclLambda, seed: deriveSeed(cfg.seed, "tcl") },
    composition: { scale: cfg.scoreScale, prior: cfg.prior, learnPrior: cfg.learnPrior, features: names.length },
  });
  if (backbone) {
    // the checkpoint's weights; its one-label classifier (a cross-encoder) replaces even a zero head: it is not random
    try {
      model.encoder.setWeights(backbone.weights, { partial: true });
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  const compVars = model.composition?.variables() ?? [];
  // stage 1 (compositionFit "first"): the composition is fitted on every group now (deterministic, so a resumed run fits it again) and then frozen
  const compositionFit = model.composition && cfg.compositionFit === "first" ? fitComposition(model.composition, groups, { loss: cfg.loss }) : null;
  const networkVars = model.trainableVariables().filter((v) => !compVars.includes(v));
  const vars = cfg.compositionFit === "first" ? (cfg.network ? networkVars : []) : cfg.network ? model.trainableVariables() : compVars;
  const optimizer = createAdamW(vars, { weightDecay: cfg.weightDecay, lrScale: vars.map((v) => (compVars.includes(v) ? cfg.compositionLr : 1)) });
  let parallel: ParallelTrainStep | null = null;
  try {
    const { stepsPerEpoch, totalSteps, warmupSteps, lrAt } = runSchedule(cfg, groups.length);
    const step = cfg.workers > 1 ? (parallel = createParallelTrainStep(model, optimizer, cfg, lrAt, { workers: cfg.workers })) : createTrainStep(model, optimizer, cfg, lrAt);
    const start = await startRun(db, ckptDir, runId, cfg, outDir, vars, optimizer, init && initRecord(init));
    let { curves, best, badEpochs, steps } = start;
    const startEpoch = start.startEpoch;
    let pretrain: TrainResult["pretrain"] = null;
    const packOpts: PackGroupsOptions = {
      maxLength: cfg.maxLength, tokenSelection: tcl && !v3 ? cfg.ts : null, lexicon, matchChannel: cfg.match, matchIdf: cfg.match && cfg.matchIdf, termArrays: v3,
    };
    if (cfg.pretrainSteps > 0 && !start.resumed) {
      // the warm-up is part of the run: done once, then checkpointed as epoch 0 (a rerun resumes after it)
      const corpus = buildPretrainCorpus(options.pretrainDatasets ?? DATASET_NAMES.map((n) => data(n)));
      const bar = createProgress({ label: `pretrain ${runId}`, total: cfg.pretrainSteps, unit: "steps", quiet: options.quiet });
      const r = await pretrainEncoder(model.encoder, tokenizer, corpus, {
        steps: cfg.pretrainSteps, seed: deriveSeed(cfg.seed, "pretrain"), lr: cfg.lr, weightDecay: cfg.weightDecay, clip: cfg.clip,
        groupsPerBatch: cfg.groupsPerBatch, groupSize: cfg.groupSize, microBatch: cfg.microBatch, maxLength: cfg.maxLength, matchChannel: cfg.match,
        matchIdf: cfg.match && cfg.matchIdf, lexicon,
      }, (p) => bar.tick(1, `loss ${p.loss.toFixed(4)}`));
      bar.done(`pretrain loss ${r.points[0].loss.toFixed(4)} -> ${r.points[r.points.length - 1].loss.toFixed(4)} in ${r.seconds.toFixed(0)} s`);
      if (startsAtZero(cfg)) zeroScoreHead(model); // the residual student starts from its prior again, with the warmed-up encoder
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

    const student: StudentCore = {
      model, tokenizer, maxLength: cfg.maxLength, matchChannel: cfg.match, matchIdf: cfg.match && cfg.matchIdf, lexicon, features: names,
      composition: () => model.composition?.values() ?? { scale: cfg.scoreScale, prior: 0, weights: [] },
      // the network is untrained when it is off, or when the run stops before its first epoch (a refit of epoch 0) with a zero head
      // (a checkpoint's own classifier is not zeroed: it scores)
      network: cfg.network && !(cfg.stopEpoch === 0 && startsAtZero(cfg) && !backbone?.hasScoreHead),
      ...(init ? { initTokenizer: { from: init.dir, modelType: "bert" as const, positions: encCfg.maxLen } } : {}),
    };
    const keep = (): void => {
      saveStudent(outDir, student);
      saveTcl(outDir, model); // tcl.json: the train-only TCL, for inspection (notebook 04); inference never reads it
    };
    // epoch 0: the untrained student (with a prior and a zero head, exactly the first stage) is a candidate too
    // the held-out runs of every epoch (fold runs): select.ts tunes fusion on them; kept in dev-runs.json across resumes
    const devRuns = cfg.fold >= 0 ? readDevRuns(outDir, runId) : null;
    if (!start.resumed && devLists.length && best === null) {
      // a score head that is exactly zero scores every pair 0: the network forward is skipped (same numbers)
      const ndcg = await devNdcg(scoreHeadIsZero(model) ? { ...student, network: false } : student, dev, devLists, runId, devRuns, 0);
      const p0: CurvePoint = { step: 0, epoch: 0, split: "dev", metric: "ndcg@10", value: ndcg };
      curves = curves.concat([p0]);
      await storeCurves(db, runId, [p0]);
      best = { epoch: 0, step: 0, "ndcg@10": ndcg };
      keep();
      if (devRuns) writeDevRuns(outDir, runId, devRuns);
    }
    // nothing left to train (the composition alone, fitted in stage 1): the run is its epoch 0
    const lastEpoch = vars.length === 0 ? 0 : cfg.stopEpoch >= 0 ? cfg.stopEpoch : cfg.epochs;
    const progress = createProgress({ label: `train ${runId}`, total: Math.min(totalSteps, lastEpoch * stepsPerEpoch), unit: "steps", quiet: options.quiet });
    progress.tick(steps);
    let status: TrainResult["status"] = "done";
    let trainSec = 0, trainSteps = 0, trainExamples = 0;
    let epochsThisCall = 0;
    const patienceSpent = (): boolean => devLists.length > 0 && cfg.patience > 0 && badEpochs >= cfg.patience;
    if (patienceSpent()) status = "stopped"; // a run resumed after its early stop trains no further
    for (let epoch = startEpoch; epoch < lastEpoch && steps < totalSteps && !patienceSpent(); epoch++) {
      const fresh: CurvePoint[] = [];
      stopPoint = `in epoch ${epoch + 1} (${epoch === 0 ? "no epoch finished yet: running it again starts over" : `the checkpoint after epoch ${epoch} is kept and running it again resumes from it`})`;
      for (const indices of epochBatches(groups.length, cfg.seed, epoch, cfg.groupsPerBatch)) {
        if (steps >= totalSteps) break;
        await interrupt.check(); // between steps: the last checkpoint is whole, nothing of this epoch is stored yet
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
      if (devLists.length) {
        const ndcg = await devNdcg(student, dev, devLists, runId, devRuns, epoch + 1);
        fresh.push({ step: steps, epoch: epoch + 1, split: "dev", metric: "ndcg@10", value: ndcg });
        if (best === null || ndcg > best["ndcg@10"]) {
          best = { epoch: epoch + 1, step: steps, "ndcg@10": ndcg };
          badEpochs = 0;
          keep();
        } else {
          badEpochs++;
        }
      }
      curves = curves.concat(fresh);
      await storeCurves(db, runId, fresh);
      if (devRuns) writeDevRuns(outDir, runId, devRuns);
      saveCheckpoint(ckptDir, { format: "rra-train-checkpoint/1", runId, epoch: epoch + 1, step: steps, curves, best, badEpochs, shapes: vars.map((v) => v.shape) }, vars, optimizer);
      epochsThisCall++;
      if (patienceSpent()) { status = "stopped"; break; }
      if (options.stopAfterEpochs !== undefined && epochsThisCall >= options.stopAfterEpochs && epoch + 1 < lastEpoch && steps < totalSteps) { status = "interrupted"; break; }
    }
    if (!devLists.length && status !== "interrupted") {
      // no selection in this run (a refit of a selected epoch count, or no dev lists): the last model is the model
      const epochsDone = Math.min(lastEpoch, Math.ceil(steps / stepsPerEpoch));
      best = { epoch: epochsDone, step: steps, "ndcg@10": options.selectionNdcg ?? NaN };
      keep();
    }
    progress.done(best && Number.isFinite(best["ndcg@10"]) ? `best dev nDCG@10 ${best["ndcg@10"].toFixed(4)} (epoch ${best.epoch})` : `${steps} steps`);
    const result: TrainResult = {
      runId, outDir, status, curves, best, steps, resumedFromEpoch: startEpoch,
      throughput: { stepsPerSec: trainSteps / Math.max(trainSec, 1e-9), examplesPerSec: trainExamples / Math.max(trainSec, 1e-9) }, pretrain,
    };
    const prov = provenance();
    writeFileAtomic(join(outDir, "training.json"), JSON.stringify({
      format: "rra-training-record/1", runId, config: cfg, encoder: encCfg, init: init && { ...initRecord(init), warnings: backbone?.warnings ?? [] }, seed: cfg.seed, backend: backendInfo()?.name ?? tf.getBackend(),
      versions: { node: prov.node, ...prov.packages }, gitSha: prov.gitSha, groups: groups.length, trainQueries: new Set(groups.map((g) => g.qid)).size,
      devQueries: devLists.map((l) => l.qid), lexicon: { id: lexiconId, ...lexicon.provenance }, features: names, composition: student.composition(), compositionFit,
      stepsPerEpoch, totalSteps, warmupSteps, status, steps, best: bestRecord(best), bestEpoch: best?.epoch ?? null, resumedFromEpoch: startEpoch, throughput: result.throughput, pretrain, curves,
    }, null, 1) + "\n");
    await db.updateTable("train_runs").set({ status, finished_at: status === "interrupted" ? null : new Date().toISOString() }).where("id", "=", runId).execute();
    return result;
  } catch (e) {
    if (e instanceof InterruptedError) await markInterrupted(db, runId);
    throw interrupt.explain(e);
  } finally {
    // the data-parallel threads end with the run: done, failed or interrupted
    await parallel?.close();
    optimizer.dispose();
    model.dispose();
  }
}

/** Set the encoder's score head to zero (the residual student's start). */
function zeroScoreHead(model: RraBert): void {
  const w = model.encoder.getWeights();
  model.encoder.setWeights({ "head/kernel": { shape: w["head/kernel"].shape, values: new Float32Array(w["head/kernel"].values.length) }, "head/bias": { shape: w["head/bias"].shape, values: new Float32Array(w["head/bias"].values.length) } }, { partial: true });
}

/** A best-epoch record for JSON (a missing selection score is written as null). */
function bestRecord(best: BestEpoch | null): unknown {
  return best && { ...best, "ndcg@10": Number.isFinite(best["ndcg@10"]) ? best["ndcg@10"] : null };
}
