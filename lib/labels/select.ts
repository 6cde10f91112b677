/**
 * Which pre-ranked candidates a teacher sees, and in which windows.
 *
 * Modes (parsed from text by `parseSelection`):
 * - `top{a}+bottom{b}` (RRADistill, `top10+bottom10`): one window holding the first a and the last b
 *   of the first n candidates (default n = 50). With fewer than a + b candidates the two parts never
 *   overlap: the top takes its a first, the bottom what is left (15 candidates, top10+bottom10: the
 *   top 10 and the remaining 5). The window lists the top part then the bottom part, in pre-ranked order.
 * - `top{k}` (`top20`): one window with the first k of the first n (default n = 100).
 * - `sliding{w}/{s}` (RankGPT, `sliding20/10`): windows of w with step s over the first n (default
 *   n = 100), from the back to the front, exactly as rank_llm's `sliding_windows(rank_start=0,
 *   rank_end=n, window_size=w, step=s)` forms them. The windows are sequential: each window's
 *   teacher order is applied (`applyWindowPermutation`) before the next window is read from the list.
 * n is capped at the number of candidates.
 *
 * Before prompting, a window may be shuffled with a recorded seed (`shuffleWindow`) to control the
 * teacher's position bias; `unshuffleOrder` maps the teacher's answer back to window positions.
 */
import { ConfigError, show } from "../core/errors";
import { createRng } from "../core/rng";

/** How windows are selected from a pre-ranked list. */
export type SelectionMode =
  | { kind: "top+bottom"; top: number; bottom: number }
  | { kind: "top"; k: number }
  | { kind: "sliding"; window: number; step: number };

/** Default number of leading candidates considered, per mode kind. */
export const SELECTION_DEFAULT_N: Readonly<Record<SelectionMode["kind"], number>> = Object.freeze({ "top+bottom": 50, top: 100, sliding: 100 });

const FORMS = `top{k}+bottom{k} (e.g. "top10+bottom10"), top{k} (e.g. "top20") or sliding{window}/{step} (e.g. "sliding20/10")`;

/** Parse a selection mode: `top10+bottom10`, `top20`, `sliding20/10`. */
export function parseSelection(text: string): SelectionMode {
  if (typeof text !== "string") throw new ConfigError(`parseSelection: expected a string such as "top10+bottom10", got ${show(text)}`);
  const t = text.trim();
  let m: RegExpExecArray | null;
  let mode: SelectionMode | undefined;
  if ((m = /^top(\d+)\+bottom(\d+)$/.exec(t))) mode = { kind: "top+bottom", top: Number(m[1]), bottom: Number(m[2]) };
  else if ((m = /^top(\d+)$/.exec(t))) mode = { kind: "top", k: Number(m[1]) };
  else if ((m = /^sliding(\d+)\/(\d+)$/.exec(t))) mode = { kind: "sliding", window: Number(m[1]), step: Number(m[2]) };
  if (!mode) {
    const hint = /^(top|bottom|sliding)/i.test(t) && t !== t.toLowerCase() ? " (lower case)" : /\s/.test(t) ? " (no spaces inside)" : "";
    throw new ConfigError(`parseSelection: unknown selection ${show(text)}; expected ${FORMS}${hint}`);
  }
  checkSelection(mode, text);
  return mode;
}

/** The text form of a mode, the inverse of `parseSelection` (used in window ids). */
export function formatSelection(mode: SelectionMode): string {
  switch (mode.kind) {
    case "top+bottom": return `top${mode.top}+bottom${mode.bottom}`;
    case "top": return `top${mode.k}`;
    case "sliding": return `sliding${mode.window}/${mode.step}`;
  }
}

function checkSelection(mode: SelectionMode, text: unknown = mode): void {
  const positive = (name: string, v: number): void => {
    if (!Number.isSafeInteger(v) || v < 1) throw new ConfigError(`selection ${show(typeof text === "string" ? text : JSON.stringify(text))}: ${name} must be a positive integer, got ${v}`);
  };
  switch (mode.kind) {
    case "top+bottom": positive("top", mode.top); positive("bottom", mode.bottom); return;
    case "top": positive("k", mode.k); return;
    case "sliding":
      positive("window", mode.window);
      positive("step", mode.step);
      if (mode.step > mode.window) throw new ConfigError(`selection ${show(formatSelection(mode))}: step ${mode.step} is larger than window ${mode.window}, so some candidates would never be shown; use a step <= window`);
      return;
    default: throw new ConfigError(`selection: unknown kind ${show((mode as { kind: unknown }).kind)}; expected top+bottom, top or sliding`);
  }
}

/** Options of `selectWindows`. */
export interface SelectOptions {
  /** Leading candidates considered; default `SELECTION_DEFAULT_N[mode.kind]` (50 or 100), capped at the list length. */
  n?: number;
}

/**
 * The windows to send, in sending order, as lists of 0-based positions in `ranked` (the pre-ranked
 * list). For `sliding`, positions refer to the list as it stands when the window is sent (after the
 * previous windows' permutations were applied).
 */
export function selectWindows(ranked: readonly unknown[], mode: SelectionMode, options: SelectOptions = {}): number[][] {
  checkSelection(mode);
  const { n = SELECTION_DEFAULT_N[mode.kind] } = options;
  if (!Number.isSafeInteger(n) || n < 1) throw new ConfigError(`selectWindows: n must be a positive integer, got ${show(n)}`);
  const m = Math.min(n, ranked.length);
  if (m === 0) return [];
  switch (mode.kind) {
    case "top+bottom": {
      const topEnd = Math.min(mode.top, m);
      const bottomStart = Math.max(topEnd, m - mode.bottom); // never overlaps the top part
      return [[...range(0, topEnd), ...range(bottomStart, m)]];
    }
    case "top": return [range(0, Math.min(mode.k, m))];
    case "sliding": return slidingWindows(0, m, mode.window, mode.step).map(([s, e]) => range(s, e));
  }
}

/**
 * rank_llm's sliding-window loop: [start, end) pairs from the back to the front, transcribed with its
 * stopping rule. The first window to reach rankStart is clipped there and is the last one (45
 * candidates, 20/10: [25, 45), [15, 35), [5, 25), [0, 15)); a list shorter than the window is one window.
 */
export function slidingWindows(rankStart: number, rankEnd: number, window: number, step: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let end = rankEnd;
  let start = rankEnd - window;
  while (end > rankStart && start + step !== rankStart) {
    start = Math.max(start, rankStart);
    out.push([start, end]);
    end -= step;
    start -= step;
  }
  return out;
}

/**
 * Place a window's documents in the teacher's order (rank_llm's `receive_permutation`):
 * `orderWithinWindow` lists 0-based positions within `current[start:end)`, best first. Duplicates
 * and out-of-range positions are dropped; positions the teacher left out follow, in their current
 * order. Returns a new array; `current` is not modified.
 */
export function applyWindowPermutation<T>(current: readonly T[], start: number, end: number, orderWithinWindow: readonly number[]): T[] {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > current.length || start > end) {
    throw new ConfigError(`applyWindowPermutation: window [${start}, ${end}) must lie within the list of ${current.length}`);
  }
  const size = end - start;
  const order: number[] = [];
  const used = new Set<number>();
  for (const p of orderWithinWindow) {
    if (Number.isInteger(p) && p >= 0 && p < size && !used.has(p)) { order.push(p); used.add(p); }
  }
  for (let p = 0; p < size; p++) if (!used.has(p)) order.push(p);
  const out = current.slice();
  order.forEach((p, j) => { out[start + j] = current[start + p]; });
  return out;
}

/** A window in prompt order after a seeded shuffle: `docs[i]` is the input's `docs[permutation[i]]`. */
export interface ShuffledWindow<T> {
  docs: T[];
  permutation: number[];
  seed: number;
}

/** Shuffle a window's documents before prompting, with `createRng(seed)`; record the permutation applied. */
export function shuffleWindow<T>(docs: readonly T[], seed: number): ShuffledWindow<T> {
  if (!Number.isInteger(seed)) throw new ConfigError(`shuffleWindow: seed must be an integer, got ${show(seed)}`);
  const permutation = createRng(seed).shuffle(range(0, docs.length));
  return { docs: permutation.map((i) => docs[i]), permutation, seed };
}

/**
 * Map a teacher's order over shown (shuffled) positions back to positions in the unshuffled window:
 * shown position p is window position `permutation[p]`. Out-of-range positions are dropped (they
 * name no document; parsing counts them).
 */
export function unshuffleOrder(orderShown: readonly number[], permutation: readonly number[]): number[] {
  return orderShown.filter((p) => Number.isInteger(p) && p >= 0 && p < permutation.length).map((p) => permutation[p]);
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}
