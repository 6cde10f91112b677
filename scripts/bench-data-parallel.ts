/**
 * Training steps/s of one thread against two (issue 16, data parallelism; lib/train/parallel.ts), and
 * against one thread with a 2-thread OpenBLAS matMul (RRA_BLAS_THREADS=2), at two shapes:
 *   tiny          32 pairs x 64 tokens, groups of 8 (4 groups per step)
 *   bert-l4-h256  8 pairs x 128 tokens, groups of 4 (2 groups per step), vocabulary 30522 (11.2M parameters,
 *                 the google/bert_uncased_L-4_H-256_A-4 size)
 * "1 thread, halves" is one thread with the 2-worker step's micro-batches (its numbers are the 2-worker step's,
 * bit for bit). The reference workload of rra bench (lib/bench/speed.ts): RRA-BERT without the TCL, listNet, clipping,
 * AdamW, dropout 0.1, DL19 groups packed to the full length; each variant in a fresh process, the variants
 * interleaved round by round (a shared machine's load drifts), the load average printed with every run.
 * Every run prints the cores it used and the cores the rest of the machine used meanwhile (/proc/stat): on a
 * shared machine the kernel's autogroups share the CPU per session, so while others keep the cores busy a
 * second thread gains little; --quiet-cores C waits (at most --max-wait s) before each run until the rest
 * of the machine uses less than C cores, and runs again (up to 3 times) a run during which it used more. A benchmark, not a test: it prints numbers.
 *
 *   npx tsx scripts/bench-data-parallel.ts [--rounds 3] [--shapes tiny,bert-l4-h256] [--quiet-cores 0.3] [--max-wait 300]
 */
import { spawnSync } from "child_process";
import { readFileSync } from "fs";
import { loadavg } from "os";
import { parseArgs } from "util";
import * as tf from "@tensorflow/tfjs";
import { backendInfo, initBackend } from "../lib/backend/tf";
import { benchEncoderConfig } from "../lib/bench/student-dir";
import { benchGroupBatches, benchGroups } from "../lib/bench/workload";
import { loadDataset } from "../lib/data/datasets";
import { shippedLexicon } from "../lib/lexical/shipped";
import { resolveEncoderConfig } from "../lib/models/presets";
import { createRraBert } from "../lib/models/tcl";
import { MATCH_TYPE_VOCAB, packGroups } from "../lib/train/batches";
import { studentTokenizer } from "../lib/train/config";
import { createParallelTrainStep } from "../lib/train/parallel";
import { floatsOf } from "../lib/train/parallel-protocol";
import { createAdamW } from "../lib/train/schedule";

interface Shape { preset: string; pairs: number; seq: number; groupSize: number; vocabSize: number; steps: number; warmup: number }
const SHAPES: Record<string, Shape> = {
  tiny: { preset: "tiny", pairs: 32, seq: 64, groupSize: 8, vocabSize: 0, steps: 20, warmup: 3 },
  "bert-l4-h256": { preset: "bert-l4-h256", pairs: 8, seq: 128, groupSize: 4, vocabSize: 30522, steps: 8, warmup: 2 },
};
const VARIANTS = ["1 thread", "2 workers", "1 thread, BLAS 2", "1 thread, halves"] as const;
type Variant = (typeof VARIANTS)[number];

interface ChildResult {
  stepsPerSec: number; msPerStep: number; copyMs: number; params: number; matMul: string; load: number[];
  /** Cores this process used during the timed steps (CPU time / wall time), and cores everything else used then. */
  ownCores: number; otherCores: number;
  /** Per-phase milliseconds per step (ParallelTrainStep.timings). */
  phases: Record<string, number>;
}

/** Busy and total CPU jiffies of the whole machine (/proc/stat). */
function cpuJiffies(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}
const HZ = 100; // USER_HZ on Linux

/** Cores busy over the next `ms` milliseconds (the whole machine). */
function busyCores(ms: number): number {
  const a = cpuJiffies();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const b = cpuJiffies();
  return (b.busy - a.busy) / HZ / (ms / 1000);
}

async function child(shapeName: string, variant: Variant): Promise<ChildResult> {
  const shape = SHAPES[shapeName];
  await initBackend({ quiet: true });
  const tok = studentTokenizer(8000);
  const base = benchEncoderConfig(shape.preset);
  const enc = shape.vocabSize ? resolveEncoderConfig({ vocabSize: shape.vocabSize, typeVocabSize: MATCH_TYPE_VOCAB, initStd: base.initStd, seed: base.seed }, { preset: shape.preset }) : base;
  const groups = benchGroups(loadDataset("dl19"), shape.groupSize);
  const batches = benchGroupBatches(groups.length, shape.pairs / shape.groupSize, shape.warmup + shape.steps, 42);
  const opts = { maxLength: shape.seq, tokenSelection: null, lexicon: shippedLexicon(), termArrays: false, matchChannel: true, matchIdf: false, padTo: "max" as const };
  const model = createRraBert(enc, { tcl: false, tokenSelection: "exact" });
  const vars = model.trainableVariables();
  const params = vars.reduce((n, v) => n + v.size, 0);
  // what the data-parallel step copies per step (the weights into shared memory, parallel.ts)
  const shared = new Float32Array(new SharedArrayBuffer(4 * params));
  const floats = floatsOf();
  let t = performance.now();
  for (let r = 0; r < 5; r++) { let off = 0; for (const v of vars) { shared.set(floats(v), off); off += v.size; } }
  const copyMs = (performance.now() - t) / 5;
  const optimizer = createAdamW(vars, { weightDecay: 0.01 });
  // "halves": one thread with the micro-batches of the 2-worker step (the same numbers, bit for bit)
  const cfg = { loss: "listNet", clip: 1, seed: 42, microBatch: variant === "1 thread, halves" ? Math.ceil(shape.pairs / shape.groupSize / 2) : 0 };
  // workers 1 is createTrainStep itself
  const step = createParallelTrainStep(model, optimizer, cfg, () => 5e-4, { workers: variant === "2 workers" ? 2 : 1 });
  try {
    for (let i = 0; i < shape.warmup; i++) step(packGroups(tok, groups, batches[i], opts), i);
    let seconds = 0;
    const packed = batches.map((b) => packGroups(tok, groups, b, opts));
    const j0 = cpuJiffies(), c0 = process.cpuUsage(), w0 = performance.now(), p0 = step.timings();
    for (let i = shape.warmup; i < shape.warmup + shape.steps; i++) {
      t = performance.now();
      step(packed[i], i);
      seconds += (performance.now() - t) / 1000;
    }
    const wall = (performance.now() - w0) / 1000, c1 = process.cpuUsage(c0), j1 = cpuJiffies(), p1 = step.timings();
    const own = (c1.user + c1.system) / 1e6;
    const phases = Object.fromEntries((["postMs", "ownMs", "waitMs", "receiveMs", "workerMs"] as const).map((k) => [k, (p1[k] - p0[k]) / shape.steps]));
    return {
      stepsPerSec: shape.steps / seconds, msPerStep: (1000 * seconds) / shape.steps, copyMs, params, matMul: backendInfo()?.matMul ?? tf.getBackend(), load: loadavg(),
      ownCores: own / wall, otherCores: Math.max(0, (j1.busy - j0.busy) / HZ - own) / wall, phases,
    };
  } finally {
    await step.close();
    optimizer.dispose();
    model.dispose();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Wait (at most `maxSec`) until the rest of the machine uses less than `cores` cores over a 2 s sample; returns the last sample. */
function waitForQuiet(cores: number, maxSec: number): number {
  const until = Date.now() + maxSec * 1000;
  let busy = busyCores(2000);
  while (busy > cores && Date.now() < until) busy = busyCores(2000);
  return busy;
}

function parent(rounds: number, shapes: string[], quiet: number, maxWait: number): void {
  const results = new Map<string, ChildResult[]>();
  for (const shapeName of shapes) {
    for (let r = 0; r < rounds; r++) {
      for (const variant of VARIANTS) {
        const env = { ...process.env, RRA_BLAS_THREADS: variant === "1 thread, BLAS 2" ? "2" : "1" };
        // with --quiet-cores, a run during which the rest of the machine went above it is run again (at most 3 times)
        let before = 0, res: ChildResult | null = null;
        for (let attempt = 0; attempt < (quiet > 0 ? 3 : 1) && (res === null || res.otherCores > quiet); attempt++) {
          before = quiet > 0 ? waitForQuiet(quiet, maxWait) : busyCores(1000);
          const out = spawnSync(process.execPath, ["--require", "tsx/cjs", __filename, "--child", shapeName, "--variant", variant], { env, encoding: "utf8" });
          if (out.status !== 0) throw new Error(`${shapeName} / ${variant} failed: ${out.stderr}`);
          res = JSON.parse(out.stdout.trim().split("\n").pop() as string) as ChildResult;
        }
        if (res === null) throw new Error("no run");
        const key = `${shapeName}\t${variant}`;
        results.set(key, [...(results.get(key) ?? []), res]);
        const ph = res.phases.ownMs > 0 ? `  own ${res.phases.ownMs.toFixed(0)} wait ${res.phases.waitMs.toFixed(0)} worker ${res.phases.workerMs.toFixed(0)} post ${res.phases.postMs.toFixed(0)} recv ${res.phases.receiveMs.toFixed(0)} ms` : "";
        console.log(`${shapeName.padEnd(13)} round ${r + 1} ${variant.padEnd(17)} ${res.stepsPerSec.toFixed(2).padStart(6)} steps/s (${res.msPerStep.toFixed(0)} ms/step)  cores: ours ${res.ownCores.toFixed(2)}, others ${res.otherCores.toFixed(2)} (${before.toFixed(2)} before; load avg ${res.load[0].toFixed(2)})${ph}`);
      }
    }
    const base = median((results.get(`${shapeName}\t1 thread`) ?? []).map((x) => x.stepsPerSec));
    const first = (results.get(`${shapeName}\t1 thread`) ?? [])[0];
    console.log(`${shapeName}: ${first.params} parameters; copying them into shared memory ${first.copyMs.toFixed(1)} ms`);
    for (const variant of VARIANTS) {
      const xs = (results.get(`${shapeName}\t${variant}`) ?? []).map((x) => x.stepsPerSec);
      console.log(`  ${variant.padEnd(17)} median ${median(xs).toFixed(2)} steps/s (${(median(xs) / base).toFixed(2)}x; runs ${xs.map((x) => x.toFixed(2)).join(", ")})`);
    }
  }
}

const { values } = parseArgs({ options: {
  rounds: { type: "string", default: "3" }, shapes: { type: "string", default: "tiny,bert-l4-h256" }, child: { type: "string" }, variant: { type: "string" },
  "quiet-cores": { type: "string", default: "0" }, "max-wait": { type: "string", default: "300" },
} });
if (values.child) {
  child(values.child, values.variant as Variant).then((r) => console.log(JSON.stringify(r)), (e: unknown) => { console.error(e); process.exit(1); });
} else {
  parent(Number(values.rounds), String(values.shapes).split(","), Number(values["quiet-cores"]), Number(values["max-wait"]));
}
