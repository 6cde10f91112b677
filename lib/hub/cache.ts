/**
 * The Hugging Face hub cache, as huggingface_hub and @huggingface/hub lay it out:
 *   $HF_HUB_CACHE (default $HF_HOME/hub, HF_HOME default ~/.cache/huggingface)
 *     models--ORG--NAME/
 *       blobs/<etag>                      file contents (etag: sha256 of an LFS file, git sha1 otherwise)
 *       blobs/<etag>.incomplete           a download in progress (resumed by rra pull)
 *       refs/<revision>                   the commit sha a branch or tag pointed at when pulled
 *       snapshots/<sha>/<path>            relative symlinks into blobs/
 * and model references: "ORG/NAME[@REVISION]" (a hub repository) and "hf:ORG/NAME[@REVISION]" (the same,
 * where a folder path is also accepted). Nothing here touches the network.
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { getHFHubCachePath, getRepoFolderName } from "@huggingface/hub";
import { ConfigError, show } from "../core/errors";

/** A hub model reference. */
export interface RepoRef {
  /** "ORG/NAME" (or "NAME" for the few top-level models such as "gpt2"). */
  repo: string;
  /** Branch, tag or commit sha. Default "main". */
  revision: string;
}

const NAME = /^[A-Za-z0-9][\w.-]*$/;

/** Parse "ORG/NAME[@REVISION]" (an optional "hf:" prefix is dropped). */
export function parseRepoRef(ref: string): RepoRef {
  const s = ref.startsWith("hf:") ? ref.slice(3) : ref;
  const at = s.indexOf("@");
  const repo = at < 0 ? s : s.slice(0, at);
  const revision = at < 0 ? "main" : s.slice(at + 1);
  const parts = repo.split("/");
  if (parts.length > 2 || !parts.every((p) => NAME.test(p)) || parts.some((p) => p === "." || p === "..")) {
    throw new ConfigError(`model reference ${show(ref)}: expected ORG/NAME[@REVISION] as on the Hugging Face hub (e.g. google/bert_uncased_L-4_H-256_A-4, gpt2@main)`);
  }
  if (revision === "" || /[\s]|\.\./.test(revision)) throw new ConfigError(`model reference ${show(ref)}: the revision after "@" must be a branch, tag or commit sha, got ${show(revision)}`);
  return { repo, revision };
}

/** The hub cache folder ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub). */
export function hubCacheDir(): string {
  return getHFHubCachePath();
}

/** `<cache>/models--ORG--NAME`. */
export function repoCacheDir(repo: string, cacheDir = hubCacheDir()): string {
  return join(cacheDir, getRepoFolderName({ name: repo, type: "model" }));
}

/** A full commit sha (40 hex digits). */
export function isCommitSha(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** The cached snapshot folder of a reference (a commit sha, or a branch / tag through refs/), or null. */
export function cachedSnapshot(ref: RepoRef, cacheDir = hubCacheDir()): string | null {
  const root = repoCacheDir(ref.repo, cacheDir);
  let sha = ref.revision;
  if (!isCommitSha(sha)) {
    const refFile = join(root, "refs", ref.revision);
    if (!existsSync(refFile)) return null;
    sha = readFileSync(refFile, "utf8").trim();
  }
  const dir = join(root, "snapshots", sha);
  return existsSync(join(dir, "config.json")) ? dir : null;
}

/** How to use a model without network: the "place the files by hand" instructions. */
export function placeByHandMessage(ref: RepoRef, cacheDir = hubCacheDir()): string {
  const root = repoCacheDir(ref.repo, cacheDir);
  return [
    `To use ${ref.repo} without network, place its files by hand:`,
    `  1. on a machine with internet, download from https://huggingface.co/${ref.repo}/tree/${ref.revision}: config.json, the weights`,
    `     (model.safetensors, or pytorch_model.bin, or all shards with their *.index.json) and the tokenizer files`,
    `     (vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json; GPT-2: vocab.json and merges.txt);`,
    `  2. either put them in a folder of your own (e.g. models/${ref.repo.split("/").pop()}) and pass that folder instead of the hub name,`,
    `     or into the cache: ${join(root, "snapshots", "<name>")}/ plus a file ${join(root, "refs", ref.revision)} containing <name>;`,
    `     then hf:${ref.repo}${ref.revision === "main" ? "" : `@${ref.revision}`} works offline (HF_HUB_OFFLINE=1).`,
  ].join("\n");
}
