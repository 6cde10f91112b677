/**
 * Self-supervised warm-up of the student encoder before label training ("pretrain" steps), for when no
 * pretrained weights can be downloaded: a pseudo-query retrieval task on the shipped passages.
 *
 * Corpus: the candidate lists of the shipped datasets (each list's distinct passage texts; no queries,
 * no relevance judgements, no teacher labels). Per step and group, seeded by deriveSeed(seed,
 * `pretrain/step-N`): pick a list and a source passage in it, cut a pseudo-query of `minWords`..`maxWords`
 * consecutive words from it, and fill the group with the source passage (label 1) and `groupSize - 1`
 * other passages of the same candidate list (label 0; topically close negatives, since a list holds a
 * first-stage ranking for one query), topped up from random lists when a list is short. The encoder's
 * [CLS] score is trained with listNet (softmax cross-entropy over the group, i.e. InfoNCE), seeded dropout,
 * gradient clipping and its own AdamW (warm-up 10%, linear decay); micro-batching as in the label loop.
 * The TCL is not used (no Token Selection arrays are packed).
 *
 * Note: the shipped corpus holds the dev datasets' candidate passages too (as the student vocabulary
 * does); the task reads only passage texts.
 */
import * as tf from "@tensorflow/tfjs";
import { interruptCheck } from "../core/interrupt";
import { createRng, deriveSeed } from "../core/rng";
import type { Dataset } from "../data/types";
import { getLoss } from "../losses/index";
import type { Lexicon } from "../lexical/lexicon";
import type { Encoder } from "../models/encoder";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";
import { packPairs, type TrainBatch } from "./batches";
import { accumulateAndApply, createAdamW, learningRateAt } from "./schedule";

/** Pseudo-query corpus: passage texts grouped by the candidate list they come from. */
export interface PretrainCorpus {
  /** Distinct passage texts of each list (lists with at least 2 passages). */
  lists: string[][];
  /** Number of distinct passages. */
  passages: number;
}

/** Build the corpus from datasets (in the order given): each list's candidate texts, each distinct text once overall. */
export function buildPretrainCorpus(datasets: readonly Dataset[]): PretrainCorpus {
  const seen = new Set<string>();
  const lists: string[][] = [];
  for (const ds of datasets) {
    for (const list of ds.lists) {
      const texts: string[] = [];
      for (const c of list.candidates) {
        const t = c.text ?? ds.passages.get(c.docid)?.text;
        if (!t || seen.has(t) || t.split(/\s+/).filter(Boolean).length < 4) continue;
        seen.add(t);
        texts.push(t);
      }
      if (texts.length >= 2) lists.push(texts);
    }
  }
  return { lists, passages: seen.size };
}

/** Settings of the warm-up. */
export interface PretrainConfig {
  /** Optimizer steps. */
  steps: number;
  seed: number;
  /** Peak learning rate. */
  lr: number;
  weightDecay: number;
  clip: number;
  /** Pseudo-query groups per step. */
  groupsPerBatch: number;
  /** Passages per group (1 positive + groupSize-1 negatives). */
  groupSize: number;
  /** Groups per forward/backward pass (0 = all). */
  microBatch: number;
  /** Tokens per packed pair. */
  maxLength: number;
  /** Pseudo-query length in words. Default 3..8. */
  minWords?: number;
  maxWords?: number;
  /** Cut the pseudo-query from the passage's first `spanWithin` words only (the part that survives truncation); default: (maxLength - 16) / 2 words in pretrainEncoder, unlimited in pseudoQueryGroups. */
  spanWithin?: number;
  /** Negatives from the source passage's candidate list ("list", default) or from random lists ("random"). */
  negatives?: "list" | "random";
  /** Pack with the exact-match channel (batches.ts); must match the encoder's typeVocabSize. Default false. */
  matchChannel?: boolean;
  /** IDF buckets of the match channel (batches.ts PackGroupsOptions.matchIdf). Default false. */
  matchIdf?: boolean;
  /** Collection statistics of the match channel's idf (the pseudo-query's terms get the lexicon's idf). Default null. */
  lexicon?: Lexicon | null;
}

/** One pseudo-query group. */
export interface PseudoQueryGroup {
  query: string;
  /** Slot 0 is the source passage. */
  passages: string[];
  labels: number[];
}

/** The seeded pseudo-query groups of step `step` (0-based). */
export function pseudoQueryGroups(corpus: PretrainCorpus, config: Pick<PretrainConfig, "seed" | "groupsPerBatch" | "groupSize" | "minWords" | "maxWords" | "negatives" | "spanWithin">, step: number): PseudoQueryGroup[] {
  const rng = createRng(deriveSeed(config.seed, `pretrain/step-${step}`));
  const minW = config.minWords ?? 3, maxW = Math.max(minW, config.maxWords ?? 8);
  const int = (n: number): number => rng.int(n);
  const out: PseudoQueryGroup[] = [];
  for (let g = 0; g < config.groupsPerBatch; g++) {
    const li = int(corpus.lists.length);
    const list = corpus.lists[li];
    const si = int(list.length);
    const words = list[si].split(/\s+/).filter(Boolean).slice(0, config.spanWithin ?? Infinity);
    const len = Math.min(words.length, minW + int(maxW - minW + 1));
    const start = int(words.length - len + 1);
    const query = words.slice(start, start + len).join(" ");
    const others = config.negatives === "random" ? [] : rng.shuffle(list.map((_, i) => i).filter((i) => i !== si)).slice(0, config.groupSize - 1).map((i) => list[i]);
    while (others.length < config.groupSize - 1) {
      const l2 = corpus.lists[int(corpus.lists.length)];
      const t = l2[int(l2.length)];
      if (t !== list[si]) others.push(t);
    }
    out.push({ query, passages: [list[si], ...others], labels: [1, ...others.map(() => 0)] });
  }
  return out;
}

/** Pack pseudo-query groups into a training batch (no Token Selection). */
export function packPseudoQueries(tokenizer: WordPieceTokenizer, groups: readonly PseudoQueryGroup[], maxLength: number, matchChannel = false, matchIdf = false, lexicon: Lexicon | null = null): TrainBatch {
  const L = groups[0].passages.length;
  return {
    encoder: packPairs(tokenizer, groups.flatMap((g) => g.passages.map((passage) => ({ query: g.query, passage }))), { maxLength, tokenSelection: null, matchChannel, matchIdf, lexicon }),
    labels: Float32Array.from(groups.flatMap((g) => g.labels)),
    hardNegative: new Float32Array(groups.length * L),
    firstStage: new Float32Array(groups.length * L),
    features: new Float32Array(0),
    featureCount: 0,
    groups: groups.length,
    groupSize: L,
  };
}

/** One warm-up measurement. */
export interface PretrainPoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

/** What pretrainEncoder returns. */
export interface PretrainResult {
  points: PretrainPoint[];
  seconds: number;
  examplesPerSec: number;
}

/**
 * Train `encoder` on pseudo-queries for `config.steps` steps (deterministic for a seed). Leaves no tensors
 * behind but the encoder's updated variables. `onStep` sees every point (progress). Stops between steps on
 * an interrupt (core/interrupt.ts); the warm-up is not checkpointed before it ends, so it then starts over.
 */
export async function pretrainEncoder(encoder: Encoder, tokenizer: WordPieceTokenizer, corpus: PretrainCorpus, config: PretrainConfig, onStep?: (p: PretrainPoint) => void): Promise<PretrainResult> {
  const listNet = getLoss("listNet");
  const vars = encoder.trainableVariables();
  const optimizer = createAdamW(vars, { weightDecay: config.weightDecay });
  const schedule = { lr: config.lr, warmupSteps: Math.round(0.1 * config.steps), totalSteps: config.steps };
  const points: PretrainPoint[] = [];
  const t0 = Date.now();
  let examples = 0;
  let done = 0;
  const interrupt = interruptCheck(() => `pretraining warm-up at step ${done} of ${config.steps} (it is stored only once finished: running it again starts it over)`);
  try {
    for (let step = 0; step < config.steps; step++) {
      done = step;
      await interrupt.check();
      const groups = pseudoQueryGroups(corpus, { ...config, spanWithin: config.spanWithin ?? Math.max(config.maxWords ?? 8, Math.floor((config.maxLength - 16) / 2)) }, step);
      const batch = packPseudoQueries(tokenizer, groups, config.maxLength, config.matchChannel ?? false, config.matchIdf ?? false, config.lexicon ?? null);
      const lr = learningRateAt(step, schedule);
      const size = config.microBatch > 0 && config.microBatch < batch.groups ? config.microBatch : batch.groups;
      const [loss, norm] = tf.tidy(() => {
        const r = accumulateAndApply(vars, optimizer, Math.ceil(batch.groups / size), (k) => {
          const from = k * size;
          const to = Math.min(batch.groups, from + size);
          const L = batch.groupSize, T = batch.encoder.seqLen, r0 = from * L, r1 = to * L;
          const part = {
            inputIds: batch.encoder.inputIds.subarray(r0 * T, r1 * T), tokenTypeIds: batch.encoder.tokenTypeIds.subarray(r0 * T, r1 * T),
            attentionMask: batch.encoder.attentionMask.subarray(r0 * T, r1 * T), batch: r1 - r0, seqLen: T,
          };
          const weight = (to - from) / batch.groups;
          const seed = deriveSeed(config.seed, `pretrain/dropout/step-${step}/mb-${k}`);
          const labels = tf.tensor2d(batch.labels.subarray(r0, r1), [to - from, L]);
          const s = tf.reshape(encoder.score(part, { training: true, seed }), [to - from, L]) as tf.Tensor2D;
          return tf.mul(listNet(s, labels), weight) as tf.Scalar;
        }, config.clip, lr);
        return [r.loss, r.norm];
      });
      const p: PretrainPoint = { step: step + 1, loss: loss.dataSync()[0], lr, gradNorm: norm.dataSync()[0] };
      tf.dispose([loss, norm]);
      examples += batch.encoder.batch;
      points.push(p);
      onStep?.(p);
    }
  } finally {
    optimizer.dispose();
  }
  const seconds = (Date.now() - t0) / 1000;
  return { points, seconds, examplesPerSec: examples / Math.max(seconds, 1e-9) };
}
