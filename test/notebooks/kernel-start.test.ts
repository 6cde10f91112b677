import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KernelClient, listeningPorts } from "../../lib/notebooks/kernel";

// Kernels that start but never answer: KernelClient.start waits until the kernel listens on its five
// ports (tslab breaks on a request that arrives while it still binds), then asks once a second (as
// jupyter_client does), then fails naming what it got and what the kernel printed, and leaves no process.
describe("KernelClient.start against kernels that never answer", function () {
  this.timeout(30_000);
  let dir: string;
  let saved: string | undefined;
  const kernel = (name: string, source: string) => {
    const spec = join(dir, "kernels", name);
    mkdirSync(spec, { recursive: true });
    const script = join(dir, `${name}.js`);
    writeFileSync(script, source);
    writeFileSync(join(spec, "kernel.json"), JSON.stringify({ argv: [process.execPath, script, "{connection_file}"], display_name: name, language: "none" }));
    return script;
  };
  const gone = (script: string) => assert.equal(spawnSync("pgrep", ["-f", script], { encoding: "utf8" }).stdout.trim(), "", `${script} was stopped`);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "rra-mute-kernel-"));
    saved = process.env.JUPYTER_PATH;
    process.env.JUPYTER_PATH = dir;
  });
  after(() => {
    if (saved === undefined) delete process.env.JUPYTER_PATH;
    else process.env.JUPYTER_PATH = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it("listeningPorts sees a port while a server listens on it, and not after", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    assert.ok(listeningPorts()?.has(port), `port ${port} listens`);
    await new Promise<void>((r) => server.close(() => r()));
    assert.ok(!listeningPorts()?.has(port), `port ${port} no longer listens`);
  });

  it("a kernel that never listens: says so, naming the ports and its output", async () => {
    const script = kernel("deaf", "console.log('deaf kernel up'); setInterval(() => undefined, 1 << 30);\n");
    await assert.rejects(KernelClient.start({ cwd: dir, kernelName: "deaf", startTimeoutSec: 2 }),
      /kernel deaf did not listen on its ports within 2 s \(not listening: shell \d+, iopub \d+, stdin \d+, control \d+, hb \d+\); its output ends with: deaf kernel up/);
    gone(script);
  });

  it("a kernel that listens but never answers: asks again every second, then names the requests, replies and its output", async () => {
    // listens on the five ports of its connection file, accepts, and never speaks
    const script = kernel("mute", "const c = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));\n" +
      "for (const k of ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port']) require('net').createServer(() => undefined).listen(c[k], '127.0.0.1');\n" +
      "console.log('mute kernel up, reading ' + process.argv[2]);\n");
    const t0 = Date.now();
    await assert.rejects(KernelClient.start({ cwd: dir, kernelName: "mute", startTimeoutSec: 4 }), (e: Error) => {
      const m = /did not answer kernel_info_request within 4 s \((\d+) requests, 0 replies, 0 iopub statuses\); its output ends with: mute kernel up, reading .*kernel\.json/.exec(e.message);
      assert.ok(m, e.message);
      assert.ok(Number(m[1]) >= 3, `asked ${m[1]} times in 4 s`);
      return true;
    });
    assert.ok(Date.now() - t0 < 15_000);
    gone(script);
  });
});
