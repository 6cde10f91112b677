/**
 * Expected duration of training runs from their config (the line long notebook cells print first).
 *
 * Work is counted in training examples (steps x groupsPerBatch x groupSize) and pairs scored (held-out
 * evaluations, first-stage top 100 per query, before the first epoch and after each); scoring a pair
 * costs a third of training on it (a forward pass against forward + backward). A speed in FLOPs/s (the
 * training FLOPs of an example, bench/flops.ts, times examples/s) turns work into seconds, plus a fixed
 * cost per run (lexicon, label windows, model, files). The speed is the median of the runs already
 * finished in the given folders (measured on this machine), else 260 examples/s of the tiny preset at 128
 * tokens: an idle 2-core machine (wasm + OpenBLAS), calibrated on notebook 03's full grid (65-90 s per
 * cell). It is an estimate: a refit's selected epoch count is unknown before its folds ran and is taken
 * as half the epochs, early stopping is ignored, and other work on the machine slows everything.
 */
import { existsSync, readdirSync, readFileSync } from "fs";
import { join } from "path";
import { computeTrainFlops } from "../bench/flops";
import { parseSelection, slidingWindows, SELECTION_DEFAULT_N } from "../labels/select";
import type { Estimate } from "../core/estimate";
import { queryCount } from "../data/sizes";
import { MODEL_PRESETS, type EncoderSizes } from "../models/presets";
import { parseHeldOut, resolveTrainConfig, trainRunId, type TrainConfig } from "./config";
import { finishedRecord } from "./run-state";

/** Candidates per query scored by a held-out evaluation (the first-stage top 100). */
const EVAL_DEPTH = 100;
/** Seconds of a run besides its steps and evaluations (its label job reread, lexicon, model, saved files; measured 2.5-4 s). */
const RUN_OVERHEAD_SEC = 3;
/** An RRA-GPT example costs this much more than an RRA-BERT one of the same sizes (measured: 75-90 vs 100-135 ex/s). */
const GPT_FACTOR = 1.4;
/** The default speed: examples/s of the tiny preset at 128 tokens on an idle 2-core machine (see the header). */
const DEFAULT_EXAMPLES_PER_SEC = 260;

/** Work of training runs. */
export interface TrainingWork {
  /** Training runs (each pays RUN_OVERHEAD_SEC). */
  runs: number;
  /** Examples trained on (query-passage pairs of the groups, padding included). */
  examples: number;
  /** Pairs scored by held-out evaluations (and tests, when the caller adds them). */
  pairs: number;
}

/** The sum of pieces of work. */
export function addWork(...parts: readonly TrainingWork[]): TrainingWork {
  return parts.reduce((a, b) => ({ runs: a.runs + b.runs, examples: a.examples + b.examples, pairs: a.pairs + b.pairs }), { runs: 0, examples: 0, pairs: 0 });
}

/** Label windows per query of a selection (one for top-k and top+bottom, 9 for sliding 20/10 over 100). */
function windowsPerQuery(selection: string): number {
  const mode = parseSelection(selection);
  return mode.kind === "sliding" ? slidingWindows(0, SELECTION_DEFAULT_N.sliding, mode.window, mode.step).length : 1;
}

/** The work of one `trainStudent` run (its held-out evaluations included). */
export function trainRunWork(overrides: Partial<TrainConfig>): TrainingWork {
  const cfg = resolveTrainConfig(overrides);
  const outer = parseHeldOut(cfg.heldOut);
  let queries = queryCount(cfg.train) * (outer ? (outer.of - 1) / outer.of : 1);
  if (cfg.trainQueries > 0) queries = Math.min(queries, cfg.trainQueries);
  let trained = queries;
  let dev: number;
  if (cfg.folds > 0 && cfg.fold >= 0) {
    dev = queries / cfg.folds;
    trained = queries - dev;
  } else {
    dev = outer && cfg.dev === cfg.train ? queries : queryCount(cfg.dev);
  }
  if (cfg.devQueries > 0) dev = Math.min(dev, cfg.devQueries);
  if (cfg.stopEpoch >= 0) dev = 0; // a refit selects nothing
  const groups = Math.round(trained * windowsPerQuery(cfg.selection));
  const stepsPerEpoch = Math.ceil(groups / cfg.groupsPerBatch);
  // only the composition (fitted first) and no network: nothing is trained step by step
  const epochs = !cfg.network && cfg.compositionFit === "first" ? 0 : cfg.stopEpoch >= 0 ? cfg.stopEpoch : cfg.epochs;
  const allSteps = cfg.epochs * stepsPerEpoch;
  const steps = Math.min(cfg.maxSteps > 0 ? Math.min(cfg.maxSteps, allSteps) : allSteps, epochs * stepsPerEpoch);
  const evaluations = dev > 0 ? Math.min(epochs, Math.ceil(steps / Math.max(stepsPerEpoch, 1))) + 1 : 0;
  return {
    runs: 1,
    examples: (steps + cfg.pretrainSteps) * cfg.groupsPerBatch * cfg.groupSize,
    pairs: Math.round(dev * EVAL_DEPTH * evaluations),
  };
}

/** Options of selectedTrainingWork. */
export interface RemainingWorkOptions {
  /**
   * Folder of the runs (`<dir>/<runId>`, as trainSelected's `out`): finished runs there cost nothing (a single
   * run with its own `out` folder is looked up there), and their measured speed is used.
   */
  dir?: string;
}

/**
 * The work of `trainSelected` (K fold runs and the refit) for folds >= 2, else of one run, without the runs
 * already finished in `options.dir`. The refit's epoch count is known once its folds ran; before, half the epochs.
 */
export function selectedTrainingWork(overrides: Partial<TrainConfig>, options: RemainingWorkOptions = {}): TrainingWork {
  const cfg = resolveTrainConfig({ ...overrides, out: "" });
  const finished = (c: TrainConfig): boolean => options.dir !== undefined && finishedRecord(join(options.dir, trainRunId(c)), trainRunId(c)) !== null;
  const left = (c: TrainConfig): TrainingWork => (finished(c) ? addWork() : trainRunWork(c));
  // one run written to its own folder (`out`)
  if (cfg.folds < 2) return overrides.out ? (finishedRecord(overrides.out, trainRunId(cfg)) !== null ? addWork() : trainRunWork(cfg)) : left(cfg);
  const folds = Array.from({ length: cfg.folds }, (_, k) => resolveTrainConfig({ ...cfg, fold: k, patience: 0 }));
  const refits = Array.from({ length: cfg.epochs + 1 }, (_, e) => resolveTrainConfig({ ...cfg, stopEpoch: e }));
  if (refits.some(finished)) return addWork(...folds.map(left));
  return addWork(...folds.map(left), trainRunWork({ ...cfg, stopEpoch: Math.ceil(cfg.epochs / 2) }));
}

/** A training speed and where it comes from. */
export interface MeasuredSpeed {
  /** Training FLOPs per second. */
  flopsPerSec: number;
  /** E.g. `the median of 12 runs measured here` or `the speed of an idle 2-core machine`. */
  source: string;
}

function sizesOf(cfg: Pick<TrainConfig, "preset">): Pick<EncoderSizes, "numLayers" | "hiddenSize" | "ffnSize"> {
  return (MODEL_PRESETS as Record<string, EncoderSizes>)[cfg.preset] ?? MODEL_PRESETS.tiny;
}

/** Training FLOPs of one example of a config (RRA-GPT weighted by GPT_FACTOR). */
export function exampleFlops(cfg: Pick<TrainConfig, "preset" | "maxLength" | "arch">): number {
  return computeTrainFlops(sizesOf(cfg), cfg.maxLength) * (cfg.arch === "gpt" ? GPT_FACTOR : 1);
}

/**
 * The speed of the runs finished in `dirs` (each holding run folders with training.json): the median over
 * runs that trained of examples/s x FLOPs per example; the default speed when none did.
 */
export function measuredTrainSpeed(dirs: readonly string[] = [], maxRuns = 300): MeasuredSpeed {
  const speeds: number[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (speeds.length >= maxRuns) break;
      const file = join(dir, name, "training.json");
      if (!existsSync(file)) continue;
      try {
        const rec = JSON.parse(readFileSync(file, "utf8")) as { config?: TrainConfig; steps?: number; throughput?: { examplesPerSec?: number } };
        const exPerSec = rec.throughput?.examplesPerSec ?? 0;
        if (rec.config && (rec.steps ?? 0) > 0 && exPerSec > 0) speeds.push(exPerSec * exampleFlops(rec.config));
      } catch {
        // a damaged or older record: not a measurement
      }
    }
  }
  if (speeds.length === 0) return { flopsPerSec: DEFAULT_EXAMPLES_PER_SEC * exampleFlops({ preset: "tiny", maxLength: 128, arch: "bert" }), source: "the speed of an idle 2-core machine" };
  speeds.sort((a, b) => a - b);
  return { flopsPerSec: speeds[Math.floor(speeds.length / 2)], source: `the median of ${speeds.length} run${speeds.length === 1 ? "" : "s"} measured here` };
}

/** Seconds of `work` for runs of `cfg`'s sizes at `speed`. */
export function workSeconds(work: TrainingWork, cfg: Pick<TrainConfig, "preset" | "maxLength" | "arch">, speed: MeasuredSpeed): number {
  return ((work.examples + work.pairs / 3) * exampleFlops(cfg)) / speed.flopsPerSec + work.runs * RUN_OVERHEAD_SEC;
}

/** Examples/s of `cfg`'s sizes at `speed` (for the announcement). */
export function examplesPerSec(cfg: Pick<TrainConfig, "preset" | "maxLength" | "arch">, speed: MeasuredSpeed): number {
  return speed.flopsPerSec / exampleFlops(cfg);
}

/** Seconds per example, per cell or per run: `~3.2 s per run` style text. */
export function perUnit(seconds: number, count: number, unit: string): string {
  const each = seconds / Math.max(count, 1);
  return `~${each < 10 ? each.toFixed(1) : each.toFixed(0)} s per ${unit}`;
}

/**
 * The estimate of one training call: `trainSelected` when `folds` >= 2, else `trainStudent`. `dir` is the
 * folder of the runs (`<dir>/<runId>`): finished runs there are reused, and their speed is used.
 */
export function trainingEstimate(overrides: Partial<TrainConfig>, options: RemainingWorkOptions = {}): Estimate {
  const cfg = resolveTrainConfig({ ...overrides, out: "" });
  const work = selectedTrainingWork(cfg, { dir: options.dir });
  const speed = measuredTrainSpeed(options.dir ? [options.dir] : []);
  const seconds = workSeconds(work, cfg, speed);
  return {
    what: `${work.runs} training run${work.runs === 1 ? "" : "s"} (${cfg.preset}, ${cfg.maxLength} tokens${cfg.folds >= 2 ? `, ${cfg.folds} folds + refit` : ""})`,
    seconds,
    basis: `${Math.round(work.examples)} training examples and ${Math.round(work.pairs)} scored pairs at ~${examplesPerSec(cfg, speed).toFixed(0)} examples/s, ${speed.source}`,
    keeps: "each run keeps a checkpoint per epoch, and running the cell again resumes from it",
  };
}
