/**
 * A model argument as a folder: "DIR" (any folder with a config.json) or "hf:ORG/NAME[@REVISION]" (the
 * Hugging Face cache's snapshot, pulled first when it is not there and the hub may be asked).
 */
import { existsSync } from "fs";
import { join } from "path";
import { cachedSnapshot, parseRepoRef } from "./cache";
import { notAFolder, pullModel, type PullOptions } from "./pull";

/** Where a model folder came from. */
export interface ModelSource {
  kind: "folder" | "hub";
  /** The folder to read. */
  dir: string;
  repo?: string;
  revision?: string;
  /** Commit sha of a hub snapshot. */
  sha?: string;
}

/** True for "hf:ORG/NAME[@REVISION]". */
export function isHubRef(ref: string): boolean {
  return ref.startsWith("hf:");
}

/** Resolve a model argument to a folder (see the module comment); `pull: false` never asks the hub. */
export async function resolveModelDir(ref: string, options: PullOptions & { pull?: boolean } = {}): Promise<ModelSource> {
  if (isHubRef(ref)) {
    const r = parseRepoRef(ref);
    const cached = cachedSnapshot(r, options.cacheDir);
    if (cached) return { kind: "hub", dir: cached, repo: r.repo, revision: r.revision, sha: cached.split("/").pop() };
    if (options.pull === false) throw notAFolder(ref);
    const pulled = await pullModel(r, options);
    return { kind: "hub", dir: pulled.dir, repo: r.repo, revision: r.revision, sha: pulled.sha };
  }
  if (existsSync(join(ref, "config.json"))) return { kind: "folder", dir: ref };
  throw notAFolder(ref);
}
