/**
 * The loss registry: every ranking loss by name, chosen with `getLoss(name)` (configs and CLI flags
 * name losses as strings). All share the `RankingLoss` signature of types.ts.
 */
import { ConfigError } from "../core/errors";
import { didYouMean } from "../core/names";
import { pointwiseBce } from "./pointwise";
import { rankNet } from "./pairwise";
import { lambdaNdcg2, listMle, listNet } from "./listwise";
import { klDistill, marginMse } from "./distill";
import type { RankingLoss } from "./types";

export { editDistance } from "../core/names";

export type { LossOptions, RankingLoss } from "./types";
export { pointwiseBce, rankNet, listNet, listMle, lambdaNdcg2, marginMse, klDistill };

/** Every ranking loss by name. */
export const LOSSES = { listNet, listMle, rankNet, lambdaNdcg2, marginMse, klDistill, pointwiseBce } satisfies Record<string, RankingLoss>;

/** The name of a registered loss. */
export type LossName = keyof typeof LOSSES;

/** The registered loss names, in registry order. */
export const LOSS_NAMES = Object.keys(LOSSES) as LossName[];

/** True when `name` is a registered loss. */
export function isLossName(name: string): name is LossName {
  return Object.prototype.hasOwnProperty.call(LOSSES, name);
}

/** The loss registered as `name`; throws ConfigError listing the names, with a did-you-mean suggestion. */
export function getLoss(name: string): RankingLoss {
  if (isLossName(name)) return LOSSES[name];
  throw new ConfigError(`unknown loss ${JSON.stringify(name)}; expected one of ${LOSS_NAMES.join(", ")}${didYouMean(name, LOSS_NAMES)}`);
}
