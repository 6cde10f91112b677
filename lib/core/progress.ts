/**
 * A progress bar for long work: done/total, rate, ETA and a caller-given status (loss, calls, ...).
 *
 * In a notebook (a tslab kernel) it is one line of the cell's output rewritten in place (kernel.ts), at
 * most every 200 ms, never red stderr; a bar started while another one is running in the same cell joins
 * its line (`grid 3/120 cells › train ... 45/120 steps`), so nested work (grid → training run) stays one
 * line. Elsewhere it writes to stderr as before: redrawn in place on a TTY at most every 100 ms; in logs,
 * one line every `logEverySec` seconds and a final line, so logs stay short.
 */
import { createKernelLine, kernelDisplayWriter } from "./kernel";

/** Options of `createProgress`. */
export interface ProgressOptions {
  /** Label printed before the bar, e.g. `label dl19`. */
  label: string;
  total: number;
  /** Unit of the rate, e.g. `windows`. Default `items`. */
  unit?: string;
  /** Off: print nothing (tests, --json). */
  quiet?: boolean;
  /** Seconds between lines when not on a TTY. Default 10. */
  logEverySec?: number;
  /** Where to write. Default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /**
   * A line rewritten in place (a notebook output): called with the whole line each time it changes. Default:
   * in a tslab kernel with no `stream` given, a line in the running cell's output; else none (the stream is used).
   */
  line?: (text: string) => void;
  /** Show the bar only as a line (in a notebook), nothing on the stream: for a bar over work that prints its own lines in the CLI. Default false. */
  lineOnly?: boolean;
}

/** A running progress display. */
export interface Progress {
  /** Advance by `n` (default 1) and set the status text. */
  tick(n?: number, status?: string): void;
  /** Print the final line. */
  done(status?: string): void;
}

function duration(sec: number): string {
  if (!Number.isFinite(sec)) return "?";
  if (sec < 60) return `${sec.toFixed(0)}s`;
  const m = Math.floor(sec / 60);
  return m < 60 ? `${m}m${String(Math.round(sec % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** The rate: per second, or for slow work (under 0.1/s) the time each item takes. */
function rateText(rate: number): string {
  return rate > 0 && rate < 0.1 ? `${duration(1 / rate)} each` : `${rate.toFixed(rate < 10 ? 2 : 0)}/s`;
}

/** A bar's text: `label [####....] 3/10 unit 30% rate ETA | status`. */
type LineText = (final: boolean, width: number) => string;

/** Bars sharing one line: the chain from the outermost bar (first) to the innermost running one (last). */
interface SharedLine {
  /** The cell (kernel writer) or `line` function the chain belongs to. */
  owner: unknown;
  set: (text: string) => void;
  bars: LineText[];
  lastDraw: number;
}

/** The chain of the line being drawn, on globalThis so that tslab re-compiling this module keeps it. */
function shared(): { current: SharedLine | null } {
  const g = globalThis as unknown as { __rraProgressLine?: { current: SharedLine | null } };
  g.__rraProgressLine ??= { current: null };
  return g.__rraProgressLine;
}

function drawShared(s: SharedLine, force: boolean): void {
  const now = Date.now();
  if (!force && now - s.lastDraw < 200) return;
  s.lastDraw = now;
  s.set(s.bars.map((b, i) => b(false, i === 0 ? 24 : 12)).join("  ›  "));
}

/** Join the running chain of `owner` or start a new one; returns the chain and how to leave it. */
function joinLine(owner: unknown, make: () => ((text: string) => void) | undefined, text: LineText): { tick(): void; done(final: string): void } | undefined {
  const box = shared();
  let s = box.current;
  if (!s || s.owner !== owner || s.bars.length === 0) {
    const set = make();
    if (!set) return undefined;
    s = { owner, set, bars: [], lastDraw: 0 };
    box.current = s;
  }
  const line = s;
  const depth = line.bars.length;
  line.bars.push(text);
  drawShared(line, true);
  return {
    tick: () => {
      if (line.bars[depth] === text) drawShared(line, false);
    },
    done: (final: string) => {
      if (line.bars[depth] !== text) return; // already cut off by an outer bar that finished first
      line.bars.length = depth; // this bar and any inner one left behind by an error
      if (depth === 0) {
        line.set(final);
        if (box.current === line) box.current = null;
      } else {
        drawShared(line, true);
      }
    },
  };
}

/** Start a progress display. */
export function createProgress(options: ProgressOptions): Progress {
  const { label, total, unit = "items", quiet = false, logEverySec = 10, lineOnly = false } = options;
  const stream = options.stream ?? process.stderr;
  const t0 = Date.now();
  const tty = Boolean(stream.isTTY);
  let count = 0;
  let status = "";
  let lastDraw = 0;
  const text: LineText = (final, width) => {
    const sec = (Date.now() - t0) / 1000;
    const rate = count / Math.max(sec, 1e-9);
    const frac = total > 0 ? Math.min(1, count / total) : 1;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    const eta = final ? `in ${duration(sec)}` : `ETA ${count > 0 ? duration((total - count) / Math.max(rate, 1e-9)) : "?"}`;
    return `${label} [${bar}] ${count}/${total} ${unit} ${(100 * frac).toFixed(0)}% ${rateText(rate)} ${eta}${status ? ` | ${status}` : ""}`;
  };
  // a line in place: the caller's, or the running cell's in a tslab kernel (unless a stream was asked for)
  const writer = options.line ?? (options.stream ? undefined : kernelDisplayWriter());
  const shown = quiet || !writer ? undefined : joinLine(writer, () => options.line ?? createKernelLine()?.set, text);
  const draw = (final: boolean) => {
    if (quiet) return;
    if (shown) return final ? shown.done(text(true, 24)) : shown.tick();
    if (lineOnly) return;
    const now = Date.now();
    if (!final && now - lastDraw < (tty ? 100 : logEverySec * 1000)) return;
    lastDraw = now;
    stream.write(tty ? `\r\x1b[2K${text(final, 24)}${final ? "\n" : ""}` : `${text(final, 24)}\n`);
  };
  lastDraw = tty ? 0 : Date.now();
  return {
    tick(n = 1, s?: string) {
      count += n;
      if (s !== undefined) status = s;
      draw(false);
    },
    done(s?: string) {
      if (s !== undefined) status = s;
      draw(true);
    },
  };
}
