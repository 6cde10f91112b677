/**
 * Expected duration of `runBench` from its config. Seconds per (backend, preset) at the default config were
 * measured on a 2-core machine (a full bench took 9-11 min, most of it the cpu backend and plain wasm); a
 * config's work relative to the defaults (training and scoring FLOPs of its steps, pairs and shapes,
 * bench/flops.ts) scales them, plus a fixed second per measurement. Presets without a measurement scale
 * from `small` by their FLOPs. A backend that does not start costs nothing, but the estimate cannot know
 * that in advance (tensorflow counts as fast).
 */
import type { Estimate } from "../core/estimate";
import { MODEL_PRESETS, type EncoderSizes } from "../models/presets";
import { BENCH_DEFAULTS, resolveBenchConfig, type BenchBackend, type BenchConfig } from "./config";
import { computeForwardFlops, computeTrainFlops } from "./flops";

/** Measured seconds per preset at the default config, by backend; `latency` is per preset (tfjs and ONNX targets). */
const MEASURED: Readonly<Record<BenchBackend | "latency", Readonly<Record<string, number>>>> = Object.freeze({
  wasm: { tiny: 46, small: 76 },
  "wasm+blas": { tiny: 6, small: 26 },
  cpu: { tiny: 80, small: 250 },
  tensorflow: { tiny: 5, small: 10 },
  onnxruntime: { tiny: 3, small: 4 },
  latency: { tiny: 10, small: 35 },
});
/** Seconds before the first measurement (students written, DL19 loaded) and per measurement besides its work. */
const STARTUP_SEC = 7;
const PER_MEASUREMENT_SEC = 1;

function sizes(preset: string): EncoderSizes {
  return (MODEL_PRESETS as Record<string, EncoderSizes>)[preset] ?? MODEL_PRESETS.small;
}

/** FLOPs of one (backend, preset) measurement of a tfjs backend: training and inference, real pairs and the reference shape. */
function tfjsWork(c: Readonly<BenchConfig>, preset: string, cpu: boolean): number {
  const s = sizes(preset);
  const steps = c.warmup + (cpu ? Math.min(c.steps, c.cpuSteps) : c.steps);
  const pairs = cpu ? Math.min(c.inferPairs, c.cpuInferPairs) : c.inferPairs;
  return steps * c.batch * (computeTrainFlops(s, c.maxLength) + computeTrainFlops(s, c.seq) + computeForwardFlops(s, c.seq)) +
    (c.warmup + 1) * pairs * computeForwardFlops(s, c.maxLength);
}

/** The measured seconds of a (backend, preset) at the defaults; unmeasured presets scale from small by training FLOPs. */
function measured(backend: BenchBackend | "latency", preset: string): number {
  const known = MEASURED[backend][preset];
  if (known !== undefined) return known;
  return MEASURED[backend].small * computeTrainFlops(sizes(preset), 128) / computeTrainFlops(MODEL_PRESETS.small, 128);
}

/** The estimate of `runBench(config)`. */
export function benchEstimate(overrides: Partial<BenchConfig> = {}): Estimate {
  const c = resolveBenchConfig(overrides);
  const d = BENCH_DEFAULTS;
  let seconds = STARTUP_SEC, units = 0;
  for (const preset of c.presets) {
    for (const b of c.backends) {
      units++;
      if (b === "onnxruntime") {
        seconds += PER_MEASUREMENT_SEC + measured(b, preset) * (c.inferPairs + c.steps * c.batch) / (d.inferPairs + d.steps * d.batch);
      } else {
        const cpu = b === "cpu";
        seconds += PER_MEASUREMENT_SEC + measured(b, preset) * tfjsWork(c, preset, cpu) / tfjsWork(d, preset, cpu);
      }
    }
    units++;
    seconds += PER_MEASUREMENT_SEC + measured("latency", preset) * (c.latencyRequests * c.latencyPassages) / (d.latencyRequests * d.latencyPassages);
  }
  return {
    what: `the speed bench (${c.presets.join(", ")} on ${c.backends.join(", ")}${c.tiny ? ", tiny settings" : ""})`,
    seconds,
    basis: `${units} measurements at the speeds of a 2-core machine, the cpu backend the slowest`,
    keeps: "a bench keeps nothing before it finishes, so running it again starts over",
  };
}
