/**
 * A native matMul for the wasm backend: the `BatchMatMul` kernel re-registered to call OpenBLAS
 * (`cblas_sgemm`, multi-threaded) through the project's small N-API addon in native/rra-blas, on views
 * of the wasm heap (no copies). The wasm backend's own matMul runs one thread at about 24 GFLOP/s on
 * this machine; OpenBLAS reaches about 100 GFLOP/s per core (notes/speed.md has the measurements).
 *
 * Optional at every level: the addon is built by `npm ci` when a C compiler and libopenblas-dev are
 * there (scripts/setup.sh installs both); without it, or with RRA_NATIVE_MATMUL=0, the stock kernel
 * stays. Shapes the addon does not handle (integer dtypes, two-sided batch broadcasting) fall back to
 * the stock kernel per call. OpenBLAS's result for a fixed thread count is deterministic, but differs
 * from the stock kernel's in float rounding: the run record names the kernel (backendInfo().matMul).
 */
import * as tf from "@tensorflow/tfjs";
import { cpus } from "os";
import { join } from "path";
import { isMainThread } from "worker_threads";
import { projectRoot } from "../core/paths";

/** The addon's interface (native/rra-blas/src/rra_blas.c). */
interface RraBlas {
  sgemmBatched(a: Float32Array, b: Float32Array, out: Float32Array, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, strideA: number, strideB: number): void;
  setThreads(n: number): void;
  threads(): number;
}

/** The tfjs-backend-wasm internals the custom kernels use (stable across 4.x; wasm-kernels.ts too). */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

/** What installNativeMatMul did. */
export interface NativeMatMulStatus {
  active: boolean;
  /** e.g. "OpenBLAS sgemm via rra-native-blas, 2 threads", or why it is off. */
  describe: string;
  threads?: number;
}

let addon: RraBlas | null | undefined;
let loadError = "";
let stock: tf.KernelConfig | undefined;
let status: NativeMatMulStatus = { active: false, describe: "not installed" };

/** The addon (null when it is not built); lib/backend/fused.ts uses its fused kernels. */
export function nativeAddon(): RraBlas | null {
  return loadAddon();
}

function loadAddon(): RraBlas | null {
  if (addon !== undefined) return addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(join(projectRoot(), "native", "rra-blas", "build", "Release", "rra_blas.node")) as RraBlas;
  } catch (e) {
    addon = null;
    loadError = (e as Error).message.split("\n")[0];
  }
  return addon;
}

/** The native kernel; falls back to the stock one for shapes it does not take. */
function nativeBatchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA: boolean; transposeB: boolean };
  const fallback = () => (stock as tf.KernelConfig).kernelFunc(args as Parameters<tf.KernelFunc>[0]);
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) return fallback();
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2], k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2], n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return fallback(); // the stock kernel throws tfjs's own shape error
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((x, y) => x * y, 1), batchB = outerB.reduce((x, y) => x * y, 1);
  let outer: number[];
  try {
    outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return fallback();
  }
  const batch = Math.max(batchA, batchB);
  // one matrix against many, or one to one; anything else (e.g. [2,1] x [1,3] batches) goes to the stock kernel
  if (!(batchA === batchB || batchA === 1 || batchB === 1) || outer.reduce((x, y) => x * y, 1) !== batch) return fallback();
  if (m * n * k === 0) return fallback();
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput([...outer, m, n], "float32");
  // views after makeOutput: allocating may grow (and so replace) the wasm memory buffer
  // float32 checked above
  const av = backend.typedArrayFromHeap(a) as Float32Array, bv = backend.typedArrayFromHeap(b) as Float32Array, ov = backend.typedArrayFromHeap(out) as Float32Array;
  if (batchB === 1 && !transposeA) {
    // many [m, k] rows against one matrix: one [batch * m, k] x op(b) product
    (addon as RraBlas).sgemmBatched(av, bv, ov, 1, batch * m, n, k, false, Boolean(transposeB), 0, 0);
  } else {
    (addon as RraBlas).sgemmBatched(av, bv, ov, batch, m, n, k, Boolean(transposeA), Boolean(transposeB), batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n);
  }
  return out;
}

/**
 * Register the native BatchMatMul for the wasm backend (once; later calls return the status). Off when
 * the backend is not wasm, RRA_NATIVE_MATMUL=0, or the addon is not built. Threads: defaultBlasThreads().
 * OpenBLAS's thread count is per process: a worker thread (data-parallel training, the scoring worker)
 * takes the count the main thread set and does not change it.
 */
export function installNativeMatMul(): NativeMatMulStatus {
  if (status.active) return status;
  if (tf.getBackend() !== "wasm") return (status = { active: false, describe: `off (backend ${tf.getBackend()}; the native kernel serves wasm only)` });
  if (process.env.RRA_NATIVE_MATMUL === "0") return (status = { active: false, describe: "off (RRA_NATIVE_MATMUL=0)" });
  const blas = loadAddon();
  if (!blas) return (status = { active: false, describe: `off (native/rra-blas not built: ${loadError})` });
  if (isMainThread) blas.setThreads(defaultBlasThreads());
  stock ??= tf.getKernel("BatchMatMul", "wasm");
  if (!stock) return (status = { active: false, describe: "off (the wasm backend has no BatchMatMul kernel to replace)" });
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({ kernelName: "BatchMatMul", backendName: "wasm", kernelFunc: nativeBatchMatMul as unknown as tf.KernelFunc });
  status = describeThreads(blas.threads());
  return status;
}

function describeThreads(n: number): NativeMatMulStatus {
  return { active: true, describe: `OpenBLAS sgemm (native/rra-blas, ${n} thread${n === 1 ? "" : "s"})`, threads: n };
}

/**
 * OpenBLAS threads unless set: RRA_BLAS_THREADS, else min(2, cores). Measured on this 2-core machine with
 * the fused kernels (notes/speed.md, 2026-12-02), 2 threads against 1: training BERT-L4-H256 8x128 1.40x,
 * tiny 32x64 1.01x; inference BERT-L4-H256 1.27x, MiniLM-L6-H384 1.56x, small 32x64 1.2x, tiny ~1.0x.
 * (Before the fused kernels the elementwise ops dominated and 1 thread was as fast: tiny 109 vs 133 ms.)
 * Data-parallel training sets 1 for its run (two threads already keep both cores busy).
 */
export function defaultBlasThreads(): number {
  const env = Number(process.env.RRA_BLAS_THREADS);
  return env >= 1 ? Math.floor(env) : Math.max(1, Math.min(2, cpus().length));
}

/** Set OpenBLAS's thread count (process-wide) while the native kernel is on; returns the count before. */
export function setNativeMatMulThreads(n: number): number {
  const blas = loadAddon();
  if (!status.active || !blas) return n;
  const before = blas.threads();
  blas.setThreads(n);
  status = describeThreads(blas.threads());
  return before;
}

/** Put the wasm backend's own BatchMatMul back (benchmarks compare both). */
export function uninstallNativeMatMul(): void {
  if (!status.active || !stock) return;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel(stock);
  status = { active: false, describe: "off (uninstalled)" };
}

/** The TensorFlow.js engine as runs and re-rankers name it: "tfjs-wasm", "tfjs-wasm+blas" (this kernel on), "tfjs-cpu", "tfjs-tensorflow". */
export function tfjsEngineName(): string {
  return `tfjs-${tf.getBackend() ?? "none"}${status.active ? "+blas" : ""}`;
}

/** What the wasm matMul kernel is right now. */
export function nativeMatMulStatus(): NativeMatMulStatus {
  return status;
}
