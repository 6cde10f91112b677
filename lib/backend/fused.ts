/**
 * Fused training kernels for the wasm backend, from the project's native addon (native/rra-blas:
 * rra_blas.c's dense, rra_fused.c's layer norm, GELU, masked softmax, attention core, AdamW). A student's training step
 * was ~1,600 tfjs kernel calls, most on a few thousand floats, where each call's fixed cost (~25-45 us)
 * outweighs its arithmetic (notes/speed.md). Each kernel here replaces 5-30 of them:
 *   RraDense / RraDenseGrad            x W + b; dx, dW, db in one call (3 sgemm + a column sum)
 *   RraLayerNorm / RraLayerNormGrad    moments, normalise, scale, shift; and the three gradients
 *   RraBiasGelu / RraBiasGeluGrad      gelu(x + b) in the tanh or erf form; dx and db
 *   RraMaskedSoftmax / ...Grad         softmax(s * scale + (1 - keep) * -1e9) over keys
 *   RraAttention / RraAttentionGrad    an encoder layer's attention core from the fused QKV projection:
 *                                      heads, Q K^T, masked softmax, dropout, P V, heads merged back
 *   RraDropout                         x * the seeded dropout mask, drawn in C (the same mulberry32
 *                                      stream as lib/models/kernels.ts's dropoutMask, bit for bit); its
 *                                      gradient is the same kernel on dy, so no mask is stored
 *   RraAdamW                           every variable's AdamW update (with the clipping scale) in one call
 * plus sumSquares for the global gradient norm (read from the heap, no kernel).
 * Large calls split their rows, columns or (row, head) pairs over the OpenBLAS thread count
 * (defaultBlasThreads; native/rra-blas/src/rra_pool.c), with the same bits for any count.
 * (OpenBLAS's own GEMMs are not: their bits depend on its thread count.)
 *
 * On only where the native matMul is (wasm backend, addon built, RRA_NATIVE_MATMUL not 0), so the
 * bench's "wasm" row stays the stock backend; RRA_FUSED_KERNELS=0 turns them off alone. Elsewhere
 * (cpu, tensorflow, no addon) lib/models/kernels.ts composes the same functions from stock ops.
 * Results differ from the stock composition by float rounding only (reductions here accumulate in
 * double); test/backend/fused.test.ts holds each kernel and a whole training step to the stock ones.
 */
import * as tf from "@tensorflow/tfjs";
import { nativeAddon, nativeMatMulStatus, type WasmBackendLike } from "./native-matmul";

/** The fused part of the addon's interface (native/rra-blas/src/rra_fused.c and rra_blas.c). */
export interface RraFused {
  dense(x: Float32Array, w: Float32Array, b: Float32Array, out: Float32Array, n: number, k: number, m: number): void;
  denseGrad(dy: Float32Array, x: Float32Array, w: Float32Array, dx: Float32Array, dw: Float32Array, db: Float32Array, n: number, k: number, m: number): void;
  layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, cols: number, eps: number): void;
  layerNormGrad(dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, rows: number, cols: number): void;
  biasGelu(x: Float32Array, bias: Float32Array, y: Float32Array, rows: number, cols: number, erfForm: number): void;
  biasGeluGrad(x: Float32Array, bias: Float32Array, dy: Float32Array, dx: Float32Array, dbias: Float32Array, rows: number, cols: number, erfForm: number): void;
  maskedSoftmax(s: Float32Array, keep: Float32Array, p: Float32Array, batch: number, heads: number, tq: number, tk: number, scale: number): void;
  maskedSoftmaxGrad(p: Float32Array, dp: Float32Array, ds: Float32Array, rows: number, tk: number, scale: number): void;
  dropout(x: Float32Array, y: Float32Array, seed: number, keep: number): void;
  attention(qkv: Float32Array, keep: Float32Array, ctx: Float32Array, probs: Float32Array, batch: number, seq: number, heads: number, scale: number, dropSeed: number, dropKeep: number): void;
  attentionGrad(dctx: Float32Array, qkv: Float32Array, probs: Float32Array, dqkv: Float32Array, batch: number, seq: number, heads: number, scale: number, dropSeed: number, dropKeep: number): void;
  sumSquares(arrays: Float32Array[]): number;
  /** Calls run split over threads so far (rra_pool.c: rows, columns or heads over the OpenBLAS thread count), and the helper threads. */
  poolStats(): { splitJobs: number; helpers: number };
  /** The split's thread count alone (the addon's setThreads sets OpenBLAS's and this one together). */
  setFusedThreads(n: number): void;
  fusedThreads(): number;
  adamw(p: Float32Array[], g: Float32Array[], m: Float32Array[], v: Float32Array[], po: Float32Array[], mo: Float32Array[], vo: Float32Array[], lr: number[], decay: boolean[],
    gradScale: number, beta1: number, beta2: number, bc1: number, bc2: number, eps: number, weightDecay: number): void;
}

const EMPTY = new Float32Array(0);
let registered = false;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Allocate outputs, then take heap views of inputs and outputs (allocation may replace the heap buffer). */
function run(args: KernelArgs, inputs: Array<tf.TensorInfo | undefined>, shapes: number[][], f: (addon: RraFused, ins: Float32Array[], outs: Float32Array[]) => void): tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const outs = shapes.map((s) => backend.makeOutput(s, "float32"));
  const view = (t: tf.TensorInfo | undefined): Float32Array => (t && sizeOf(t.shape) > 0 ? (backend.typedArrayFromHeap(t) as Float32Array) : EMPTY);
  f(nativeAddon() as unknown as RraFused, inputs.map(view), outs.map(view));
  return outs;
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const lastDim = (t: tf.TensorInfo): number => t.shape[t.shape.length - 1];

const KERNELS: Record<string, (args: KernelArgs) => tf.TensorInfo[]> = {
  RraDense(args) {
    const { x, w, b } = args.inputs as Record<string, tf.TensorInfo>;
    const n = x.shape[0], k = x.shape[1], m = w.shape[1];
    return run(args, [x, w, b], [[n, m]], (a, [xv, wv, bv], [o]) => a.dense(xv, wv, bv, o, n, k, m));
  },
  RraDenseGrad(args) {
    const { dy, x, w } = args.inputs as Record<string, tf.TensorInfo>;
    const n = x.shape[0], k = x.shape[1], m = w.shape[1];
    const wantBias = (args.attrs as { bias: boolean }).bias;
    return run(args, [dy, x, w], wantBias ? [[n, k], [k, m], [m]] : [[n, k], [k, m]], (a, [dyv, xv, wv], [dx, dw, db]) => a.denseGrad(dyv, xv, wv, dx, dw, db ?? EMPTY, n, k, m));
  },
  RraLayerNorm(args) {
    const { x, gamma, beta } = args.inputs as Record<string, tf.TensorInfo>;
    const cols = lastDim(x), rows = sizeOf(x.shape) / cols;
    const eps = (args.attrs as { eps: number }).eps;
    return run(args, [x, gamma, beta], [x.shape, [rows], [rows]], (a, [xv, gv, bv], [y, mean, rstd]) => a.layerNorm(xv, gv, bv, y, mean, rstd, rows, cols, eps));
  },
  RraLayerNormGrad(args) {
    const { dy, x, gamma, mean, rstd } = args.inputs as Record<string, tf.TensorInfo>;
    const cols = lastDim(x), rows = sizeOf(x.shape) / cols;
    return run(args, [dy, x, gamma, mean, rstd], [x.shape, [cols], [cols]], (a, [dyv, xv, gv, mv, rv], [dx, dg, db]) => a.layerNormGrad(dyv, xv, gv, mv, rv, dx, dg, db, rows, cols));
  },
  RraBiasGelu(args) {
    const { x, b } = args.inputs as Record<string, tf.TensorInfo>;
    const cols = lastDim(x), rows = sizeOf(x.shape) / cols;
    const erf = (args.attrs as { erf: boolean }).erf ? 1 : 0;
    return run(args, [x, b], [x.shape], (a, [xv, bv], [y]) => a.biasGelu(xv, bv, y, rows, cols, erf));
  },
  RraBiasGeluGrad(args) {
    const { x, b, dy } = args.inputs as Record<string, tf.TensorInfo>;
    const cols = lastDim(x), rows = sizeOf(x.shape) / cols;
    const erf = (args.attrs as { erf: boolean }).erf ? 1 : 0;
    return run(args, [x, b, dy], b ? [x.shape, [cols]] : [x.shape], (a, [xv, bv, dyv], [dx, db]) => a.biasGeluGrad(xv, bv, dyv, dx, db ?? EMPTY, rows, cols, erf));
  },
  RraMaskedSoftmax(args) {
    const { s, keep } = args.inputs as Record<string, tf.TensorInfo>;
    const [B, nh, tq, tk] = s.shape;
    const scale = (args.attrs as { scale: number }).scale;
    return run(args, [s, keep], [s.shape], (a, [sv, kv], [p]) => a.maskedSoftmax(sv, kv, p, B, nh, tq, tk, scale));
  },
  RraMaskedSoftmaxGrad(args) {
    const { p, dp } = args.inputs as Record<string, tf.TensorInfo>;
    const tk = lastDim(p), rows = sizeOf(p.shape) / tk;
    const scale = (args.attrs as { scale: number }).scale;
    return run(args, [p, dp], [p.shape], (a, [pv, dpv], [ds]) => a.maskedSoftmaxGrad(pv, dpv, ds, rows, tk, scale));
  },
  RraDropout(args) {
    const { x } = args.inputs as Record<string, tf.TensorInfo>;
    const { seed, keep } = args.attrs as { seed: number; keep: number };
    return run(args, [x], [x.shape], (a, [xv], [y]) => a.dropout(xv, y, seed, keep));
  },
  RraAttention(args) {
    const { qkv, keep } = args.inputs as Record<string, tf.TensorInfo>;
    const { batch: B, seq: T, heads: nh, scale, dropSeed, dropKeep } = args.attrs as unknown as AttentionAttrs;
    const H = qkv.shape[1] / 3;
    return run(args, [qkv, keep], [[B * T, H], [B, nh, T, T]], (a, [q, k], [ctx, probs]) => a.attention(q, k, ctx, probs, B, T, nh, scale, dropSeed, dropKeep));
  },
  RraAttentionGrad(args) {
    const { dctx, qkv, probs } = args.inputs as Record<string, tf.TensorInfo>;
    const { batch: B, seq: T, heads: nh, scale, dropSeed, dropKeep } = args.attrs as unknown as AttentionAttrs;
    return run(args, [dctx, qkv, probs], [qkv.shape], (a, [dc, q, p], [dq]) => a.attentionGrad(dc, q, p, dq, B, T, nh, scale, dropSeed, dropKeep));
  },
  RraAdamW(args) {
    const attrs = args.attrs as unknown as AdamWAttrs;
    const n = attrs.lr.length;
    const ins: tf.TensorInfo[] = [];
    for (const k of ["p", "g", "m", "v"]) for (let i = 0; i < n; i++) ins.push((args.inputs as Record<string, tf.TensorInfo>)[`${k}${i}`]);
    const shapes = [0, 1, 2].flatMap(() => ins.slice(0, n).map((t) => t.shape));
    return run(args, ins, shapes, (a, v, o) => a.adamw(v.slice(0, n), v.slice(n, 2 * n), v.slice(2 * n, 3 * n), v.slice(3 * n), o.slice(0, n), o.slice(n, 2 * n), o.slice(2 * n),
      attrs.lr, attrs.decay, attrs.gradScale, attrs.beta1, attrs.beta2, attrs.bc1, attrs.bc2, attrs.eps, attrs.weightDecay));
  },
};

/** The sizes and dropout of one RraAttention call (dropKeep 1 = no dropout). */
export interface AttentionAttrs {
  batch: number;
  seq: number;
  heads: number;
  scale: number;
  dropSeed: number;
  dropKeep: number;
}

/** The hyper-parameters of one RraAdamW call (per-variable learning rates and decay flags). */
export interface AdamWAttrs {
  lr: number[];
  decay: boolean[];
  gradScale: number;
  beta1: number;
  beta2: number;
  bc1: number;
  bc2: number;
  eps: number;
  weightDecay: number;
}

let wanted: boolean | undefined;

/** Turn the fused kernels on or off in this process (benchmarks and tests compare both); undefined = RRA_FUSED_KERNELS again. */
export function useFusedKernels(on: boolean | undefined): void {
  wanted = on;
}

/** Whether the fused kernels serve this process now (wasm backend with the native matMul on, RRA_FUSED_KERNELS not 0). */
export function fusedActive(): boolean {
  wanted ??= process.env.RRA_FUSED_KERNELS !== "0";
  if (!wanted || !nativeMatMulStatus().active || tf.getBackend() !== "wasm") return false;
  if (!registered) {
    const addon = nativeAddon() as unknown as Partial<RraFused> | null;
    if (!addon || typeof addon.layerNorm !== "function" || typeof addon.dense !== "function") return false; // an addon built before the fused kernels
    for (const [name, f] of Object.entries(KERNELS)) tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: f as unknown as tf.KernelFunc });
    registered = true;
  }
  return true;
}

/** One line for run records: what serves the fused ops. */
export function describeFused(): string {
  if (wanted === false || (wanted === undefined && process.env.RRA_FUSED_KERNELS === "0")) return "off (RRA_FUSED_KERNELS=0 or turned off)";
  return fusedActive() ? "native (rra-blas: dense, dense+GELU, layer norm, masked softmax, attention core, dropout, AdamW)" : "off (needs the wasm backend with the native matMul)";
}

/** Run a registered fused kernel. */
export function runFused(name: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown> = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out];
}

/** Sum of squares of every value of the tensors (float32 data on the wasm heap), accumulated in double. */
export function fusedSumSquares(tensors: readonly tf.Tensor[]): number {
  const backend = tf.backend() as unknown as WasmBackendLike;
  return (nativeAddon() as unknown as RraFused).sumSquares(tensors.filter((t) => t.size > 0).map((t) => backend.typedArrayFromHeap(t) as Float32Array));
}
