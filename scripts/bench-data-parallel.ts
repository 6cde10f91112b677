/**
 * Training steps/s of one thread against two (issue 16, data parallelism; lib/train/parallel.ts), and
 * against one thread with a 2-thread OpenBLAS matMul (RRA_BLAS_THREADS=2), at two shapes:
 *   tiny          32 pairs x 64 tokens, groups of 8 (4 groups per step)
 *   bert-l4-h256  8 pairs x 128 tokens, groups of 4 (2 groups per step), vocabulary 30522 (11.2M parameters,
 *                 the google/bert_uncased_L-4_H-256_A-4 size)
 * The reference workload of rra bench (lib/bench/speed.ts): RRA-BERT without the TCL, listNet, clipping,
 * AdamW, dropout 0.1, DL19 groups packed to the full length; each variant in a fresh process, the variants
 * interleaved round by round (a shared machine's load drifts), the load average printed with every run.
 * A benchmark, not a test: it prints numbers.
 *
 *   npx tsx scripts/bench-data-parallel.ts [--rounds 3] [--shapes tiny,bert-l4-h256]
 */
import { spawnSync } from "child_process";
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
const VARIANTS = ["1 thread", "2 workers", "1 thread, BLAS 2"] as const;
type Variant = (typeof VARIANTS)[number];

interface ChildResult { stepsPerSec: number; msPerStep: number; copyMs: number; params: number; matMul: string; load: number[] }

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
  const cfg = { loss: "listNet", clip: 1, seed: 42 };
  // workers 1 is createTrainStep itself
  const step = createParallelTrainStep(model, optimizer, cfg, () => 5e-4, { workers: variant === "2 workers" ? 2 : 1 });
  try {
    for (let i = 0; i < shape.warmup; i++) step(packGroups(tok, groups, batches[i], opts), i);
    let seconds = 0;
    for (let i = shape.warmup; i < shape.warmup + shape.steps; i++) {
      t = performance.now();
      step(packGroups(tok, groups, batches[i], opts), i);
      seconds += (performance.now() - t) / 1000;
    }
    return { stepsPerSec: shape.steps / seconds, msPerStep: (1000 * seconds) / shape.steps, copyMs, params, matMul: backendInfo()?.matMul ?? tf.getBackend(), load: loadavg() };
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

function parent(rounds: number, shapes: string[]): void {
  const results = new Map<string, ChildResult[]>();
  for (const shapeName of shapes) {
    for (let r = 0; r < rounds; r++) {
      for (const variant of VARIANTS) {
        const env = { ...process.env, RRA_BLAS_THREADS: variant === "1 thread, BLAS 2" ? "2" : "1" };
        const before = loadavg()[0];
        const out = spawnSync(process.execPath, ["--require", "tsx/cjs", __filename, "--child", shapeName, "--variant", variant], { env, encoding: "utf8" });
        if (out.status !== 0) throw new Error(`${shapeName} / ${variant} failed: ${out.stderr}`);
        const res = JSON.parse(out.stdout.trim().split("\n").pop() as string) as ChildResult;
        const key = `${shapeName}\t${variant}`;
        results.set(key, [...(results.get(key) ?? []), res]);
        console.log(`${shapeName.padEnd(13)} round ${r + 1} ${variant.padEnd(17)} ${res.stepsPerSec.toFixed(2).padStart(6)} steps/s (${res.msPerStep.toFixed(0)} ms/step)  load ${before.toFixed(2)} -> ${res.load[0].toFixed(2)}  [${res.matMul}]`);
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

const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" }, shapes: { type: "string", default: "tiny,bert-l4-h256" }, child: { type: "string" }, variant: { type: "string" } } });
if (values.child) {
  child(values.child, values.variant as Variant).then((r) => console.log(JSON.stringify(r)), (e: unknown) => { console.error(e); process.exit(1); });
} else {
  parent(Number(values.rounds), String(values.shapes).split(","));
}
