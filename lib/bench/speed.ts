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
import { createRraBert } from "../models/tcl";
import { packGroups, packPairs, type PackGroupsOptions, type QueryGroup } from "../train/batches";
import { createTrainStep } from "../train/loop";
import { scorePairs, type StudentCore } from "../train/rerank";
import { createAdamW } from "../train/schedule";
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

/**
 * Training examples/s on DL19 groups (padTo "longest", maxLength) and at the reference shape batch x seq.
 * Between steps it stops on an interrupt (`interrupt`); only the steps themselves are timed.
 */
export async function measureTraining(input: TrainSpeedInput, interrupt?: InterruptCheck): Promise<SpeedSample[]> {
  const { encoderConfig, tokenizer, groups, batch, steps, warmup, seed } = input;
  const groupSize = groups[0].labels.length;
  const batches = benchGroupBatches(groups.length, batch / groupSize, warmup + steps, seed);
  const base: PackGroupsOptions = { maxLength: input.maxLength, tokenSelection: null, lexicon: input.lexicon, termArrays: true, matchChannel: true, matchIdf: false };
  const workloads: Array<[BenchWorkload, PackGroupsOptions]> = [
    ["dl19", { ...base, padTo: "longest" }],
    ["reference", { ...base, termArrays: false, maxLength: input.seq, padTo: "max" }],
  ];
  let stepIndex = 0;
  const out: SpeedSample[] = [];
  for (const [workload, options] of workloads) {
    // DL19: the real step (RRA-BERT + TCL); reference: the encoder and listwise loss alone, as the PyTorch peer trains
    const model = createRraBert(encoderConfig, { tcl: workload === "dl19", tokenSelection: "exact" });
    const optimizer = createAdamW(model.trainableVariables(), { weightDecay: 0.01 });
    const step = createTrainStep(model, optimizer, { loss: "listNet", clip: 1, seed }, () => 5e-4);
    try {
      for (let i = 0; i < warmup; i++) {
        await interrupt?.check();
        step(packGroups(tokenizer, groups, batches[i], options), stepIndex++);
      }
      const shapes: Array<{ rows: number; seqLen: number; tokens: number }> = [];
      let seconds = 0;
      for (let i = warmup; i < warmup + steps; i++) {
        await interrupt?.check();
        const t0 = performance.now();
        const packed = packGroups(tokenizer, groups, batches[i], options);
        shapes.push(batchShape(packed.encoder));
        step(packed, stepIndex++);
        seconds += (performance.now() - t0) / 1000;
      }
      const flops = shapes.reduce((n, s) => n + s.rows * computeTrainFlops(encoderConfig, s.seqLen), 0);
      out.push(summarize(workload, steps, seconds, shapes, flops));
    } finally {
      optimizer.dispose();
      model.dispose();
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

  const refPairs = Array.from({ length: batch }, (_, i) => pairs[i % pairs.length]);
  const packed = packPairs(student.tokenizer, refPairs, { ...settings, maxLength: seq, tokenSelection: null, padTo: "max" });
  const once = (): void => {
    const s = tf.tidy(() => student.model.inferenceScores(packed));
    s.dataSync();
    s.dispose();
  };
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
