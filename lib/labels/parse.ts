/**
 * Permutation parser: turns a listwise teacher's raw answer (`[2] > [3] > [1]`) for a window of n
 * passages labelled [1]..[n] into 0-based indices, and counts every anomaly by category instead of
 * throwing (STYLE 2.6: parse failures are data). No response text makes these functions throw.
 *
 * Policies, one per anomaly:
 * - duplicates: the first occurrence is kept, later ones are dropped and counted;
 * - out-of-range ids (< 1 or > n) and malformed bracketed things (`[a]`, `[3.5]`, `[]`): dropped, counted;
 * - free text around the list (`1. ` prefixes, explanations): ignored, flagged;
 * - echo (the prompt order 1..n given back unchanged): kept, flagged;
 * - empty output (no id at all): nothing listed, flagged;
 * - missing ids (never validly listed): counted, then handled by `applyMissingPolicy`.
 *
 * Two modes read the ids:
 * - `"brackets"` (default): an id is an integer written in square brackets, `[k]` (white space inside
 *   the brackets is allowed, `[ 3 ]`; a sign is read, so `[-1]` is out of range). Bare numbers are free text.
 * - `"rankllm"`: castorini/rank_llm's `RankLLM.receive_permutation` of Sep 2023 (rank_llm/rankllm.py,
 *   read at commit 10ea90e; the shipped logs come from 87e65ef, and replaying them with this mode
 *   reproduces their runs exactly): `_clean_response` turns every non-digit character into a
 *   space, so every run of digits anywhere in the response is an id; then `_remove_duplicate` keeps
 *   first occurrences; then ids outside the window are dropped (rank_llm then appends the missing ones
 *   in prompt order: policy `"append"`).
 * Where they differ (each case is tested):
 * - bare numbers: `1. [14] > [15]` lists 14, 15 in "brackets" but 1, 14, 15 in "rankllm" (the vicuna
 *   zero-shot log is full of these `1. ` prefixes);
 * - digits inside malformed brackets: `[3.5]` is malformed in "brackets" but ids 3 and 5 in "rankllm";
 * - signs: `[-1]` is out of range in "brackets" but id 1 in "rankllm" (`-` becomes a space);
 * - digits in other scripts: "rankllm" reads any Unicode decimal digit (Python's `int` does, e.g.
 *   `[３]` is 3), "brackets" only ASCII 0-9. Python's `isdigit` is also true for a few non-decimal
 *   characters (superscripts `²`, circled `①`) on which rank_llm's `int()` raises; here they are
 *   plain non-digits (spaces), so the parse goes on where rank_llm would have crashed.
 * `malformed` and `freeText` describe the text's form and are computed the same way in both modes.
 */
import { ConfigError, show } from "../core/errors";

/** How ids are read from a response; see the module comment for the differences. */
export type ParseMode = "brackets" | "rankllm";

/** Options of `parsePermutation`. */
export interface ParseOptions {
  /** Id reader: `"brackets"` (`[k]` only, the default) or `"rankllm"` (every digit run, as rank_llm). */
  mode?: ParseMode;
}

/** Anomalies of one parsed response, by category. */
export interface AnomalyCounts {
  /** Repeated valid ids, dropped (the first occurrence is kept). */
  duplicates: number;
  /** Integer ids < 1 or > n, dropped (every occurrence counts). */
  outOfRange: number;
  /** Bracketed things that are not a clean integer (`[a]`, `[3.5]`, `[]`), dropped. */
  malformed: number;
  /** Window passages never validly listed. */
  missing: number;
  /** Any text besides `[...]` groups and the separators `>`, `,` and white space. */
  freeText: boolean;
  /** The listed order is exactly 1..n with nothing missing: the prompt order given back. */
  echo: boolean;
  /** No integer id at all (out-of-range ids count as ids; malformed brackets do not). */
  empty: boolean;
}

/** Every anomaly category, in report order. */
export const ANOMALY_CATEGORIES = ["missing", "duplicates", "outOfRange", "malformed", "freeText", "echo", "empty"] as const;
/** One anomaly category. */
export type AnomalyCategory = (typeof ANOMALY_CATEGORIES)[number];

/** A parsed teacher response for a window of `n` passages. */
export interface ParsedPermutation {
  /** Window size: the prompt listed passages [1]..[n]. */
  n: number;
  mode: ParseMode;
  /** 0-based passage indices in the teacher's order: valid ids only, first occurrence kept. */
  listed: number[];
  /** 0-based indices never validly listed, ascending. */
  missing: number[];
  anomalies: AnomalyCounts;
}

/** What to do with the passages a teacher left out. */
export type MissingPolicy = "hardNegative" | "append" | "drop";
/** Every missing-id policy. */
export const MISSING_POLICIES: readonly MissingPolicy[] = ["hardNegative", "append", "drop"];

/** A ranking derived from a parsed permutation under a missing-id policy. */
export interface PolicyRanking {
  /** 0-based indices, best first. */
  ranking: number[];
  /** 0-based indices of the missing passages kept as hard negatives (unranked); empty unless "hardNegative". */
  hardNegatives: number[];
}

/** Sums of anomalies over many windows. */
export interface AnomalySummary {
  windows: number;
  /** Per category: the summed count, or for the boolean categories the number of flagged windows. */
  total: Record<AnomalyCategory, number>;
  /** Per category: windows with at least one anomaly of that category. */
  windowsWith: Record<AnomalyCategory, number>;
  /** Windows without any anomaly. */
  clean: number;
}

const MAX_SAFE_DIGITS = 15; // longer digit runs (after leading zeros) are far beyond any window size

/** Value of a run of ASCII digits with an optional leading "-", or Infinity when it is huge. */
function asciiValue(digits: string): number {
  const neg = digits.startsWith("-");
  const body = (neg ? digits.slice(1) : digits).replace(/^0+/, "");
  if (body.length > MAX_SAFE_DIGITS) return neg ? -Infinity : Infinity;
  const v = body === "" ? 0 : Number(body);
  return neg ? -v : v;
}

const DECIMAL = /\p{Nd}/u;

/**
 * Value of one Unicode decimal digit. Unicode encodes decimal digits in contiguous runs 0..9
 * (stability policy), so the value is the offset from the start of its block of digits, modulo 10.
 */
function decimalValue(cp: number): number {
  if (cp >= 48 && cp <= 57) return cp - 48;
  let start = cp;
  while (start > 0 && DECIMAL.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/** Ids of the response in order, as rank_llm's `_clean_response` + `split` + `int` read them. */
function rankllmIds(response: string): number[] {
  const ids: number[] = [];
  let run: number[] = [];
  const flush = (): void => {
    if (run.length === 0) return;
    let i = 0;
    while (i < run.length - 1 && run[i] === 0) i++;
    const significant = run.length - i;
    ids.push(significant > MAX_SAFE_DIGITS ? Infinity : run.slice(i).reduce((v, d) => v * 10 + d, 0));
    run = [];
  };
  for (const ch of response) {
    const cp = ch.codePointAt(0) as number;
    if ((cp >= 48 && cp <= 57) || (cp > 127 && DECIMAL.test(ch))) run.push(decimalValue(cp));
    else flush();
  }
  flush();
  return ids;
}

const BRACKET_GROUP = /\[([^[\]]*)\]/g;
const CLEAN_INTEGER = /^\s*(-?[0-9]+)\s*$/;
const SEPARATORS = /[\s>,]/g;

/**
 * Parse a teacher's response for a window of `n` passages labelled [1]..[n]. Never throws on the
 * response text; throws only when `n` or `options` are invalid (a caller bug).
 */
export function parsePermutation(response: string, n: number, options: ParseOptions = {}): ParsedPermutation {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`parsePermutation: n (the window size) must be a positive integer, got ${show(n)}`);
  const mode = options.mode ?? "brackets";
  if (mode !== "brackets" && mode !== "rankllm") throw new ConfigError(`parsePermutation: unknown mode ${show(mode)}; expected "brackets" or "rankllm"`);
  const text = typeof response === "string" ? response : "";

  // The text's form, the same in both modes: bracket groups, malformed ones, and what is left over.
  let malformed = 0;
  const bracketIds: number[] = [];
  for (const m of text.matchAll(BRACKET_GROUP)) {
    const clean = CLEAN_INTEGER.exec(m[1]);
    if (clean) bracketIds.push(asciiValue(clean[1]));
    else malformed++;
  }
  const freeText = text.replace(BRACKET_GROUP, "").replace(SEPARATORS, "") !== "";

  const ids = mode === "brackets" ? bracketIds : rankllmIds(text);
  const seen = new Array<boolean>(n).fill(false);
  const listed: number[] = [];
  let duplicates = 0;
  let outOfRange = 0;
  for (const id of ids) {
    if (!(id >= 1 && id <= n)) outOfRange++;
    else if (seen[id - 1]) duplicates++;
    else {
      seen[id - 1] = true;
      listed.push(id - 1);
    }
  }
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!seen[i]) missing.push(i);
  const echo = listed.length === n && listed.every((v, i) => v === i);
  return {
    n,
    mode,
    listed,
    missing,
    anomalies: { duplicates, outOfRange, malformed, missing: missing.length, freeText, echo, empty: ids.length === 0 },
  };
}

/**
 * Rank a parsed window under a missing-id policy:
 * - `"hardNegative"` (RRADistill): rank the listed passages; the missing ones are returned as hard
 *   negatives, not ranked;
 * - `"append"` (RankGPT, rank_llm): the missing passages follow the listed ones, in prompt order;
 * - `"drop"`: the missing passages are discarded.
 */
export function applyMissingPolicy(parsed: ParsedPermutation, policy: MissingPolicy): PolicyRanking {
  switch (policy) {
    case "hardNegative": return { ranking: parsed.listed.slice(), hardNegatives: parsed.missing.slice() };
    case "append": return { ranking: parsed.listed.concat(parsed.missing), hardNegatives: [] };
    case "drop": return { ranking: parsed.listed.slice(), hardNegatives: [] };
    default: throw new ConfigError(`applyMissingPolicy: unknown policy ${show(policy)}; expected one of ${MISSING_POLICIES.join(", ")}`);
  }
}

/** Write a 0-based order in the teacher's format, 1-based: `[2, 0, 1]` -> `"[3] > [1] > [2]"`. */
export function permutationText(order: readonly number[]): string {
  return order.map((i) => {
    if (!Number.isInteger(i) || i < 0) throw new RangeError(`permutationText: indices must be 0-based non-negative integers, got ${show(i)} in [${order.slice(0, 8).join(", ")}${order.length > 8 ? ", …" : ""}]`);
    return `[${i + 1}]`;
  }).join(" > ");
}

/** Sum the anomalies of many windows: totals per category, windows per category, clean windows. */
export function sumAnomalies(list: readonly AnomalyCounts[]): AnomalySummary {
  const zero = (): Record<AnomalyCategory, number> => ({ missing: 0, duplicates: 0, outOfRange: 0, malformed: 0, freeText: 0, echo: 0, empty: 0 });
  const total = zero();
  const windowsWith = zero();
  let clean = 0;
  for (const a of list) {
    let any = false;
    for (const c of ANOMALY_CATEGORIES) {
      const v = Number(a[c]);
      total[c] += v;
      if (v > 0) {
        windowsWith[c]++;
        any = true;
      }
    }
    if (!any) clean++;
  }
  return { windows: list.length, total, windowsWith, clean };
}
