/**
 * Where the time of one training step goes (`rra bench --profile`): the real train step of a preset at
 * batch x seq (speed.ts createTrainBench, the reference workload: encoder + listNet, clip 1, AdamW), run
 * `warmup` times, then `steps` times without the profiler (the step's own wall time), then once under
 * tf.profile. Every kernel call is recorded with its time, the depth it ran at (a custom-gradient op runs
 * its kernels inside itself) and the phase it ran in (forward + loss, backward + clipping, optimizer, other).
 *
 * How the times are made (tfjs 4.22): with the profiler on, the engine times each kernel call with the
 * backend's `time(f)`; the wasm and cpu backends run kernels synchronously, so kernelTimeMs is the wall time
 * around the kernel function (the engine hands it over as a promise, which tf.profile awaits). The depth
 * comes from the engine's public `state.kernelDepth`, read as each record is pushed onto
 * `state.activeProfile.kernels`. A garbage-collection pause counts toward the kernel that was running
 * when it happened (kernels that copy large arrays out of the wasm heap start "external memory
 * pressure" collections; `node --trace-gc` shows them).
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../core/errors";
import { loadDataset } from "../data/datasets";
import type { Dataset } from "../data/types";
import { shippedLexicon } from "../lexical/shipped";
import { studentTokenizer } from "../train/config";
import { restoreBackend, startBackend } from "./backends";
import type { BenchBackend } from "./config";
import { summarizeKernels, type KernelRecord } from "./kernel-table";
import { benchVersions, machineFacts, readGitSha } from "./machine";
import { createTrainBench } from "./speed";
import { median } from "./stats";
import { BENCH_VOCAB_SIZE, benchEncoderConfig } from "./student-dir";
import type { TrainStepProfile } from "./types";
import { benchGroups } from "./workload";

/** What to profile. */
export interface ProfileOptions {
  /** MODEL_PRESETS name. */
  preset: string;
  /** A TensorFlow.js bench backend (not onnxruntime: it has no training). */
  backend: BenchBackend;
  /** Rows (pairs) per step; a multiple of groupSize. */
  batch: number;
  /** Tokens per row. */
  seq: number;
  /** Rows per listwise group. */
  groupSize: number;
  /** Untimed steps first (at least 1 is run). */
  warmup: number;
  /** Steps timed without the profiler, for the step's own wall time. */
  steps: number;
  /** Seed of the weights, the group order and dropout. */
  seed: number;
  /** The DL19 dataset, already loaded (tests). Default loadDataset("dl19"). */
  dataset?: Dataset;
}

/** Profile one training step (see the file header). TensorFlow.js is put back on its previous backend afterwards. */
export async function profileTrainStep(options: ProfileOptions): Promise<TrainStepProfile> {
  const { preset, backend, batch, seq, groupSize, seed } = options;
  const warmup = Math.max(1, options.warmup);
  const steps = Math.max(1, options.steps);
  if (backend === "onnxruntime") throw new ConfigError(`bench --profile: backend "onnxruntime" has no training step; expected one of wasm, wasm+blas, cpu, tensorflow`);
  const before = (tf.engine().backendName as string | undefined) ?? null;
  const start = await startBackend(backend);
  if ("reason" in start) throw new ConfigError(`bench --profile: backend ${JSON.stringify(backend)} does not start here: ${start.reason}`);
  const createdAt = new Date().toISOString();
  const machine = machineFacts();
  // phases: the hooks move the current phase on; each record is tagged with the phase it finished in
  let phase = "forward";
  let phaseStart = 0;
  let phaseWall: Record<string, number> = {};
  const enter = (next: string): void => {
    const now = performance.now();
    phaseWall[phase] = (phaseWall[phase] ?? 0) + (now - phaseStart);
    phase = next;
    phaseStart = now;
  };
  const dataset = options.dataset ?? loadDataset("dl19");
  const bench = createTrainBench({
    encoderConfig: benchEncoderConfig(preset, seed), tokenizer: studentTokenizer(BENCH_VOCAB_SIZE), groups: benchGroups(dataset, groupSize), lexicon: shippedLexicon(),
    batch, maxLength: seq, seq, steps: steps + 1, warmup, seed,
  }, "reference", { afterForward: () => enter("backward"), beforeApply: () => enter("optimizer"), afterApply: () => enter("other") });
  try {
    for (let i = 0; i < warmup; i++) bench.run(bench.pack(i));
    const plain: number[] = [];
    for (let i = warmup; i < warmup + steps; i++) {
      const packed = bench.pack(i);
      const t0 = performance.now();
      bench.run(packed);
      plain.push(performance.now() - t0);
    }
    const packed = bench.pack(warmup + steps);
    const engine = tf.engine();
    const depths: number[] = [], phases: string[] = [];
    let wallMs = 0;
    let result = { loss: NaN, gradNorm: NaN };
    const info = await tf.profile(() => {
      const kernels = engine.state.activeProfile.kernels;
      if (!Array.isArray(kernels)) throw new Error(`bench --profile: tf.engine().state.activeProfile.kernels is not a list in this TensorFlow.js version`);
      // an own push on this profile's list only (tf.profile starts a fresh list for every profile)
      Object.defineProperty(kernels, "push", {
        value(...items: unknown[]) {
          for (let k = 0; k < items.length; k++) {
            depths.push(engine.state.kernelDepth);
            phases.push(phase);
          }
          return Array.prototype.push.apply(this, items);
        },
      });
      phaseWall = {};
      phase = "forward";
      const t0 = performance.now();
      phaseStart = t0;
      result = bench.run(packed);
      enter("end");
      wallMs = performance.now() - t0;
      return [];
    });
    if (depths.length !== info.kernels.length) throw new Error(`bench --profile: the engine recorded ${info.kernels.length} kernels but ${depths.length} were seen pushed; this TensorFlow.js version records them differently`);
    const records: KernelRecord[] = info.kernels.map((k, i) => {
      const ms = k.kernelTimeMs;
      if (typeof ms !== "number" || !Number.isFinite(ms)) throw new Error(`bench --profile: kernel ${k.name} has no time on ${backend} (kernelTimeMs ${JSON.stringify(ms)})`);
      return { name: k.name, depth: depths[i], ms, phase: phases[i] };
    });
    const backendName = tf.getBackend();
    const s = summarizeKernels(records, wallMs, (name) => tf.getKernel(name, backendName) !== undefined, phaseWall);
    return {
      format: "rra-profile/1", createdAt, preset, backend, matMulKernel: start.matMulKernel ?? null, batch, seq, groupSize, seed, warmup,
      unprofiledMs: { median: median(plain), runs: plain.length }, wallMs, kernelCalls: s.kernelCalls, opCalls: s.opCalls, kernelMs: s.kernelMs,
      phases: s.phases, kernels: s.kernels, loss: result.loss, gradNorm: result.gradNorm,
      machine: { ...machine, loadavgEnd: machineFacts().loadavgEnd }, versions: benchVersions(), gitSha: readGitSha(),
    };
  } finally {
    bench.dispose();
    await restoreBackend(before);
  }
}
