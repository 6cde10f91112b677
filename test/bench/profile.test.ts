import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { nestRecords, profileTable, summarizeKernels, type KernelRecord } from "../../lib/bench/kernel-table";
import type { TrainStepProfile } from "../../lib/bench/types";
import { benchCommand } from "../../lib/cli/bench-command";
import { ConfigError } from "../../lib/core/errors";

const ROOT = resolve(__dirname, "..", "..");

/** Run `rra bench` in this process, returning what it printed on stdout. */
async function runBench(argv: string[]): Promise<{ code: number; stdout: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => { lines.push(args.join(" ")); };
  try {
    const code = await benchCommand.run(argv);
    return { code, stdout: lines.join("\n") };
  } finally {
    console.log = log;
  }
}

describe("profile kernel table (nestRecords, summarizeKernels)", () => {
  // a custom op (scope "unnamed scope") ran a kernel and a copy for backward inside it; a Mul kept a copy of its input
  const records: KernelRecord[] = [
    { name: "Identity", depth: 1, ms: 1, phase: "forward" },
    { name: "Mul", depth: 0, ms: 4, phase: "forward" },
    { name: "Identity", depth: 2, ms: 0.5, phase: "forward" },
    { name: "BatchMatMul", depth: 1, ms: 3, phase: "forward" },
    { name: "unnamed scope", depth: 0, ms: 5, phase: "forward" },
    { name: "Add", depth: 0, ms: 2, phase: "optimizer" },
  ];
  const isKernel = (n: string) => n !== "unnamed scope";
  it("subtracts what ran inside a record from its time and finds its parent", () => {
    assert.deepEqual(nestRecords(records), [
      { selfMs: 1, parent: 1 }, { selfMs: 3, parent: null }, { selfMs: 0.5, parent: 3 }, { selfMs: 2.5, parent: 4 }, { selfMs: 2, parent: null }, { selfMs: 2, parent: null },
    ]);
  });
  it("sums own time to the top-level time, counts kernels and ops apart and names copies kept for backward", () => {
    const s = summarizeKernels(records, 20, isKernel, { forward: 15, optimizer: 3 });
    assert.equal(s.kernelMs, 4 + 5 + 2);
    assert.equal(s.kernelCalls, 5);
    assert.equal(s.opCalls, 1);
    assert.deepEqual(s.kernels.map((k) => [k.name, k.kind, k.calls, k.totalMs]), [
      ["Mul", "kernel", 1, 3], ["BatchMatMul", "kernel", 1, 2.5], ["Add", "kernel", 1, 2], ["unnamed scope", "op", 1, 2],
      ["Identity (kept for backward)", "kernel", 2, 1.5],
    ]);
    assert.equal(s.kernels[0].share, 3 / 20);
    assert.equal(s.kernels[4].meanUs, 750);
    assert.deepEqual(s.phases, [{ phase: "forward", kernelCalls: 4, kernelMs: 9, wallMs: 15 }, { phase: "optimizer", kernelCalls: 1, kernelMs: 2, wallMs: 3 }]);
  });
});

describe("rra bench --profile", function () {
  this.timeout(120_000);
  let dir: string;
  let profile: TrainStepProfile;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rra-profile-"));
    const r = await runBench(["--profile", "--presets", "tiny", "--backends", "wasm", "--batch", "8", "--seq", "32", "--steps", "1", "--json", "--out", dir]);
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout) as { profiles: TrainStepProfile[] };
    assert.equal(out.profiles.length, 1);
    profile = out.profiles[0];
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("profiles one real training step: positive call counts, kernel time within the step's wall time", () => {
    assert.equal(profile.format, "rra-profile/1");
    assert.deepEqual([profile.preset, profile.backend, profile.batch, profile.seq], ["tiny", "wasm", 8, 32]);
    assert.ok(profile.kernels.length > 10, `${profile.kernels.length} kernel names`);
    for (const k of profile.kernels) {
      assert.ok(Number.isInteger(k.calls) && k.calls > 0, `${k.name} calls ${k.calls}`);
      assert.ok(Number.isFinite(k.totalMs) && k.totalMs >= -1e-9, `${k.name} ${k.totalMs} ms`);
    }
    assert.ok(profile.kernelCalls > 100, `${profile.kernelCalls} kernel calls`);
    assert.ok(profile.kernelMs > 0 && profile.kernelMs <= profile.wallMs, `kernel ${profile.kernelMs} ms <= wall ${profile.wallMs} ms`);
    const summed = profile.kernels.reduce((n, k) => n + k.totalMs, 0);
    assert.ok(Math.abs(summed - profile.kernelMs) < 1e-6, "rows add up to the kernel time");
    assert.equal(profile.kernels.reduce((n, k) => n + (k.kind === "kernel" ? k.calls : 0), 0), profile.kernelCalls);
    for (let i = 1; i < profile.kernels.length; i++) assert.ok(profile.kernels[i - 1].totalMs >= profile.kernels[i].totalMs, "sorted by total");
    assert.ok(profile.kernels.some((k) => k.name === "BatchMatMul"), "the matMuls are there");
    assert.ok(Number.isFinite(profile.loss) && profile.loss > 0);
  });
  it("attributes the calls to forward, backward and optimizer, in step order", () => {
    assert.deepEqual(profile.phases.map((p) => p.phase).slice(0, 3), ["forward", "backward", "optimizer"]);
    for (const p of profile.phases.slice(0, 3)) assert.ok(p.kernelCalls > 0 && p.wallMs !== null && p.kernelMs <= p.wallMs + 1e-6, JSON.stringify(p));
    assert.equal(profile.phases.reduce((n, p) => n + p.kernelCalls, 0), profile.kernelCalls);
    const phaseWall = profile.phases.reduce((n, p) => n + (p.wallMs ?? 0), 0);
    assert.ok(phaseWall <= profile.wallMs + 1e-6, `phases ${phaseWall} ms within the step's ${profile.wallMs} ms`);
  });
  it("writes the same profile to --out and prints a table with the top kernels", () => {
    const file = join(dir, "profile-tiny-wasm-8x32.json");
    assert.ok(existsSync(file));
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), profile);
    const text = profileTable(profile, 5);
    assert.match(text, /^Training step profile: tiny at 8x32/);
    assert.match(text, /kernel calls/);
    assert.match(text, new RegExp(`top 5 of ${profile.kernels.length}`));
    const rows = text.split("\n").slice(text.split("\n").findIndex((l) => l.startsWith("kernel ")) + 2);
    assert.equal(rows.length, 5);
    assert.ok(rows[0].startsWith(profile.kernels[0].name));
  });
});

describe("rra bench: the new flags", () => {
  it("--help describes --peer --rounds and --profile --top", function () {
    this.timeout(60_000);
    const r = spawnSync(process.execPath, ["bin/rra.js", "bench", "--help"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    for (const flag of ["--rounds N", "--profile", "--top N", "--warmup N"]) assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
    assert.match(r.stdout, /median over the rounds/);
    assert.match(r.stdout, /rra bench --profile --presets tiny/);
  });
  it("rejects bad values and flags that do not go together, naming the flag", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--peer", "--rounds", "0"], /--rounds expects a positive integer, got "0"/],
      [["--peer", "--rounds", "two"], /--rounds expects a number, got "two"/],
      [["--rounds", "3"], /--rounds "3" needs --peer/],
      [["--top", "5"], /--top goes with --profile only/],
      [["--profile", "--peer"], /--peer does not go with --profile/],
      [["--profile", "--backends", "onnxruntime"], /--profile needs TensorFlow.js backends/],
      [["--profile", "--top", "0"], /--top expects a positive integer, got "0"/],
      [["--profile", "--warmup=-1"], /--warmup expects an integer >= 0, got "-1"/],
      [["--profile", "--presets", "huge"], /unknown preset "huge"/],
    ];
    for (const [argv, message] of cases) {
      await assert.rejects(benchCommand.run(argv), (e: Error) => e instanceof ConfigError && message.test(e.message), argv.join(" "));
    }
  });
});
