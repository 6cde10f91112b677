/**
 * Interrupting long work in a notebook. Jupyter's Interrupt sends SIGINT to the kernel; tslab 1.0.22
 * answers it by giving up waiting for the cell's promise, not by stopping the work, so an async loop
 * (a training run, a label job, the ablation grid) went on running after the cell was reported
 * interrupted. Here one SIGINT listener (installed in a tslab kernel, or by `watchInterrupts`) counts
 * interrupts; a long loop takes an `InterruptCheck` when it starts and awaits `check()` between its
 * steps, where everything it stored is consistent. `check()` yields to the event loop at most every
 * `yieldEveryMs` (100 ms: a signal is only seen when the loop turns, and the yield costs nothing
 * measurable) and throws InterruptedError once a SIGINT arrived after the check was created.
 * A check taken at the start of a function (before its first await) cannot miss a SIGINT that arrives
 * while the function runs, also when its caller checks too: signals are only delivered between turns.
 *
 * Outside a kernel nothing is installed, so Ctrl-C in the CLI still ends the process at once (Node's
 * default), and atomic writes (files.ts) and per-window transactions keep the stored work whole.
 */
import { InterruptedError } from "./errors";
import { inTslabKernel, kernelDisplayWriter, type KernelDisplayWriter } from "./kernel";

/** Process-wide state, on globalThis so that tslab re-compiling this module keeps one listener and one count. */
interface InterruptState {
  count: number;
  installed: boolean;
  /** Aborted at the next SIGINT (interruptSignal). */
  controllers: Set<AbortController>;
}

function state(): InterruptState {
  const g = globalThis as unknown as { __rraInterrupt?: InterruptState };
  g.__rraInterrupt ??= { count: 0, installed: false, controllers: new Set() };
  return g.__rraInterrupt;
}

/**
 * Count SIGINTs from now on instead of ending the process: once per process, idempotent. A script that wants
 * long loops to stop cleanly on Ctrl-C calls it (and ends the process itself after InterruptedError). In a
 * tslab kernel this module does it by itself, after the running cell's synchronous part: a cell runs under
 * vm's breakOnSigint, whose watchdog puts back the default SIGINT action when it stops, so a listener added
 * during that part would leave SIGINT killing the kernel.
 */
export function watchInterrupts(): void {
  const s = state();
  if (s.installed) return;
  s.installed = true;
  process.on("SIGINT", () => {
    const st = state();
    st.count++;
    for (const c of st.controllers) c.abort();
    st.controllers.clear();
  });
}

let kernel: boolean | undefined;
/** In a tslab kernel: watch interrupts from the next turn of the event loop on (see watchInterrupts). */
function watchInKernel(): boolean {
  kernel ??= inTslabKernel();
  if (kernel && !state().installed) setImmediate(watchInterrupts);
  return kernel;
}
watchInKernel(); // when the notebook's import cell loads the library, long before a long cell runs

/** Whether SIGINTs are being counted (a kernel, or `watchInterrupts` was called). */
export function watchingInterrupts(): boolean {
  return state().installed;
}

/** SIGINTs counted so far in this process. */
export function interruptCount(): number {
  return state().count;
}

/** What a long loop holds: see the file header. */
export interface InterruptCheck {
  /** Yield to the event loop when `yieldEveryMs` passed since the last yield; throw InterruptedError after a SIGINT. */
  check(): Promise<void>;
  /** True once a SIGINT arrived after this check was created (seen only when the event loop turned). */
  readonly interrupted: boolean;
  /** Throw InterruptedError if `interrupted`, without yielding. */
  throwIfInterrupted(): void;
  /**
   * The error to re-throw for `e`, caught around inner work: an InterruptedError from inside (an inner loop's
   * check) gets this level's `stopped()` in front of its own text; anything else is returned as it is.
   */
  explain(e: unknown): unknown;
}

/** Options of `interruptCheck`. */
export interface InterruptCheckOptions {
  /** Milliseconds of work between two yields to the event loop. Default 100. */
  yieldEveryMs?: number;
}

/**
 * Start watching for an interrupt of the work about to run. `stopped()` is called when it throws and
 * returns what the message adds after "interrupted": where the work stopped and what was kept, e.g.
 * `train dl19-1a2b3c4d at step 45 of 120; the checkpoint after epoch 1 is kept and a rerun resumes from it`.
 */
export function interruptCheck(stopped: () => string, options: InterruptCheckOptions = {}): InterruptCheck {
  const inKernel = watchInKernel();
  const { yieldEveryMs = 100 } = options;
  const start = interruptCount();
  const cell = kernelDisplayWriter(); // the cell this work belongs to, for the report of where it stopped
  const mine = new WeakSet<Error>();
  let lastYield = Date.now();
  const self: InterruptCheck = {
    get interrupted() {
      return interruptCount() !== start;
    },
    throwIfInterrupted() {
      if (interruptCount() === start) return;
      const e = new InterruptedError(`interrupted: ${stopped()}`);
      mine.add(e);
      throw reported(e, cell);
    },
    explain(e: unknown): unknown {
      if (!(e instanceof InterruptedError) || mine.has(e)) return e;
      const outer = new InterruptedError(`interrupted: ${stopped()}; ${e.message.replace(/^interrupted: /, "")}`);
      mine.add(outer);
      return reported(outer, cell);
    },
    async check() {
      if (!state().installed && !inKernel) return; // nobody counts SIGINTs: nothing to see, nothing to yield for
      if (Date.now() - lastYield >= yieldEveryMs) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = Date.now();
      }
      self.throwIfInterrupted();
    },
  };
  return self;
}

/** The message waiting to be shown in the interrupted cell (the longest: the outermost level's). */
interface PendingReport {
  message: string;
  cell: KernelDisplayWriter;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * In a kernel, show where the work stopped in the interrupted cell's output (tslab already ended the cell
 * with "Interrupted asynchronously", so nothing else would show it): the outermost level's message, 200 ms
 * after the last level added to it. Returns the error.
 */
function reported(e: InterruptedError, cell: KernelDisplayWriter | undefined): InterruptedError {
  if (!cell) return e;
  const g = globalThis as unknown as { __rraInterruptReport?: PendingReport | null };
  const pending = g.__rraInterruptReport;
  if (pending && pending.cell === cell && pending.message.length >= e.message.length) return e;
  if (pending) clearTimeout(pending.timer);
  const timer = setTimeout(() => {
    const p = g.__rraInterruptReport;
    g.__rraInterruptReport = null;
    if (p) p.cell({ data: { "text/plain": `Stopped: ${p.message.replace(/^interrupted: /, "")}.` }, metadata: {}, transient: {} }, false);
  }, 200);
  timer.unref();
  g.__rraInterruptReport = { message: e.message, cell, timer };
  return e;
}

/**
 * An AbortSignal that aborts at the next SIGINT (while SIGINTs are counted), for waiting that should end at
 * once rather than at the next check: an HTTP call in flight, a backoff sleep. `release()` when the wait is over.
 */
export function interruptSignal(): { signal: AbortSignal; release(): void } {
  watchInKernel();
  const c = new AbortController();
  const controllers = state().controllers;
  controllers.add(c);
  return { signal: c.signal, release: () => { controllers.delete(c); } };
}
