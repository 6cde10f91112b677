/**
 * `rra pull`: a model folder from the Hugging Face hub into the standard cache (cache.ts), built on
 * @huggingface/hub for the hub's API (modelInfo: revision -> commit sha; listFiles: paths, sizes, git
 * and LFS hashes) and adding what it lacks: resumable downloads checked by size and hash
 * (download.ts), a progress bar, the token kept out of every message, HF_HUB_OFFLINE, and one clear
 * message with the manual route when the hub cannot be reached.
 * Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) for
 * gated models, HF_HUB_OFFLINE=1, HF_HOME / HF_HUB_CACHE for the cache.
 */
import { mkdirSync, existsSync, lstatSync, readlinkSync, rmSync, symlinkSync, writeFileSync, copyFileSync, statSync } from "fs";
import { dirname, join, relative } from "path";
import { listFiles, modelInfo, HubApiError } from "@huggingface/hub";
import { ConfigError, DataError, RraError } from "../core/errors";
import { createProgress } from "../core/progress";
import { cachedSnapshot, hubCacheDir, isCommitSha, placeByHandMessage, repoCacheDir, type RepoRef } from "./cache";
import { blobName, downloadBlob, expectedSize, HubHttpError, type RemoteFile } from "./download";

/** A pull that cannot go on: offline, unreachable, not allowed, not found. The message says what to do. */
export class HubError extends RraError {
  constructor(message: string, readonly kind: "offline" | "unreachable" | "auth" | "not-found" | "http") {
    super(message);
  }
}

/** Options of pullModel. */
export interface PullOptions {
  /** Cache folder; default hubCacheDir(). */
  cacheDir?: string;
  /** Hub URL; default $HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Token for gated models; default $HF_TOKEN / $HUGGING_FACE_HUB_TOKEN. Never stored or printed. */
  token?: string;
  /** Offline: only the cache; default $HF_HUB_OFFLINE = 1/true/yes/on. */
  offline?: boolean;
  /** Every file of the repository instead of config, one set of weights and the tokenizer files. */
  all?: boolean;
  /** No progress bar. */
  quiet?: boolean;
  /** fetch to use (tests); default the global fetch. */
  fetch?: typeof fetch;
}

/** What a pull did. */
export interface PullResult {
  repo: string;
  revision: string;
  sha: string;
  /** The snapshot folder: pass it wherever a model folder is expected. */
  dir: string;
  files: Array<{ path: string; bytes: number; status: "cached" | "downloaded" | "resumed" }>;
  /** True when nothing was asked of the hub (offline, or a cached commit sha). */
  fromCache: boolean;
}

const TOKENIZER_FILES = /^(vocab\.txt|vocab\.json|merges\.txt|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json)$/;

/** The files a model folder needs: config.json, the tokenizer files, and one set of weights (safetensors first). */
export function selectFiles(files: readonly RemoteFile[], all = false): RemoteFile[] {
  if (all) return files.slice();
  const has = (p: string): boolean => files.some((f) => f.path === p);
  const weights = has("model.safetensors") ? /^model\.safetensors$/
    : has("model.safetensors.index.json") ? /^model(\.safetensors\.index\.json|-\d+-of-\d+\.safetensors)$/
    : has("pytorch_model.bin") ? /^pytorch_model\.bin$/
    : /^pytorch_model(\.bin\.index\.json|-\d+-of-\d+\.bin)$/;
  return files.filter((f) => f.path === "config.json" || TOKENIZER_FILES.test(f.path) || weights.test(f.path));
}

function envOffline(): boolean {
  return /^(1|true|yes|on)$/i.test(process.env.HF_HUB_OFFLINE ?? "");
}

/** Pull `ref` into the cache (or find it there) and return its snapshot folder. */
export async function pullModel(ref: RepoRef, options: PullOptions = {}): Promise<PullResult> {
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
  const token = options.token ?? process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN;
  const offline = options.offline ?? envOffline();
  const doFetch = options.fetch ?? fetch;
  const cached = cachedSnapshot(ref, cacheDir);
  if (offline || (cached && isCommitSha(ref.revision))) {
    if (cached) return { repo: ref.repo, revision: ref.revision, sha: cached.split("/").pop() as string, dir: cached, files: [], fromCache: true };
    throw new HubError(`${ref.repo}@${ref.revision} is not in the cache ${cacheDir} and HF_HUB_OFFLINE is set, so the hub is not asked.\n${placeByHandMessage(ref, cacheDir)}`, "offline");
  }
  const origin = new URL(endpoint).origin;
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  // @huggingface/hub's requests get the token through this fetch, only for the hub's own origin
  const hubFetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url;
    const headers = new Headers(init?.headers);
    if (token && new URL(url).origin === origin) headers.set("Authorization", `Bearer ${token}`);
    return doFetch(input, { ...init, headers });
  }) as typeof fetch;
  const explain = (e: unknown): never => {
    const status = e instanceof HubApiError ? e.statusCode : e instanceof HubHttpError ? e.status : undefined;
    const tokenNote = token ? "HF_TOKEN is set, but this token has no access" : "HF_TOKEN is not set";
    if (status === 401 || status === 403) throw new HubError(`${ref.repo}: the hub refused access (HTTP ${status}). It is gated or private: accept its terms on https://huggingface.co/${ref.repo} and set HF_TOKEN to a token of that account (${tokenNote}).`, "auth");
    if (status === 404) throw new HubError(`${ref.repo}@${ref.revision}: not found on ${endpoint} (HTTP 404): check the name and the revision.`, "not-found");
    if (e instanceof HubHttpError && e.network === "broken") throw new HubError(`${ref.repo}: ${e.message}`, "http");
    const network = status === 0 || (e instanceof TypeError && /fetch failed/.test(e.message));
    if (network) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new HubError(`cannot reach ${endpoint} (${cause}).\n${placeByHandMessage(ref, cacheDir)}`, "unreachable");
    }
    if (e instanceof RraError) throw e;
    throw new HubError(`${ref.repo}: ${(e as Error).message.replace(token ?? "\u0000", "<HF_TOKEN>")}`, "http");
  };
  let sha: string;
  let remote: RemoteFile[];
  try {
    const info = await modelInfo({ name: ref.repo, revision: ref.revision, additionalFields: ["sha"], hubUrl: endpoint, fetch: hubFetch });
    sha = String((info as { sha?: unknown }).sha ?? "");
    if (!isCommitSha(sha)) throw new HubError(`${ref.repo}@${ref.revision}: the hub answered without a commit sha`, "http");
    remote = [];
    for await (const e of listFiles({ repo: { type: "model", name: ref.repo }, revision: sha, recursive: true, hubUrl: endpoint, fetch: hubFetch })) {
      if (e.type === "file") remote.push({ path: e.path, size: e.size, oid: String(e.oid ?? ""), lfs: e.lfs ? { oid: e.lfs.oid, size: e.lfs.size } : undefined });
    }
  } catch (e) {
    return explain(e);
  }
  const wanted = selectFiles(remote, options.all);
  if (!wanted.some((f) => f.path === "config.json")) throw new DataError({ file: `${ref.repo}@${sha}`, field: "files" }, "a config.json (a transformers model folder)", remote.map((f) => f.path).slice(0, 10).join(", ") || "no files");
  for (const f of wanted) {
    if (f.path.split("/").some((p) => p === ".." || p === "") || f.path.startsWith("/")) throw new DataError({ file: `${ref.repo}@${sha}`, field: "files" }, "relative file paths", JSON.stringify(f.path));
  }
  const root = repoCacheDir(ref.repo, cacheDir);
  const snapshot = join(root, "snapshots", sha);
  mkdirSync(join(root, "blobs"), { recursive: true });
  const total = wanted.reduce((n, f) => n + expectedSize(f), 0);
  const progress = createProgress({ label: `pull ${ref.repo}`, total: Math.ceil(total / 1024), unit: "KiB", quiet: options.quiet });
  const files: PullResult["files"] = [];
  let done = 0, shown = 0;
  const advance = (bytes: number, status: string): void => {
    done += bytes;
    const k = Math.floor(done / 1024);
    progress.tick(k - shown, status);
    shown = k;
  };
  for (const f of wanted) {
    const blob = join(root, "blobs", blobName(f));
    let status: "cached" | "downloaded" | "resumed" = "cached";
    if (!existsSync(blob) || statSync(blob).size !== expectedSize(f)) {
      const url = `${endpoint}/${ref.repo}/resolve/${sha}/${f.path.split("/").map(encodeURIComponent).join("/")}`;
      try {
        const r = await downloadBlob(f, blob, { url, headers: auth, fetch: doFetch, onBytes: (n) => advance(n, f.path) });
        status = r.resumedFrom > 0 ? "resumed" : "downloaded";
        advance(r.resumedFrom, f.path);
      } catch (e) {
        if (e instanceof DataError) throw e;
        return explain(e);
      }
    } else {
      advance(expectedSize(f), `${f.path} (cached)`);
    }
    link(blob, join(snapshot, f.path));
    files.push({ path: f.path, bytes: expectedSize(f), status });
  }
  progress.done(`${files.filter((f) => f.status !== "cached").length} downloaded, ${files.filter((f) => f.status === "cached").length} cached`);
  if (!isCommitSha(ref.revision)) {
    mkdirSync(join(root, "refs"), { recursive: true });
    writeFileSync(join(root, "refs", ref.revision), sha);
  }
  return { repo: ref.repo, revision: ref.revision, sha, dir: snapshot, files, fromCache: false };
}

/** snapshots/<sha>/<path> -> ../../blobs/<etag> (relative symlink, as huggingface_hub; a copy where links fail). */
function link(blob: string, file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const target = relative(dirname(file), blob);
  if (existsSync(file) || isLink(file)) {
    if (isLink(file) && readlinkSync(file) === target) return;
    rmSync(file, { force: true });
  }
  try {
    symlinkSync(target, file);
  } catch {
    copyFileSync(blob, file);
  }
}

function isLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A configuration problem of a model reference, for callers that accept folders too. */
export function notAFolder(ref: string): ConfigError {
  return new ConfigError(`${JSON.stringify(ref)} is neither a model folder (with config.json) nor a hub reference hf:ORG/NAME[@REVISION]`);
}
