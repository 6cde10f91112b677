/**
 * Training and inference throughput of one preset on the current TensorFlow.js backend, with the code
 * the workbench really runs: training steps are `createTrainStep` of lib/train/loop.ts (RRA-BERT with the
 * TCL, listNet, clipping, AdamW, seeded dropout; each timed step includes packing its batch, as the loop's
 * own ex/s does; at the reference shape without the TCL, as the PyTorch peer); inference is `scorePairs` of lib/train/rerank.ts on real pairs (tokenizing and packing
 * included), and `inferenceScores` on a pre-packed batch for the reference shape.
 * Numbers here are per workload; the caller adds backend, preset and the fraction of the matMul peak.
 */
import * as tf from "@tensorflow/tfjs";
import type { InterruptCheck } from "../core/interrupt";
import type { Lexicon } from "../lexical/lexicon";
import type { EncoderConfig } from "../models/presets";
import type { EncoderBatch } from "../models/types";
import { createRraBert, type RraBert } from "../models/tcl";
import { packGroups, packPairs, type PackGroupsOptions, type QueryGroup, type TrainBatch } from "../train/batches";
import { createTrainStep } from "../train/loop";
import { scorePairs, type StudentCore } from "../train/rerank";
import { createAdamW, type AdamW } from "../train/schedule";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";
import { computeBatchesFlops, computeTrainFlops } from "./flops";
import type { BenchWorkload } from "./types";
import { batchShape, benchGroupBatches, scoringShapes, type TextPair } from "./workload";

/** A workload's timing before backend-specific fields are added. */
export interface SpeedSample {
  workload: BenchWorkload;
  /** Timed steps (training) or passes (inference). */
  runs: number;
  /** Pairs processed in the timed runs. */
  pairs: number;
  seconds: number;
  meanSeqLen: number;
  meanTokens: number;
  /** Training: 3 x forward FLOPs per example; inference: forward FLOPs per pair (both averaged over the batches). */
  flopsPerPair: number;
}

/** What a training measurement needs. */
export interface TrainSpeedInput {
  encoderConfig: Readonly<EncoderConfig>;
  tokenizer: WordPieceTokenizer;
  groups: readonly QueryGroup[];
  /** Collection statistics of matching and the TCL v3 term arrays (the training default). */
  lexicon: Lexicon;
  /** Pairs per step (a multiple of the groups' size). */
  batch: number;
  /** Tokens per pair on the dl19 workload (padded to each batch's longest), and the reference length. */
  maxLength: number;
  seq: number;
  steps: number;
  warmup: number;
  seed: number;
}

function summarize(workload: BenchWorkload, runs: number, seconds: number, shapes: ReadonlyArray<{ rows: number; seqLen: number; tokens: number }>, flops: number): SpeedSample {
  const pairs = shapes.reduce((n, s) => n + s.rows, 0);
  return {
    workload, runs, pairs, seconds,
    meanSeqLen: shapes.reduce((n, s) => n + s.rows * s.seqLen, 0) / pairs,
    meanTokens: shapes.reduce((n, s) => n + s.tokens, 0) / pairs,
    flopsPerPair: flops / pairs,
  };
}

/** Marks in a training step (profile.ts attributes kernels to phases with them). */
export interface TrainStepHooks {
  /** The loss is computed (the forward pass and the loss are done; backward comes next). */
  afterForward?(): void;
  /** The optimizer is called (gradients are summed and clipped). */
  beforeApply?(): void;
  /** The optimizer has updated every variable. */
  afterApply?(): void;
}

/** A model, AdamW and the real train step of one preset on one workload, with its seeded batches. */
export interface TrainBench {
  readonly workload: BenchWorkload;
  /** Batch `i` of the seeded group order (benchGroupBatches; i < input.warmup + input.steps), packed. */
  pack(i: number): TrainBatch;
  /** One optimizer step on a packed batch (the step index, hence dropout, advances by one per call). */
  run(batch: TrainBatch): { loss: number; gradNorm: number };
  dispose(): void;
}

/**
 * The training setup measureTraining times: on "dl19", RRA-BERT with the TCL on real groups padded to their
 * longest (<= maxLength); on "reference", the encoder and listwise loss alone at exactly batch x seq, as the
 * PyTorch peer trains. listNet, clip 1, AdamW (weight decay 0.01), lr 5e-4, dropout seeded from `seed`.
 * `hooks` wrap the model's trainingLoss and the optimizer's apply (the caller's objects are not changed).
 */
export function createTrainBench(input: TrainSpeedInput, workload: BenchWorkload, hooks: TrainStepHooks = {}): TrainBench {
  const { encoderConfig, tokenizer, groups, batch, steps, warmup, seed } = input;
  const groupSize = groups[0].labels.length;
  const batches = benchGroupBatches(groups.length, batch / groupSize, warmup + steps, seed);
  const base: PackGroupsOptions = { maxLength: input.maxLength, tokenSelection: null, lexicon: input.lexicon, termArrays: true, matchChannel: true, matchIdf: false };
  const options: PackGroupsOptions = workload === "dl19" ? { ...base, padTo: "longest" } : { ...base, termArrays: false, maxLength: input.seq, padTo: "max" };
  const model = createRraBert(encoderConfig, { tcl: workload === "dl19", tokenSelection: "exact" });
  const optimizer = createAdamW(model.trainableVariables(), { weightDecay: 0.01 });
  // wrappers that delegate everything else to the real objects (createTrainStep calls these two by name)
  const stepModel: RraBert = Object.create(model, { trainingLoss: { value: (...args: Parameters<RraBert["trainingLoss"]>) => {
    const loss = model.trainingLoss(...args);
    hooks.afterForward?.();
    return loss;
  } } });
  const stepOptimizer: AdamW = Object.create(optimizer, { apply: { value: (grads: Parameters<AdamW["apply"]>[0], lr: number) => {
    hooks.beforeApply?.();
    optimizer.apply(grads, lr);
    hooks.afterApply?.();
  } } });
  const step = createTrainStep(stepModel, stepOptimizer, { loss: "listNet", clip: 1, seed }, () => 5e-4);
  let stepIndex = 0;
  return {
    workload,
    pack(i) {
      if (!Number.isInteger(i) || i < 0 || i >= batches.length) throw new RangeError(`createTrainBench: batch ${i} outside 0..${batches.length - 1} (warmup + steps)`);
      return packGroups(tokenizer, groups, batches[i], options);
    },
    run: (packed) => step(packed, stepIndex++),
    dispose() {
      optimizer.dispose();
      model.dispose();
    },
  };
}

/**
 * Training examples/s on DL19 groups (padTo "longest", maxLength) and at the reference shape batch x seq.
 * Between steps it stops on an interrupt (`interrupt`); only the steps themselves are timed.
 */
export async function measureTraining(input: TrainSpeedInput, interrupt?: InterruptCheck): Promise<SpeedSample[]> {
  const { encoderConfig, steps, warmup } = input;
  const out: SpeedSample[] = [];
  for (const workload of ["dl19", "reference"] as const) {
    const bench = createTrainBench(input, workload);
    try {
      for (let i = 0; i < warmup; i++) {
        await interrupt?.check();
        bench.run(bench.pack(i));
      }
      const shapes: Array<{ rows: number; seqLen: number; tokens: number }> = [];
      let seconds = 0;
      for (let i = warmup; i < warmup + steps; i++) {
        await interrupt?.check();
        const t0 = performance.now();
        const packed = bench.pack(i);
        shapes.push(batchShape(packed.encoder));
        bench.run(packed);
        seconds += (performance.now() - t0) / 1000;
      }
      const flops = shapes.reduce((n, s) => n + s.rows * computeTrainFlops(encoderConfig, s.seqLen), 0);
      out.push(summarize(workload, steps, seconds, shapes, flops));
    } finally {
      bench.dispose();
    }
  }
  return out;
}

/** What an inference measurement needs. */
export interface InferSpeedInput {
  student: StudentCore;
  pairs: readonly TextPair[];
  /** Pairs per forward pass on the dl19 workload. */
  inferBatch: number;
  /** Reference shape rows x tokens. */
  batch: number;
  seq: number;
  /** Timed passes at the reference shape. */
  steps: number;
  warmup: number;
}

/** A batch x seq batch of `pairs` (repeated to fill it), packed once, and one forward pass over it with the scores read back. */
export function referenceForward(student: StudentCore, pairs: readonly TextPair[], batch: number, seq: number): { packed: EncoderBatch; once(): void } {
  const refPairs = Array.from({ length: batch }, (_, i) => pairs[i % pairs.length]);
  const packed = packPairs(student.tokenizer, refPairs, { maxLength: seq, matchChannel: student.matchChannel, matchIdf: student.matchIdf, lexicon: student.lexicon, tokenSelection: null, padTo: "max" });
  return {
    packed,
    once() {
      const s = tf.tidy(() => student.model.inferenceScores(packed));
      s.dataSync();
      s.dispose();
    },
  };
}

/**
 * Inference pairs/s: scorePairs over real pairs (end to end), and forward passes at batch x seq. Between
 * passes it stops on an interrupt (`interrupt`); only the passes themselves are timed.
 */
export async function measureInference(input: InferSpeedInput, interrupt?: InterruptCheck): Promise<SpeedSample[]> {
  const { student, pairs, inferBatch, batch, seq, steps, warmup } = input;
  const settings = { maxLength: student.maxLength, matchChannel: student.matchChannel, matchIdf: student.matchIdf, lexicon: student.lexicon };
  const sizes = student.model.encoder.config;
  // warm-up: whole untimed passes over the same pairs, so every batch shape has been seen once (as for ONNX Runtime)
  for (let i = 0; i < warmup; i++) {
    await interrupt?.check();
    scorePairs(student, pairs, inferBatch);
  }
  await interrupt?.check();
  const t0 = performance.now();
  scorePairs(student, pairs, inferBatch);
  const dl19Seconds = (performance.now() - t0) / 1000;
  const shapes = scoringShapes(student.tokenizer, pairs, inferBatch, settings);
  const dl19 = summarize("dl19", 1, dl19Seconds, shapes, computeBatchesFlops(sizes, shapes));

  const { packed, once } = referenceForward(student, pairs, batch, seq);
  for (let i = 0; i < warmup; i++) {
    await interrupt?.check();
    once();
  }
  let refSeconds = 0;
  for (let i = 0; i < steps; i++) {
    await interrupt?.check();
    const t1 = performance.now();
    once();
    refSeconds += (performance.now() - t1) / 1000;
  }
  const refShapes = Array.from({ length: steps }, () => batchShape(packed));
  return [dl19, summarize("reference", steps, refSeconds, refShapes, computeBatchesFlops(sizes, refShapes))];
}
