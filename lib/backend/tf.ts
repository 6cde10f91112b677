/**
 * TensorFlow.js backend selection. Best available first:
 *   tensorflow (native libtensorflow through @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node)
 *   -> wasm (SIMD; one thread in Node) -> cpu (pure JS, slow; a correctness reference).
 * `RRA_BACKEND=tensorflow|wasm|cpu` (or `initBackend({backend})`) forces one and fails loudly when it
 * cannot start. The choice is printed on stderr once and kept for run records (`backendInfo()`).
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, RraError, show } from "../core/errors";
import { packageVersion } from "../core/provenance";
import { installGradientOverrides } from "./gradients";
import { describeFused } from "./fused";
import { installNativeMatMul, nativeMatMulStatus } from "./native-matmul";
import { installWasmKernels } from "./wasm-kernels";

/** A TensorFlow.js backend the workbench can run on. */
export type BackendName = "tensorflow" | "wasm" | "cpu";
/** Preference order when nothing is forced. */
export const BACKEND_ORDER: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

/** What was chosen and why: stored with every run. */
export interface BackendInfo {
  name: BackendName;
  /** The npm package that provides it. */
  package: string;
  /** Version of that package. */
  version: string;
  /** wasm: whether SIMD is on; wasm threads are off in Node (tfjs turns them off). */
  simd?: boolean;
  threads?: number;
  /** wasm: the matMul kernel, "OpenBLAS sgemm (native/rra-blas, N threads)" or "wasm (XNNPACK)" and why (native-matmul.ts). */
  matMul?: string;
  /** wasm: the fused training kernels (lib/backend/fused.ts), "native (...)" or why they are off. */
  fused?: string;
  /** `forced by RRA_BACKEND`, or `best available`. */
  reason: string;
  /** Backends tried before this one, with why each was not used. */
  skipped: Array<{ name: BackendName; why: string }>;
}

/**
 * tfjs-backend-cpu prints a one-time banner through console.warn on its first tensor in Node ("Hi, looks like
 * you are running TensorFlow.js in Node.js ... install our node backend"): the backend here is chosen on
 * purpose (above; environment.md), and in a notebook the banner shows as a red stderr block that reads like
 * an error. That one message is dropped; every other console.warn passes unchanged.
 */
export const TFJS_NODE_BANNER = "looks like you are running TensorFlow.js in Node.js";
const BANNER_FILTER = Symbol.for("rra.tfjsBannerFilter");
if (!(console.warn as unknown as Record<symbol, boolean>)[BANNER_FILTER]) {
  const warn = console.warn.bind(console);
  const filtered = (...args: unknown[]): void => {
    if (typeof args[0] === "string" && args[0].includes(TFJS_NODE_BANNER)) return;
    warn(...args);
  };
  (filtered as unknown as Record<symbol, boolean>)[BANNER_FILTER] = true;
  console.warn = filtered;
}

const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;
let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

/** Load a native tfjs package if it is really installed (not danfo's alias of @tensorflow/tfjs) and loads. */
export function tryNative(): { pkg: string } | { why: string } {
  const whys: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    let realName: string;
    try {
      realName = (require(`${pkg}/package.json`) as { name: string }).name;
    } catch {
      whys.push(`${pkg} not installed`);
      continue;
    }
    if (realName !== pkg) {
      whys.push(`${pkg} is an alias of ${realName}, not the native binding`);
      continue;
    }
    try {
      require(pkg);
      return { pkg };
    } catch (e) {
      whys.push(`${pkg} failed to load: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return { why: whys.join("; ") };
}

async function start(name: BackendName): Promise<Omit<BackendInfo, "reason" | "skipped"> | string> {
  if (name === "tensorflow") {
    const r = tryNative();
    if ("why" in r) return r.why;
    if (!(await tf.setBackend("tensorflow")) || tf.getBackend() !== "tensorflow") return `${r.pkg} loaded but tf.setBackend("tensorflow") did not take`;
    return { name, package: r.pkg, version: packageVersion(r.pkg) ?? "unknown" };
  }
  if (name === "wasm") {
    try {
      require("@tensorflow/tfjs-backend-wasm");
    } catch (e) {
      return `@tensorflow/tfjs-backend-wasm failed to load: ${(e as Error).message}`;
    }
    // setBackend can fail quietly and leave the previous backend active: check both.
    const ok = await tf.setBackend("wasm");
    if (!ok || tf.getBackend() !== "wasm") return `tf.setBackend("wasm") did not take (backend is ${tf.getBackend()})`;
    const simd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
    installWasmKernels();
    const native = installNativeMatMul();
    const matMul = native.active ? native.describe : `wasm (XNNPACK, 1 thread); native ${native.describe}`;
    return { name, package: "@tensorflow/tfjs-backend-wasm", version: packageVersion("@tensorflow/tfjs-backend-wasm") ?? "unknown", simd, threads: 1, matMul, fused: describeFused() };
  }
  if (!(await tf.setBackend("cpu")) || tf.getBackend() !== "cpu") return `tf.setBackend("cpu") did not take`;
  return { name, package: "@tensorflow/tfjs-backend-cpu", version: packageVersion("@tensorflow/tfjs-backend-cpu") ?? "unknown" };
}

/** Options of `initBackend`. */
export interface InitBackendOptions {
  /** Force a backend; default `RRA_BACKEND` or the best available. */
  backend?: string;
  /** Do not print the choice. */
  quiet?: boolean;
}

/** Parse a backend name from a flag or the environment. */
export function parseBackendName(value: string, source: string): BackendName {
  if ((BACKEND_ORDER as readonly string[]).includes(value)) return value as BackendName;
  throw new ConfigError(`${source}: unknown backend ${show(value)}; expected one of ${BACKEND_ORDER.join(", ")}`);
}

/**
 * Choose, start and report the backend (once per process; later calls return the same choice, and
 * re-install the gradient overrides if a later tfjs load replaced them).
 */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  return startOnce(options).then((info) => {
    if (info.name !== "tensorflow") installGradientOverrides();
    return info;
  });
}

function startOnce(options: InitBackendOptions): Promise<BackendInfo> {
  pending ??= (async () => {
    const forcedRaw = options.backend ?? (process.env.RRA_BACKEND || undefined);
    const forced = forcedRaw === undefined ? undefined : parseBackendName(forcedRaw, options.backend !== undefined ? "backend option" : "RRA_BACKEND");
    const skipped: BackendInfo["skipped"] = [];
    for (const name of forced ? [forced] : BACKEND_ORDER) {
      const r = await start(name);
      if (typeof r === "string") {
        if (forced) throw new RraError(`backend ${name} was forced (${options.backend !== undefined ? "backend option" : `RRA_BACKEND=${forcedRaw}`}) but cannot start: ${r}. See environment.md, "Backends".`);
        skipped.push({ name, why: r });
        continue;
      }
      current = { ...r, reason: forced ? "forced by RRA_BACKEND" : "best available", skipped };
      if (!options.quiet) process.stderr.write(`[rra] TensorFlow.js backend: ${describeBackend(current)}\n`);
      return current;
    }
    throw new RraError(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.why}`).join("; ")}`);
  })();
  pending.catch(() => { pending = undefined; });
  return pending;
}

/** The chosen backend, or undefined before `initBackend` has finished (the matMul line as it is now: its thread count can change). */
export function backendInfo(): BackendInfo | undefined {
  if (current?.name === "wasm" && nativeMatMulStatus().active) return { ...current, matMul: nativeMatMulStatus().describe };
  return current;
}

/** One line for logs: `wasm (SIMD, 1 thread; @tensorflow/tfjs-backend-wasm 4.22.0)`. */
export function describeBackend(b: BackendInfo): string {
  const extra = b.name === "wasm" ? `${b.simd ? "SIMD" : "no SIMD"}, ${b.threads} thread, matMul ${b.matMul ?? "wasm"}, fused kernels ${b.fused ?? "off"}, ` : "";
  const why = b.skipped.length ? `; skipped ${b.skipped.map((s) => `${s.name} (${s.why})`).join(", ")}` : "";
  return `${b.name} (${extra}${b.package} ${b.version}, ${b.reason}${why})`;
}
