/**
 * Training targets derived from raw label facts, in one place (losses never convert labels). For a
 * window whose teacher listed m documents, the document at teacher rank r gets a graded gain:
 * - `linear` (reconstruction v1): (m - r + 1) / m, nearly flat under a softmax loss (with m = 20 the
 *   target entropy is 2.825 nats against ln 20 = 2.996);
 * - `exp` (top-heavy, v3): 2^(-(r - 1) / tau), halving every tau ranks (tau = 5 by default), so the top
 *   of the teacher's list carries most of the target mass, as nDCG weighs it.
 * Missing documents get 0 and, under the RRADistill policy, are hard negatives.
 * Pairwise preferences: listed i > listed j when r_i < r_j, and every listed > every missing.
 *
 * Missing policy:
 * - `hardNegative` (RRADistill): missing documents stay in the window with gain 0 and the
 *   `hardNegative` flag, and take part in listed > missing pairs;
 * - `append` (RankGPT): missing documents are appended after the listed ones in shown order, so they
 *   get ranks m+1..n and gains as if the teacher had listed them there; no hard-negative flag;
 * - `drop`: missing documents are removed from the targets.
 */
import { ConfigError, show } from "../core/errors";
import type { MissingPolicy } from "./parse";
import type { LabelFact, WindowRecord } from "../store/labels";

/** The training target of one document of one window. */
export interface LabelTarget {
  qid: string;
  docid: string;
  windowId: string;
  /** Graded gain in (0, 1] for rank r of m ranked documents (rankGain); 0 for hard negatives. */
  gain: number;
  /** 1-based rank among the ranked documents (after the policy); null for hard negatives. */
  rank: number | null;
  listed: boolean;
  hardNegative: boolean;
}

/** A pairwise preference `better > worse` within one window. */
export interface Preference {
  qid: string;
  windowId: string;
  better: string;
  worse: string;
  /** `listed` (both listed) or `listedOverMissing`. */
  kind: "listed" | "listedOverMissing";
}

/** How a teacher rank becomes a gain (see the file header). */
export interface TargetForm {
  kind: "linear" | "exp";
  /** Ranks per halving of the gain (`exp` only). */
  tau: number;
}

/** The reconstruction-v1 targets. */
export const LINEAR_TARGETS: Readonly<TargetForm> = Object.freeze({ kind: "linear", tau: 0 });

/** Names of the target forms. */
export const TARGET_FORMS: readonly string[] = ["linear", "exp"];

/** Check a target form; ConfigError naming the bad value. */
export function checkTargetForm(form: TargetForm, where = "targets"): TargetForm {
  if (form.kind !== "linear" && form.kind !== "exp") throw new ConfigError(`${where}: unknown target form ${show(form.kind)}; expected linear or exp`);
  if (form.kind === "exp" && !(form.tau > 0 && Number.isFinite(form.tau))) throw new ConfigError(`${where}: tau must be a positive number for exp targets, got ${show(form.tau)}`);
  return form;
}

/** The gain of teacher rank r (1-based) of m ranked documents. */
export function rankGain(r: number, m: number, form: TargetForm = LINEAR_TARGETS): number {
  return form.kind === "exp" ? 2 ** (-(r - 1) / form.tau) : (m - r + 1) / m;
}

/** Targets of one window under a missing policy. */
export function windowTargets(window: Pick<WindowRecord, "windowId" | "facts">, policy: MissingPolicy, form: TargetForm = LINEAR_TARGETS): LabelTarget[] {
  const listed = window.facts.filter((f) => !f.missing).sort((a, b) => (a.teacherRank as number) - (b.teacherRank as number));
  const missing = window.facts.filter((f) => f.missing).sort((a, b) => a.positionShown - b.positionShown);
  const ranked: LabelFact[] = policy === "append" ? [...listed, ...missing] : listed;
  const m = ranked.length;
  const out: LabelTarget[] = ranked.map((f, i) => ({
    qid: f.qid, docid: f.docid, windowId: window.windowId, gain: rankGain(i + 1, m, form), rank: i + 1, listed: !f.missing, hardNegative: false,
  }));
  if (policy === "hardNegative") {
    for (const f of missing) out.push({ qid: f.qid, docid: f.docid, windowId: window.windowId, gain: 0, rank: null, listed: false, hardNegative: true });
  }
  return out;
}

/** Pairwise preferences of one window under a missing policy. */
export function windowPreferences(window: Pick<WindowRecord, "windowId" | "facts">, policy: MissingPolicy): Preference[] {
  const targets = windowTargets(window, policy);
  const ranked = targets.filter((t) => t.rank !== null).sort((a, b) => (a.rank as number) - (b.rank as number));
  const negatives = targets.filter((t) => t.hardNegative);
  const prefs: Preference[] = [];
  for (let i = 0; i < ranked.length; i++) {
    for (let j = i + 1; j < ranked.length; j++) prefs.push({ qid: ranked[i].qid, windowId: window.windowId, better: ranked[i].docid, worse: ranked[j].docid, kind: "listed" });
    for (const n of negatives) prefs.push({ qid: ranked[i].qid, windowId: window.windowId, better: ranked[i].docid, worse: n.docid, kind: "listedOverMissing" });
  }
  return prefs;
}

/** Targets of every window of a job. */
export function jobTargets(windows: readonly WindowRecord[], policy: MissingPolicy): LabelTarget[] {
  return windows.flatMap((w) => windowTargets(w, policy));
}
