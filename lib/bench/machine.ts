/**
 * Machine facts and versions for a bench record. The git commit is read from .git's files (HEAD, the
 * ref it names, packed-refs) rather than by running git, which may take the index lock while another
 * process works in the same checkout.
 */
import { existsSync, readFileSync } from "fs";
import { cpus, loadavg, release, totalmem } from "os";
import { join } from "path";
import { projectRoot } from "../core/paths";
import { packageVersion } from "../core/provenance";
import type { MachineFacts } from "./types";

const VERSIONED = ["@tensorflow/tfjs", "@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-cpu", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu", "onnxruntime-node"];

/** CPU model, cores, memory, OS, node and the current load (loadavgEnd is filled by the caller later). */
export function machineFacts(): MachineFacts {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model?.trim() || "unknown", cores: cpu.length, memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${release()} ${process.arch}`, node: process.version, loadavgStart: loadavg(), loadavgEnd: loadavg(),
  };
}

/** node and the versions of the installed tfjs / ONNX Runtime packages (aliases left out). */
export function benchVersions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  for (const p of VERSIONED) {
    const v = packageVersion(p);
    if (v) out[p] = v;
  }
  return out;
}

/** The checked-out commit, read from .git without running git; null when it cannot be read. */
export function readGitSha(root: string = projectRoot()): string | null {
  try {
    const git = join(root, ".git");
    if (!existsSync(join(git, "HEAD"))) return null;
    const head = readFileSync(join(git, "HEAD"), "utf8").trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) return null;
    if (existsSync(join(git, ref))) return readFileSync(join(git, ref), "utf8").trim() || null;
    const packed = existsSync(join(git, "packed-refs")) ? readFileSync(join(git, "packed-refs"), "utf8") : "";
    return packed.split("\n").map((l) => l.split(" ")).find(([, name]) => name === ref)?.[0] ?? null;
  } catch {
    return null;
  }
}
