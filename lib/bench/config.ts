/**
 * Configuration of `rra bench` (BenchConfig, its defaults, the seconds-long `--tiny` variant, and
 * resolveBenchConfig, which rejects unknown keys and bad values and returns a frozen copy).
 * Precedence: BENCH_DEFAULTS, then BENCH_TINY when `tiny` is set, then the explicit overrides.
 */
import { ConfigError, show } from "../core/errors";
import { MODEL_PRESETS } from "../models/presets";

/**
 * A backend the bench knows: TensorFlow.js wasm with its own matMul ("wasm") and with the native
 * OpenBLAS matMul (lib/backend/native-matmul.ts, "wasm+blas"), cpu, tensorflow (tfjs-node), and ONNX
 * Runtime (inference only).
 */
export type BenchBackend = "wasm" | "wasm+blas" | "cpu" | "tensorflow" | "onnxruntime";

/** Every bench backend, in the order they are measured. */
export const BENCH_BACKENDS: readonly BenchBackend[] = ["wasm", "wasm+blas", "cpu", "tensorflow", "onnxruntime"];

/** What the bench measures and how long it runs. */
export interface BenchConfig {
  /** Student presets (MODEL_PRESETS). Default ["tiny", "small"]. */
  presets: string[];
  /** Backends to try; unavailable ones are reported with the reason, not measured. Default all of BENCH_BACKENDS. */
  backends: BenchBackend[];
  /** Reference shape: tokens per pair (the PyTorch comparison, batch x seq). Default 64. */
  seq: number;
  /** Reference shape rows, and pairs per training step on the DL19 workload. Default 32. */
  batch: number;
  /** Passages per listwise group in a training batch; `batch` must be a multiple. Default 8. */
  groupSize: number;
  /** Timed training steps (and reference inference passes) per preset on wasm / tensorflow. Default 10. */
  steps: number;
  /** The same on the cpu backend (about 40x slower than wasm). Default 2. */
  cpuSteps: number;
  /** Untimed warm-up runs before every timed measurement (for real-pair scoring: whole passes over the same pairs). Default 1. */
  warmup: number;
  /** Square matMul size n (n x n @ n x n, float32) on wasm / tensorflow. Default 1024. */
  matmulSize: number;
  /** The same on the cpu backend (~0.5 GFLOP/s). Default 256. */
  cpuMatmulSize: number;
  /** Timed matMul runs; the median is reported. Default 5. */
  matmulRuns: number;
  /** Real DL19 pairs scored per preset (the first lists' top-100, in list order) on wasm / tensorflow / ORT. Default 400. */
  inferPairs: number;
  /** The same on the cpu backend. Default 32. */
  cpuInferPairs: number;
  /** Pairs per forward pass when scoring real pairs (loadReranker's default). Default 128. */
  inferBatch: number;
  /** Tokens per packed pair on the DL19 workloads (the training default), padded to each batch's longest. Default 128. */
  maxLength: number;
  /** Passages per POST /rerank request. Default 100. */
  latencyPassages: number;
  /** Timed /rerank requests per preset. Default 20. */
  latencyRequests: number;
  /** Seed of the untrained students, the group order and dropout. Default 42. */
  seed: number;
  /** Whether the `--tiny` settings were applied (recorded only). Default false. */
  tiny: boolean;
  /** Also run the PyTorch peer (scripts/bench-peer.py, Debian's python3-torch) at the reference shape. Default false. */
  peer: boolean;
  /** With `peer`: rounds of (ours, then the peer) per preset; the ratio is the median over rounds. Default 2. */
  rounds: number;
}

/** Defaults of every field. */
export const BENCH_DEFAULTS: Readonly<BenchConfig> = Object.freeze({
  presets: ["tiny", "small"], backends: [...BENCH_BACKENDS], seq: 64, batch: 32, groupSize: 8, steps: 10, cpuSteps: 2, warmup: 1,
  matmulSize: 1024, cpuMatmulSize: 256, matmulRuns: 5, inferPairs: 400, cpuInferPairs: 32, inferBatch: 128, maxLength: 128,
  latencyPassages: 100, latencyRequests: 20, seed: 42, tiny: false, peer: false, rounds: 2,
});

/** What `--tiny` changes: a run of seconds (CI proves the bench works, it measures nothing useful). */
export const BENCH_TINY: Readonly<Partial<BenchConfig>> = Object.freeze({
  presets: ["tiny"], seq: 32, batch: 8, groupSize: 4, steps: 2, cpuSteps: 1, matmulSize: 128, cpuMatmulSize: 64, matmulRuns: 3,
  inferPairs: 24, cpuInferPairs: 8, inferBatch: 16, maxLength: 64, latencyPassages: 100, latencyRequests: 2, tiny: true,
});

const INT_KEYS = ["seq", "batch", "groupSize", "steps", "cpuSteps", "warmup", "matmulSize", "cpuMatmulSize", "matmulRuns", "inferPairs", "cpuInferPairs", "inferBatch", "maxLength", "latencyPassages", "latencyRequests", "seed", "rounds"] as const;

/** Merge defaults, the tiny settings (when `overrides.tiny`) and overrides; ConfigError on unknown keys or bad values. */
export function resolveBenchConfig(overrides: Partial<BenchConfig> = {}): Readonly<BenchConfig> {
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<BenchConfig>;
  for (const k of Object.keys(given)) {
    if (!(k in BENCH_DEFAULTS)) throw new ConfigError(`bench config: unknown key ${show(k)}; expected some of ${Object.keys(BENCH_DEFAULTS).join(", ")}`);
  }
  const c = { ...BENCH_DEFAULTS, ...(given.tiny ? BENCH_TINY : {}), ...given } as BenchConfig;
  for (const k of INT_KEYS) {
    const v = c[k];
    const min = k === "seed" || k === "warmup" ? 0 : 1;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new ConfigError(`bench config: ${k} must be an integer >= ${min}, got ${show(v)}`);
  }
  if (typeof c.tiny !== "boolean") throw new ConfigError(`bench config: tiny must be a boolean, got ${show(c.tiny)}`);
  if (typeof c.peer !== "boolean") throw new ConfigError(`bench config: peer must be a boolean, got ${show(c.peer)}`);
  if (!Array.isArray(c.presets) || c.presets.length === 0) throw new ConfigError(`bench config: presets must be a non-empty list, got ${show(c.presets)}`);
  const presetNames = Object.keys(MODEL_PRESETS);
  for (const p of c.presets) if (!presetNames.includes(p)) throw new ConfigError(`bench config: unknown preset ${show(p)}; expected some of ${presetNames.join(", ")}`);
  if (!Array.isArray(c.backends) || c.backends.length === 0) throw new ConfigError(`bench config: backends must be a non-empty list, got ${show(c.backends)}`);
  for (const b of c.backends) if (!BENCH_BACKENDS.includes(b)) throw new ConfigError(`bench config: unknown backend ${show(b)}; expected some of ${BENCH_BACKENDS.join(", ")}`);
  if (c.groupSize < 2) throw new ConfigError(`bench config: groupSize must be >= 2 (a listwise group), got ${c.groupSize}`);
  if (c.batch % c.groupSize !== 0) throw new ConfigError(`bench config: batch ${c.batch} must be a multiple of groupSize ${c.groupSize} (a training batch is batch / groupSize listwise groups)`);
  for (const p of c.presets) {
    const maxLen = (MODEL_PRESETS as Record<string, { maxLen: number }>)[p].maxLen;
    for (const k of ["seq", "maxLength"] as const) if (c[k] > maxLen) throw new ConfigError(`bench config: ${k} ${c[k]} exceeds the ${p} preset's maxLen ${maxLen}`);
  }
  if (c.seq < 4 || c.maxLength < 4) throw new ConfigError(`bench config: seq and maxLength must be >= 4 ([CLS] q [SEP] p [SEP]), got ${c.seq} and ${c.maxLength}`);
  // order: as given for presets, BENCH_BACKENDS order for backends (tfjs first, ONNX Runtime after the models exist)
  return Object.freeze({ ...c, presets: [...new Set(c.presets)], backends: BENCH_BACKENDS.filter((b) => c.backends.includes(b)) });
}
