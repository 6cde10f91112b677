/**
 * Three wasm kernels replaced by cheaper ones (installed by initBackend on wasm; notes/speed.md):
 *   GatherV2  embedding lookups copy rows of a float32 [V, H] table with typed-array views of the wasm
 *             heap instead of the stock per-element strided gather (3.7 ms against about 0.3 ms for 2048
 *             ids into an [8000, 64] table). Only axis 0, batchDims 0, a rank-2 float32 table and int32 ids
 *             take this path; anything else goes to the stock kernel. Out-of-range ids fail with the
 *             stock kernel's message.
 *   Slice     copies runs of contiguous values from a view of the heap; the stock kernel first reads the
 *             whole input out of the heap (readSync), so 36 slices of a 625k-float buffer took 57 ms, not
 *             ~1, and the [CLS] row of a [32, 64, 256] hidden state ~1.8 ms. String slices go to the stock kernel.
 *   Identity  shares the input's data (a reference count, as Reshape and the cpu backend's Identity do)
 *             instead of copying it. tfjs clones every tensor an op saves for its gradient, so a tiny
 *             training step ran ~300 copying Identity calls (13 ms); tensors are immutable and variables
 *             are assigned by swapping their data, so sharing is safe.
 */
import * as tf from "@tensorflow/tfjs";
import type { WasmBackendLike } from "./native-matmul";


let stock: tf.KernelConfig | undefined;
let stockIdentity: tf.KernelConfig | undefined;
let stockSlice: tf.KernelConfig | undefined;

function fastSlice(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { begin, size } = (args.attrs ?? {}) as { begin: number | number[]; size: number | number[] };
  const [b, n] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  if (x.dtype === "string" || x.dtype === "complex64") return (stockSlice as tf.KernelConfig).kernelFunc(args as Parameters<tf.KernelFunc>[0]);
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput(n, x.dtype);
  const count = n.reduce((p, q) => p * q, 1);
  if (count === 0) return out;
  const rank = x.shape.length;
  if (rank === 0) {
    (backend.typedArrayFromHeap(out) as Float32Array).set(backend.typedArrayFromHeap(x) as Float32Array);
    return out;
  }
  // Copy runs of contiguous values: dims k+1.. are taken whole, so one run is n[k] * (the size of those dims).
  // A contiguous slice is one run; the [CLS] row of [B, T, H] is B runs of H.
  let k = rank - 1;
  while (k > 0 && b[k] === 0 && n[k] === x.shape[k]) k--;
  const strides = [...tf.util.computeStrides(x.shape), 1];
  const run = n[k] * strides[k];
  // views after makeOutput: allocating may grow (and so replace) the wasm memory buffer
  const src = backend.typedArrayFromHeap(x) as Float32Array, dst = backend.typedArrayFromHeap(out) as Float32Array;
  const index = new Array<number>(k).fill(0); // position in the outer dims 0..k-1 of the slice
  for (let o = 0; o < count; o += run) {
    let from = b[k] * strides[k];
    for (let d = 0; d < k; d++) from += (b[d] + index[d]) * strides[d];
    dst.set(src.subarray(from, from + run), o);
    for (let d = k - 1; d >= 0 && ++index[d] === n[d]; d--) index[d] = 0;
  }
  return out;
}
let installed = false;

interface RefCounting { incRef(dataId: tf.DataId): void }

function sharedIdentity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === "string") return (stockIdentity as tf.KernelConfig).kernelFunc(args as Parameters<tf.KernelFunc>[0]);
  (args.backend as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function fastGather(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo | tf.TensorInfo[] {
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { axis, batchDims } = (args.attrs ?? {}) as { axis: number; batchDims: number };
  const rows = x.shape[0], width = x.shape[1];
  if (x.dtype !== "float32" || indices.dtype !== "int32" || x.shape.length !== 2 || (batchDims ?? 0) !== 0 || tf.util.parseAxisParam(axis, x.shape)[0] !== 0 || rows * width === 0) {
    return (stock as tf.KernelConfig).kernelFunc(args as Parameters<tf.KernelFunc>[0]);
  }
  const backend = args.backend as WasmBackendLike;
  const n = indices.shape.reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([...indices.shape, width], "float32");
  // views after makeOutput: allocating may grow (and so replace) the wasm memory buffer
  const table = backend.typedArrayFromHeap(x) as Float32Array, ids = backend.typedArrayFromHeap(indices) as Int32Array, o = backend.typedArrayFromHeap(out) as Float32Array;
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < rows)) throw new Error(`GatherV2: the index value ${id} is not in [0, ${rows - 1}]`);
    o.set(table.subarray(id * width, id * width + width), i * width);
  }
  return out;
}

/** Register the two kernels for the wasm backend (once). RRA_FAST_KERNELS=0 keeps the stock ones. */
export function installWasmKernels(): boolean {
  if (installed) return true;
  if (tf.getBackend() !== "wasm" || process.env.RRA_FAST_KERNELS === "0") return false;
  stock = tf.getKernel("GatherV2", "wasm");
  stockIdentity = tf.getKernel("Identity", "wasm");
  stockSlice = tf.getKernel("Slice", "wasm");
  if (!stock || !stockIdentity || !stockSlice) return false;
  tf.unregisterKernel("Slice", "wasm");
  tf.registerKernel({ kernelName: "Slice", backendName: "wasm", kernelFunc: fastSlice as unknown as tf.KernelFunc });
  tf.unregisterKernel("GatherV2", "wasm");
  tf.registerKernel({ kernelName: "GatherV2", backendName: "wasm", kernelFunc: fastGather as unknown as tf.KernelFunc });
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel({ kernelName: "Identity", backendName: "wasm", kernelFunc: sharedIdentity as unknown as tf.KernelFunc });
  installed = true;
  return true;
}

/** Put the stock kernels back (benchmarks and tests compare both). */
export function uninstallWasmKernels(): void {
  if (!installed || !stock || !stockIdentity || !stockSlice) return;
  tf.unregisterKernel("Slice", "wasm");
  tf.registerKernel(stockSlice);
  tf.unregisterKernel("GatherV2", "wasm");
  tf.registerKernel(stock);
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel(stockIdentity);
  installed = false;
}
