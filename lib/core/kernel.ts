/**
 * The running tslab kernel, seen from library code: whether this process is one, and the current cell's
 * display writer, for a line of text rewritten in place (display_data with a display_id, then
 * update_display_data). Only progress.ts and interrupt.ts use it; charts and tables go through
 * plots/display.ts. Everything reads tslab 1.0.22's loaded modules and does nothing outside a kernel.
 */

/** tslab's writer of display messages for the cell being executed (tslab 1.0.22 `dist/jupyter.lastWriteDisplayData`). */
export type KernelDisplayWriter = (msg: { data: Record<string, string>; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

const TSLAB_DIST = /[\\/]tslab[\\/]dist[\\/]/;

/** Whether this process is a tslab kernel (tslab's dist modules are loaded). */
export function inTslabKernel(): boolean {
  return Object.keys(require.cache).some((f) => TSLAB_DIST.test(f));
}

/**
 * The display writer of the cell being executed, or undefined outside a kernel. tslab replaces it at
 * every execute request, so its identity also tells one cell execution from the next.
 */
export function kernelDisplayWriter(): KernelDisplayWriter | undefined {
  for (const m of Object.values(require.cache)) {
    const w = (m?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    if (typeof w === "function" && /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(m!.filename)) return w as KernelDisplayWriter;
  }
  return undefined;
}

/** Session counter of display ids, on globalThis so that tslab re-compiling this module does not reset it. */
function nextId(): number {
  const g = globalThis as unknown as { __rraKernelLines?: number };
  g.__rraKernelLines = (g.__rraKernelLines ?? 0) + 1;
  return g.__rraKernelLines;
}

/**
 * A line of plain text in the current cell's output that `set` rewrites in place (one output, however
 * often it changes), or undefined outside a kernel.
 */
export function createKernelLine(): { set(text: string): void } | undefined {
  const write = kernelDisplayWriter();
  if (!write) return undefined;
  const id = `rra-line-${process.pid}-${nextId()}`;
  let shown = false;
  return {
    set(text: string) {
      write({ data: { "text/plain": text }, metadata: {}, transient: { display_id: id } }, shown);
      shown = true;
    },
  };
}
