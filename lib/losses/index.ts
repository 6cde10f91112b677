/**
 * The loss registry: every ranking loss by name, chosen with `getLoss(name)` (configs and CLI flags
 * name losses as strings). All share the `RankingLoss` signature of types.ts.
 */
import { ConfigError } from "../core/errors";
import { pointwiseBce } from "./pointwise";
import { rankNet } from "./pairwise";
import { lambdaNdcg2, listMle, listNet } from "./listwise";
import { klDistill, marginMse } from "./distill";
import type { RankingLoss } from "./types";

export type { LossOptions, RankingLoss } from "./types";
export { pointwiseBce, rankNet, listNet, listMle, lambdaNdcg2, marginMse, klDistill };

/** Every ranking loss by name. */
export const LOSSES = { listNet, listMle, rankNet, lambdaNdcg2, marginMse, klDistill, pointwiseBce } satisfies Record<string, RankingLoss>;

/** The name of a registered loss. */
export type LossName = keyof typeof LOSSES;

/** The registered loss names, in registry order. */
export const LOSS_NAMES = Object.keys(LOSSES) as LossName[];

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** True when `name` is a registered loss. */
export function isLossName(name: string): name is LossName {
  return Object.prototype.hasOwnProperty.call(LOSSES, name);
}

/** The loss registered as `name`; throws ConfigError listing the names, with a did-you-mean suggestion. */
export function getLoss(name: string): RankingLoss {
  if (isLossName(name)) return LOSSES[name];
  const query = String(name).toLowerCase();
  let best: LossName | undefined;
  let bestDistance = Infinity;
  for (const candidate of LOSS_NAMES) {
    const d = editDistance(query, candidate.toLowerCase());
    if (d < bestDistance) { best = candidate; bestDistance = d; }
  }
  const close = best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3));
  throw new ConfigError(`unknown loss ${JSON.stringify(name)}; expected one of ${LOSS_NAMES.join(", ")}` + (close ? ` (did you mean ${JSON.stringify(best)}?)` : ""));
}
