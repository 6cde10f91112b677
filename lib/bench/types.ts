import type { PeerResult } from "./peer";
/** The records `rra bench` produces (plain data, tfjs-free: plots/ and the store read them). */
import type { BenchBackend, BenchConfig } from "./config";
import type { EncoderSizes } from "../models/presets";

/** A timed matMul: [batch, m, k] x [batch, k, n] float32 (transposeB as the encoder's Q K^T uses it). */
export interface MatmulResult {
  batch: number;
  m: number;
  k: number;
  n: number;
  transposeB: boolean;
  /** Timed runs after warm-up. */
  runs: number;
  /** Median wall time of one run (including the read-back), ms. */
  medianMs: number;
  /** 2 * batch * m * k * n / median time. */
  gflops: number;
}

/** One backend: whether it started and, for TensorFlow.js backends, its square matMul peak. */
export interface BackendResult {
  name: BenchBackend;
  available: boolean;
  /** Why it is not measured (e.g. "not installed"), or null. */
  reason: string | null;
  /** The npm package and version that provides it. */
  package: string | null;
  version: string | null;
  /** wasm: SIMD on; threads in use; the matMul kernel (the wasm backend's own, or OpenBLAS for wasm+blas). */
  simd?: boolean;
  threads?: number;
  matMulKernel?: string;
  /** n x n @ n x n; null for ONNX Runtime (no tfjs matMul; its MatMul graph is left to the exporter). */
  matmul: MatmulResult | null;
}

/** A preset's sizes and parameter count, and its forward FLOPs at the reference length. */
export interface PresetResult {
  preset: string;
  sizes: EncoderSizes;
  vocabSize: number;
  params: number;
  /** computeForwardFlops(sizes, config.seq). */
  forwardFlopsAtSeq: number;
}

/** The batched attention matMul (Q K^T) of a preset at the reference shape, on one backend. */
export interface AttentionResult extends MatmulResult {
  backend: BenchBackend;
  preset: string;
}

/** "dl19": real DL19 pairs packed to maxLength with padTo "longest"; "reference": batch x seq exactly. */
export type BenchWorkload = "dl19" | "reference";

/** Training throughput of one preset on one backend and workload. */
export interface TrainSpeed {
  backend: BenchBackend;
  preset: string;
  workload: BenchWorkload;
  /** Timed optimizer steps (after warm-up) and the pairs they trained on. */
  steps: number;
  examples: number;
  seconds: number;
  examplesPerSec: number;
  /** Mean padded row length T of the timed batches (what was computed), tokens. */
  meanSeqLen: number;
  /** Mean real (unpadded) tokens per pair. */
  meanTokens: number;
  /** 3 x forward FLOPs per example, averaged over the timed batches. */
  flopsPerExample: number;
  /** examplesPerSec * flopsPerExample / 1e9. */
  achievedGflops: number;
  /** achievedGflops / the backend's matMul GFLOP/s; null without a matMul peak. */
  peakFraction: number | null;
}

/** Inference throughput of one preset on one backend (or ONNX Runtime) and workload. */
export interface InferSpeed {
  backend: BenchBackend;
  preset: string;
  /** What computed the scores: tfjs-<backend> or onnxruntime-cpu. */
  engine: string;
  workload: BenchWorkload;
  pairs: number;
  seconds: number;
  /** dl19: end to end (tokenizing, packing, forward, read-back); reference: forward + read-back of a packed batch. */
  pairsPerSec: number;
  meanSeqLen: number;
  meanTokens: number;
  /** Forward FLOPs per pair, averaged over the batches as computed. */
  flopsPerPair: number;
  achievedGflops: number;
  peakFraction: number | null;
  /** ONNX Runtime intra-op threads (TensorFlow.js backends run on one thread here). */
  threads?: number;
}

/** p50/p95 latency of POST /rerank with `passages` passages (lib/serve/server.ts). */
export interface LatencyResult {
  preset: string;
  engine: string;
  passages: number;
  requests: number;
  concurrency: number;
  p50Ms: number;
  p95Ms: number;
  /** What measureRerankLatency returned, as is. */
  raw: unknown;
}

/** ONNX export of a preset before its ORT measurement: exportModel's parity check. */
export interface BenchExport {
  preset: string;
  out: string;
  parity: { pairs: number; maxAbsDiff: number };
}

/** Something the bench could not measure, and why (a backend, the exporter, the server). */
export interface Skipped {
  what: string;
  reason: string;
}

/**
 * One engine here against the PyTorch peer at one preset and shape, over the interleaved rounds
 * (interleave.ts): round r measured ours, then the peer, back to back. Each side's value in a round is
 * batch / median time of one step (training) or forward pass (inference) over `steps` timed runs.
 */
export interface PeerRatio {
  preset: string;
  batch: number;
  seq: number;
  /** "train": examples/s of a training step; "infer": pairs/s of a forward pass. */
  metric: "train" | "infer";
  /** The engine here: tfjs-<backend> (the fastest TensorFlow.js backend measured) or onnxruntime-cpu. */
  engine: string;
  unit: "examples/s" | "pairs/s";
  /** Per round, in order: ours, the peer's, and ours / peer's. */
  ours: number[];
  peer: number[];
  ratios: number[];
  /** The median of `ratios` (each round's pair measured under the same load; 2 rounds: their mean). */
  ratio: number;
}

/** The machine the numbers belong to. */
export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  /** os.loadavg() at the start and the end: other work on a shared machine shows here. */
  loadavgStart: number[];
  loadavgEnd: number[];
}

/** Everything one bench run measured (the `--json` object, and `results_json` of the store row). */
export interface BenchReport {
  format: "rra-bench/1";
  createdAt: string;
  seed: number;
  config: BenchConfig;
  machine: MachineFacts;
  /** node, tfjs packages, onnxruntime-node; gitSha read from .git without running git. */
  versions: Record<string, string>;
  gitSha: string | null;
  /** The backend TensorFlow.js was on before the bench (restored after it). */
  backendBefore: string | null;
  backends: BackendResult[];
  presets: PresetResult[];
  attention: AttentionResult[];
  train: TrainSpeed[];
  infer: InferSpeed[];
  exports: BenchExport[];
  latency: LatencyResult[];
  skipped: Skipped[];
  /** The PyTorch peer at the reference shape (config.peer), per preset: medians over the interleaved rounds. */
  peer?: PeerResult[];
  /** Ours / the peer per preset, shape, metric and engine, from the interleaved rounds (config.peer). */
  ratios?: PeerRatio[];
  wallSeconds: number;
}

/** Own time of one kernel name (or custom-gradient op) over a profiled step. */
export interface KernelRow {
  /** Kernel name (BatchMatMul, Multiply, ...), or the engine's scope name of a custom-gradient op. */
  name: string;
  /** "kernel": a registered kernel; "op": a custom-gradient op, counted by its time outside the kernels it ran. */
  kind: "kernel" | "op";
  calls: number;
  /** Own time summed over the calls, ms (tfjs's kernelTimeMs: wall time around the kernel function). */
  totalMs: number;
  /** totalMs / calls, microseconds. */
  meanUs: number;
  /** totalMs / the step's wall time. */
  share: number;
}

/** Kernel time of one phase of the step: forward (+ loss), backward (+ gradient sum and clipping), optimizer, other. */
export interface PhaseRow {
  phase: string;
  kernelCalls: number;
  kernelMs: number;
  /** Wall time between the phase's marks, ms (null when the phase has no marks). */
  wallMs: number | null;
}

/** One profiled training step (`rra bench --profile`, lib/bench/profile.ts). */
export interface TrainStepProfile {
  format: "rra-profile/1";
  createdAt: string;
  preset: string;
  backend: BenchBackend;
  /** The matMul kernel of a wasm backend. */
  matMulKernel: string | null;
  batch: number;
  seq: number;
  groupSize: number;
  seed: number;
  /** Untimed steps before the measured ones. */
  warmup: number;
  /** The same step run without the profiler: median wall time over `runs` steps, ms. */
  unprofiledMs: { median: number; runs: number };
  /** Wall time of the profiled step, ms. */
  wallMs: number;
  /** Registered kernel calls, and custom-gradient op calls (each containing kernel calls). */
  kernelCalls: number;
  opCalls: number;
  /** Own time of every call summed (nothing counted twice), ms; wallMs - kernelMs is spent outside kernels. */
  kernelMs: number;
  /** Per phase, in step order. */
  phases: PhaseRow[];
  /** Per kernel name, largest total first. */
  kernels: KernelRow[];
  /** Loss and gradient norm of the profiled step. */
  loss: number;
  gradNorm: number;
  machine: MachineFacts;
  versions: Record<string, string>;
  gitSha: string | null;
}
