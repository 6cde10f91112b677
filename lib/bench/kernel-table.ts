/**
 * Per-kernel time of a profiled step (tfjs-free): from the engine's kernel records in the order they
 * finished, with the depth each ran at, to rows per kernel name and phase totals, and the text table
 * `rra bench --profile` prints. Records nest: a custom-gradient op (tf.customGrad, e.g. lib/models/kernels.ts's
 * dense; recorded under the engine's scope name, an "op" row) contains the kernels it ran, and a kernel
 * whose inputs or outputs the gradient needs contains the Identity calls that copy them for backward. Each
 * row counts own time only (a record's time minus what ran inside it), so nothing is counted twice and the
 * rows add up to the kernel time of the step.
 */
import type { KernelRow, PhaseRow, TrainStepProfile } from "./types";

/** One engine record: a kernel (or custom op) that finished, the depth it ran at (0 = called by the step itself), its time, its phase. */
export interface KernelRecord {
  name: string;
  depth: number;
  ms: number;
  phase: string;
}

/** Own time of each record (its time minus the records nested directly inside it) and the index of the record it ran inside (null at the top). */
export function nestRecords(records: readonly KernelRecord[]): Array<{ selfMs: number; parent: number | null }> {
  // a record is pushed after everything nested in it: its children are the deeper records since the last record at its depth or above
  const out = records.map((r) => ({ selfMs: r.ms, parent: null as number | null }));
  const pending: number[][] = [];
  records.forEach((r, i) => {
    const d = r.depth;
    for (const c of pending[d + 1] ?? []) {
      out[c].parent = i;
      out[i].selfMs -= records[c].ms;
    }
    pending.length = d + 1;
    (pending[d] ??= []).push(i);
  });
  return out;
}

/** The row name of a record: a kernel's Identity calls inside another kernel are the engine's copies of tensors kept for backward. */
function rowName(records: readonly KernelRecord[], nest: ReadonlyArray<{ parent: number | null }>, i: number, isKernel: (name: string) => boolean): string {
  const parent = nest[i].parent;
  return records[i].name === "Identity" && parent !== null && isKernel(records[parent].name) ? "Identity (kept for backward)" : records[i].name;
}

/**
 * Rows per name (sorted by total own time, largest first), phase totals, kernel and op calls and the summed
 * own time. `isKernel` tells registered kernels from custom-gradient ops (engine scope names).
 */
export function summarizeKernels(records: readonly KernelRecord[], wallMs: number, isKernel: (name: string) => boolean, phaseWallMs: Readonly<Record<string, number>> = {}): {
  kernels: KernelRow[]; phases: PhaseRow[]; kernelCalls: number; opCalls: number; kernelMs: number;
} {
  const nest = nestRecords(records);
  const rows = new Map<string, KernelRow>();
  const phases = new Map<string, PhaseRow>();
  let kernelCalls = 0, opCalls = 0, kernelMs = 0;
  records.forEach((r, i) => {
    const { selfMs } = nest[i];
    const kind = isKernel(r.name) ? "kernel" : "op";
    const name = rowName(records, nest, i, isKernel);
    const key = `${kind}|${name}`;
    const row = rows.get(key) ?? { name, kind, calls: 0, totalMs: 0, meanUs: 0, share: 0 };
    row.calls++;
    row.totalMs += selfMs;
    rows.set(key, row);
    const phase = phases.get(r.phase) ?? { phase: r.phase, kernelCalls: 0, kernelMs: 0, wallMs: phaseWallMs[r.phase] ?? null };
    if (kind === "kernel") phase.kernelCalls++;
    phase.kernelMs += selfMs;
    phases.set(r.phase, phase);
    if (kind === "kernel") kernelCalls++;
    else opCalls++;
    kernelMs += selfMs;
  });
  const kernels = [...rows.values()].map((r) => ({ ...r, meanUs: (1000 * r.totalMs) / r.calls, share: wallMs > 0 ? r.totalMs / wallMs : 0 }));
  kernels.sort((a, b) => b.totalMs - a.totalMs || a.name.localeCompare(b.name));
  return { kernels, phases: [...phases.values()], kernelCalls, opCalls, kernelMs };
}

/** A header, a rule and rows, the first `textColumns` columns left-aligned, the rest right-aligned. */
function pad(rows: string[][], textColumns: number): string[] {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((c, j) => (j < textColumns ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("  ").trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)];
}

/** The profile as text: the header facts, the phase totals and the top `top` rows (all when undefined). */
export function profileTable(p: TrainStepProfile, top?: number): string {
  const shown = top === undefined ? p.kernels : p.kernels.slice(0, top);
  const head = [["kernel", "kind", "calls", "total ms", "mean us/call", "share of step"]];
  const body = shown.map((k) => [k.name, k.kind, String(k.calls), k.totalMs.toFixed(2), k.meanUs.toFixed(1), `${(100 * k.share).toFixed(1)}%`]);
  const kernelLines = pad([...head, ...body], 2);
  const phaseLines = pad([["phase", "kernel calls", "kernel ms", "wall ms"], ...p.phases.map((x) => [x.phase, String(x.kernelCalls), x.kernelMs.toFixed(2), x.wallMs === null ? "-" : x.wallMs.toFixed(2)])], 1);
  return [
    `Training step profile: ${p.preset} at ${p.batch}x${p.seq} (${p.batch / p.groupSize} listwise groups of ${p.groupSize}; encoder + listNet, clip 1, AdamW), ${p.backend}${p.matMulKernel ? ` (matMul ${p.matMulKernel})` : ""}, seed ${p.seed}, after ${p.warmup} warm-up step(s)`,
    `step wall ${p.wallMs.toFixed(1)} ms profiled (unprofiled: median ${p.unprofiledMs.median.toFixed(1)} ms of ${p.unprofiledMs.runs} steps); ` +
      `${p.kernelCalls} kernel calls + ${p.opCalls} custom-gradient op calls; kernel time ${p.kernelMs.toFixed(1)} ms (${(100 * p.kernelMs / p.wallMs).toFixed(1)}% of wall), ` +
      `outside kernels ${(p.wallMs - p.kernelMs).toFixed(1)} ms (engine bookkeeping, tape, tidy, JS)`,
    "",
    ...phaseLines,
    "",
    `Kernels by total own time${top !== undefined && top < p.kernels.length ? ` (top ${top} of ${p.kernels.length})` : ""}; own time = time outside the calls nested in it; "op": a custom-gradient op (engine scope name)`,
    ...kernelLines,
  ].join("\n");
}
