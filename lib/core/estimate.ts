/**
 * The line a long notebook cell prints before it starts: what runs, about how long it takes (from the
 * config and a measured speed), and that Interrupt stops it. The numbers come from each kind of work's
 * own estimate (train/estimate.ts, ablate/estimate.ts, labels/estimate.ts, bench/estimate.ts).
 */

/** The expected duration of some long work. */
export interface Estimate {
  /** What is about to run, e.g. `120 grid cells, 37 already done and reused`. */
  what: string;
  /** Expected wall seconds. */
  seconds: number;
  /** Per unit and where the speed comes from, e.g. `~80 s per cell at ~240 examples/s, the speed of an idle 2-core machine`. */
  basis: string;
  /** What an interrupt keeps, e.g. `finished cells are kept and reused by the next run`. */
  keeps?: string;
}

/** A rounded duration: `5 s`, `40 s`, `12 min`, `2.5 h`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "an unknown time";
  if (seconds < 60) return `${Math.max(1, Math.round(seconds / (seconds < 10 ? 1 : 5)) * (seconds < 10 ? 1 : 5))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * The announcement: `Running 120 grid cells (full size; SMOKE=1 runs the CI size): about 2.7 h, an estimate
 * from ~80 s per cell at ... Interrupt (I,I or the stop button) stops it within a second or two; ...`.
 */
export function estimateText(estimate: Estimate, smoke: boolean): string {
  const mode = smoke ? "SMOKE=1: the CI size" : "full size; SMOKE=1 runs the CI size";
  return `Running ${estimate.what} (${mode}): about ${formatDuration(estimate.seconds)}, an estimate from ${estimate.basis}. ` +
    `Interrupt (I,I or the stop button) stops it within a second or two${estimate.keeps ? `; ${estimate.keeps}` : ""}.`;
}

/** Print the announcement (stdout: plain text in the notebook, not red). */
export function announce(estimate: Estimate, smoke: boolean): void {
  console.log(estimateText(estimate, smoke));
}
