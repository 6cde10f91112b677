/**
 * `runBench`: measure, on this machine, every requested backend that starts:
 *   1. matMul GFLOP/s: n x n @ n x n float32 (the backend's practical peak; a smaller n on cpu), and
 *      the batched Q K^T matMul of each preset at the reference shape [batch * heads, seq, d] x [.., d, seq];
 *   2. training examples/s per preset (speed.ts: the real train step) on DL19 groups and at batch x seq;
 *   3. inference pairs/s per preset: scorePairs on real DL19 pairs, forward passes at batch x seq, and
 *      ONNX Runtime on the preset's ONNX export (lib/export/model.ts);
 *   4. FLOPs per pair (flops.ts) and the achieved fraction of the backend's matMul peak;
 *   5. p50/p95 latency of POST /rerank with 100 passages (lib/serve/server.ts), tfjs and ONNX Runtime;
 *   6. with config.peer, the PyTorch peer interleaved with our fastest engines, round by round (peer-rounds.ts).
 * Models are untrained seeded students (student-dir.ts) in a temporary folder removed afterwards.
 * Progress goes to stderr (or options.log); TensorFlow.js is put back on its previous backend at the end.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync } from "fs";
import { loadavg, tmpdir } from "os";
import { join } from "path";
import { InterruptedError } from "../core/errors";
import { interruptCheck } from "../core/interrupt";
import { inTslabKernel } from "../core/kernel";
import { createProgress } from "../core/progress";
import { loadDataset } from "../data/datasets";
import type { Dataset } from "../data/types";
import { encoderVariableShapes } from "../models/encoder";
import { shippedLexicon } from "../lexical/shipped";
import { packPairs } from "../train/batches";
import { studentTokenizer } from "../train/config";
import { loadStudent } from "../train/rerank";
import { resolveBenchConfig, type BenchBackend, type BenchConfig } from "./config";
import { bestTfjs, restoreBackend, startBackend } from "./backends";
import { computeBatchesFlops, computeForwardFlops } from "./flops";
import { benchVersions, machineFacts, readGitSha } from "./machine";
import { measureMatmul } from "./matmul";
import { benchPeerRounds } from "./peer-rounds";
import { exportModel } from "../export/model";
import { loadExportedScorer, type ExportedScorer } from "../export/runtime";
import { MATCH_INPUT } from "../export/student-graph";
import { splitMatchTypes } from "../models/match-channel";
import { measureRerankLatency, startServer, type RunningServer } from "../serve/server";
import { loadReranker, type Reranker } from "../train/reranker";
import { measureInference, measureTraining, type SpeedSample } from "./speed";
import { BENCH_VOCAB_SIZE, benchEncoderConfig, makeBenchStudentDir } from "./student-dir";
import type { BackendResult, BenchReport, InferSpeed, PresetResult, TrainSpeed } from "./types";
import { batchShape, benchGroups, benchPairs, scoringShapes, type TextPair } from "./workload";

/** Options of runBench. */
export interface RunBenchOptions {
  /** Where progress lines go. Default: stderr, prefixed "[bench] ". */
  log?: (line: string) => void;
  /** No progress at all. */
  quiet?: boolean;
  /** The DL19 dataset, already loaded (tests). Default loadDataset("dl19"). */
  dataset?: Dataset;
}

const TFJS_BACKENDS: readonly BenchBackend[] = ["wasm", "wasm+blas", "cpu", "tensorflow"];


function errorLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

/** Run the benchmark (see the file header) and return its report; nothing is written but temporary files. */
export async function runBench(overrides: Partial<BenchConfig> = {}, options: RunBenchOptions = {}): Promise<BenchReport> {
  let at = "before its first measurement";
  const interrupt = interruptCheck(() => `bench ${at} (a bench keeps nothing before it finishes: running it again starts over)`);
  const config = resolveBenchConfig(overrides);
  const tfjsBackends = config.backends.filter((b) => TFJS_BACKENDS.includes(b));
  const onnx = config.backends.includes("onnxruntime");
  // one line in a notebook, over (backend, preset) measurements, exports and latency targets; its status is the last log line
  const bar = createProgress({ label: "bench", total: config.presets.length * (tfjsBackends.length + (onnx ? 2 : 0) + 1 + (config.peer ? 1 : 0)), unit: "measurements", quiet: options.quiet, lineOnly: true });
  const log: Log = options.quiet ? () => undefined : options.log ?? (inTslabKernel() ? (line) => bar.tick(0, line) : (line) => process.stderr.write(`[bench] ${line}\n`));
  const step = async (where: string): Promise<void> => {
    at = `at ${where}`;
    await interrupt.check();
  };
  const started = performance.now();
  const machine = machineFacts();
  const backendBefore = (tf.engine().backendName as string | undefined) ?? null;
  const report: BenchReport = {
    format: "rra-bench/1", createdAt: new Date().toISOString(), seed: config.seed, config: { ...config, presets: [...config.presets], backends: [...config.backends] },
    machine, versions: benchVersions(), gitSha: readGitSha(), backendBefore, backends: [], presets: [], attention: [], train: [], infer: [], exports: [], latency: [], skipped: [], wallSeconds: 0,
  };
  const work = mkdtempSync(join(tmpdir(), "rra-bench-"));
  try {
    const dataset = options.dataset ?? loadDataset("dl19");
    const tokenizer = studentTokenizer(BENCH_VOCAB_SIZE);
    const groups = benchGroups(dataset, config.groupSize);
    const lexicon = shippedLexicon();
    const dirs = new Map<string, string>();
    for (const preset of config.presets) {
      const encoder = benchEncoderConfig(preset, config.seed);
      dirs.set(preset, makeBenchStudentDir({ preset, seed: config.seed, maxLength: config.maxLength, dir: join(work, preset) }));
      const { numLayers, hiddenSize, numHeads, ffnSize, maxLen } = encoder;
      report.presets.push({
        preset, sizes: { numLayers, hiddenSize, numHeads, ffnSize, maxLen }, vocabSize: encoder.vocabSize,
        params: encoderVariableShapes(encoder).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0),
        forwardFlopsAtSeq: computeForwardFlops(encoder, config.seq),
      });
    }
    log(`${config.presets.join(", ")} students written; ${groups.length} DL19 groups of ${config.groupSize}`);

    for (const name of tfjsBackends) {
      await step(name);
      const start = await startBackend(name);
      if ("reason" in start) {
        report.backends.push({ name, available: false, reason: start.reason, package: null, version: null, matmul: null });
        report.skipped.push({ what: name, reason: start.reason });
        log(`${name}: ${start.reason}`);
        bar.tick(config.presets.length);
        continue;
      }
      const cpu = name === "cpu";
      const n = cpu ? config.cpuMatmulSize : config.matmulSize;
      const matmul = measureMatmul(n, n, n, { runs: config.matmulRuns, warmup: config.warmup, seed: config.seed });
      const backend: BackendResult = { name, available: true, reason: null, package: start.package, version: start.version, simd: start.simd, threads: start.threads, matMulKernel: start.matMulKernel, matmul };
      report.backends.push(backend);
      log(`${name}: matMul ${n}x${n} ${matmul.medianMs.toFixed(1)} ms, ${matmul.gflops.toFixed(2)} GFLOP/s`);
      const steps = cpu ? Math.min(config.steps, config.cpuSteps) : config.steps;
      const pairs = benchPairs(dataset, cpu ? Math.min(config.inferPairs, config.cpuInferPairs) : config.inferPairs);
      for (const preset of config.presets) {
        await step(`${name} ${preset}`);
        const sizes = report.presets.find((p) => p.preset === preset)?.sizes ?? benchEncoderConfig(preset, config.seed);
        const d = sizes.hiddenSize / sizes.numHeads;
        const att = measureMatmul(config.seq, d, config.seq, { batch: config.batch * sizes.numHeads, transposeB: true, runs: config.matmulRuns, warmup: config.warmup, seed: config.seed });
        report.attention.push({ backend: name, preset, ...att });
        const student = loadStudent(dirs.get(preset) as string);
        try {
          for (const s of await measureInference({ student, pairs, inferBatch: config.inferBatch, batch: config.batch, seq: config.seq, steps, warmup: config.warmup }, interrupt)) {
            report.infer.push(inferRow(name, preset, `tfjs-${name}`, s, matmul.gflops));
          }
        } finally {
          student.dispose();
        }
        const trained = await measureTraining({ encoderConfig: benchEncoderConfig(preset, config.seed), tokenizer, groups, lexicon, batch: config.batch, maxLength: config.maxLength, seq: config.seq, steps, warmup: config.warmup, seed: config.seed }, interrupt);
        for (const s of trained) report.train.push(trainRow(name, preset, s, matmul.gflops));
        const last = (w: string) => report.train.find((r) => r.backend === name && r.preset === preset && r.workload === w);
        const inf = (w: string) => report.infer.find((r) => r.backend === name && r.preset === preset && r.workload === w);
        log(`${name} ${preset}: train ${last("dl19")?.examplesPerSec.toFixed(1)} ex/s (T ${last("dl19")?.meanSeqLen.toFixed(0)}), ${last("reference")?.examplesPerSec.toFixed(1)} ex/s at ${config.batch}x${config.seq}; ` +
          `infer ${inf("dl19")?.pairsPerSec.toFixed(1)} pairs/s (T ${inf("dl19")?.meanSeqLen.toFixed(0)}), ${inf("reference")?.pairsPerSec.toFixed(1)} at ${config.batch}x${config.seq}`);
        bar.tick(1);
      }
    }

    if (onnx) await benchOnnx(report, config, dirs, benchPairs(dataset, config.inferPairs), tokenizer, work, log, step, () => bar.tick(1));
    await benchLatency(report, config, dirs, log, step, () => bar.tick(1));
    if (config.peer) {
      await benchPeerRounds({ report, config, dirs, tokenizer, groups, lexicon, pairs: benchPairs(dataset, config.inferPairs), log, step, interrupt });
      bar.tick(config.presets.length);
    }
    bar.done();
  } catch (e) {
    throw interrupt.explain(e);
  } finally {
    // no backend before the bench: leave TensorFlow.js on the best one that started (not on cpu, the last measured)
    const best = bestTfjs(report.backends);
    await restoreBackend(backendBefore ?? (best === "wasm+blas" ? "wasm" : best ?? null));
    rmSync(work, { recursive: true, force: true });
  }
  report.machine.loadavgEnd = loadavg();
  report.wallSeconds = (performance.now() - started) / 1000;
  return report;
}

function trainRow(backend: BenchBackend, preset: string, s: SpeedSample, peakGflops: number | null): TrainSpeed {
  const examplesPerSec = s.pairs / s.seconds;
  const achievedGflops = (examplesPerSec * s.flopsPerPair) / 1e9;
  return {
    backend, preset, workload: s.workload, steps: s.runs, examples: s.pairs, seconds: s.seconds, examplesPerSec, meanSeqLen: s.meanSeqLen, meanTokens: s.meanTokens,
    flopsPerExample: s.flopsPerPair, achievedGflops, peakFraction: peakGflops ? achievedGflops / peakGflops : null,
  };
}

function inferRow(backend: BenchBackend, preset: string, engine: string, s: SpeedSample, peakGflops: number | null, threads?: number): InferSpeed {
  const pairsPerSec = s.pairs / s.seconds;
  const achievedGflops = (pairsPerSec * s.flopsPerPair) / 1e9;
  const row: InferSpeed = {
    backend, preset, engine, workload: s.workload, pairs: s.pairs, seconds: s.seconds, pairsPerSec, meanSeqLen: s.meanSeqLen, meanTokens: s.meanTokens,
    flopsPerPair: s.flopsPerPair, achievedGflops, peakFraction: peakGflops ? achievedGflops / peakGflops : null,
  };
  if (threads !== undefined) row.threads = threads;
  return row;
}

type Log = (line: string) => void;
/** Say where the bench is, and stop there on an interrupt. */
type Step = (where: string) => Promise<void>;

/** ONNX Runtime: export each preset with exportModel, load it with loadReranker(engine onnxruntime), time scorePairs. */
async function benchOnnx(report: BenchReport, config: BenchConfig, dirs: Map<string, string>, pairs: TextPair[], tokenizer: ReturnType<typeof studentTokenizer>, work: string, log: Log, step: Step, done: () => void): Promise<void> {
  const start = await startBackend("onnxruntime");
  if ("reason" in start) {
    report.backends.push({ name: "onnxruntime", available: false, reason: start.reason, package: null, version: null, matmul: null });
    report.skipped.push({ what: "onnxruntime", reason: start.reason });
    log(`onnxruntime: ${start.reason}`);
    return;
  }
  report.backends.push({ name: "onnxruntime", available: true, reason: null, package: start.package, version: start.version, matmul: null });
  const threads = Math.min(report.machine.cores, 4);
  // the exporter's parity check scores 300 pairs with TensorFlow.js: on the fastest backend that started, not on cpu
  await startBackend(bestTfjs(report.backends) ?? "wasm");
  for (const preset of config.presets) {
    await step(`onnxruntime ${preset}`);
    let scorer: ExportedScorer | undefined;
    try {
      const out = join(work, `onnx-${preset}`);
      const exported = await exportModel({ model: dirs.get(preset) as string, format: "onnx", out });
      report.exports.push({ preset, out: exported.out, parity: exported.parity });
      scorer = await loadExportedScorer(exported.out, { engine: "onnxruntime", batchSize: config.inferBatch, threads });
      const r = scorer;
      // ONNX Runtime plans memory per input shape: a first pass at a new [rows, T] is ~3x slower, so warm up on the same pairs
      for (let i = 0; i < config.warmup; i++) await r.scorePairs(pairs);
      const t0 = performance.now();
      await r.scorePairs(pairs);
      const seconds = (performance.now() - t0) / 1000;
      // the exported scorer batches like scorePairs (length order, inferBatch rows, padded to the longest)
      const shapes = scoringShapes(tokenizer, pairs, config.inferBatch, { maxLength: config.maxLength, matchChannel: true });
      const sizes = report.presets.find((p) => p.preset === preset)?.sizes ?? benchEncoderConfig(preset, config.seed);
      const n = shapes.reduce((k, s) => k + s.rows, 0);
      const sample: SpeedSample = {
        workload: "dl19", runs: 1, pairs: n, seconds, meanSeqLen: shapes.reduce((k, s) => k + s.rows * s.seqLen, 0) / n,
        meanTokens: shapes.reduce((k, s) => k + s.tokens, 0) / n, flopsPerPair: computeBatchesFlops(sizes, shapes) / n,
      };
      const row = inferRow("onnxruntime", preset, r.engine, sample, null, threads);
      report.infer.push(row);
      // the reference shape: forward passes over one pre-packed batch x seq batch (no tokenizing), as for tfjs and the PyTorch peer
      const refPairs = Array.from({ length: config.batch }, (_, i) => pairs[i % pairs.length]);
      const combined = packPairs(tokenizer, refPairs, { maxLength: config.seq, tokenSelection: null, padTo: "max", matchChannel: true });
      // an export's graph takes the match channel as its own input (match_ids) beside token types 0/1
      const packed = r.config.inputs.includes(MATCH_INPUT) ? splitMatchTypes(combined) : combined;
      for (let i = 0; i < config.warmup; i++) await r.runPacked(packed);
      const t1 = performance.now();
      for (let i = 0; i < config.steps; i++) await r.runPacked(packed);
      const refSeconds = (performance.now() - t1) / 1000;
      const refShapes = Array.from({ length: config.steps }, () => batchShape(packed));
      const refN = config.batch * config.steps;
      const ref: SpeedSample = {
        workload: "reference", runs: config.steps, pairs: refN, seconds: refSeconds, meanSeqLen: config.seq,
        meanTokens: refShapes.reduce((k, x) => k + x.tokens, 0) / refN, flopsPerPair: computeBatchesFlops(sizes, refShapes) / refN,
      };
      const refRow = inferRow("onnxruntime", preset, r.engine, ref, null, threads);
      report.infer.push(refRow);
      log(`onnxruntime ${preset}: infer ${row.pairsPerSec.toFixed(1)} pairs/s (T ${row.meanSeqLen.toFixed(0)}, ${threads} threads), ${refRow.pairsPerSec.toFixed(1)} at ${config.batch}x${config.seq}; export parity max |diff| ${exported.parity.maxAbsDiff.toExponential(2)}`);
    } catch (e) {
      if (e instanceof InterruptedError) throw e;
      report.skipped.push({ what: `onnxruntime ${preset}`, reason: errorLine(e) });
      log(`onnxruntime ${preset}: failed: ${errorLine(e)}`);
    } finally {
      scorer?.dispose();
    }
    done();
  }
}

/** p50/p95 of POST /rerank (lib/serve/server.ts) per preset: the tfjs student on the best started backend, and its ONNX export when there is one. */
async function benchLatency(report: BenchReport, config: BenchConfig, dirs: Map<string, string>, log: Log, step: Step, done: () => void): Promise<void> {
  const tfjs = bestTfjs(report.backends);
  if (tfjs) await startBackend(tfjs);
  const targets: Array<{ preset: string; dir: string; engine?: "onnxruntime" }> = [];
  for (const preset of config.presets) {
    if (tfjs) targets.push({ preset, dir: dirs.get(preset) as string });
    const exported = report.exports.find((x) => x.preset === preset);
    if (exported) targets.push({ preset, dir: exported.out, engine: "onnxruntime" });
  }
  for (const t of targets) {
    await step(`latency ${t.preset}${t.engine ? ` ${t.engine}` : ""}`);
    let reranker: Reranker | undefined;
    let server: RunningServer | undefined;
    try {
      reranker = await loadReranker(t.dir, t.engine ? { engine: t.engine, batchSize: config.inferBatch } : { batchSize: config.inferBatch });
      server = await startServer(reranker, { port: 0, host: "127.0.0.1" });
      const options = { passages: config.latencyPassages, requests: config.latencyRequests, concurrency: 1 };
      const raw = await measureRerankLatency(server.url, options);
      const p = { p50Ms: raw.p50_ms, p95Ms: raw.p95_ms };
      report.latency.push({ preset: t.preset, engine: reranker.engine, ...options, ...p, raw });
      log(`latency ${t.preset} ${reranker.engine}: p50 ${p.p50Ms.toFixed(0)} ms, p95 ${p.p95Ms.toFixed(0)} ms (${config.latencyPassages} passages)`);
    } catch (e) {
      if (e instanceof InterruptedError) throw e;
      report.skipped.push({ what: `latency ${t.preset}${t.engine ? ` ${t.engine}` : ""}`, reason: errorLine(e) });
      log(`latency ${t.preset}: failed: ${errorLine(e)}`);
    } finally {
      if (server !== undefined) await server.close();
      reranker?.dispose();
    }
    done();
  }
}
