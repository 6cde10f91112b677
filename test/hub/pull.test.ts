/**
 * rra pull against a fake hub on 127.0.0.1 (test/hub/fake-hub.ts) serving the reference checkpoint of
 * test/fixtures/hf-checkpoints.py with the hub's URL scheme and headers: the cache layout, resume after a
 * cut connection, a corrupted file caught by its hash, a gated repository (401 / 403, the token never in
 * a message and never sent to another origin), offline mode, an unreachable hub.
 */
import assert from "node:assert/strict";
import { createHash } from "crypto";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, mkdirSync } from "fs";
import { createServer } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { main } from "../../lib/cli/main";
import { DataError } from "../../lib/core/errors";
import { loadPretrainedEncoder } from "../../lib/models/checkpoint/pretrained";
import { parseRepoRef, repoCacheDir } from "../../lib/hub/cache";
import { HubError, pullModel, selectFiles } from "../../lib/hub/pull";
import { resolveModelDir } from "../../lib/hub/resolve";
import { hfFixtures } from "../fixtures/hf-fixtures";
import { startFakeHub, type FakeHub } from "./fake-hub";

const REPO = "rra-test/tiny-bert";
const GATED = "rra-test/gated-bert";
const TOKEN = "hf_secret_token_for_tests";

function folderFiles(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const f of readdirSync(dir)) if (f !== "reference.json") out[f] = readFileSync(join(dir, f));
  return out;
}

async function rejectsWith(p: Promise<unknown>, check: (e: Error) => boolean): Promise<Error> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error && check(caught), `unexpected: ${String(caught)}`);
  return caught as Error;
}

describe("rra pull (fake hub on 127.0.0.1)", function () {
  this.timeout(120_000);
  let hub: FakeHub;
  let cache: string;
  let files: Record<string, Buffer>;
  const opts = (extra: Record<string, unknown> = {}) => ({ cacheDir: cache, endpoint: hub.url, quiet: true, offline: false, token: "", ...extra });

  before(async () => {
    files = folderFiles(join(hfFixtures(), "bert-safetensors"));
    // plus a file rra pull leaves alone: another framework's weights
    hub = await startFakeHub({ [REPO]: { files: { ...files, "tf_model.h5": Buffer.from("not fetched") } }, [GATED]: { files, gatedToken: TOKEN } });
  });
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), "rra-hub-"));
    hub.requests.length = 0;
    hub.corrupt(null);
  });
  afterEach(() => rmSync(cache, { recursive: true, force: true }));
  after(async () => hub.close());

  it("downloads config, weights and tokenizer files into the standard cache layout, and loads from it", async () => {
    const r = await pullModel(parseRepoRef(REPO), opts());
    const root = repoCacheDir(REPO, cache);
    assert.equal(root, join(cache, "models--rra-test--tiny-bert"));
    assert.equal(r.dir, join(root, "snapshots", hub.sha));
    assert.equal(readFileSync(join(root, "refs", "main"), "utf8"), hub.sha);
    assert.deepEqual(r.files.map((f) => f.path).sort(), Object.keys(files).sort());
    assert.ok(!existsSync(join(r.dir, "tf_model.h5")));
    const st = join(r.dir, "model.safetensors");
    assert.ok(lstatSync(st).isSymbolicLink());
    const sha256 = createHash("sha256").update(files["model.safetensors"]).digest("hex");
    assert.equal(readlinkSync(st), join("..", "..", "blobs", sha256));
    assert.deepEqual(readFileSync(st), files["model.safetensors"]);
    assert.equal(loadPretrainedEncoder(r.dir).config.hiddenSize, 32);
    // weights came through the redirect to the second origin, without the Authorization header
    assert.ok(hub.requests.some((q) => q.origin === "cdn"));
    // a second pull finds everything cached: no file is requested again
    hub.requests.length = 0;
    const again = await pullModel(parseRepoRef(REPO), opts());
    assert.ok(again.files.every((f) => f.status === "cached"));
    assert.ok(!hub.requests.some((q) => q.url.includes("/resolve/") || q.origin === "cdn"));
    // by commit sha it is served from the cache without asking the hub at all
    hub.requests.length = 0;
    const bySha = await pullModel(parseRepoRef(`${REPO}@${hub.sha}`), opts());
    assert.equal(bySha.fromCache, true);
    assert.equal(hub.requests.length, 0);
  });

  it("resumes a download after a cut connection with a Range request", async () => {
    hub.cutNext("model.safetensors", 40_000);
    const e = await rejectsWith(pullModel(parseRepoRef(REPO), opts()), (x) => x instanceof HubError && /connection (broke|ended) after 40000 of \d+ bytes/.test(x.message) && /run rra pull again to resume/.test(x.message));
    assert.match(e.message, /model\.safetensors/);
    const sha256 = createHash("sha256").update(files["model.safetensors"]).digest("hex");
    const part = join(repoCacheDir(REPO, cache), "blobs", `${sha256}.incomplete`);
    assert.equal(statSync(part).size, 40_000);
    hub.requests.length = 0;
    const r = await pullModel(parseRepoRef(REPO), opts());
    assert.equal(r.files.find((f) => f.path === "model.safetensors")?.status, "resumed");
    assert.ok(hub.requests.some((q) => q.origin === "cdn" && q.range === "bytes=40000-"));
    assert.ok(!existsSync(part));
    assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), files["model.safetensors"]);
  });

  it("catches a corrupted file by its hash, removes it and links nothing", async () => {
    hub.corrupt("model.safetensors");
    const e = await rejectsWith(pullModel(parseRepoRef(REPO), opts()), (x) => x instanceof DataError);
    assert.match(e.message, /^model\.safetensors \(sha256\): expected [0-9a-f]{64} \(the hub's metadata\), got [0-9a-f]{64}: the file is corrupted/);
    const root = repoCacheDir(REPO, cache);
    assert.deepEqual(readdirSync(join(root, "blobs")).filter((f) => f.length > 60 && !f.endsWith(".incomplete")).length, 0);
    assert.ok(!readdirSync(join(root, "blobs")).some((f) => f.endsWith(".incomplete")));
    assert.ok(!existsSync(join(root, "snapshots", hub.sha, "model.safetensors")));
    hub.corrupt("config.json"); // a small (non-LFS) file is checked by its git blob sha1
    rmSync(root, { recursive: true, force: true });
    await rejectsWith(pullModel(parseRepoRef(REPO), opts()), (x) => x instanceof DataError && /^config\.json \(git sha1\)/.test(x.message));
  });

  it("a gated repository: 401 without a token, 403 with a wrong one, the token never shown nor sent to another origin", async () => {
    const no = await rejectsWith(pullModel(parseRepoRef(GATED), opts()), (x) => x instanceof HubError && x.kind === "auth");
    assert.match(no.message, /HTTP 401/);
    assert.match(no.message, /HF_TOKEN is not set/);
    const wrong = await rejectsWith(pullModel(parseRepoRef(GATED), opts({ token: "hf_wrong_token" })), (x) => x instanceof HubError && x.kind === "auth");
    assert.match(wrong.message, /HTTP 403/);
    assert.match(wrong.message, /HF_TOKEN is set, but this token has no access/);
    assert.ok(!wrong.message.includes("hf_wrong_token"));
    hub.requests.length = 0;
    const ok = await pullModel(parseRepoRef(GATED), opts({ token: TOKEN }));
    assert.ok(existsSync(join(ok.dir, "config.json")));
    assert.ok(hub.requests.filter((q) => q.origin === "hub").every((q) => q.authorization));
    assert.ok(hub.requests.filter((q) => q.origin === "cdn").every((q) => !q.authorization));
    for (const f of readdirSync(repoCacheDir(GATED, cache), { recursive: true }) as string[]) {
      const p = join(repoCacheDir(GATED, cache), f);
      if (statSync(p).isFile()) assert.ok(!readFileSync(p).includes(TOKEN), `${f} holds the token`);
    }
  });

  it("offline (HF_HUB_OFFLINE): the cache only, else one message that says how to place the files by hand", async () => {
    const e = await rejectsWith(pullModel(parseRepoRef(REPO), opts({ offline: true })), (x) => x instanceof HubError && x.kind === "offline");
    assert.match(e.message, /HF_HUB_OFFLINE is set/);
    assert.match(e.message, /place its files by hand/);
    assert.match(e.message, /models--rra-test--tiny-bert/);
    assert.equal(hub.requests.length, 0);
    await pullModel(parseRepoRef(REPO), opts());
    hub.requests.length = 0;
    const r = await pullModel(parseRepoRef(REPO), opts({ offline: true }));
    assert.equal(r.fromCache, true);
    assert.equal(hub.requests.length, 0);
    const viaEnv = process.env.HF_HUB_OFFLINE;
    process.env.HF_HUB_OFFLINE = "1";
    try {
      const s = await resolveModelDir(`hf:${REPO}`, { cacheDir: cache });
      assert.equal(s.dir, r.dir);
      await rejectsWith(pullModel(parseRepoRef("rra-test/other"), { cacheDir: cache, endpoint: hub.url, quiet: true }), (x) => x instanceof HubError && x.kind === "offline");
    } finally {
      if (viaEnv === undefined) delete process.env.HF_HUB_OFFLINE; else process.env.HF_HUB_OFFLINE = viaEnv;
    }
  });

  it("files placed by hand in the cache are found offline", async () => {
    const root = repoCacheDir(REPO, cache);
    const snap = join(root, "snapshots", "by-hand");
    mkdirSync(snap, { recursive: true });
    for (const [f, b] of Object.entries(files)) writeFileSync(join(snap, f), b);
    mkdirSync(join(root, "refs"), { recursive: true });
    writeFileSync(join(root, "refs", "main"), "by-hand");
    const s = await resolveModelDir(`hf:${REPO}`, { cacheDir: cache, offline: true });
    assert.equal(s.dir, snap);
  });

  it("an unreachable hub: one message with the manual route", async () => {
    const port = await new Promise<number>((ok) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = (s.address() as { port: number }).port; s.close(() => ok(p)); }); });
    const e = await rejectsWith(pullModel(parseRepoRef(REPO), opts({ endpoint: `http://127.0.0.1:${port}` })), (x) => x instanceof HubError && x.kind === "unreachable");
    assert.match(e.message, /cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    assert.match(e.message, /place its files by hand/);
  });

  it("a repository or revision that does not exist", async () => {
    await rejectsWith(pullModel(parseRepoRef("rra-test/nothing"), opts()), (x) => x instanceof HubError && x.kind === "not-found" && /HTTP 404/.test(x.message));
    await rejectsWith(pullModel(parseRepoRef(`${REPO}@v9`), opts()), (x) => x instanceof HubError && x.kind === "not-found");
  });

  it("the rra pull command prints the snapshot folder; bad references are usage errors", async () => {
    const env = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE };
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_HUB_CACHE = cache;
    delete process.env.HF_HUB_OFFLINE;
    const out: string[] = [];
    const log = console.log, err = console.error;
    console.log = (s: string) => out.push(String(s));
    console.error = () => undefined;
    try {
      assert.equal(await main(["pull", REPO, "--quiet"]), 0);
      assert.equal(out.pop(), join(repoCacheDir(REPO, cache), "snapshots", hub.sha));
      assert.equal(await main(["pull", "not a repo"]), 2);
      assert.equal(await main(["pull", GATED, "--quiet"]), 1);
    } finally {
      console.log = log;
      console.error = err;
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });

  it("selectFiles takes one set of weights, safetensors first, shards with their index", () => {
    const f = (path: string) => ({ path, size: 1, oid: "x" });
    const names = (xs: Array<{ path: string }>) => xs.map((x) => x.path).sort();
    assert.deepEqual(names(selectFiles(["config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "vocab.txt", "onnx/model.onnx"].map(f))), ["config.json", "model.safetensors", "vocab.txt"]);
    assert.deepEqual(names(selectFiles(["config.json", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json", "merges.txt", "vocab.json"].map(f))), ["config.json", "merges.txt", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json", "vocab.json"]);
  });
});
