/**
 * Data-parallel training over threads (issue 16): the main thread and `workers - 1` worker threads
 * (worker_threads, each with its own TensorFlow.js backend; parallel-worker.ts) compute the micro-batches
 * of one step side by side, and the main thread sums their gradients in micro-batch order, clips and takes
 * one AdamW step. The split is the micro-batch path of the single-thread step (step.ts), so a step with
 * W threads is bit-identical to `createTrainStep` with microBatch = s, where for a batch of G groups
 *   s = min(microBatch, ceil(G / W))   (microBatch 0 = ceil(G / W)),
 * the K = ceil(G / s) micro-batches go to the threads in contiguous runs (the main thread first, earlier
 * threads one more when K is not a multiple of W), and micro-batch k draws dropout from
 * deriveSeed(seed, `dropout/step-N/mb-k`) wherever it runs. A batch of fewer groups than threads leaves
 * threads idle for that step (said once).
 *
 * The step stays synchronous (the TrainStep of step.ts): per step the main thread copies every model
 * variable into a SharedArrayBuffer and posts the batch to the workers, computes its own micro-batches,
 * then waits (Atomics.wait) on each worker's gradient slot in turn. A worker that fails (starting, in a
 * step, or exiting) marks its slot failed with the error's text, so the wait ends in an error naming the
 * worker rather than a hang; after any failure the step is closed (threads terminated) and throws. The
 * one failure a worker cannot report is V8 killing its thread (out of JS heap memory: no handler runs, and
 * the exit event cannot reach a main thread blocked in Atomics.wait): the wait wakes every second and ends
 * in an error when the thread's Linux thread id has left /proc/self/task. (Tensors live in the wasm heap,
 * whose growth failures are ordinary errors.)
 * `close()` terminates the threads (the loop calls it at the end of training, on error and on interrupt);
 * the threads are unref'ed, so a step never closed does not keep the process alive.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "path";
import { Worker, type ResourceLimits } from "worker_threads";
import { setNativeMatMulThreads } from "../backend/native-matmul";
import { backendInfo } from "../backend/tf";
import { ConfigError, RraError, show } from "../core/errors";
import { threadAlive } from "../core/process";
import { getLoss } from "../losses/index";
import type { RraBert } from "../models/tcl";
import type { TrainConfig } from "./config";
import { CTRL, CTRL_WORDS, floatsOf, SLOT, type ParallelShared, type ParallelWorkerData, type StepMessage } from "./parallel-protocol";
import { applySummedGrads, type AdamW, type PartGrads } from "./schedule";
import { createTrainStep, partLoss, partSize, type TrainStep } from "./step";

/** Milliseconds spent per phase over the steps so far (profiling the data-parallel step; all 0 with one thread). */
export interface ParallelStepTimings {
  steps: number;
  /** Whole steps on the main thread. */
  totalMs: number;
  /** Copying the weights into shared memory and posting the step. */
  postMs: number;
  /** The main thread's own micro-batches (forward and backward). */
  ownMs: number;
  /** Waiting for the workers' gradients. */
  waitMs: number;
  /** Reading the workers' gradients out of shared memory. */
  receiveMs: number;
  /** The workers' own busy time (weights in, forward, backward, gradients out), summed over workers. */
  workerMs: number;
}

/** A training step that may run on several threads; `close()` ends them. */
export interface ParallelTrainStep extends TrainStep {
  /** Threads per step (1 = the single-thread step). */
  readonly workers: number;
  /** Where the time of the steps so far went. */
  timings(): ParallelStepTimings;
  /** Terminate the worker threads (idempotent); the step cannot be used afterwards. */
  close(): Promise<void>;
}

/** Options of createParallelTrainStep. */
export interface ParallelStepOptions {
  /** Threads per step, the main thread included (1 = createTrainStep itself). */
  workers: number;
  /** Where the one-time notes go (a batch too small to split). Default: stderr with an `[rra]` prefix. */
  log?: (line: string) => void;
  /** The worker threads' V8 limits (worker_threads' resourceLimits; default Node's). */
  resourceLimits?: ResourceLimits;
  /** Tests: worker 1 throws, exits or runs out of JS heap when asked for this step. */
  fault?: ParallelWorkerData["fault"];
}

/** How often a main thread waiting for a worker's gradients checks that the worker's thread still exists. */
const LIVENESS_MS = 1000;


/** Groups per micro-batch of a data-parallel step: min(microBatch, ceil(groups / workers)), microBatch 0 = no limit. */
export function parallelPartSize(groups: number, microBatch: number, workers: number): number {
  const share = Math.ceil(groups / workers);
  return partSize(groups, microBatch > 0 ? Math.min(microBatch, share) : share);
}

/** The micro-batches [from, to) of each thread (thread 0 = main) when `parts` micro-batches go to `threads` threads. */
export function assignParts(parts: number, threads: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let from = 0;
  for (let t = 0; t < threads; t++) {
    const n = Math.floor(parts / threads) + (t < parts % threads ? 1 : 0);
    out.push([from, from + n]);
    from += n;
  }
  return out;
}

interface Thread {
  worker: Worker;
  index: number;
  ctrl: Int32Array;
  loss: Float32Array;
  grads: Float32Array;
  hasGrad: Uint8Array;
  error: Uint8Array;
  exited: boolean;
}

/**
 * The step function of createTrainStep (step.ts) computed by `options.workers` threads (see the file
 * header for what it equals). The backend must be started (initBackend) before; the workers start the
 * same one. Validates the worker count and that the optimizer's variables belong to the model.
 */
export function createParallelTrainStep(model: RraBert, optimizer: AdamW, config: Pick<TrainConfig, "loss" | "clip" | "seed"> & { microBatch?: number; network?: boolean }, lrAt: (step: number) => number, options: ParallelStepOptions): ParallelTrainStep {
  const W = options.workers;
  if (!Number.isInteger(W) || W < 1) throw new ConfigError(`createParallelTrainStep: workers must be an integer >= 1, got ${show(W)}`);
  if (W === 1) {
    const one = createTrainStep(model, optimizer, config, lrAt);
    const times = { steps: 0, totalMs: 0, postMs: 0, ownMs: 0, waitMs: 0, receiveMs: 0, workerMs: 0 };
    const timed = ((batch, stepIndex) => {
      const t0 = performance.now();
      const r = one(batch, stepIndex);
      times.steps++;
      times.totalMs += performance.now() - t0;
      return r;
    }) as TrainStep;
    return Object.assign(timed, { workers: 1, close: async () => {}, timings: () => ({ ...times }) });
  }
  getLoss(config.loss);
  const micro = config.microBatch ?? 0;
  const log = options.log ?? ((line: string) => process.stderr.write(`[rra] ${line}\n`));
  const vars = model.trainableVariables();
  const trainedVars = optimizer.variables as tf.Variable[];
  const trained = trainedVars.map((v) => vars.indexOf(v));
  const stray = trained.indexOf(-1);
  if (stray >= 0) throw new ConfigError(`createParallelTrainStep: the optimizer's variable ${show(trainedVars[stray].name)} is not one of the model's trainable variables`);
  const sizes = vars.map((v) => v.size);
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const gradSize = trained.reduce((a, i) => a + sizes[i], 0);
  const gradOffsets = trained.map((_, j) => trained.slice(0, j).reduce((a, i) => a + sizes[i], 0));
  const weightsSab = new SharedArrayBuffer(4 * sizes.reduce((a, b) => a + b, 0));
  const weights = new Float32Array(weightsSab);
  const backend = tf.getBackend();
  const wasm = backend === "wasm";
  const comp = model.composition;
  const threads: Thread[] = [];
  let broken: Error | null = null;
  let closed = false;
  let saidIdle = false;
  const times = { steps: 0, totalMs: 0, postMs: 0, ownMs: 0, waitMs: 0, receiveMs: 0 };

  // one OpenBLAS thread while the workers run (the count is per process; two busy threads already fill both
  // cores), the count before back at close
  const blasBefore = setNativeMatMulThreads(1);
  const close = async (): Promise<void> => {
    if (!closed) setNativeMatMulThreads(blasBefore);
    closed = true;
    await Promise.all(threads.map((t) => (t.exited ? Promise.resolve() : t.worker.terminate().then(() => undefined))));
  };
  const failWith = (e: Error): Error => {
    broken ??= e;
    void close();
    return e;
  };
  for (let index = 1; index < W; index++) {
    const shared: ParallelShared = {
      ctrl: new SharedArrayBuffer(4 * CTRL_WORDS), loss: new SharedArrayBuffer(4), grads: new SharedArrayBuffer(4 * gradSize),
      hasGrad: new SharedArrayBuffer(trained.length), weights: weightsSab, error: new SharedArrayBuffer(4096),
    };
    const data: ParallelWorkerData = {
      index, threads: W, backend, matMul: backendInfo()?.matMul ?? "", encoder: { ...model.encoder.config },
      model: { tcl: model.tcl !== undefined, tokenSelection: model.tokenSelection, tclConfig: { ...model.tclConfig }, composition: comp ? { ...comp.config } : null },
      loss: { loss: config.loss, seed: config.seed, ...(config.network === false ? { network: false } : {}) },
      shapes: vars.map((v) => [...v.shape]), trained, shared, ...(index === 1 && options.fault ? { fault: options.fault } : {}),
    };
    const worker = new Worker(join(__dirname, "parallel-entry.js"), { workerData: data, ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}) });
    const t: Thread = {
      worker, index, ctrl: new Int32Array(shared.ctrl), loss: new Float32Array(shared.loss), grads: new Float32Array(shared.grads),
      hasGrad: new Uint8Array(shared.hasGrad), error: new Uint8Array(shared.error), exited: false,
    };
    // seen only between steps (the main thread waits synchronously during one); a failure inside a step comes through the slot
    worker.on("error", (e) => { if (!closed) broken ??= new RraError(`data-parallel worker ${index} of ${W - 1} failed: ${e.message}`); });
    worker.on("exit", (code) => {
      t.exited = true;
      if (!closed) broken ??= new RraError(`data-parallel worker ${index} of ${W - 1} exited (code ${code})`);
    });
    worker.unref();
    threads.push(t);
  }

  const workerError = (t: Thread, step: number): RraError => {
    const text = Buffer.from(t.error.slice(0, Atomics.load(t.ctrl, CTRL.errorLength))).toString("utf8");
    return new RraError(`data-parallel worker ${t.index} of ${W - 1} failed (${text || "no message"}) during training step ${step}; its threads are stopped`);
  };
  const fromShared = (view: Float32Array, shape: number[]): tf.Tensor => tf.tensor(wasm ? view : view.slice(), shape); // wasm copies into its heap
  /** Part k's loss and gradients from thread t's slot (waiting for them), then the slot is free again. */
  const receive = (t: Thread, k: number, step: number): PartGrads => {
    const t0 = performance.now();
    for (;;) {
      const state = Atomics.load(t.ctrl, CTRL.slot);
      if (state === SLOT.full) break;
      if (state === SLOT.failed) throw workerError(t, step);
      if (Atomics.wait(t.ctrl, CTRL.slot, SLOT.empty, LIVENESS_MS) === "timed-out" && !threadAlive(Atomics.load(t.ctrl, CTRL.tid)) && Atomics.load(t.ctrl, CTRL.slot) === SLOT.empty) {
        throw new RraError(`data-parallel worker ${t.index} of ${W - 1} died during training step ${step} without a report: its thread is gone, as when V8 ends a thread that runs out of JS heap memory; its threads are stopped (train with --workers 1, or give Node more heap: NODE_OPTIONS=--max-old-space-size=...)`);
      }
    }
    const t1 = performance.now();
    times.waitMs += t1 - t0;
    const got = Atomics.load(t.ctrl, CTRL.part);
    if (got !== k) throw new RraError(`data-parallel worker ${t.index}: expected the gradients of micro-batch ${k} of step ${step}, got ${got}`);
    const value = tf.scalar(t.loss[0]);
    const grads = trained.map((i, j) => (t.hasGrad[j] ? fromShared(t.grads.subarray(gradOffsets[j], gradOffsets[j] + sizes[i]), vars[i].shape) : null));
    Atomics.store(t.ctrl, CTRL.slot, SLOT.empty);
    Atomics.notify(t.ctrl, CTRL.slot);
    times.receiveMs += performance.now() - t1;
    return { value, grads };
  };

  const step = ((batch, stepIndex) => {
    if (closed && !broken) throw new RraError("data-parallel training step used after close()");
    // a worker that failed between steps: its own report (the slot) says more than the exit event
    const failed = threads.find((t) => Atomics.load(t.ctrl, CTRL.slot) === SLOT.failed);
    if (failed && !broken) throw failWith(workerError(failed, stepIndex));
    if (broken) throw broken;
    const G = batch.groups;
    const size = parallelPartSize(G, micro, W);
    const K = Math.ceil(G / size);
    const runs = assignParts(K, W);
    if (K < W && !saidIdle) {
      saidIdle = true;
      log(`workers ${W}: a batch of ${G} group${G === 1 ? "" : "s"} makes ${K} micro-batch${K === 1 ? "" : "es"}, so ${W - K} of ${W} threads idle in such steps (use at least ${W} groups per batch)`);
    }
    const owner = (k: number): number => runs.findIndex(([a, b]) => k >= a && k < b);
    const t0 = performance.now();
    try {
      if (K > 1) {
        const floats = floatsOf();
        vars.forEach((v, i) => weights.set(floats(v), offsets[i]));
        threads.forEach((t, w) => {
          const [from, to] = runs[w + 1];
          if (from < to) t.worker.postMessage({ type: "step", step: stepIndex, size, from, to, batch } satisfies StepMessage);
        });
      }
      times.postMs += performance.now() - t0;
      const [loss, norm] = tf.tidy(() => {
        const r = applySummedGrads(trainedVars, optimizer, K, (k) => {
          const o = owner(k);
          if (o > 0) return receive(threads[o - 1], k, stepIndex);
          const t1 = performance.now();
          const { value, grads } = tf.tidy(() => tf.variableGrads(() => partLoss(model, config, batch, stepIndex, size, k), trainedVars));
          times.ownMs += performance.now() - t1;
          return { value, grads: trainedVars.map((v) => grads[v.name] ?? null) };
        }, config.clip, lrAt(stepIndex));
        return [r.loss, r.norm];
      });
      const out = { loss: loss.dataSync()[0], gradNorm: norm.dataSync()[0] };
      tf.dispose([loss, norm]);
      times.steps++;
      times.totalMs += performance.now() - t0;
      return out;
    } catch (e) {
      // a worker may be half-way through this step: the threads cannot be reused
      throw failWith(e instanceof Error ? e : new RraError(String(e)));
    }
  }) as TrainStep;
  const timings = (): ParallelStepTimings => ({ ...times, workerMs: threads.reduce((n, t) => n + Atomics.load(t.ctrl, CTRL.busyUs) / 1000, 0) });
  return Object.assign(step, { workers: W, close, timings });
}
