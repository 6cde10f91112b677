/**
 * Team-draft interleaving (Radlinski, Kurup and Joachims 2008, "How does clickthrough data reflect
 * retrieval quality?") for SIMULATED online comparisons: two rankings are merged into one list, each
 * shown document is credited to the ranker ("team") that picked it, and a session's clicks decide
 * which ranker wins it.
 *
 * Like captains picking players: each round a seeded coin decides which team picks first (the team
 * with fewer picks always picks next), and a team picks its highest-ranked document not yet shown.
 *
 * Credit rule: clicks on the top results where A and B agree (their common prefix, which team draft
 * always reproduces verbatim) credit neither team. Those documents carry no evidence about which
 * ranker is better, and without the rule identical rankings would produce coin-flip wins instead of
 * ties. Every other click credits the document's team.
 */
import { ConfigError, show } from "../core/errors";
import type { Rng } from "../core/rng";

/** Which ranker a shown document came from. */
export type Team = "A" | "B";

/** An interleaved list: the shown docids, the team of each, and the common-prefix length. */
export interface Interleaving {
  /** Shown docids, best first (at most k). */
  list: string[];
  /** `team[i]` picked `list[i]`. */
  team: Team[];
  /** Length of the common prefix of A and B within the list: clicks at ranks < shared credit no team. */
  shared: number;
}

/** Outcome of one interleaved session. */
export type SessionOutcome = "A" | "B" | "tie";

/**
 * Team-draft interleave rankings `a` and `b` (docids, best first, no duplicates) into at most k
 * documents, drawing the coin flips from `rng`. Stops when k documents are shown or either ranking
 * has no unshown document left (as in the original algorithm).
 */
export function teamDraft(a: readonly string[], b: readonly string[], k: number, rng: Rng): Interleaving {
  if (!Number.isInteger(k) || k < 1) throw new ConfigError(`teamDraft: k must be an integer >= 1, got ${show(k)}`);
  const list: string[] = [];
  const team: Team[] = [];
  const shown = new Set<string>();
  let ia = 0, ib = 0, nA = 0, nB = 0;
  const skipShown = (): void => {
    while (ia < a.length && shown.has(a[ia])) ia++;
    while (ib < b.length && shown.has(b[ib])) ib++;
  };
  skipShown();
  while (list.length < k && ia < a.length && ib < b.length) {
    const pickA = nA < nB || (nA === nB && rng.next() < 0.5);
    const doc = pickA ? a[ia] : b[ib];
    list.push(doc);
    team.push(pickA ? "A" : "B");
    shown.add(doc);
    if (pickA) nA++; else nB++;
    skipShown();
  }
  let shared = 0;
  while (shared < list.length && a[shared] === b[shared]) shared++;
  return { list, team, shared };
}

/** Credit a session's clicks (0-based ranks of `il.list`): the team with more credited clicks wins. */
export function interleavingOutcome(il: Interleaving, clicks: readonly number[]): SessionOutcome {
  let a = 0, b = 0;
  for (const r of clicks) {
    if (r < il.shared || r >= il.team.length) continue;
    if (il.team[r] === "A") a++; else b++;
  }
  return a > b ? "A" : b > a ? "B" : "tie";
}
