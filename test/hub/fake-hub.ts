/**
 * A local stand-in for the Hugging Face hub on 127.0.0.1, serving the hub's URL scheme and headers
 * (what @huggingface/hub and huggingface_hub call):
 *   GET /api/models/ORG/NAME/revision/REV           {_id, id, sha, siblings}
 *   GET /api/models/ORG/NAME/tree/SHA?recursive=... [{type, oid, size, path, lfs?: {oid, size, pointerSize}}]
 *   GET /ORG/NAME/resolve/REV/PATH                  small files directly (ETag = git blob sha1); LFS files
 *                                                   302 to a second origin (the "CDN") with X-Linked-Etag /
 *                                                   X-Linked-Size, which honours Range (206 + Content-Range)
 * Gated repositories answer 401 (X-Error-Code: GatedRepo) without `Authorization: Bearer <token>`.
 * Faults for tests: cut a file's first response after N bytes, serve a corrupted copy. Bounded: it only
 * answers requests, never sends any.
 */
import { createHash } from "crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "http";
import type { AddressInfo } from "net";

/** A repository the fake hub serves. */
export interface FakeRepo {
  files: Record<string, Buffer>;
  /** Files served through the LFS redirect (default: *.safetensors, *.bin). */
  lfs?: (path: string) => boolean;
  /** Requires this token. */
  gatedToken?: string;
}

/** One request seen by either origin. */
export interface SeenRequest { origin: "hub" | "cdn"; method: string; url: string; authorization: boolean; range?: string }

/** A running fake hub. */
export interface FakeHub {
  /** The hub URL (HF_ENDPOINT). */
  url: string;
  sha: string;
  requests: SeenRequest[];
  /** Cut the next response for `path` after `bytes` bytes (the connection is destroyed). */
  cutNext(path: string, bytes: number): void;
  /** Serve a corrupted copy (same size, one byte changed) of `path` until cleared. */
  corrupt(path: string | null): void;
  close(): Promise<void>;
}

function gitSha1(b: Buffer): string {
  return createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
}

/** Start a fake hub serving `repos` (name "ORG/NAME" -> files) at one commit. */
export async function startFakeHub(repos: Record<string, FakeRepo>, sha = "0123456789abcdef0123456789abcdef01234567"): Promise<FakeHub> {
  const requests: SeenRequest[] = [];
  const cuts = new Map<string, number>();
  let corrupted: string | null = null;
  const isLfs = (r: FakeRepo, p: string): boolean => (r.lfs ?? ((q: string) => /\.(safetensors|bin)$/.test(q)))(p);
  const body = (r: FakeRepo, p: string): Buffer => {
    const b = r.files[p];
    if (corrupted !== p) return b;
    const c = Buffer.from(b);
    c[Math.floor(c.length / 2)] ^= 0xff;
    return c;
  };
  const json = (res: ServerResponse, status: number, v: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify(v));
  };
  const sendBytes = (req: IncomingMessage, res: ServerResponse, path: string, data: Buffer, headers: Record<string, string>): void => {
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (m) {
      start = Number(m[1]);
      if (start >= data.length) { res.writeHead(416, { "Content-Range": `bytes */${data.length}` }); res.end(); return; }
      res.writeHead(206, { ...headers, "Content-Length": String(data.length - start), "Content-Range": `bytes ${start}-${data.length - 1}/${data.length}`, "Accept-Ranges": "bytes" });
    } else {
      res.writeHead(200, { ...headers, "Content-Length": String(data.length), "Accept-Ranges": "bytes" });
    }
    const cut = cuts.get(path);
    if (cut !== undefined) {
      cuts.delete(path);
      res.write(data.subarray(start, start + cut), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(data.subarray(start));
  };
  let cdnUrl = "";
  const cdn = createServer((req, res) => {
    requests.push({ origin: "cdn", method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization !== undefined, range: req.headers.range });
    const m = /^\/blobs\/([^/]+)\/(.+)$/.exec(req.url ?? "");
    const repo = m ? Object.values(repos).find((r) => r.files[decodeURIComponent(m[2])] && createHash("sha256").update(r.files[decodeURIComponent(m[2])]).digest("hex") === m[1]) : undefined;
    if (!m || !repo) return json(res, 404, { error: "no such blob" });
    const p = decodeURIComponent(m[2]);
    sendBytes(req, res, p, body(repo, p), { "Content-Type": "application/octet-stream" });
  });
  const hub = createServer((req, res) => {
    requests.push({ origin: "hub", method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization !== undefined, range: req.headers.range });
    const url = new URL(req.url ?? "/", "http://x");
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const name = api?.[1] ?? resolve?.[1];
    const repo = name ? repos[name] : undefined;
    if (!repo) return json(res, 404, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
    if (repo.gatedToken && req.headers.authorization !== `Bearer ${repo.gatedToken}`) {
      return json(res, req.headers.authorization ? 403 : 401, { error: `Access to model ${name} is restricted. You must have access to it and be authenticated to access it. Please log in.` }, { "X-Error-Code": "GatedRepo" });
    }
    const rev = api?.[3] ?? resolve?.[2];
    if (rev !== "main" && rev !== sha) return json(res, 404, { error: `Invalid rev id: ${rev}` }, { "X-Error-Code": "RevisionNotFound" });
    if (api?.[2] === "revision") return json(res, 200, { _id: "fake", id: name, modelId: name, sha, private: false, gated: repo.gatedToken ? "manual" : false, siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) });
    if (api?.[2] === "tree") {
      return json(res, 200, Object.entries(repo.files).map(([path, b]) => isLfs(repo, path)
        ? { type: "file", oid: gitSha1(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${createHash("sha256").update(b).digest("hex")}\nsize ${b.length}\n`)), size: b.length, path, lfs: { oid: createHash("sha256").update(b).digest("hex"), size: b.length, pointerSize: 134 } }
        : { type: "file", oid: gitSha1(b), size: b.length, path }));
    }
    const path = decodeURIComponent(resolve?.[3] ?? "");
    const data = repo.files[path];
    if (!data) return json(res, 404, { error: "Entry not found" }, { "X-Error-Code": "EntryNotFound" });
    if (isLfs(repo, path)) {
      const sha256 = createHash("sha256").update(data).digest("hex");
      res.writeHead(302, { Location: `${cdnUrl}/blobs/${sha256}/${encodeURIComponent(path)}`, "X-Linked-Etag": `"${sha256}"`, "X-Linked-Size": String(data.length), "X-Repo-Commit": sha });
      return res.end();
    }
    sendBytes(req, res, path, body(repo, path), { ETag: `"${gitSha1(data)}"`, "X-Repo-Commit": sha, "Content-Type": "application/octet-stream" });
  });
  const listen = (s: Server): Promise<string> => new Promise((ok) => s.listen(0, "127.0.0.1", () => ok(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
  cdnUrl = await listen(cdn);
  const url = await listen(hub);
  const close = (s: Server): Promise<void> => new Promise((ok) => { s.closeAllConnections(); s.close(() => ok()); });
  return {
    url, sha, requests,
    cutNext: (p, n) => { cuts.set(p, n); },
    corrupt: (p) => { corrupted = p; },
    close: async () => { await close(hub); await close(cdn); },
  };
}
