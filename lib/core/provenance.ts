/** What every stored run records about where it came from: versions, git commit, machine. */
import { execFileSync } from "child_process";
import { cpus, totalmem } from "os";
import { projectRoot } from "./paths";

/** Versions of the runtime and of the packages whose numbers can change results. */
export interface Provenance {
  node: string;
  packages: Record<string, string>;
  gitSha: string | null;
  /** True when the work tree had uncommitted changes. */
  gitDirty: boolean | null;
  cpus: number;
  memoryGiB: number;
}

const PACKAGES = ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "onnxruntime-node", "protobufjs", "@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu", "danfojs-node", "kysely", "better-sqlite3", "tslab", "plotly.js-dist-min", "playwright-core"];

/** Version of an installed package whose package.json names itself `pkg` (an npm alias is not it), else undefined. */
export function packageVersion(pkg: string): string | undefined {
  try {
    const p = require(`${pkg}/package.json`) as { name: string; version: string };
    return p.name === pkg ? p.version : undefined; // danfo's alias of tfjs-node is not tfjs-node
  } catch {
    return undefined;
  }
}

function git(args: string[]): string | null {
  try {
    return execFileSync("git", args, { cwd: projectRoot(), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

let cached: Provenance | undefined;

/** Collect provenance once per process. */
export function provenance(): Provenance {
  if (cached) return cached;
  const packages: Record<string, string> = {};
  for (const p of PACKAGES) {
    const v = packageVersion(p);
    if (v) packages[p] = v;
  }
  const status = git(["status", "--porcelain", "--untracked-files=no"]);
  cached = {
    node: process.version,
    packages,
    gitSha: git(["rev-parse", "HEAD"]),
    gitDirty: status === null ? null : status !== "",
    cpus: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
  return cached;
}
