import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import * as tf from "@tensorflow/tfjs";
import { BENCH_TINY, resolveBenchConfig } from "../../lib/bench/config";
import { computeForwardFlops, computeTrainFlops } from "../../lib/bench/flops";
import { median } from "../../lib/bench/matmul";
import { peerUnavailable, startPeer } from "../../lib/bench/peer";
import { runBench } from "../../lib/bench/run";
import { listBenchRuns, saveBenchRun } from "../../lib/bench/store";
import type { BenchReport } from "../../lib/bench/types";
import { benchTable } from "../../lib/bench/table";
import { ConfigError } from "../../lib/core/errors";
import { loadDataset } from "../../lib/data/datasets";
import { benchFigure, logAxisTicks } from "../../lib/plots/bench";
import { closeStore, openStore } from "../../lib/store/db";

const ROOT = resolve(__dirname, "..", "..");

/** Every number in the measurement sections: finite and > 0 (peakFraction may be null, never 0 or NaN). */
function assertPositiveNumbers(value: unknown, path: string): void {
  if (typeof value === "number") {
    assert.ok(Number.isFinite(value) && value > 0, `${path} = ${value}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertPositiveNumbers(v, `${path}[${i}]`));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) if (k !== "raw") assertPositiveNumbers(v, `${path}.${k}`);
  }
}

/** The structure every tiny report has, whatever else is installed. */
function checkTinyReport(r: BenchReport): void {
  assert.equal(r.format, "rra-bench/1");
  assert.equal(r.config.tiny, true);
  assert.equal(r.seed, r.config.seed);
  assert.deepEqual(r.presets.map((p) => p.preset), ["tiny"]);
  assert.deepEqual(r.backends.map((b) => b.name), ["wasm", "wasm+blas", "cpu", "tensorflow", "onnxruntime"]);
  for (const b of r.backends) {
    if (b.available) assert.equal(b.reason, null);
    else assert.ok(b.reason && r.skipped.some((s) => s.what === b.name), `${b.name} unavailable, with its reason in skipped`);
  }
  const wasm = r.backends.find((b) => b.name === "wasm");
  assert.ok(wasm?.available && wasm.matmul, "wasm starts and has a matMul peak");
  assert.equal(wasm.matmul.m, BENCH_TINY.matmulSize);
  for (const b of r.backends.filter((x) => x.available && x.name !== "onnxruntime")) {
    for (const w of ["dl19", "reference"]) {
      assert.ok(r.train.some((t) => t.backend === b.name && t.workload === w), `train ${b.name} ${w}`);
      assert.ok(r.infer.some((t) => t.backend === b.name && t.workload === w && t.engine === `tfjs-${b.name}`), `infer ${b.name} ${w}`);
    }
    assert.ok(r.attention.some((a) => a.backend === b.name && a.preset === "tiny"));
  }
  const ref = r.train.find((t) => t.workload === "reference");
  assert.equal(ref?.meanSeqLen, r.config.seq, "the reference workload is exactly batch x seq");
  assert.equal(ref?.examples, r.config.batch * (ref?.steps ?? 0));
  const dl19 = r.infer.find((t) => t.workload === "dl19" && t.backend === "wasm");
  assert.ok(dl19 && dl19.meanSeqLen <= r.config.maxLength && dl19.meanTokens <= dl19.meanSeqLen, "real pairs are packed to at most maxLength, padding included");
  assert.equal(ref?.flopsPerExample, computeTrainFlops(r.presets[0].sizes, r.config.seq));
  assertPositiveNumbers({ backends: r.backends, presets: r.presets, attention: r.attention, train: r.train, infer: r.infer, latency: r.latency }, "report");
  for (const s of r.skipped) assert.ok(s.what && s.reason, `skipped entries name what and why: ${JSON.stringify(s)}`);
}

describe("bench FLOPs (computeForwardFlops)", () => {
  it("equals the matMuls of a hand-sized encoder counted one by one", () => {
    // L=1, H=2, F=4, T=3: QKV [3,2]x[2,6] = 2*3*2*6 = 72; QK^T over heads [3,2]x[2,3] = 2*3*3*2 = 36; PV 36;
    // out [3,2]x[2,2] = 24; FFN in [3,2]x[2,4] = 48, out [3,4]x[4,2] = 48 -> 264 per layer; pooler 2*2*2 = 8; head 2*2 = 4.
    assert.equal(computeForwardFlops({ numLayers: 1, hiddenSize: 2, ffnSize: 4 }, 3), 264 + 8 + 4);
  });
  it("gives the tiny preset at 64 tokens by the header formula", () => {
    // per layer 8*64*64^2 = 2,097,152 + 4*64*64*256 = 4,194,304 + 4*64^2*64 = 1,048,576 = 7,340,032; x2 layers
    // = 14,680,064; + pooler 2*64^2 = 8,192 + head 2*64 = 128 -> 14,688,384.
    assert.equal(computeForwardFlops({ numLayers: 2, hiddenSize: 64, ffnSize: 256 }, 64), 14_688_384);
    assert.equal(computeTrainFlops({ numLayers: 2, hiddenSize: 64, ffnSize: 256 }, 64), 3 * 14_688_384);
  });
  it("knows the real checkpoint shapes at 128 tokens (BERT-L4-H256, MiniLM-L6-H384), as scripts/bench-peer.py counts them", () => {
    const c = resolveBenchConfig({ presets: ["bert-l4-h256", "minilm-l6-h384"], seq: 128 });
    assert.deepEqual(c.presets, ["bert-l4-h256", "minilm-l6-h384"]);
    // bench-peer.py --preset bert-l4-h256 --seq 128 printed flops_per_pair_forward 872546816
    assert.equal(computeForwardFlops({ numLayers: 4, hiddenSize: 256, ffnSize: 1024 }, 128), 872_546_816);
  });
});

describe("bench helpers", () => {
  it("takes the median of timings (mean of the middle two for an even count)", () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
  it("rejects unknown keys, presets, backends and a batch that is not whole groups, naming the value", () => {
    assert.throws(() => resolveBenchConfig({ stepz: 3 } as never), (e: Error) => e instanceof ConfigError && /unknown key "stepz"/.test(e.message));
    assert.throws(() => resolveBenchConfig({ presets: ["huge"] }), /unknown preset "huge"/);
    assert.throws(() => resolveBenchConfig({ backends: ["gpu" as never] }), /unknown backend "gpu"/);
    assert.throws(() => resolveBenchConfig({ batch: 30 }), /batch 30 must be a multiple of groupSize 8/);
    assert.throws(() => resolveBenchConfig({ seq: 1000, presets: ["tiny"] }), /seq 1000 exceeds the tiny preset's maxLen 128/);
  });
  it("applies --tiny under explicit values and keeps the backend order fixed", () => {
    const c = resolveBenchConfig({ tiny: true, steps: 3, backends: ["onnxruntime", "wasm"] });
    assert.equal(c.steps, 3);
    assert.equal(c.matmulSize, BENCH_TINY.matmulSize);
    assert.deepEqual(c.backends, ["wasm", "onnxruntime"]);
    assert.ok(Object.isFrozen(c));
  });
});

describe("runBench --tiny (library)", () => {
  let report: BenchReport;
  before(async function () {
    this.timeout(240_000);
    report = await runBench({ tiny: true }, { quiet: true, dataset: loadDataset("dl19") });
  });

  it("measures every available backend and says why the others are missing", () => {
    checkTinyReport(report);
    const tensorflow = report.backends.find((b) => b.name === "tensorflow");
    if (!tensorflow?.available) assert.match(tensorflow?.reason ?? "", /not installed|failed to load/);
  });
  it("leaves TensorFlow.js on a working backend, not on cpu", () => {
    assert.notEqual(tf.getBackend(), "cpu");
  });
  it("writes a bench_runs row that reads back equal", async () => {
    const db = await openStore(":memory:");
    try {
      const id = await saveBenchRun(db, report);
      const rows = await listBenchRuns(db);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].id, id);
      assert.deepEqual(rows[0].report, JSON.parse(JSON.stringify(report)));
      assert.deepEqual(rows[0].config, JSON.parse(JSON.stringify(report.config)));
      assert.equal(rows[0].versions["@tensorflow/tfjs"], report.versions["@tensorflow/tfjs"]);
    } finally {
      await closeStore(db);
    }
  });
  it("log axes: ticks at 1, 2, 5 of each decade labelled in full, a range that shows the shortest bar and the tallest label", () => {
    const a = logAxisTicks([11, null, 270, 39]) as { range: [number, number]; tickvals: number[]; ticktext: string[] };
    assert.deepEqual(a.tickvals, [10, 20, 50, 100, 200]);
    assert.deepEqual(a.ticktext, ["10", "20", "50", "100", "200"]);
    assert.ok(10 ** a.range[0] < 11 && 10 ** a.range[1] > 270 * 1.3, `range ${a.range}`);
    assert.deepEqual((logAxisTicks([1500, 7420]) as { ticktext: string[] }).ticktext, ["1k", "2k", "5k", "10k"]);
    assert.deepEqual(logAxisTicks([null, 0]), {});
  });

  it("prints aligned tables and builds a figure with one bar trace per engine plus the GFLOP/s panel", () => {
    const text = benchTable(report);
    assert.match(text, /^Backends \(/);
    assert.match(text, /tfjs-wasm\s+tiny\s+DL19/);
    const fig = benchFigure(report);
    const traces = fig.data as Array<{ name: string; xaxis?: string }>;
    assert.ok(traces.some((t) => t.name === "tfjs-wasm" && t.xaxis === undefined));
    assert.ok(traces.some((t) => t.name === "matMul peak" && t.xaxis === "x2"));
    assert.equal((fig.layout?.yaxis as { type: string }).type, "log");
    // the peer's bars sit at its preset's reference-shape categories only; a two-level axis (preset, kind + workload)
    const presets = report.presets.map((p) => p.preset);
    const withPeer = benchFigure({ ...report, peer: [{ preset: presets[0], trainExamplesPerSec: 5, inferPairsPerSec: 7 }] as never });
    const peer = (withPeer.data as Array<{ name: string; x: string[][]; y: Array<number | null> }>).find((t) => t.name === "pytorch (peer)")!;
    const ref = `${report.config.batch}x${report.config.seq}`;
    assert.deepEqual(peer.x[0].slice(0, 4), Array(4).fill(presets[0]));
    assert.deepEqual(peer.x[1].slice(0, 4), ["train<br>DL19", `train<br>${ref}`, "infer<br>DL19", `infer<br>${ref}`]);
    assert.deepEqual(peer.y.slice(0, 4), [null, 5, null, 7]);
    assert.ok(typeof withPeer.layout?.height === "number" && (withPeer.layout.height as number) > 400);
  });
});

describe("rra bench --tiny --json (CLI)", () => {
  it("prints one JSON object on stdout, stores it and writes figures/bench.{png,svg,html}", async function () {
    this.timeout(300_000);
    const dir = mkdtempSync(join(tmpdir(), "rra-bench-cli-"));
    try {
      const db = join(dir, "store.sqlite");
      const r = spawnSync(process.execPath, ["bin/rra.js", "bench", "--tiny", "--json", "--db", db, "--out", join(dir, "figures")], { cwd: ROOT, encoding: "utf8", timeout: 280_000 });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as BenchReport & { storeId: number; figures: string[]; figureError: string | null };
      checkTinyReport(out);
      assert.ok(out.train.length > 0 && out.infer.length > 0);
      assert.equal(out.figureError, null);
      for (const ext of ["png", "svg", "html"]) assert.ok(existsSync(join(dir, "figures", `bench.${ext}`)), `bench.${ext} written`);
      assert.match(r.stderr, /\[bench\] wasm: matMul/, "progress goes to stderr");
      const store = await openStore(db);
      try {
        const rows = await listBenchRuns(store);
        assert.deepEqual(rows.map((x) => x.id), [out.storeId]);
        assert.equal(rows[0].report.createdAt, out.createdAt);
      } finally {
        await closeStore(store);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("bench PyTorch peer (scripts/bench-peer.py --serve)", function () {
  this.timeout(300_000);
  it("warms up once, then measures a round per request at the reference shape (skipped without Debian's python3-torch)", async function () {
    const why = peerUnavailable();
    if (why !== null) {
      console.warn(`      [pending] the PyTorch peer cannot run here: ${why}`);
      this.skip();
    }
    const peer = await startPeer({ preset: "tiny", batch: 8, seq: 16, warmup: 1, seed: 1, blasThreads: 1 });
    try {
      assert.equal(peer.ready.ready, true);
      assert.deepEqual([peer.ready.preset, peer.ready.batch, peer.ready.seq], ["tiny", 8, 16]);
      // the peer counts forward FLOPs with the same formula as lib/bench/flops.ts
      assert.equal(peer.ready.flops_per_pair_forward, computeForwardFlops({ numLayers: 2, hiddenSize: 64, ffnSize: 256 }, 16));
      assert.ok(((peer.ready.matmul as { gflops: number }).gflops) > 0);
      for (const round of [1, 2]) {
        const r = await peer.round(2);
        assert.equal(r.raw.round, round);
        for (const v of [r.trainExamplesPerSec, r.inferPairsPerSec]) assert.ok(Number.isFinite(v) && v > 0, String(v));
        assert.equal((r.raw.train as { steps: number }).steps, 2);
      }
    } finally {
      await peer.close();
    }
  });
  it("rejects with the script's own message when it cannot start (a preset it does not know)", async function () {
    if (peerUnavailable() !== null) this.skip();
    await assert.rejects(startPeer({ preset: "no-such-preset", batch: 8, seq: 16, warmup: 1, seed: 1, blasThreads: 1 }), /exited 2: .*invalid choice: 'no-such-preset'/);
  });
});
