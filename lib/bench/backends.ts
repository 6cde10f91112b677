/**
 * Starting each bench backend, or saying why it cannot start. TensorFlow.js backends go through
 * tf.setBackend, which can fail quietly and leave the previous backend on, so tf.getBackend() is
 * checked after it (shared/notes/tfjs-on-this-machine.md, 3.4). On wasm the project's own kernels go in
 * as initBackend (lib/backend/tf.ts) puts them in for training: GatherV2, Identity and Slice
 * (wasm-kernels.ts) on both wasm rows, the OpenBLAS matMul and the fused training kernels (fused.ts) on
 * wasm+blas only. ONNX Runtime is only loaded here.
 */
import * as tf from "@tensorflow/tfjs";
import { describeFused } from "../backend/fused";
import { installGradientOverrides } from "../backend/gradients";
import { installNativeMatMul, uninstallNativeMatMul } from "../backend/native-matmul";
import { tryNative } from "../backend/tf";
import { installWasmKernels } from "../backend/wasm-kernels";
import { packageVersion } from "../core/provenance";
import { onnxRuntime } from "../export/runtime";
import type { BenchBackend } from "./config";

/** A backend that started, or the reason it did not (test with `"reason" in start`). */
export type BackendStart = { package: string; version: string; simd?: boolean; threads?: number; matMulKernel?: string } | { reason: string };

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

/** The fastest TensorFlow.js backend that started (the native kernel first), or undefined. */
export function bestTfjs(backends: ReadonlyArray<{ name: BenchBackend; available: boolean }>): BenchBackend | undefined {
  return (["wasm+blas", "tensorflow", "wasm", "cpu"] as const).find((n) => backends.some((b) => b.available && b.name === n));
}

/** Switch TensorFlow.js to `name` and check that it took; ONNX Runtime is only loaded. */
export async function startBackend(name: BenchBackend): Promise<BackendStart> {
  if (name === "onnxruntime") {
    if (!onnxRuntime()) return { reason: "onnxruntime-node does not load" };
    return { package: "onnxruntime-node", version: packageVersion("onnxruntime-node") ?? "unknown" };
  }
  const tfName = name === "wasm+blas" ? "wasm" : name;
  let pkg = `@tensorflow/tfjs-backend-${tfName}`;
  if (name === "tensorflow") {
    const r = tryNative();
    if ("why" in r) return { reason: `not installed: ${r.why}` };
    pkg = r.pkg;
  } else if (tfName === "wasm") {
    try {
      require("@tensorflow/tfjs-backend-wasm");
    } catch (e) {
      return { reason: `@tensorflow/tfjs-backend-wasm does not load: ${firstLine(e)}` };
    }
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
  } catch (e) {
    return { reason: `tf.setBackend(${JSON.stringify(tfName)}) threw: ${firstLine(e)}` };
  }
  if (!ok || tf.getBackend() !== tfName) return { reason: `tf.setBackend(${JSON.stringify(tfName)}) did not take (backend is ${tf.getBackend()})` };
  if (name !== "tensorflow") installGradientOverrides();
  const version = packageVersion(pkg) ?? "unknown";
  if (tfName !== "wasm") return { package: pkg, version };
  // the project's wasm kernels (GatherV2, Identity, Slice), as initBackend installs them for rra train: both wasm rows
  // measure what training runs, and differ only in the matMul
  installWasmKernels();
  let matMulKernel = "wasm (XNNPACK, 1 thread)";
  if (name === "wasm+blas") {
    const native = installNativeMatMul();
    if (!native.active) return { reason: `native matMul ${native.describe}` };
    // the fused training kernels (lib/backend/fused.ts) serve wherever the native matMul does
    matMulKernel = `${native.describe}; fused kernels ${describeFused()}`;
  } else {
    uninstallNativeMatMul();
  }
  return { package: pkg, version, simd: Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")), threads: 1, matMulKernel };
}

/** Put TensorFlow.js back on `name` (the backend before the bench) with the native matMul as initBackend leaves it; quietly keeps the current one if that fails. */
export async function restoreBackend(name: string | null): Promise<void> {
  if (name !== null && tf.getBackend() !== name) {
    try {
      await tf.setBackend(name);
    } catch {
      // the bench's last backend stays on; nothing to undo
    }
  }
  if (tf.getBackend() === "wasm") installNativeMatMul();
}
