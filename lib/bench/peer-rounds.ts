/**
 * `rra bench --peer`: our engines and the PyTorch peer measured interleaved per preset at the reference
 * shape (interleave.ts): ours, peer, ours, peer, ... for `config.rounds` rounds, after the rest of the bench.
 * Ours in a round: training steps on the fastest TensorFlow.js backend that started (the reference
 * workload of speed.ts: encoder + listwise loss, batches packed outside the timing, as the peer reuses one
 * batch), forward passes on it, and forward passes through ONNX Runtime on the preset's export (when the
 * bench exported it). Every side's value is batch / the median time of `steps` timed runs after one untimed
 * run (each side starts its turn cold: the other process just had the cores); the peer's the
 * same (scripts/bench-peer.py --serve, torch 1 thread + OpenBLAS `cores` threads).
 */
import type { Lexicon } from "../lexical/lexicon";
import { InterruptedError } from "../core/errors";
import type { InterruptCheck } from "../core/interrupt";
import { loadExportedScorer, type ExportedScorer } from "../export/runtime";
import { MATCH_INPUT } from "../export/student-graph";
import { splitMatchTypes } from "../models/match-channel";
import type { WordPieceTokenizer } from "../tokenize/wordpiece";
import { packPairs, type QueryGroup, type TrainBatch } from "../train/batches";
import { loadStudent, type Student } from "../train/rerank";
import { bestTfjs, startBackend } from "./backends";
import type { BenchConfig } from "./config";
import { computePeerRatios, measureInterleaved, type OpenSide, type OursSample, type PeerSample, type PeerShape, type RoundRecord } from "./interleave";
import { peerUnavailable, startPeer, type PeerProcess, type PeerResult } from "./peer";
import { createTrainBench, referenceForward, type TrainBench } from "./speed";
import { median } from "./stats";
import { benchEncoderConfig } from "./student-dir";
import type { BenchReport } from "./types";
import type { TextPair } from "./workload";

/** What the interleaved rounds need from runBench. */
export interface PeerRoundsInput {
  report: BenchReport;
  config: Readonly<BenchConfig>;
  /** preset -> its untrained student directory. */
  dirs: ReadonlyMap<string, string>;
  tokenizer: WordPieceTokenizer;
  groups: readonly QueryGroup[];
  lexicon: Lexicon;
  /** Real pairs that fill the reference inference batch. */
  pairs: readonly TextPair[];
  log: (line: string) => void;
  /** Say where the bench is and stop there on an interrupt. */
  step: (where: string) => Promise<void>;
  interrupt: InterruptCheck;
}

/** Batch / median of per-run times in ms: throughput per second. */
function perSecond(batch: number, ms: readonly number[]): number {
  return (batch * 1000) / median(ms);
}

/** Time `n` runs of `fn` one by one (ms each); the interrupt is checked between runs, outside the timing. */
async function timeRuns(n: number, fn: (i: number) => unknown, interrupt: InterruptCheck): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    await interrupt.check();
    const t0 = performance.now();
    await fn(i);
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** Run the rounds, and fill report.peer, report.ratios and report.skipped. */
export async function benchPeerRounds(input: PeerRoundsInput): Promise<void> {
  const { report, config, interrupt, log } = input;
  const why = peerUnavailable();
  if (why !== null) {
    report.skipped.push({ what: "pytorch peer", reason: why });
    log(`pytorch peer: ${why}`);
    return;
  }
  const tfjs = bestTfjs(report.backends);
  const cores = report.machine.cores;
  const shapes: PeerShape[] = config.presets.map((preset) => ({ preset, batch: config.batch, seq: config.seq }));
  const peers = new Map<string, { process: PeerProcess; rounds: Array<Record<string, unknown>>; values: PeerSample[] }>();
  log(`pytorch peer, interleaved: ${config.rounds} rounds of ours then the peer per preset at ${config.batch}x${config.seq} (ours: ${[tfjs ? `tfjs-${tfjs}` : null, report.exports.length ? "onnxruntime" : null].filter(Boolean).join(", ") || "nothing"})`);

  const ours = async (shape: PeerShape): Promise<OpenSide<OursSample[]>> => {
    const steps = tfjs === "cpu" ? Math.min(config.steps, config.cpuSteps) : config.steps;
    let train: TrainBench | undefined;
    let student: Student | undefined;
    let scorer: ExportedScorer | undefined;
    const close = (): void => {
      train?.dispose();
      student?.dispose();
      scorer?.dispose();
    };
    try {
      const parts: Array<{ metric: "train" | "infer"; engine: string; run: (i: number) => unknown; runs: number }> = [];
      if (tfjs) {
        const start = await startBackend(tfjs);
        if ("reason" in start) throw new Error(`${tfjs} did not start again: ${start.reason}`);
        const t = createTrainBench({
          encoderConfig: benchEncoderConfig(shape.preset, config.seed), tokenizer: input.tokenizer, groups: input.groups, lexicon: input.lexicon,
          batch: shape.batch, maxLength: config.maxLength, seq: shape.seq, steps: config.rounds * (steps + 1), warmup: config.warmup, seed: config.seed,
        }, "reference");
        train = t;
        for (let i = 0; i < config.warmup; i++) t.run(t.pack(i));
        // each round runs one untimed step first (as the peer does): steps + 1 batches a round
        const batches: TrainBatch[] = Array.from({ length: config.rounds * (steps + 1) }, (_, i) => t.pack(config.warmup + i));
        let next = 0;
        parts.push({ metric: "train", engine: `tfjs-${tfjs}`, runs: steps, run: () => t.run(batches[next++]) });
        student = loadStudent(input.dirs.get(shape.preset) as string);
        const forward = referenceForward(student, input.pairs, shape.batch, shape.seq);
        for (let i = 0; i < config.warmup; i++) forward.once();
        parts.push({ metric: "infer", engine: `tfjs-${tfjs}`, runs: steps, run: () => forward.once() });
      }
      const exported = report.exports.find((x) => x.preset === shape.preset);
      if (exported) {
        // no spinning: ONNX Runtime's pool threads otherwise spin on after each run and take the cores from the
        // peer's turn (tiny 32x64 peer training ~450 ex/s right after ONNX Runtime, ~780 after tfjs)
        const s = await loadExportedScorer(exported.out, { engine: "onnxruntime", batchSize: config.inferBatch, threads: Math.min(cores, 4), spinning: false });
        scorer = s;
        const refPairs = Array.from({ length: shape.batch }, (_, i) => input.pairs[i % input.pairs.length]);
        const combined = packPairs(input.tokenizer, refPairs, { maxLength: shape.seq, tokenSelection: null, padTo: "max", matchChannel: true });
        const packed = s.config.inputs.includes(MATCH_INPUT) ? splitMatchTypes(combined) : combined;
        for (let i = 0; i < config.warmup; i++) await s.runPacked(packed);
        parts.push({ metric: "infer", engine: s.engine, runs: config.steps, run: () => s.runPacked(packed) });
      }
      if (parts.length === 0) throw new Error("no engine here to compare (no TensorFlow.js backend started and no ONNX export)");
      return {
        async measure() {
          const out: OursSample[] = [];
          for (const p of parts) {
            // one untimed run first: after the other side's turn, caches and thread pools are cold on both sides
            await p.run(-1);
            out.push({ metric: p.metric, engine: p.engine, value: perSecond(shape.batch, await timeRuns(p.runs, p.run, interrupt)) });
          }
          return out;
        },
        close,
      };
    } catch (e) {
      close();
      throw e;
    }
  };

  const peer = async (shape: PeerShape): Promise<OpenSide<PeerSample>> => {
    const proc = await startPeer({ preset: shape.preset, batch: shape.batch, seq: shape.seq, warmup: config.warmup, seed: config.seed, blasThreads: Math.max(1, cores) });
    const kept = { process: proc, rounds: [] as Array<Record<string, unknown>>, values: [] as PeerSample[] };
    peers.set(shape.preset, kept);
    return {
      async measure() {
        const r = await proc.round(config.steps);
        kept.rounds.push(r.raw);
        const value = { train: r.trainExamplesPerSec, infer: r.inferPairsPerSec };
        kept.values.push(value);
        return value;
      },
      close: () => proc.close(),
    };
  };

  const { records, failed } = await measureInterleaved(shapes, config.rounds, { ours, peer }, {
    before: async ({ shape, round, side }) => {
      input.step(`pytorch peer rounds ${shape.preset} round ${round + 1} (${side})`);
      // a pause before each side's turn: what the other side leaves running (V8's background GC, BLAS threads
      // spinning down) slowed the next turn for up to ~1.5 s (tiny 32x64: the peer trained ~400 ex/s right after
      // our turn, 760-805 after a 1.5 s pause, 766 alone)
      const settle = Number(process.env.RRA_BENCH_SETTLE_MS ?? 1500);
      if (settle > 0) await new Promise((r) => setTimeout(r, settle));
    },
    after: (r) => logRound(r, config.rounds, log),
    rethrow: (e) => e instanceof InterruptedError || interrupt.interrupted,
  });
  for (const f of failed) {
    report.skipped.push({ what: `pytorch peer ${f.shape.preset}`, reason: f.reason });
    log(`pytorch peer ${f.shape.preset}: ${f.reason}`);
  }
  report.ratios = computePeerRatios(records);
  report.peer = [];
  for (const shape of shapes) {
    const kept = peers.get(shape.preset);
    if (!kept || !records.some((r) => r.shape.preset === shape.preset)) continue;
    const ready = kept.process.ready as { torch?: string; flops_per_pair_forward?: number; matmul?: { gflops?: number } };
    report.peer.push({
      preset: shape.preset, batch: shape.batch, seq: shape.seq, threads: 1, blasThreads: kept.process.options.blasThreads, torch: String(ready.torch),
      matmulGflops: ready.matmul?.gflops ?? null, trainExamplesPerSec: median(kept.values.map((v) => v.train)), inferPairsPerSec: median(kept.values.map((v) => v.infer)),
      flopsPerPairForward: Number(ready.flops_per_pair_forward), rounds: kept.values.length, raw: { ready: kept.process.ready, rounds: kept.rounds },
    } satisfies PeerResult);
  }
  for (const r of report.ratios) log(`ratio ${r.preset} ${r.batch}x${r.seq} ${r.metric} ${r.engine} / pytorch: ${r.ratio.toFixed(2)}x (rounds ${r.ratios.map((x) => x.toFixed(2)).join(", ")})`);
}

function logRound(r: RoundRecord, rounds: number, log: (line: string) => void): void {
  const ours = r.ours.map((o) => `${o.metric} ${o.value.toFixed(1)} (${o.engine})`).join(", ");
  log(`round ${r.round + 1}/${rounds} ${r.shape.preset} ${r.shape.batch}x${r.shape.seq}: ours ${ours}; pytorch train ${r.peer.train.toFixed(1)}, infer ${r.peer.infer.toFixed(1)}`);
}
