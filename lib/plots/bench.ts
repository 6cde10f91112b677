/**
 * `rra bench` results: left, training examples/s and inference pairs/s per preset and workload, one bar
 * per engine (log y); right, GFLOP/s per backend: the matMul peak next to what training and inference
 * achieve (log y); below them, when the PyTorch peer ran interleaved (`ratios`), ours / PyTorch per preset and
 * shape, one bar per metric and engine (the median over rounds, whiskers from the lowest to the highest
 * round) with a line at 1.0x. Built from a BenchReport (lib/bench/types.ts); no DOM, no tfjs.
 */
import type { BenchReport } from "../bench/types";
import { axis, baseLayout, colour, legendBelow } from "./palette";
import type { PlotlyFigure } from "./types";

/**
 * A log axis over `values` (positive ones): a range with room above for the value labels, and ticks at 1, 2
 * and 5 of each decade labelled in full ("20", "500", "2k"). Plotly's own log ticks label the 2 and 5 of a
 * decade as bare "2" and "5", and its autorange of log bars can start above the shortest bar and hide it.
 */
export function logAxisTicks(values: ReadonlyArray<number | null | undefined>): { range: [number, number]; tickvals: number[]; ticktext: string[] } | Record<string, never> {
  const v = values.filter((x): x is number => typeof x === "number" && Number.isFinite(x) && x > 0);
  if (!v.length) return {};
  const lo = Math.min(...v) / 1.6, hi = Math.max(...v) * 1.35;
  const tickvals: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e;
      if (t >= lo && t <= hi) tickvals.push(Number(t.toPrecision(1)));
    }
  }
  const label = (t: number): string => (t >= 1e6 ? `${t / 1e6}M` : t >= 1e3 ? `${t / 1e3}k` : String(t));
  return { range: [Math.log10(lo), Math.log10(hi)], tickvals, ticktext: tickvals.map(label) };
}

/** Options of benchFigure. */
export interface BenchFigureOptions {
  title?: string;
}

/** Grouped log-y bars of throughput (left) and GFLOP/s (right); see the file header. */
export function benchFigure(report: Pick<BenchReport, "config" | "machine" | "backends" | "train" | "infer" | "presets" | "peer" | "ratios">, options: BenchFigureOptions = {}): PlotlyFigure {
  const { batch, seq } = report.config;
  const ref = `${batch}x${seq}`;
  const presets = report.presets.map((p) => p.preset);
  type Category = { label: string; preset: string; kind: "train" | "infer"; workload: "dl19" | "reference"; value: (engine: string) => number | null };
  const categories: Category[] = [];
  for (const preset of presets) {
    // a two-level axis: the preset once under its four bars, kind and workload under each
    for (const [workload, name] of [["dl19", "DL19"], ["reference", ref]] as const) {
      categories.push({ label: `train<br>${name}`, preset, kind: "train", workload, value: (engine) => report.train.find((r) => `tfjs-${r.backend}` === engine && r.preset === preset && r.workload === workload)?.examplesPerSec ?? null });
    }
    for (const [workload, name] of [["dl19", "DL19"], ["reference", ref]] as const) {
      categories.push({ label: `infer<br>${name}`, preset, kind: "infer", workload, value: (engine) => report.infer.find((r) => r.engine === engine && r.preset === preset && r.workload === workload)?.pairsPerSec ?? null });
    }
  }
  const PEER = "pytorch (peer)";
  const engines = [...new Set([...report.train.map((r) => `tfjs-${r.backend}`), ...report.infer.map((r) => r.engine), ...(report.peer?.length ? [PEER] : [])])];
  const peerValue = (c: Category): number | null => {
    // the peer runs the reference shape only
    const p = c.workload === "reference" ? report.peer?.find((x) => x.preset === c.preset) : undefined;
    if (!p) return null;
    return c.kind === "train" ? p.trainExamplesPerSec : p.inferPairsPerSec;
  };
  const data: unknown[] = engines.map((engine, i) => {
    const y = categories.map((c) => (engine === PEER ? peerValue(c) : c.value(engine)));
    return {
      type: "bar", name: engine, legendgroup: engine, x: [categories.map((c) => c.preset), categories.map((c) => c.label)], y, marker: { color: colour(i) },
      text: y.map((v) => (v === null ? "" : v >= 100 ? v.toFixed(0) : v.toPrecision(2))), textposition: "outside", cliponaxis: false,
      customdata: categories.map((c) => `${c.preset} ${c.label.replace("<br>", " ")}`),
      hovertemplate: `${engine}<br>%{customdata}: %{y:.1f}/s<extra></extra>`,
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

  const ratios = report.ratios ?? [];
  const shapes = [...new Set(ratios.map((r) => `${r.preset}<br>${r.batch}x${r.seq}`))];
  const series = [...new Set(ratios.map((r) => `${r.metric} ${r.engine}`))];
  series.forEach((name) => {
    const rows = shapes.map((sh) => ratios.find((r) => `${r.metric} ${r.engine}` === name && `${r.preset}<br>${r.batch}x${r.seq}` === sh));
    const y = rows.map((r) => r?.ratio ?? null);
    const engine = name.slice(name.indexOf(" ") + 1);
    data.push({
      type: "bar", name: `${name} / pytorch`, x: shapes, y, xaxis: "x3", yaxis: "y3",
      marker: { color: colour(Math.max(0, engines.indexOf(engine))), pattern: name.startsWith("train") ? { shape: "/" } : undefined },
      error_y: { type: "data", symmetric: false, array: rows.map((r) => (r ? Math.max(...r.ratios) - r.ratio : 0)), arrayminus: rows.map((r) => (r ? r.ratio - Math.min(...r.ratios) : 0)), thickness: 1, width: 3 },
      text: y.map((v) => (v === null ? "" : `${v.toFixed(2)}x`)), textposition: "outside", cliponaxis: false,
      customdata: rows.map((r) => (r ? r.ratios.map((x) => x.toFixed(2)).join(", ") : "")),
      hovertemplate: `${name} / pytorch<br>%{x}: %{y:.2f}x (rounds %{customdata})<extra></extra>`,
    });
  });
  const withRatios = shapes.length > 0;
  // the ratio chart takes the lowest quarter of the plot area; the throughput and GFLOP/s panels move up
  const top = withRatios ? [0.46, 1] : [0, 1];
  const ratioLayout = withRatios ? {
    xaxis3: axis("", { domain: [0, 0.6], anchor: "y3", tickangle: 0 }),
    yaxis3: axis("ours / pytorch", { domain: [0, 0.24], anchor: "x3", rangemode: "tozero" }),
  } : {};
  const ratioShapes = withRatios ? [{ type: "line", xref: "paper", yref: "y3", x0: 0, x1: 0.6, y0: 1, y1: 1, line: { color: "#444", width: 1, dash: "dash" } }] : [];
  const ratioNotes = withRatios ? [{
    text: `ours / PyTorch, interleaved: median of ${report.config.rounds} rounds (whiskers: lowest to highest round); dashed: 1.0x`,
    xref: "paper", yref: "paper", x: 0, y: 0.26, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 12, color: "#555" },
  }] : [];

  const m = report.machine;
  // room below the plots for the two-level tick labels and the legend (about three entries a row); the
  // figure grows with the legend so the plot area keeps its height (showFigure and saveFigure read layout.height)
  const legendRows = Math.ceil(data.length / 3);
  const bottom = 90 + 26 * legendRows;
  const plotHeight = withRatios ? 620 : 320;
  return {
    data,
    layout: baseLayout(options.title ?? `rra bench: ${m.cpuModel}, ${m.cores} cores, node ${m.node}`, {
      barmode: "group",
      xaxis: axis("", { domain: [0, 0.6], tickangle: 0, type: "multicategory" }),
      yaxis: axis("examples/s (train), pairs/s (infer)", { type: "log", domain: top, ...logAxisTicks(data.slice(0, engines.length).flatMap((d) => (d as { y: Array<number | null> }).y)) }),
      xaxis2: axis("backend", { domain: [0.7, 1], anchor: "y2" }),
      yaxis2: axis("GFLOP/s", { type: "log", anchor: "x2", domain: top, ...logAxisTicks(gflops.flatMap((g) => g.y)) }),
      ...ratioLayout,
      shapes: ratioShapes,
      annotations: [
        { text: "throughput per preset and workload (log)", xref: "paper", yref: "paper", x: 0, y: 1.02, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 12, color: "#555" } },
        { text: "matMul peak vs achieved, DL19 (log)", xref: "paper", yref: "paper", x: 0.7, y: 1.02, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 12, color: "#555" } },
        ...ratioNotes,
      ],
      legend: legendBelow(),
      margin: { l: 70, r: 20, t: 70, b: bottom },
      height: 70 + plotHeight + bottom,
    }),
  };
}
