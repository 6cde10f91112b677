import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { initBackend } from "../../lib/backend/tf";
import { loadDataset } from "../../lib/data/datasets";
import { startServer } from "../../lib/serve/server";
import { startWorkerScorer } from "../../lib/serve/worker-scorer";
import { loadReranker } from "../../lib/train/reranker";
import { makeStudentDir } from "../fixtures/tiny-student";
import { unfinishedCopy } from "../fixtures/unfinished-run";

const ROOT = resolve(__dirname, "..", "..");

describe("rra serve scores in a worker thread (issue 15 item 14)", function () {
  this.timeout(120_000);
  let dir: string;
  let texts: string[];
  before(async () => {
    await initBackend({ quiet: true });
    dir = makeStudentDir();
    texts = loadDataset("dl19").lists.slice(0, 3).flatMap((l) => l.candidates.map((c) => c.text ?? ""));
  });

  it("scores exactly as the model does in this thread", async () => {
    const scorer = await startWorkerScorer(dir);
    const local = await loadReranker(dir);
    try {
      assert.deepEqual([scorer.kind, scorer.format, scorer.dir], [local.kind, local.format, dir]);
      const a = await scorer.score("what is a flea", texts.slice(0, 20));
      const b = await local.score("what is a flea", texts.slice(0, 20));
      a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-5, `${x} vs ${b[i]}`));
    } finally {
      local.dispose();
      await scorer.close();
    }
  });

  it("answers /health while a large request is being scored (the HTTP thread is never blocked)", async () => {
    const scorer = await startWorkerScorer(dir);
    const server = await startServer(scorer, { port: 0 });
    try {
      const order: string[] = [];
      const big = fetch(`${server.url}/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "what is a flea", passages: texts.map((text, i) => ({ id: `p${i}`, text })) }) })
        .then(async (r) => { order.push(`rerank ${r.status}`); await r.text(); });
      while (server.stats().queued === 0) await new Promise((r) => setTimeout(r, 2));
      const health = await fetch(`${server.url}/health`);
      order.push(`health ${health.status} queued ${((await health.json()) as { queued: number }).queued}`);
      await big;
      assert.deepEqual(order, ["health 200 queued 1", "rerank 200"], `${texts.length} passages`);
    } finally {
      await server.close();
      await scorer.close();
    }
  });

  it("reports the loader's own error (an unfinished training folder) as the CLI would", async () => {
    await assert.rejects(startWorkerScorer(unfinishedCopy(dir, resolve(dir, ".."))), (e: Error) => e.name === "ModelError" && /is an unfinished training run/.test(e.message));
  });
});

describe("rra serve under npx: the parent's SIGTERM reaches it (issue 15 item 13)", function () {
  this.timeout(120_000);
  it("shuts down cleanly when the shell that started it is killed", async () => {
    // npx runs `sh -c 'rra ...'`; npm forwards SIGTERM to that shell, which dies without passing it on
    const shell = spawn("sh", ["-c", `"${process.execPath}" bin/rra.js serve --model "${makeStudentDir()}" --port 0; true`], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    await new Promise<void>((resolveListening, reject) => {
      shell.stderr!.on("data", (d) => {
        stderr += d;
        if (/listening on http/.test(stderr)) resolveListening();
      });
      shell.on("exit", () => reject(new Error(`exited before listening: ${stderr}`)));
    });
    const servePid = Number(/^\s*(\d+)/.exec(require("child_process").execFileSync("pgrep", ["-P", String(shell.pid)], { encoding: "utf8" }))![1]);
    const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
    try {
      shell.kill("SIGTERM");
      for (let i = 0; i < 600 && alive(servePid); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(alive(servePid), false, "rra serve is gone with its shell");
      assert.match(stderr, /\[serve\] SIGTERM: answering the requests in flight, then stopping\n\[serve\] stopped; requests: 0 ranked/);
    } finally {
      if (alive(servePid)) process.kill(servePid, "SIGKILL");
    }
  });
});
