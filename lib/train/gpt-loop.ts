/**
 * RRA-GPT student training (DESIGN.md section 2, reconstruction v1): the decoder of lib/models/decoder.ts
 * trained on the same label windows, query groups, seeded batch order, AdamW schedule, checkpoints,
 * store curves and dev evaluation as RRA-BERT (loop.ts), with L = L_rank + a * L_cls + b * L_lm
 * (a = clsWeight, b = lmWeight). Each group slot is one "query / document / relevant?" prompt followed
 * by its rationale (teacher forced); the ranking loss reads the ranking-layer scores as [groups, L],
 * the classification target is listed (1) vs not listed by the teacher (0); padded slots (label -1)
 * count in neither and carry no rationale. Micro-batches are packed separately (padded to their own
 * longest row); dropout of micro-batch k of step N comes from deriveSeed(seed, `dropout/step-N/mb-k`).
 * Dev re-ranking scores by the ranking layer only (gpt-student.ts).
 *
 * Rationales (TrainConfig.rationale):
 * - "auto": the label job's stored rationales (store/labels saveRationale, written when the job ran
 *   with a rationale teacher, lib/labels/pipeline.ts) for listed documents of windows that have one;
 *   every other slot gets the template below. With no stored rationale at all this is "template".
 * - "template": a SYNTHETIC STAND-IN, NOT AN LLM RATIONALE. Offline there is no rationale LLM, so the
 *   reasoning target is built deterministically from the label facts: "ranked 3 of 12; matches: w1 w2"
 *   for a document the teacher listed (its rank among the m listed documents and up to 6 query words
 *   that occur in the passage), "not ranked by the teacher; matches: ..." for a missing one. It makes
 *   the LM head learn to restate the teacher's facts, which is all the data supports.
 * - "none": no rationale tokens, so no LM loss (L = L_rank + a * L_cls).
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "path";
import type { Kysely } from "kysely";
import { backendInfo, initBackend } from "../backend/tf";
import { ConfigError, InterruptedError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { interruptCheck } from "../core/interrupt";
import { projectPath } from "../core/paths";
import { createProgress } from "../core/progress";
import { provenance } from "../core/provenance";
import { deriveSeed } from "../core/rng";
import { loadDataset } from "../data/datasets";
import type { Dataset } from "../data/types";
import { evaluateRun } from "../eval/evaluate";
import { windowTargets } from "../labels/convert";
import { getLoss } from "../losses/index";
import { createRraGpt, resolveDecoderConfig, type RraGpt } from "../models/decoder";
import { packDecoderBatch, packDecoderExample, type DecoderExample } from "../models/decoder-input";
import { loadRationales, type WindowRecord } from "../store/labels";
import { storeLexicon } from "../store/lexicons";
import type { Database } from "../store/schema";
import { normalizedWords } from "../tokenize/normalize";
import { createComposition, type ScoreComposition } from "../models/composition";
import { buildGroups, epochBatches, type BuildGroupsOptions, type QueryGroup } from "./batches";
import { rerankGptLists, saveGptStudent, type GptStudentCore, type GptTokenizer } from "./gpt-student";
import { checkInitUnchanged, initRecord, loadInitDecoder, resolveInit } from "./init";
import { createPretrainedDecoder } from "../models/checkpoint/pretrained";
import { featureNames, resolveTrainConfig, startsAtZero, studentTokenizer, targetForm, trainRunId, type CurvePoint, type TrainConfig, type TrainOptions, type TrainResult } from "./config";
import { fitComposition } from "./composition-fit";
import { listInputs } from "./lexical-inputs";
import { splitRun, trainLexicon } from "./run-data";
import { finishedRecord, labelWindows, markInterrupted, runSchedule, saveCheckpoint, startRun, storeCurves } from "./run-state";
import { accumulateAndApply, createAdamW, type AdamW } from "./schedule";

/** A query group with what the decoder also needs: listed flags and one rationale (or null) per slot. */
export interface GptGroup extends QueryGroup {
  /** 1 when the teacher listed the slot's document, else 0 (padding 0). [groupSize] */
  listed: number[];
  /** Rationale text per slot; null for padded slots and with rationale "none". [groupSize] */
  rationales: Array<string | null>;
}

/** Where the rationales of a run came from (training.json). */
export interface RationaleSummary {
  mode: string;
  /** Windows whose listed documents got a stored (LLM) rationale. */
  storedWindows: number;
  /** Slots that got the template stand-in. */
  templateSlots: number;
}

/** Up to `max` distinct query words (normalized, punctuation trimmed) that also occur in the passage, in query order. */
export function matchingWords(query: string, passage: string, max = 6): string[] {
  const trim = (w: string): string => w.replace(/^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu, "");
  const inPassage = new Set(normalizedWords(passage).map(trim));
  const out: string[] = [];
  for (const w of normalizedWords(query).map(trim)) if (w && inPassage.has(w) && !out.includes(w) && out.length < max) out.push(w);
  return out;
}

/** The template stand-in rationale of one document (NOT an LLM rationale; see the module comment). */
export function templateRationale(query: string, passage: string, fact: { listed: boolean; rank: number | null; of: number }): string {
  const words = matchingWords(query, passage);
  const head = fact.listed && fact.rank !== null ? `ranked ${fact.rank} of ${fact.of}` : "not ranked by the teacher";
  return `${head}; matches: ${words.length ? words.join(" ") : "none"}`;
}

/** Query groups (batches.ts buildGroups) with listed flags and rationales; `stored` maps window id -> stored rationale text. */
export function buildGptGroups(windows: readonly WindowRecord[], dataset: Dataset, cfg: Pick<TrainConfig, "missing" | "groupSize" | "rationale">, stored: ReadonlyMap<string, string> = new Map(), options: BuildGroupsOptions = {}): { groups: GptGroup[]; rationale: RationaleSummary } {
  const byWindow = new Map(windows.map((w) => [w.windowId, w]));
  const summary: RationaleSummary = { mode: cfg.rationale, storedWindows: 0, templateSlots: 0 };
  const groups = buildGroups(windows, dataset, cfg.missing, cfg.groupSize, options).map((g): GptGroup => {
    const targets = new Map(windowTargets(byWindow.get(g.windowId) as WindowRecord, cfg.missing, options.targets).map((t) => [t.docid, t]));
    const of = [...targets.values()].filter((t) => t.listed).length;
    const llm = cfg.rationale === "auto" ? stored.get(g.windowId) : undefined;
    if (llm !== undefined) summary.storedWindows++;
    const listed = g.docids.map((d) => (d !== "" && targets.get(d)?.listed ? 1 : 0));
    const rationales = g.docids.map((d, i) => {
      const t = targets.get(d);
      if (d === "" || t === undefined || cfg.rationale === "none") return null;
      if (llm !== undefined && t.listed) return llm;
      summary.templateSlots++;
      return templateRationale(g.query, g.passages[i], { listed: t.listed, rank: t.rank, of });
    });
    return { ...g, listed, rationales };
  });
  return { groups, rationale: summary };
}

/** Stored rationale texts by window id, when the config asks for them ("auto", store labels) and the job has any. */
async function storedRationales(db: Kysely<Database>, cfg: Readonly<TrainConfig>, windows: readonly WindowRecord[]): Promise<Map<string, string>> {
  if (cfg.rationale !== "auto" || cfg.labels !== null || windows.length === 0) return new Map();
  const rows = await loadRationales(db, windows[0].jobId);
  return new Map([...rows.values()].map((r) => [r.windowId, r.text]));
}

/** The packed examples of chosen groups, with their targets (group-major rows). */
export interface GptTrainBatch {
  rows: DecoderExample[];
  /** [groups, groupSize] row-major, -1 = padding. */
  labels: Float32Array;
  hardNegative: Float32Array;
  listed: Float32Array;
  /** [groups, groupSize] first-stage z-scores. */
  firstStage: Float32Array;
  /** [groups * groupSize, F] lexical features. */
  features: Float32Array;
  featureCount: number;
  groups: number;
  groupSize: number;
}

/** Gather groups (with their examples packed once, `examples[g][slot]`) into one training batch. */
export function gptBatch(groups: readonly GptGroup[], examples: readonly DecoderExample[][], indices: readonly number[]): GptTrainBatch {
  const pick = <T>(f: (g: GptGroup) => T[]): T[] => indices.flatMap((i) => f(groups[i]));
  const L = groups[indices[0]].labels.length, F = groups[indices[0]].features[0]?.length ?? 0;
  const features = new Float32Array(indices.length * L * F);
  indices.forEach((gi, k) => groups[gi].features.forEach((f, slot) => features.set(f, (k * L + slot) * F)));
  return {
    rows: indices.flatMap((i) => examples[i]), labels: Float32Array.from(pick((g) => g.labels)), hardNegative: Float32Array.from(pick((g) => g.hardNegative)),
    listed: Float32Array.from(pick((g) => g.listed)), firstStage: Float32Array.from(pick((g) => g.firstStage)), features, featureCount: F,
    groups: indices.length, groupSize: L,
  };
}

/**
 * One RRA-GPT step (seeded dropout, L_rank + a L_cls + b L_lm, micro-batches, clipping, AdamW); frees what it
 * allocates. Micro-batch losses are weighted by their share of the groups, so the update equals the full-batch
 * one when dropout is off and the per-micro-batch means agree with the batch means (L_cls and L_lm average over
 * the micro-batch's own rows and rationale tokens; with lmWeight 0 and full groups they match exactly).
 */
export function createGptTrainStep(model: RraGpt, optimizer: AdamW, config: Pick<TrainConfig, "loss" | "clip" | "seed" | "microBatch" | "clsWeight" | "lmWeight">, padId: number, lrAt: (step: number) => number, composition?: ScoreComposition) {
  const rankLoss = getLoss(config.loss);
  const vars = optimizer.variables as tf.Variable[];
  return (batch: GptTrainBatch, step: number): { loss: number; gradNorm: number } => {
    const size = config.microBatch > 0 && config.microBatch < batch.groups ? config.microBatch : batch.groups;
    const parts = Math.ceil(batch.groups / size);
    const [loss, norm] = tf.tidy(() => {
      const r = accumulateAndApply(vars, optimizer, parts, (k) => {
        const g0 = k * size, g1 = Math.min(batch.groups, g0 + size), L = batch.groupSize;
        const rows = [g0 * L, g1 * L] as const;
        const hardNegativeMask = tf.tensor2d(batch.hardNegative.subarray(...rows), [g1 - g0, L]);
        const F = batch.featureCount;
        // the ranking loss sees the composed score (scale, features, first-stage prior), as RRA-BERT's does
        const compose = (sc: tf.Tensor2D): tf.Tensor2D => composition
          ? composition.compose(sc, tf.tensor2d(batch.firstStage.subarray(...rows), [g1 - g0, L]), F ? tf.tensor2d(batch.features.subarray(rows[0] * F, rows[1] * F), [(g1 - g0) * L, F]) : null)
          : sc;
        const l = model.trainingLoss(packDecoderBatch(batch.rows.slice(...rows), padId), batch.labels.subarray(...rows), {
          rankLoss: (sc, y) => rankLoss(compose(sc), y, { hardNegativeMask }), clsWeight: config.clsWeight, lmWeight: config.lmWeight,
          listShape: [g1 - g0, L], listed: batch.listed.subarray(...rows), training: true,
          seed: deriveSeed(config.seed, parts === 1 ? `dropout/step-${step}` : `dropout/step-${step}/mb-${k}`),
        });
        return (parts === 1 ? l : tf.mul(l, (g1 - g0) / batch.groups)) as tf.Scalar;
      }, config.clip, lrAt(step));
      return [r.loss, r.norm];
    });
    const out = { loss: loss.dataSync()[0], gradNorm: norm.dataSync()[0] };
    tf.dispose([loss, norm]);
    return out;
  };
}

/** Train RRA-GPT (cfg.arch "gpt"); same config, result, store rows and resume behaviour as trainStudent. */
export async function trainGpt(db: Kysely<Database>, overrides: Partial<TrainConfig>, options: TrainOptions = {}): Promise<TrainResult> {
  const cfg = resolveTrainConfig(overrides);
  if (cfg.arch !== "gpt") throw new ConfigError(`trainGpt: arch must be "gpt", got ${show(cfg.arch)} (trainStudent trains "bert")`);
  if (cfg.pretrainSteps > 0) throw new ConfigError(`trainGpt: pretrainSteps is an RRA-BERT warm-up (encoder only); expected 0 with arch "gpt", got ${cfg.pretrainSteps}`);
  const runId = trainRunId(cfg);
  // taken before the first await, so no interrupt during the run is missed; checked between steps
  let stopPoint = "before its first step";
  const interrupt = interruptCheck(() => `train ${runId} ${stopPoint}`);
  await initBackend({ quiet: true });
  const outDir = cfg.out || projectPath("models", runId);
  const ckptDir = join(outDir, "checkpoint");
  // warm start (init.ts): the GPT-2 checkpoint is resolved, fingerprinted and read before anything is written
  const init = cfg.init ? await resolveInit(cfg.init, cfg.arch) : null;
  const finished = finishedRecord(outDir, runId);
  if (finished !== null) {
    if (init) checkInitUnchanged(init, outDir);
    return finished;
  }
  const backbone = init ? loadInitDecoder(init, cfg) : null;
  const data = (name: string): Dataset => options.datasets?.[name] ?? loadDataset(name);
  const train = data(cfg.train), dev = data(cfg.dev);
  const lexicon = trainLexicon(cfg, options.datasets);
  const lexiconId = await storeLexicon(db, lexicon); // the statistics, with their provenance, in the store
  const names = featureNames(cfg);
  const split = splitRun(cfg, await labelWindows(db, cfg, train, options.datasets), train, dev);
  const inputs = listInputs(lexicon, train.lists, names);
  const { groups, rationale } = buildGptGroups(split.windows, train, cfg, await storedRationales(db, cfg, split.windows), { inputs, targets: targetForm(cfg) });
  if (groups.length === 0) throw new ConfigError(`train: no training groups from ${cfg.labels ?? `${cfg.teacher} labels of ${cfg.train}`} (check the labels and the dataset)`);
  const devLists = cfg.stopEpoch >= 0 ? [] : split.devLists;

  // warm-started: GPT-2's byte-level BPE and config; the ranking and classification heads are new (seeded)
  const tokenizer: GptTokenizer = backbone ? backbone.tokenizer : studentTokenizer(cfg.vocabSize);
  const examples = groups.map((g) => g.passages.map((p, i) => packDecoderExample(tokenizer, g.query, p, g.rationales[i] ?? undefined, { maxLength: cfg.maxLength })));
  const decCfg = backbone ? backbone.config : resolveDecoderConfig({ vocabSize: tokenizer.size, dropout: cfg.dropout, seed: deriveSeed(cfg.seed, "model") }, { preset: cfg.preset });
  const model = backbone ? createPretrainedDecoder(backbone) : createRraGpt(decCfg);
  if (startsAtZero(cfg)) {
    const w = model.getWeights();
    for (const k of ["rank/kernel", "rank/bias"]) w[k] = { shape: w[k].shape, values: new Float32Array(w[k].values.length) };
    model.setWeights(w);
  }
  const composition = createComposition({ scale: cfg.scoreScale, prior: cfg.prior, learnPrior: cfg.learnPrior, features: names.length });
  const compVars = composition.variables();
  const compositionFit = cfg.compositionFit === "first" ? fitComposition(composition, groups, { loss: cfg.loss }) : null;
  const vars = [...(cfg.network ? model.trainableVariables() : []), ...(cfg.compositionFit === "first" ? [] : compVars)];
  const optimizer = createAdamW(vars, { weightDecay: cfg.weightDecay, lrScale: vars.map((v) => (compVars.includes(v) ? cfg.compositionLr : 1)) });
  try {
    const { stepsPerEpoch, totalSteps, warmupSteps, lrAt } = runSchedule(cfg, groups.length);
    const step = createGptTrainStep(model, optimizer, cfg, tokenizer.padId, lrAt, composition);
    const start = await startRun(db, ckptDir, runId, cfg, outDir, vars, optimizer, init && initRecord(init));
    let { curves, best, badEpochs, steps } = start;
    const startEpoch = start.startEpoch;

    const student: GptStudentCore = {
      model, tokenizer, maxLength: cfg.maxLength, scoring: { composition: composition.values(), features: names, lexicon },
      ...(init ? { initTokenizer: { from: init.dir, modelType: "gpt2" as const, positions: decCfg.maxLen } } : {}),
    };
    const live = (): GptStudentCore => ({ ...student, scoring: { ...student.scoring, composition: composition.values() } });
    const devNdcg = async (): Promise<number> => evaluateRun(dev.qrels, await rerankGptLists(live(), devLists, { tag: runId }), { metrics: ["ndcg@10"], querySet: "intersection" }).all["ndcg@10"];
    if (!start.resumed && devLists.length && best === null) {
      const p0: CurvePoint = { step: 0, epoch: 0, split: "dev", metric: "ndcg@10", value: await devNdcg() };
      curves = curves.concat([p0]);
      await storeCurves(db, runId, [p0]);
      best = { epoch: 0, step: 0, "ndcg@10": p0.value };
      saveGptStudent(outDir, live());
    }
    const lastEpoch = vars.length === 0 ? 0 : cfg.stopEpoch >= 0 ? cfg.stopEpoch : cfg.epochs;
    const progress = createProgress({ label: `train ${runId} (gpt)`, total: Math.min(totalSteps, lastEpoch * stepsPerEpoch), unit: "steps", quiet: options.quiet });
    progress.tick(steps);
    const patienceUsed = (): boolean => devLists.length > 0 && cfg.patience > 0 && badEpochs >= cfg.patience;
    let status: TrainResult["status"] = patienceUsed() ? "stopped" : "done";
    const timing = { sec: 0, steps: 0, examples: 0 };
    for (let epoch = startEpoch, calls = 0; epoch < lastEpoch && steps < totalSteps && status === "done"; epoch++) {
      const fresh: CurvePoint[] = [];
      const point = (split: CurvePoint["split"], metric: string, value: number): void => { fresh.push({ step: steps, epoch: epoch + 1, split, metric, value }); };
      stopPoint = `in epoch ${epoch + 1} (${epoch === 0 ? "no epoch finished yet: running it again starts over" : `the checkpoint after epoch ${epoch} is kept and running it again resumes from it`})`;
      for (const indices of epochBatches(groups.length, cfg.seed, epoch, cfg.groupsPerBatch)) {
        if (steps >= totalSteps) break;
        await interrupt.check(); // between steps: the last checkpoint is whole, nothing of this epoch is stored yet
        const t0 = Date.now();
        const batch = gptBatch(groups, examples, indices);
        const { loss, gradNorm } = step(batch, steps);
        const lr = lrAt(steps++);
        timing.sec += (Date.now() - t0) / 1000;
        timing.steps++;
        timing.examples += batch.rows.length;
        point("train", "loss", loss); point("train", "lr", lr); point("train", "grad_norm", gradNorm);
        progress.tick(1, `epoch ${epoch + 1} loss ${loss.toFixed(4)} ${(timing.examples / Math.max(timing.sec, 1e-9)).toFixed(1)} ex/s`);
      }
      if (devLists.length) {
        const ndcg = await devNdcg();
        point("dev", "ndcg@10", ndcg);
        if (best === null || ndcg > best["ndcg@10"]) {
          best = { epoch: epoch + 1, step: steps, "ndcg@10": ndcg };
          badEpochs = 0;
          saveGptStudent(outDir, live());
        } else badEpochs++;
      }
      curves = curves.concat(fresh);
      await storeCurves(db, runId, fresh);
      saveCheckpoint(ckptDir, { format: "rra-train-checkpoint/1", runId, epoch: epoch + 1, step: steps, curves, best, badEpochs, shapes: vars.map((v) => v.shape) }, vars, optimizer);
      if (patienceUsed()) status = "stopped";
      else if (options.stopAfterEpochs !== undefined && ++calls >= options.stopAfterEpochs && epoch + 1 < lastEpoch && steps < totalSteps) status = "interrupted";
    }
    if (!devLists.length && status !== "interrupted") {
      best = { epoch: Math.min(lastEpoch, Math.ceil(steps / stepsPerEpoch)), step: steps, "ndcg@10": options.selectionNdcg ?? NaN };
      saveGptStudent(outDir, live());
    }
    progress.done(best && Number.isFinite(best["ndcg@10"]) ? `best dev nDCG@10 ${best["ndcg@10"].toFixed(4)} (epoch ${best.epoch})` : `${steps} steps`);
    const throughput = { stepsPerSec: timing.steps / Math.max(timing.sec, 1e-9), examplesPerSec: timing.examples / Math.max(timing.sec, 1e-9) };
    const result: TrainResult = { runId, outDir, status, curves, best, steps, resumedFromEpoch: startEpoch, throughput, pretrain: null };
    const prov = provenance();
    writeFileAtomic(join(outDir, "training.json"), JSON.stringify({
      format: "rra-training-record/1", runId, arch: "gpt", config: cfg, decoder: decCfg, init: init && { ...initRecord(init), warnings: backbone?.warnings ?? [] }, params: model.countParams(), seed: cfg.seed,
      backend: backendInfo()?.name ?? tf.getBackend(), versions: { node: prov.node, ...prov.packages }, gitSha: prov.gitSha, groups: groups.length,
      trainQueries: new Set(groups.map((g) => g.qid)).size, devQueries: devLists.map((l) => l.qid), lexicon: { id: lexiconId, ...lexicon.provenance }, features: names, composition: composition.values(), compositionFit,
      rationale, stepsPerEpoch, totalSteps, warmupSteps, status, steps, best: best && { ...best, "ndcg@10": Number.isFinite(best["ndcg@10"]) ? best["ndcg@10"] : null },
      bestEpoch: best?.epoch ?? null, resumedFromEpoch: startEpoch, throughput, curves,
    }, null, 1) + "\n");
    await db.updateTable("train_runs").set({ status, finished_at: status === "interrupted" ? null : new Date().toISOString() }).where("id", "=", runId).execute();
    return result;
  } catch (e) {
    if (e instanceof InterruptedError) await markInterrupted(db, runId);
    throw interrupt.explain(e);
  } finally {
    optimizer.dispose();
    composition.dispose();
    model.dispose();
  }
}
