import assert from "node:assert/strict";
import { resolveBenchConfig } from "../../lib/bench/config";
import { computePeerRatios, measureInterleaved, type InterleaveSides, type PeerShape, type RoundRecord } from "../../lib/bench/interleave";
import { peerTables } from "../../lib/bench/table";
import type { PeerRatio } from "../../lib/bench/types";
import { ConfigError } from "../../lib/core/errors";
import { benchFigure } from "../../lib/plots/bench";

const SHAPES: PeerShape[] = [{ preset: "tiny", batch: 32, seq: 64 }, { preset: "small", batch: 32, seq: 64 }];

/** Fake sides that log every call; ours gives 100 + round (train) and 1000 + round (infer), the peer 200 and 500. */
function fakeSides(events: string[], failPeerOf?: string): InterleaveSides {
  return {
    async ours(shape) {
      events.push(`open ours ${shape.preset}`);
      return {
        async measure(round) {
          events.push(`ours ${shape.preset} ${round}`);
          return [{ metric: "train", engine: "tfjs-wasm+blas", value: 100 + round }, { metric: "infer", engine: "onnxruntime-cpu", value: 1000 + round }];
        },
        close: () => { events.push(`close ours ${shape.preset}`); },
      };
    },
    async peer(shape) {
      events.push(`open peer ${shape.preset}`);
      if (shape.preset === failPeerOf) throw new Error(`scripts/bench-peer.py exited 2: no such preset`);
      return {
        async measure(round) {
          events.push(`peer ${shape.preset} ${round}`);
          return { train: 200, infer: 500 };
        },
        close: async () => { events.push(`close peer ${shape.preset}`); },
      };
    },
  };
}

describe("measureInterleaved", () => {
  it("runs ours then the peer in each round, shape after shape, each side opened once and closed before the next shape", async () => {
    const events: string[] = [];
    const { records, failed } = await measureInterleaved(SHAPES, 2, fakeSides(events));
    assert.deepEqual(events, [
      "open ours tiny", "open peer tiny", "ours tiny 0", "peer tiny 0", "ours tiny 1", "peer tiny 1", "close peer tiny", "close ours tiny",
      "open ours small", "open peer small", "ours small 0", "peer small 0", "ours small 1", "peer small 1", "close peer small", "close ours small",
    ]);
    assert.deepEqual(failed, []);
    assert.deepEqual(records.map((r) => `${r.shape.preset} ${r.round}`), ["tiny 0", "tiny 1", "small 0", "small 1"]);
  });
  it("calls before/after around every measurement in the same order", async () => {
    const seen: string[] = [];
    await measureInterleaved(SHAPES.slice(0, 1), 3, fakeSides([]), {
      before: ({ round, side }) => { seen.push(`${side} ${round}`); },
      after: (r) => { seen.push(`done ${r.round}`); },
    });
    assert.deepEqual(seen, ["ours 0", "peer 0", "done 0", "ours 1", "peer 1", "done 1", "ours 2", "peer 2", "done 2"]);
  });
  it("leaves out a shape whose peer fails to start, names it, closes what was opened and goes on", async () => {
    const events: string[] = [];
    const { records, failed } = await measureInterleaved(SHAPES, 2, fakeSides(events, "tiny"));
    assert.deepEqual(failed, [{ shape: SHAPES[0], reason: "scripts/bench-peer.py exited 2: no such preset" }]);
    assert.ok(events.includes("close ours tiny"), "ours is closed when the peer fails");
    assert.ok(!events.some((e) => e.startsWith("ours tiny ")), "nothing measured for the failed shape");
    assert.deepEqual(records.map((r) => r.shape.preset), ["small", "small"]);
  });
  it("passes up errors that rethrow selects (an interrupt) after closing both sides", async () => {
    const events: string[] = [];
    const sides = fakeSides(events);
    const interrupted = new Error("interrupted");
    await assert.rejects(measureInterleaved(SHAPES, 2, sides, { before: ({ round, side }) => { if (round === 1 && side === "peer") throw interrupted; }, rethrow: (e) => e === interrupted }), /interrupted/);
    assert.deepEqual(events.slice(-2), ["close peer tiny", "close ours tiny"]);
  });
  it("rejects a round count that is not a positive integer", async () => {
    await assert.rejects(measureInterleaved(SHAPES, 0, fakeSides([])), /rounds must be an integer >= 1, got 0/);
  });
});

describe("computePeerRatios", () => {
  const record = (round: number, oursTrain: number, peerTrain: number, oursInfer: number, peerInfer: number): RoundRecord => ({
    shape: SHAPES[0], round, ours: [{ metric: "train", engine: "tfjs-wasm+blas", value: oursTrain }, { metric: "infer", engine: "tfjs-wasm+blas", value: oursInfer }, { metric: "infer", engine: "onnxruntime-cpu", value: 2 * oursInfer }],
    peer: { train: peerTrain, infer: peerInfer },
  });
  it("pairs each round's values and takes the median of the per-round ratios", () => {
    // drift: round 2 runs on a machine twice as slow for both sides; the paired ratio stays 0.5 for training
    const ratios = computePeerRatios([record(0, 300, 600, 1000, 4000), record(1, 150, 300, 1000, 2000), record(2, 100, 250, 900, 3000)]);
    assert.deepEqual(ratios.map((r) => `${r.metric} ${r.engine}`), ["train tfjs-wasm+blas", "infer tfjs-wasm+blas", "infer onnxruntime-cpu"]);
    const [train, infer, onnx] = ratios;
    assert.deepEqual(train.ours, [300, 150, 100]);
    assert.deepEqual(train.peer, [600, 300, 250]);
    assert.deepEqual(train.ratios, [0.5, 0.5, 0.4]);
    assert.equal(train.ratio, 0.5);
    assert.equal(train.unit, "examples/s");
    assert.deepEqual([train.preset, train.batch, train.seq], ["tiny", 32, 64]);
    assert.deepEqual(infer.ratios, [0.25, 0.5, 0.3]);
    assert.equal(infer.ratio, 0.3);
    assert.equal(infer.unit, "pairs/s");
    assert.deepEqual(onnx.ratios, [0.5, 1, 0.6]);
    assert.equal(onnx.ratio, 0.6);
  });
  it("with two rounds the ratio is the mean of the two, and a round without a peer value gives no ratio", () => {
    const [train] = computePeerRatios([record(0, 100, 200, 1, 1), record(1, 300, 200, 1, 1), record(2, 100, 0, 1, 1)]);
    assert.deepEqual(train.ratios, [0.5, 1.5]);
    assert.equal(train.ratio, 1);
  });
});

describe("bench --peer rounds: config, table and figure", () => {
  const ratio: PeerRatio = { preset: "tiny", batch: 32, seq: 64, metric: "train", engine: "tfjs-wasm+blas", unit: "examples/s", ours: [300, 320], peer: [600, 640], ratios: [0.5, 0.5], ratio: 0.5 };
  it("defaults to 2 rounds and rejects a bad count, naming it", () => {
    assert.equal(resolveBenchConfig({}).rounds, 2);
    assert.throws(() => resolveBenchConfig({ rounds: 0 }), (e: Error) => e instanceof ConfigError && /rounds must be an integer >= 1, got 0/.test(e.message));
  });
  it("prints each round and the median ratio", () => {
    const text = peerTables({ config: resolveBenchConfig({}), ratios: [ratio], peer: [] }).join("\n");
    assert.match(text, /tiny\s+32x64\s+train ex\/s\s+tfjs-wasm\+blas\s+300\.0 \/ 320\.0\s+600\.0 \/ 640\.0\s+0\.50 \/ 0\.50\s+0\.50x/);
    assert.match(text, /median over rounds/);
  });
  it("draws the ratios in their own chart with whiskers over the rounds and a line at 1.0", () => {
    const report = {
      config: resolveBenchConfig({}), machine: { cpuModel: "cpu", cores: 2, node: "v20" }, backends: [], train: [], infer: [], presets: [{ preset: "tiny" }], peer: [],
      ratios: [ratio, { ...ratio, metric: "infer", engine: "onnxruntime-cpu", unit: "pairs/s", ratios: [1.2, 1.6], ratio: 1.4 } as PeerRatio],
    } as never;
    const fig = benchFigure(report);
    const bars = (fig.data as Array<{ name: string; xaxis?: string; x: string[]; y: number[]; error_y: { array: number[]; arrayminus: number[] } }>).filter((t) => t.xaxis === "x3");
    assert.deepEqual(bars.map((b) => b.name), ["train tfjs-wasm+blas / pytorch", "infer onnxruntime-cpu / pytorch"]);
    assert.deepEqual(bars[1].x, ["tiny<br>32x64"]);
    assert.deepEqual(bars[1].y, [1.4]);
    assert.ok(Math.abs(bars[1].error_y.array[0] - 0.2) < 1e-12 && Math.abs(bars[1].error_y.arrayminus[0] - 0.2) < 1e-12);
    const shapes = fig.layout?.shapes as Array<{ yref: string; y0: number; y1: number }>;
    assert.deepEqual(shapes.map((s) => [s.yref, s.y0, s.y1]), [["y3", 1, 1]]);
    // without ratios the figure is the two panels as before
    assert.deepEqual(benchFigure({ ...(report as object), ratios: [] } as never).layout?.shapes, []);
  });
});
