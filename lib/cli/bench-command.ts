/** `rra bench`: speed of every available backend on this machine (lib/bench), as a table, the store and figures/bench.*. */
import { ConfigError } from "../core/errors";
import { projectPath } from "../core/paths";
import { mkdirSync } from "fs";
import { join } from "path";
import { writeFileAtomic } from "../core/files";
import { startBackend } from "../bench/backends";
import { BENCH_BACKENDS, BENCH_DEFAULTS, BENCH_TINY, resolveBenchConfig, type BenchBackend, type BenchConfig } from "../bench/config";
import { profileTable } from "../bench/kernel-table";
import { profileTrainStep } from "../bench/profile";
import { runBench } from "../bench/run";
import { saveBenchRun } from "../bench/store";
import { benchTable } from "../bench/table";
import type { BenchReport, TrainStepProfile } from "../bench/types";
import { closeFigures, saveFigure } from "../export/figures";
import { benchFigure } from "../plots/bench";
import { closeStore, defaultStoreTarget, openStore } from "../store/db";
import { listFlag, numberFlag, parseFlags, type Command } from "./args";

/** --profile defaults: unprofiled steps timed for the step's own wall time, and warm-up steps (the JS kernels get optimized by V8 over the first few). */
const PROFILE_STEPS = 3, PROFILE_WARMUP = 3;

const HELP = `rra bench [--json] [--tiny] [--peer [--rounds N]] [--presets tiny,small] [--backends wasm,wasm+blas,cpu,tensorflow,onnxruntime]
          [--seq N] [--batch N] [--steps N] [--warmup N] [--out DIR] [--db FILE|URL]
rra bench --profile [--presets tiny] [--backends wasm+blas] [--batch N] [--seq N] [--steps N] [--warmup N] [--top N] [--json] [--out DIR]

Measure on this machine, for each available backend (tfjs wasm with its own matMul, tfjs wasm with
the native OpenBLAS matMul (wasm+blas, lib/backend/native-matmul.ts), tfjs cpu, tfjs tensorflow when
@tensorflow/tfjs-node is installed, ONNX Runtime for inference):
  - matMul GFLOP/s: ${BENCH_DEFAULTS.matmulSize}^3 float32 (${BENCH_DEFAULTS.cpuMatmulSize}^3 on cpu), median of ${BENCH_DEFAULTS.matmulRuns} after warm-up: the backend's practical peak;
    and the batched attention matMul Q K^T of each preset at the reference shape;
  - training examples/s per student preset (the real train step: RRA-BERT + TCL, listNet, AdamW) on
    real DL19 groups packed to <= 128 tokens (padded to each batch's longest), and at batch x seq
    (encoder + listwise loss without the TCL, the PyTorch peer's shape);
  - inference pairs/s per preset: scorePairs on real DL19 pairs (end to end, tokenizing included) and
    forward passes over a packed batch x seq batch, for tfjs and for ONNX Runtime on the ONNX export;
  - FLOPs per pair (analytic, lib/bench/flops.ts) and the achieved fraction of the matMul peak
    (training counted as 3 x forward);
  - p50/p95 latency of POST /rerank with 100 passages (rra serve's server over loopback).
The models are untrained seeded students of each preset (speed does not depend on the weights). On the
cpu backend (~40x slower) fewer steps and pairs are used (see the JSON config). Unavailable backends and
parts are reported with the reason. Progress goes to stderr.

Writes a row to the store (bench_runs) and DIR/bench.{png,svg,html}.

With --peer, after the rest the bench measures per preset at the reference shape, interleaved: ours
(training and forward passes on the fastest TensorFlow.js backend measured, forward passes through ONNX
Runtime), then the PyTorch peer (one python process per preset, started and warmed up once, waiting
between rounds), and again, --rounds times, so a load that drifts on a shared machine hits both alike.
Each side's value in a round is batch / the median time of --steps steps (or forward passes); the
ratio ours / PyTorch per preset, shape, metric and engine is the median over the rounds' ratios (with 2
rounds their mean). The ratios go into the table, the JSON (ratios) and the figure.

With --profile, nothing else is measured or stored: for each preset (and each TensorFlow.js backend
given, default wasm+blas, else wasm), one training step at batch x seq (the real step: encoder +
listNet, clip 1, AdamW) runs under tf.profile, after --warmup steps (default ${PROFILE_WARMUP}) and --steps
unprofiled ones (default ${PROFILE_STEPS}; their median is the step's own wall time). It prints per kernel:
calls, total ms, mean us/call, share of the step's wall time, largest first; plus the kernel
calls, the kernel time against the step's wall time (the rest is engine and JS overhead), and the
time per phase (forward + loss, backward + clipping, optimizer, other). --json prints the profiles as
JSON; --out DIR writes DIR/profile-<preset>-<backend>-<batch>x<seq>.json.

Options:
  --presets LIST   student presets                                   default ${BENCH_DEFAULTS.presets.join(",")}
  --backends LIST  some of ${BENCH_BACKENDS.join(",")}        default all
  --seq N          reference shape: tokens per pair                  default ${BENCH_DEFAULTS.seq}
  --batch N        reference rows, and pairs per training step       default ${BENCH_DEFAULTS.batch}
  --steps N        timed training steps / reference passes          default ${BENCH_DEFAULTS.steps} (cpu: ${BENCH_DEFAULTS.cpuSteps}) (--profile: ${PROFILE_STEPS})
  --peer           also run the PyTorch peer (scripts/bench-peer.py with Debian's python3-torch) at the
                   reference shape, interleaved with ours (see above), and print the ratios
  --rounds N       with --peer: rounds of (ours, then the peer) per preset     default ${BENCH_DEFAULTS.rounds}
  --warmup N       untimed runs before every timed measurement (>= 0)          default ${BENCH_DEFAULTS.warmup} (--profile: ${PROFILE_WARMUP})
  --profile        profile one training step per kernel instead of benchmarking (see above)
  --top N          with --profile: print the N largest kernels only            default all
  --tiny           a seconds-long run for CI: tiny preset, ${BENCH_TINY.batch}x${BENCH_TINY.seq}, ${BENCH_TINY.steps} steps, ${BENCH_TINY.matmulSize}^3 matMul
  --out DIR        figures folder                                    default figures/
                   (--profile: where the profile JSON goes; default: not written)
  --db FILE|URL    SQLite file or postgres:// URL (default: RRA_DB_URL, else RRA_DB, else data/rra.sqlite)
  --json           print one JSON object (the report, storeId, figures) and nothing else on stdout
                   (--profile: {profiles: [...]})
  -h, --help       this text

Examples:
  rra bench --presets small --backends wasm,onnxruntime
  rra bench --presets bert-l4-h256,minilm-l6-h384 --seq 128 --backends wasm,wasm+blas,onnxruntime --peer
      the sizes of two real pretrained checkpoints (BERT-L4-H256, MiniLM-L6-H384) at 128 tokens, with
      PyTorch on the same shapes
  rra bench --presets tiny --backends wasm+blas,onnxruntime --peer --steps 5 --rounds 3
  rra bench --profile --presets tiny --batch 32 --seq 64 --top 15`;

function intFlag(values: Record<string, unknown>, flag: string, min = 1): number | undefined {
  if (values[flag] === undefined) return undefined;
  const n = numberFlag("bench", values, flag, 0);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`rra bench: --${flag} expects ${min === 1 ? "a positive integer" : `an integer >= ${min}`}, got ${JSON.stringify(values[flag])}`);
  return n;
}

/** --profile: one profiled training step per preset and TensorFlow.js backend; prints the tables or JSON. */
async function runProfiles(values: Record<string, unknown>, overrides: Partial<BenchConfig>, explicitBackends: boolean): Promise<number> {
  for (const flag of ["peer", "rounds", "db"]) if (values[flag] !== undefined && values[flag] !== false) throw new ConfigError(`rra bench: --${flag} does not go with --profile (a profile measures one training step, stores nothing and runs no peer)`);
  const config = resolveBenchConfig({ ...overrides, backends: overrides.backends ?? ["wasm+blas"] });
  if (config.backends.includes("onnxruntime")) throw new ConfigError(`rra bench: --profile needs TensorFlow.js backends (wasm, wasm+blas, cpu, tensorflow); --backends onnxruntime has no training step`);
  const top = intFlag(values, "top");
  const steps = overrides.steps ?? PROFILE_STEPS;
  const warmup = overrides.warmup ?? PROFILE_WARMUP;
  const profiles: TrainStepProfile[] = [];
  for (const preset of config.presets) {
    for (const wanted of config.backends) {
      let backend = wanted;
      // the default wasm+blas falls back to wasm when the native addon is not built; a backend asked for by name does not
      if (!explicitBackends && wanted === "wasm+blas" && "reason" in await startBackend("wasm+blas")) backend = "wasm";
      const p = await profileTrainStep({ preset, backend, batch: config.batch, seq: config.seq, groupSize: config.groupSize, warmup, steps, seed: config.seed });
      profiles.push(p);
      if (values.out !== undefined) {
        const dir = values.out as string;
        mkdirSync(dir, { recursive: true });
        writeFileAtomic(join(dir, `profile-${preset}-${backend}-${config.batch}x${config.seq}.json`), JSON.stringify(p, null, 1) + "\n");
      }
      if (values.json !== true) console.log(`${profileTable(p, top)}\n`);
    }
  }
  if (values.json === true) console.log(JSON.stringify({ profiles }, null, 1));
  return 0;
}

/** The bench command. */
export const benchCommand: Command = {
  name: "bench",
  summary: "measure matMul, training and inference speed per backend and preset on this machine",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("bench", argv, {
      json: { type: "boolean" }, tiny: { type: "boolean" }, peer: { type: "boolean" }, presets: { type: "string" }, backends: { type: "string" },
      seq: { type: "string" }, batch: { type: "string" }, steps: { type: "string" }, out: { type: "string" }, db: { type: "string" },
      rounds: { type: "string" }, warmup: { type: "string" }, profile: { type: "boolean" }, top: { type: "string" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const backends = listFlag(values, "backends");
    for (const b of backends ?? []) if (!(BENCH_BACKENDS as readonly string[]).includes(b)) throw new ConfigError(`rra bench: --backends expects some of ${BENCH_BACKENDS.join(", ")}, got ${JSON.stringify(b)}`);
    const overrides: Partial<BenchConfig> = {
      tiny: values.tiny === true, peer: values.peer === true, presets: listFlag(values, "presets"), backends: backends as BenchBackend[] | undefined,
      seq: intFlag(values, "seq"), batch: intFlag(values, "batch"), steps: intFlag(values, "steps"), warmup: intFlag(values, "warmup", 0), rounds: intFlag(values, "rounds"),
    };
    if (values.profile === true) return runProfiles(values, overrides, backends !== undefined);
    if (values.top !== undefined) throw new ConfigError(`rra bench: --top goes with --profile only (it limits the kernel table)`);
    if (values.rounds !== undefined && values.peer !== true) throw new ConfigError(`rra bench: --rounds ${JSON.stringify(values.rounds)} needs --peer (rounds interleave ours with the PyTorch peer)`);
    const json = values.json === true;
    const stdoutLog = console.log;
    if (json) console.log = (...args: unknown[]) => console.error(...args); // stdout holds the JSON object only
    let report: BenchReport;
    let storeId: number;
    const figures: string[] = [];
    let figureError: string | null = null;
    try {
      report = await runBench(overrides);
      const db = await openStore((values.db as string | undefined) ?? defaultStoreTarget());
      try {
        storeId = await saveBenchRun(db, report);
      } finally {
        await closeStore(db);
      }
      try {
        figures.push(...await saveFigure(benchFigure(report), "bench", { dir: (values.out as string | undefined) ?? projectPath("figures"), width: 1100 }));
      } catch (e) {
        figureError = (e as Error).message;
        process.stderr.write(`rra bench: figures not written: ${figureError}\n`);
      } finally {
        await closeFigures();
      }
    } finally {
      console.log = stdoutLog;
    }
    if (json) console.log(JSON.stringify({ ...report, storeId, figures, figureError }, null, 1));
    else console.log(`${benchTable(report)}\n\nstored as bench_runs id ${storeId}; figures: ${figures.length ? figures.join(", ") : `not written (${figureError})`}`);
    return figureError === null ? 0 : 1;
  },
};
