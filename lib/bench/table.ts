/** `rra bench`'s report as aligned plain-text tables (the CLI prints it; notebooks show it). */
import type { BenchReport } from "./types";

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : `${(100 * x).toFixed(1)}%`);
const num = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined ? "-" : x.toFixed(digits));

/** Rows of strings under a header: the first `textColumns` columns left-aligned, the others (numbers or "-") right-aligned. */
function alignTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, textColumns: number): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: readonly string[]) => r.map((c, j) => (j < textColumns ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The report as aligned plain-text tables: backends, presets, throughput, latency, skipped parts. */
export function benchTable(report: BenchReport): string {
  const { batch, seq } = report.config;
  const backends = alignTable(["backend", "status", "package", "matMul", "median ms", "GFLOP/s"], report.backends.map((b) => [
    b.name, b.available ? (b.name.startsWith("wasm") ? `ok (${b.simd ? "SIMD" : "no SIMD"}, ${b.threads} thread; matMul ${b.matMulKernel ?? "wasm"})` : "ok") : "unavailable",
    b.package ? `${b.package} ${b.version}` : "- (see Not measured)", b.matmul ? `${b.matmul.m}^3` : "-", num(b.matmul?.medianMs), num(b.matmul?.gflops, 2),
  ]), 3);
  const presets = alignTable(["preset", "layers", "hidden", "heads", "ffn", "params", `MFLOP/pair @${seq}`], report.presets.map((p) => [
    p.preset, String(p.sizes.numLayers), String(p.sizes.hiddenSize), String(p.sizes.numHeads), String(p.sizes.ffnSize), String(p.params), num(p.forwardFlopsAtSeq / 1e6),
  ]), 1);
  const keys = [...new Set([...report.train.map((r) => `${r.backend}|${r.preset}|${r.workload}|tfjs-${r.backend}`), ...report.infer.map((r) => `${r.backend}|${r.preset}|${r.workload}|${r.engine}`)])];
  const speed = alignTable(["engine", "preset", "workload", "T", "tokens", "train ex/s", "train %peak", "infer pairs/s", "infer %peak", "fwd MFLOP/pair", `attn QK^T GFLOP/s`], keys.map((k) => {
    const [backend, preset, workload, engine] = k.split("|");
    const t = report.train.find((r) => r.backend === backend && r.preset === preset && r.workload === workload && engine === `tfjs-${backend}`);
    const i = report.infer.find((r) => r.backend === backend && r.preset === preset && r.workload === workload && r.engine === engine);
    const a = engine.startsWith("tfjs-") ? report.attention.find((r) => r.backend === backend && r.preset === preset) : undefined;
    const w = workload === "dl19" ? "DL19" : `${batch}x${seq}`;
    const fwdFlops = i ? i.flopsPerPair : t ? t.flopsPerExample / 3 : null;
    return [engine, preset, w, num(t?.meanSeqLen ?? i?.meanSeqLen), num(t?.meanTokens ?? i?.meanTokens), num(t?.examplesPerSec), pct(t?.peakFraction),
      num(i?.pairsPerSec), pct(i?.peakFraction), num(fwdFlops === null ? null : fwdFlops / 1e6, 2), num(a?.gflops, 2)];
  }), 3);
  const parts = [`Backends (${report.machine.cpuModel}, ${report.machine.cores} cores, node ${report.machine.node}, load ${report.machine.loadavgStart.map((x) => x.toFixed(2)).join(" ")})`, backends, "", "Presets", presets, "",
    `Throughput (T = mean padded length computed, tokens = mean real tokens; %peak = achieved FLOP/s / matMul GFLOP/s, training = 3 x forward)`, speed];
  if (report.peer?.length || report.ratios?.length) parts.push("", ...peerTables(report));
  if (report.latency.length) {
    parts.push("", "POST /rerank latency", alignTable(["preset", "engine", "passages", "requests", "p50 ms", "p95 ms"], report.latency.map((l) => [l.preset, l.engine, String(l.passages), String(l.requests), num(l.p50Ms), num(l.p95Ms)]), 2));
  }
  if (report.skipped.length) parts.push("", "Not measured", ...report.skipped.map((s) => `  ${s.what}: ${s.reason}`));
  parts.push("", `seed ${report.seed}; ${report.wallSeconds.toFixed(0)} s; load at end ${report.machine.loadavgEnd.map((x) => x.toFixed(2)).join(" ")}`);
  return parts.join("\n");
}


/** The PyTorch peer's medians and the ours / peer ratios of the interleaved rounds. */
export function peerTables(report: Pick<BenchReport, "peer" | "ratios" | "config">): string[] {
  const peer = report.peer ?? [];
  const ratios = report.ratios ?? [];
  const rounds = (xs: readonly number[], digits = 1) => xs.map((x) => x.toFixed(digits)).join(" / ");
  const blas = peer[0]?.blasThreads;
  return [
    `PyTorch peer (scripts/bench-peer.py: same encoder, listwise loss, Adam; torch 1 thread + OpenBLAS ${blas ?? "-"}), interleaved with ours: ${report.config.rounds} rounds per preset of ours then the peer`,
    alignTable(["preset", "shape", "torch", "matMul GFLOP/s", "train ex/s", "infer pairs/s"], peer.map((p) => [
      p.preset, `${p.batch}x${p.seq}`, p.torch, num(p.matmulGflops), num(p.trainExamplesPerSec), num(p.inferPairsPerSec),
    ]), 3),
    "",
    "Ours / PyTorch per round (each side: batch / median time of a step or forward pass; ratio = median over rounds, with 2 rounds their mean)",
    alignTable(["preset", "shape", "metric", "engine here", "ours per round", "peer per round", "ratio per round", "ratio"], ratios.map((r) => [
      r.preset, `${r.batch}x${r.seq}`, r.metric === "train" ? "train ex/s" : "infer pairs/s", r.engine, rounds(r.ours), rounds(r.peer), rounds(r.ratios, 2), `${r.ratio.toFixed(2)}x`,
    ]), 4),
  ];
}
