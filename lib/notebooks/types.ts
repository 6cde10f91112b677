/**
 * The declarations notebooks are type-checked against. tslab type-checks and compiles, with its own
 * TypeScript 5.0, every local .ts file a cell imports: `import * as rra from "./lib/index"` made it check
 * and compile all of lib/ (about 230 files) in every new kernel, 14-28 s before the first cell finished.
 * Notebooks import `./lib/notebook` instead: lib/notebook.d.ts re-exports declarations of lib/ written
 * here into lib/.notebook-types/ (by tslab's own TypeScript, so tslab reads them as it read lib/), and
 * lib/notebook.js runs lib/index.ts through tsx, as the rra command does. tslab then reads declarations
 * only and compiles nothing of lib/.
 *
 * The declarations are rewritten whenever lib/ changed: a hash of lib/'s sources, the compiler settings and
 * package-lock.json is kept beside them (`.stamp.json`), and `ensureNotebookTypes` compares it. Writing
 * them takes 10-30 s (incremental after the first time); `rra notebooks run`, `npm run notebook` and
 * lib/notebook.js itself call it, so they are never stale when a kernel starts from those.
 */
import { spawnSync } from "child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from "fs";
import { join, relative } from "path";
import { RraError } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { sha256 } from "../core/hash";
import { projectRoot } from "../core/paths";
import { alive } from "../core/process";

/** Folder of the generated declarations, relative to the project root (gitignored). */
export const NOTEBOOK_TYPES_DIR = join("lib", ".notebook-types");
/** Inputs besides lib/'s sources that shape the declarations. */
const SETTINGS_FILES = ["tsconfig.tslab.json", "package-lock.json"];
/** How long `ensureNotebookTypes` waits for another process writing the same declarations, in ms. */
const LOCK_WAIT_MS = 180_000;

/** What `.stamp.json` records about the declarations next to it. */
export interface NotebookTypesStamp {
  /** `libSourcesHash` of the sources they were written from. */
  hash: string;
  /** tslab's TypeScript version that wrote them. */
  typescript: string;
  /** ISO time written. */
  written: string;
  /** Type errors tsc reported in lib/ (first lines); the declarations are written anyway. */
  errors: string[];
}

/** Whether the declarations match lib/ as it is now. */
export interface NotebookTypesStatus {
  fresh: boolean;
  /** Why not fresh: "not written yet" or "lib/ changed since they were written". */
  reason: string;
  stamp: NotebookTypesStamp | null;
}

/** What `ensureNotebookTypes` did. */
export interface EnsureNotebookTypesResult {
  written: boolean;
  seconds: number;
  status: NotebookTypesStatus;
  errors: string[];
}

/** The .ts (not .d.ts) and .json files under `dir`, skipping folders whose name starts with a dot. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    if (name.startsWith(".")) return [];
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return (name.endsWith(".ts") && !name.endsWith(".d.ts")) || name.endsWith(".json") ? [p] : [];
  });
}

function tslabTypescript(root: string): { version: string; tsc: string } {
  const dir = join(root, "node_modules", "@tslab", "typescript-for-tslab");
  const pkg = join(dir, "package.json");
  if (!existsSync(pkg)) throw new RraError(`notebook types: tslab's TypeScript is not installed (no ${pkg}); run npm ci`);
  return { version: (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version, tsc: join(dir, "bin", "tsc") };
}

/** Hash of everything the declarations depend on: lib/'s sources, the compiler settings, the lock file, tslab's TypeScript. */
export function libSourcesHash(root: string = projectRoot()): string {
  const parts: string[] = [`typescript ${tslabTypescript(root).version}`];
  for (const file of [...SETTINGS_FILES.map((f) => join(root, f)), ...sourceFiles(join(root, "lib"))]) {
    parts.push(relative(root, file), existsSync(file) ? sha256(readFileSync(file)) : "missing");
  }
  return sha256(parts.join("\n"));
}

function stampFile(root: string): string {
  return join(root, NOTEBOOK_TYPES_DIR, ".stamp.json");
}

function readStamp(root: string): NotebookTypesStamp | null {
  try {
    const s = JSON.parse(readFileSync(stampFile(root), "utf8")) as NotebookTypesStamp;
    return typeof s.hash === "string" && Array.isArray(s.errors) ? s : null;
  } catch {
    return null;
  }
}

/** Compare the stored hash with lib/ as it is now (cheap: reads and hashes about 1 MB). */
export function notebookTypesStatus(root: string = projectRoot()): NotebookTypesStatus {
  const stamp = readStamp(root);
  if (!stamp || !existsSync(join(root, NOTEBOOK_TYPES_DIR, "index.d.ts"))) return { fresh: false, reason: "not written yet", stamp: null };
  if (stamp.hash !== libSourcesHash(root)) return { fresh: false, reason: "lib/ changed since they were written", stamp };
  return { fresh: true, reason: "", stamp };
}

/**
 * Write the declarations of lib/ with tslab's TypeScript (incremental: only what changed is rewritten
 * after the first time) and the stamp. Type errors in lib/ do not stop it (they are returned and
 * stamped); a compiler that writes nothing throws, with its output.
 */
export function writeNotebookTypes(root: string = projectRoot()): { seconds: number; errors: string[] } {
  const t0 = Date.now();
  const ts = tslabTypescript(root);
  const hash = libSourcesHash(root);
  const out = join(root, NOTEBOOK_TYPES_DIR);
  // An incremental build trusts its .tsbuildinfo and would not rewrite declarations someone deleted.
  if (!existsSync(join(out, "index.d.ts"))) rmSync(out, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [
    ts.tsc, "-p", join(root, "tsconfig.tslab.json"), "--pretty", "false",
    "--noEmit", "false", "--declaration", "--emitDeclarationOnly", "--rootDir", join(root, "lib"), "--outDir", out,
    "--incremental", "--tsBuildInfoFile", join(out, ".tsbuildinfo"),
  ], { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const lines = `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n").filter((l) => l.trim() !== "");
  // tsc exits 0 (clean), 2 (errors, declarations written) or 1 (errors, nothing written).
  if (r.error || (r.status !== 0 && r.status !== 2) || !existsSync(join(out, "index.d.ts"))) {
    throw new RraError(`notebook types: ${ts.tsc} did not write ${join(out, "index.d.ts")} (${r.error?.message ?? `exit ${r.status ?? r.signal}`}): ${lines.slice(0, 10).join("\n")}`);
  }
  const errors = lines.filter((l) => / error TS\d+:/.test(l)).slice(0, 10);
  const stamp: NotebookTypesStamp = { hash, typescript: ts.version, written: new Date().toISOString(), errors };
  writeFileAtomic(stampFile(root), JSON.stringify(stamp, null, 1) + "\n");
  return { seconds: (Date.now() - t0) / 1000, errors };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}


/** Hold `<dir>.lock` while `fn` runs, so that two kernels started together do not write the same files at once. */
function withLock<T>(root: string, fn: () => T): T {
  const lock = join(root, `${NOTEBOOK_TYPES_DIR}.lock`);
  mkdirSync(join(root, "lib"), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number(readFileSync(lock, "utf8").trim());
      if (!(Number.isInteger(holder) && holder > 0 && alive(holder))) {
        rmSync(lock, { force: true }); // left behind by a killed process
        continue;
      }
      if (Date.now() > deadline) throw new RraError(`notebook types: ${lock} has been held by process ${holder} for over ${LOCK_WAIT_MS / 1000} s; remove it if that process is not writing them`);
      sleepSync(200);
    }
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // already gone
    }
  }
}

/**
 * Rewrite the declarations when lib/ changed (or `force`), saying so through `log`; when they are fresh
 * this only hashes lib/ (milliseconds). Type errors in lib/ are logged, never thrown.
 */
export function ensureNotebookTypes(options: { root?: string; force?: boolean; log?: (line: string) => void } = {}): EnsureNotebookTypesResult {
  const { root = projectRoot(), force = false, log = () => undefined } = options;
  let status = notebookTypesStatus(root);
  if (status.fresh && !force) return { written: false, seconds: 0, status, errors: status.stamp?.errors ?? [] };
  return withLock(root, () => {
    status = notebookTypesStatus(root); // another process may have written them while we waited
    if (status.fresh && !force) return { written: false, seconds: 0, status, errors: status.stamp?.errors ?? [] };
    log(`notebook types: ${force ? "rewriting them" : `${status.reason}; writing them`} (${NOTEBOOK_TYPES_DIR}, with tslab's TypeScript; 10-30 s, once per change of lib/)`);
    const { seconds, errors } = writeNotebookTypes(root);
    log(`notebook types: written in ${seconds.toFixed(1)} s` + (errors.length ? `; lib/ has type errors (npm run typecheck):\n  ${errors.join("\n  ")}` : ""));
    return { written: true, seconds, status, errors };
  });
}
