/** `rra bench`: speed of every available backend on this machine (lib/bench), as a table, the store and figures/bench.*. */
import { ConfigError } from "../core/errors";
import { projectPath } from "../core/paths";
import { BENCH_BACKENDS, BENCH_DEFAULTS, BENCH_TINY, type BenchBackend, type BenchConfig } from "../bench/config";
import { runBench } from "../bench/run";
import { saveBenchRun } from "../bench/store";
import { benchTable } from "../bench/table";
import type { BenchReport } from "../bench/types";
import { closeFigures, saveFigure } from "../export/figures";
import { benchFigure } from "../plots/bench";
import { closeStore, defaultStoreTarget, openStore } from "../store/db";
import { listFlag, numberFlag, parseFlags, type Command } from "./args";

const HELP = `rra bench [--json] [--tiny] [--peer] [--presets tiny,small] [--backends wasm,wasm+blas,cpu,tensorflow,onnxruntime]
          [--seq N] [--batch N] [--steps N] [--out DIR] [--db FILE|URL]

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

Options:
  --presets LIST   student presets                                   default ${BENCH_DEFAULTS.presets.join(",")}
  --backends LIST  some of ${BENCH_BACKENDS.join(",")}        default all
  --seq N          reference shape: tokens per pair                  default ${BENCH_DEFAULTS.seq}
  --batch N        reference rows, and pairs per training step       default ${BENCH_DEFAULTS.batch}
  --steps N        timed training steps / reference passes          default ${BENCH_DEFAULTS.steps} (cpu: ${BENCH_DEFAULTS.cpuSteps})
  --peer           also run the PyTorch peer (scripts/bench-peer.py with Debian's python3-torch) at the
                   reference shape, and print it next to the best engine here
  --tiny           a seconds-long run for CI: tiny preset, ${BENCH_TINY.batch}x${BENCH_TINY.seq}, ${BENCH_TINY.steps} steps, ${BENCH_TINY.matmulSize}^3 matMul
  --out DIR        figures folder                                    default figures/
  --db FILE|URL    SQLite file or postgres:// URL (default: RRA_DB_URL, else RRA_DB, else data/rra.sqlite)
  --json           print one JSON object (the report, storeId, figures) and nothing else on stdout
  -h, --help       this text

Examples:
  rra bench --presets small --backends wasm,onnxruntime
  rra bench --presets bert-l4-h256,minilm-l6-h384 --seq 128 --backends wasm,wasm+blas,onnxruntime --peer
      the sizes of two real pretrained checkpoints (BERT-L4-H256, MiniLM-L6-H384) at 128 tokens, with
      PyTorch on the same shapes`;

function intFlag(values: Record<string, unknown>, flag: string): number | undefined {
  if (values[flag] === undefined) return undefined;
  const n = numberFlag("bench", values, flag, 0);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`rra bench: --${flag} expects a positive integer, got ${JSON.stringify(values[flag])}`);
  return n;
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
    });
    if (values.help) { console.log(HELP); return 0; }
    const backends = listFlag(values, "backends");
    for (const b of backends ?? []) if (!(BENCH_BACKENDS as readonly string[]).includes(b)) throw new ConfigError(`rra bench: --backends expects some of ${BENCH_BACKENDS.join(", ")}, got ${JSON.stringify(b)}`);
    const overrides: Partial<BenchConfig> = {
      tiny: values.tiny === true, peer: values.peer === true, presets: listFlag(values, "presets"), backends: backends as BenchBackend[] | undefined,
      seq: intFlag(values, "seq"), batch: intFlag(values, "batch"), steps: intFlag(values, "steps"),
    };
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
