/**
 * `rra bench` results: left, training examples/s and inference pairs/s per preset and workload, one bar
 * per engine (log y); right, GFLOP/s per backend: the matMul peak next to what training and inference
 * achieve (log y). Built from a BenchReport (lib/bench/types.ts); no DOM, no tfjs.
 */
import type { BenchReport } from "../bench/types";
import { axis, baseLayout, colour } from "./palette";
import type { PlotlyFigure } from "./types";

/** Options of benchFigure. */
export interface BenchFigureOptions {
  title?: string;
}

/** Grouped log-y bars of throughput (left) and GFLOP/s (right); see the file header. */
export function benchFigure(report: Pick<BenchReport, "config" | "machine" | "backends" | "train" | "infer" | "presets" | "peer">, options: BenchFigureOptions = {}): PlotlyFigure {
  const { batch, seq } = report.config;
  const ref = `${batch}x${seq}`;
  const presets = report.presets.map((p) => p.preset);
  const categories: Array<{ label: string; value: (engine: string) => number | null }> = [];
  for (const preset of presets) {
    for (const [workload, name] of [["dl19", "DL19"], ["reference", ref]] as const) {
      categories.push({ label: `${preset} train<br>${name}`, value: (engine) => report.train.find((r) => `tfjs-${r.backend}` === engine && r.preset === preset && r.workload === workload)?.examplesPerSec ?? null });
    }
    for (const [workload, name] of [["dl19", "DL19"], ["reference", ref]] as const) {
      categories.push({ label: `${preset} infer<br>${name}`, value: (engine) => report.infer.find((r) => r.engine === engine && r.preset === preset && r.workload === workload)?.pairsPerSec ?? null });
    }
  }
  const PEER = "pytorch (peer)";
  const engines = [...new Set([...report.train.map((r) => `tfjs-${r.backend}`), ...report.infer.map((r) => r.engine), ...(report.peer?.length ? [PEER] : [])])];
  const peerValue = (label: string): number | null => {
    // the peer runs the reference shape only
    const p = report.peer?.find((x) => label.startsWith(`${x.preset} `) && label.endsWith(ref));
    if (!p) return null;
    return label.includes(" train<br>") ? p.trainExamplesPerSec : p.inferPairsPerSec;
  };
  const data: unknown[] = engines.map((engine, i) => {
    const y = categories.map((c) => (engine === PEER ? peerValue(c.label) : c.value(engine)));
    return {
      type: "bar", name: engine, legendgroup: engine, x: categories.map((c) => c.label), y, marker: { color: colour(i) },
      text: y.map((v) => (v === null ? "" : v >= 100 ? v.toFixed(0) : v.toPrecision(2))), textposition: "outside", cliponaxis: false,
      hovertemplate: `${engine}<br>%{x}: %{y:.1f}/s<extra></extra>`,
    };
  });

  const tfjsBackends = report.backends.filter((b) => b.matmul !== null);
  const gflops: Array<{ name: string; y: Array<number | null> }> = [{ name: "matMul peak", y: tfjsBackends.map((b) => b.matmul?.gflops ?? null) }];
  for (const preset of presets) {
    const rowsOf: Array<[string, ReadonlyArray<{ backend: string; preset: string; workload: string; achievedGflops: number }>]> = [["train", report.train], ["infer", report.infer]];
    for (const [kind, rows] of rowsOf) {
      gflops.push({ name: `${kind} ${preset} (DL19)`, y: tfjsBackends.map((b) => rows.find((r) => r.backend === b.name && r.preset === preset && r.workload === "dl19")?.achievedGflops ?? null) });
    }
  }
  gflops.forEach((g, i) => data.push({
    type: "bar", name: g.name, x: tfjsBackends.map((b) => b.name), y: g.y, xaxis: "x2", yaxis: "y2",
    marker: { color: i === 0 ? "#444444" : colour(engines.length + i - 1), pattern: i === 0 ? undefined : { shape: "/" } },
    hovertemplate: `${g.name}<br>%{x}: %{y:.2f} GFLOP/s<extra></extra>`,
  }));

  const m = report.machine;
  return {
    data,
    layout: baseLayout(options.title ?? `rra bench: ${m.cpuModel}, ${m.cores} cores, node ${m.node}`, {
      barmode: "group",
      xaxis: axis("", { domain: [0, 0.6], tickangle: 0 }),
      yaxis: axis("examples/s (train), pairs/s (infer)", { type: "log" }),
      xaxis2: axis("backend", { domain: [0.7, 1], anchor: "y2" }),
      yaxis2: axis("GFLOP/s", { type: "log", anchor: "x2" }),
      annotations: [
        { text: "throughput per preset and workload (log)", xref: "paper", yref: "paper", x: 0, y: 1.02, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 12, color: "#555" } },
        { text: "matMul peak vs achieved, DL19 (log)", xref: "paper", yref: "paper", x: 0.7, y: 1.02, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 12, color: "#555" } },
      ],
      legend: { orientation: "h", x: 0, xanchor: "left", y: -0.2, yanchor: "top" },
      margin: { l: 70, r: 20, t: 70, b: 130 },
    }),
  };
}
