import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KernelClient } from "../../lib/notebooks/kernel";

// A kernel that starts but never answers: KernelClient.start keeps asking (one kernel_info_request a
// second, as jupyter_client does), then fails naming what it got and what the kernel printed, and
// leaves no process behind.
describe("KernelClient.start against a kernel that never answers", function () {
  this.timeout(30_000);
  let dir: string;
  let saved: string | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "rra-mute-kernel-"));
    const spec = join(dir, "kernels", "mute");
    mkdirSync(spec, { recursive: true });
    const script = join(dir, "mute.js");
    writeFileSync(script, "console.log('mute kernel up, reading ' + process.argv[2]); setInterval(() => undefined, 1 << 30);\n");
    writeFileSync(join(spec, "kernel.json"), JSON.stringify({ argv: [process.execPath, script, "{connection_file}"], display_name: "mute", language: "none" }));
    saved = process.env.JUPYTER_PATH;
    process.env.JUPYTER_PATH = dir;
  });
  after(() => {
    if (saved === undefined) delete process.env.JUPYTER_PATH;
    else process.env.JUPYTER_PATH = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it("asks again every second, then names the requests, replies and the kernel's output", async () => {
    const t0 = Date.now();
    await assert.rejects(KernelClient.start({ cwd: dir, kernelName: "mute", startTimeoutSec: 3 }), (e: Error) => {
      const m = /did not answer kernel_info_request within 3 s \((\d+) requests, 0 replies, 0 iopub statuses\); its output ends with: mute kernel up, reading .*kernel\.json/.exec(e.message);
      assert.ok(m, e.message);
      assert.ok(Number(m[1]) >= 3, `asked ${m[1]} times in 3 s`);
      return true;
    });
    assert.ok(Date.now() - t0 < 15_000);
    const left = spawnSync("pgrep", ["-f", join(dir, "mute.js")], { encoding: "utf8" });
    assert.equal(left.stdout.trim(), "", "the mute kernel was stopped");
  });
});
