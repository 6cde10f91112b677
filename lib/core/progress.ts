/**
 * A progress bar on stderr for long work: done/total, rate, ETA and a caller-given status (loss,
 * calls, ...). Redrawn in place on a TTY at most every 100 ms; elsewhere (CI logs, notebooks) one line
 * every `logEverySec` seconds and a final line, so logs stay short.
 */

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

/** Start a progress display. */
export function createProgress(options: ProgressOptions): Progress {
  const { label, total, unit = "items", quiet = false, logEverySec = 10, stream = process.stderr } = options;
  const t0 = Date.now();
  const tty = Boolean(stream.isTTY);
  let count = 0;
  let status = "";
  let lastDraw = 0;
  const line = (final: boolean): string => {
    const sec = (Date.now() - t0) / 1000;
    const rate = count / Math.max(sec, 1e-9);
    const frac = total > 0 ? Math.min(1, count / total) : 1;
    const width = 24;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    const eta = final ? `in ${duration(sec)}` : `ETA ${duration((total - count) / Math.max(rate, 1e-9))}`;
    return `${label} [${bar}] ${count}/${total} ${unit} ${(100 * frac).toFixed(0)}% ${rate.toFixed(rate < 10 ? 2 : 0)}/s ${eta}${status ? ` | ${status}` : ""}`;
  };
  const draw = (final: boolean) => {
    if (quiet) return;
    const now = Date.now();
    if (!final && now - lastDraw < (tty ? 100 : logEverySec * 1000)) return;
    lastDraw = now;
    stream.write(tty ? `\r\x1b[2K${line(final)}${final ? "\n" : ""}` : `${line(final)}\n`);
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
