/**
 * What the main thread (parallel.ts) and a data-parallel training thread (parallel-worker.ts) share: the
 * layout of the shared memory, the slot states, the start data and the step message.
 */
import * as tf from "@tensorflow/tfjs";
import type { WasmBackendLike } from "../backend/native-matmul";
import type { CompositionConfig } from "../models/composition";
import type { EncoderConfig } from "../models/presets";
import type { TclConfig } from "../models/tcl";
import type { TokenSelectionMode } from "../models/token-selection";
import type { TrainBatch } from "./batches";
import type { StepLossConfig } from "./step";

/** Slots of the shared control array. */
export const CTRL = { slot: 0, part: 1, errorLength: 2, busyUs: 3, tid: 4 } as const;
/** Int32 control words per thread. */
export const CTRL_WORDS = 5;
/** States of the gradient slot. */
export const SLOT = { empty: 0, full: 1, failed: 2 } as const;

/** Shared buffers of one thread (the weights are shared by all threads). */
export interface ParallelShared {
  /** Int32 control words (CTRL): slot state, the slot's micro-batch, error length, the thread's busy microseconds so far (wraps after 35 min), its Linux thread id (0 when unknown). */
  ctrl: SharedArrayBuffer;
  /** Float32 [1]: the slot's weighted part loss. */
  loss: SharedArrayBuffer;
  /** Float32: the slot's gradients of the optimizer's variables, concatenated in the optimizer's order. */
  grads: SharedArrayBuffer;
  /** Uint8 per optimizer variable: 1 when the slot holds its gradient. */
  hasGrad: SharedArrayBuffer;
  /** Float32: every model variable's value, concatenated in trainableVariables() order (written by the main thread). */
  weights: SharedArrayBuffer;
  /** UTF-8 text of the failure. */
  error: SharedArrayBuffer;
}

/** What a thread is started with. */
export interface ParallelWorkerData {
  /** Thread number (1-based; the main thread is 0) and threads in all. */
  index: number;
  threads: number;
  backend: string;
  /** The main thread's matMul kernel (backendInfo().matMul, "" for the backend's own): the thread must have the same. */
  matMul: string;
  encoder: EncoderConfig;
  model: { tcl: boolean; tokenSelection: TokenSelectionMode; tclConfig: TclConfig; composition: CompositionConfig | null };
  loss: StepLossConfig;
  /** Shapes of the model's variables (trainableVariables() order): checked against the rebuilt model. */
  shapes: number[][];
  /** Positions of the optimizer's variables among them. */
  trained: number[];
  shared: ParallelShared;
  /** Tests: throw, exit the thread, or fill the JS heap until V8 kills the thread (no report possible) when asked for this step. */
  fault?: { throwAtStep?: number; exitAtStep?: number; oomAtStep?: number };
}

/** A step for this thread: its micro-batches [from, to) of `size` groups each of the whole batch. */
export interface StepMessage {
  type: "step";
  step: number;
  size: number;
  from: number;
  to: number;
  batch: TrainBatch;
}

/**
 * The float32 values of tensors in place, for copies to and from shared memory: on the wasm backend a view of
 * its heap (one memcpy per copy instead of dataSync's extra copy and allocation: 9 against 64 ms for the
 * 11.2M weights of BERT-L4-H256, idle), valid until the next tfjs allocation; elsewhere dataSync.
 */
export function floatsOf(): (t: tf.Tensor) => Float32Array {
  if (tf.getBackend() !== "wasm") return (t) => t.dataSync() as Float32Array;
  const heap = tf.backend() as unknown as WasmBackendLike;
  return (t) => heap.typedArrayFromHeap(t) as Float32Array;
}
