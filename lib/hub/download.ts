/**
 * One file from the hub into the cache's blobs/: resumable (an existing `<blob>.incomplete` is continued
 * with an HTTP Range request), checked against the hub's metadata (the size, then the sha256 of an LFS
 * file or the git blob sha1 of a small one), with a byte-counting progress callback. A file whose
 * content does not match is removed and reported; nothing unchecked ever becomes a blob.
 * Redirects are followed by hand so that the Authorization header only goes to the hub's own origin.
 */
import { createHash } from "crypto";
import { closeSync, createReadStream, existsSync, openSync, renameSync, rmSync, statSync, writeSync } from "fs";
import { DataError, RraError } from "../core/errors";

/** What the hub says a file is (its tree listing). */
export interface RemoteFile {
  path: string;
  size: number;
  /** git blob sha1 (the tree's oid). */
  oid: string;
  /** sha256 and size of an LFS file (weights). */
  lfs?: { oid: string; size: number };
}

/** An HTTP failure talking to the hub (status 0 = no response). */
export class HubHttpError extends RraError {
  /** status 0: "unreachable" (no answer) or "broken" (the answer stopped midway; the partial file is kept). */
  constructor(message: string, readonly status: number, readonly url: string, readonly network: "unreachable" | "broken" | null = null) {
    super(message);
  }
}

/** The name of a file's blob in the cache: the LFS sha256, else the git oid (huggingface_hub's etag). */
export function blobName(f: RemoteFile): string {
  return f.lfs ? f.lfs.oid : f.oid;
}

/** Expected size of a file's content. */
export function expectedSize(f: RemoteFile): number {
  return f.lfs ? f.lfs.size : f.size;
}

async function hashFile(file: string, algo: "sha256" | "sha1", gitBlobSize?: number): Promise<string> {
  const h = createHash(algo);
  if (gitBlobSize !== undefined) h.update(`blob ${gitBlobSize}\0`);
  await new Promise<void>((resolve, reject) => {
    createReadStream(file).on("data", (c) => h.update(c)).on("end", resolve).on("error", reject);
  });
  return h.digest("hex");
}

/** Check a complete file against the hub's hash; returns the hash it found. */
export async function verifyFile(file: string, f: RemoteFile): Promise<{ ok: boolean; expected: string; found: string; algo: string }> {
  if (f.lfs) {
    const found = await hashFile(file, "sha256");
    return { ok: found === f.lfs.oid, expected: f.lfs.oid, found, algo: "sha256" };
  }
  const found = await hashFile(file, "sha1", statSync(file).size);
  return { ok: found === f.oid, expected: f.oid, found, algo: "git sha1" };
}

/** Options of downloadBlob. */
export interface DownloadOptions {
  url: string;
  /** Headers for the hub's origin only (Authorization). */
  headers: Record<string, string>;
  fetch: typeof fetch;
  /** Called with the number of new bytes written. */
  onBytes?: (n: number) => void;
}

/** GET with redirects followed by hand; Authorization is dropped when the origin changes. */
export async function hubGet(url: string, headers: Record<string, string>, doFetch: typeof fetch, extra: Record<string, string> = {}): Promise<Response> {
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; hop < 6; hop++) {
    const sameOrigin = new URL(current).origin === origin;
    let res: Response;
    try {
      res = await doFetch(current, { headers: { ...(sameOrigin ? headers : {}), ...extra }, redirect: "manual" });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new HubHttpError(`cannot reach ${new URL(current).origin} (${cause?.code ?? cause?.message ?? (e as Error).message})`, 0, current, "unreachable");
    }
    if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
      current = new URL(res.headers.get("location") as string, current).toString();
      await res.body?.cancel();
      continue;
    }
    return res;
  }
  throw new HubHttpError(`too many redirects from ${url}`, 0, url);
}

/**
 * Download `f` to `target` (a blob path): resume `<target>.incomplete` when the server honours Range,
 * check size and hash, then rename into place. Throws DataError on a corrupted file (and removes it),
 * HubHttpError on HTTP failures (the partial file is kept for the next try).
 */
export async function downloadBlob(f: RemoteFile, target: string, o: DownloadOptions): Promise<{ resumedFrom: number; bytes: number }> {
  const part = `${target}.incomplete`;
  const size = expectedSize(f);
  let have = existsSync(part) ? statSync(part).size : 0;
  if (have > size) { rmSync(part); have = 0; }
  let resumedFrom = 0;
  if (have < size) {
    const res = await hubGet(o.url, o.headers, o.fetch, have > 0 ? { Range: `bytes=${have}-` } : {});
    if (res.status === 416 && have === size) {
      await res.body?.cancel();
    } else {
      if (res.status !== 200 && res.status !== 206) {
        const body = await res.text().catch(() => "");
        throw new HubHttpError(`GET ${o.url}: HTTP ${res.status}${body ? ` (${body.slice(0, 200).replace(/\s+/g, " ")})` : ""}`, res.status, o.url);
      }
      if (res.status === 206) {
        const range = /bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
        if (!range || Number(range[1]) !== have) throw new HubHttpError(`GET ${o.url}: asked for bytes ${have}- and got ${res.headers.get("content-range") ?? "no Content-Range"}`, 206, o.url);
        resumedFrom = have;
      } else {
        have = 0; // the server sent the whole file: start over
      }
      const fd = openSync(part, have > 0 ? "a" : "w");
      try {
        if (!res.body) throw new HubHttpError(`GET ${o.url}: HTTP ${res.status} without a body`, res.status, o.url);
        const reader = res.body.getReader();
        const next = async (): Promise<{ done: boolean; value?: Uint8Array }> => {
          try {
            return await reader.read();
          } catch (e) {
            throw new HubHttpError(`${f.path}: the connection broke after ${have} of ${size} bytes (${(e as Error).message}); run rra pull again to resume`, 0, o.url, "broken");
          }
        };
        for (let chunk = await next(); !chunk.done; chunk = await next()) {
          const bytes = chunk.value as Uint8Array;
          writeSync(fd, bytes);
          have += bytes.length;
          o.onBytes?.(bytes.length);
        }
      } finally {
        closeSync(fd);
      }
    }
  }
  const got = statSync(part).size;
  if (got < size) throw new HubHttpError(`${f.path}: the connection ended after ${got} of ${size} bytes; run rra pull again to resume`, 0, o.url, "broken");
  if (got !== size) {
    rmSync(part);
    throw new DataError({ file: f.path, field: "size" }, `${size} bytes (the hub's metadata)`, `${got} bytes; the download was removed, run rra pull again`);
  }
  const check = await verifyFile(part, f);
  if (!check.ok) {
    rmSync(part);
    throw new DataError({ file: f.path, field: check.algo }, `${check.expected} (the hub's metadata)`, `${check.found}: the file is corrupted; the download was removed, run rra pull again`);
  }
  renameSync(part, target);
  return { resumedFrom, bytes: size };
}
