/**
 * Click models for SIMULATED online evaluation: a simulated user scans a ranked list and clicks
 * documents with a probability derived from their graded TREC judgments. These are models, not
 * logs; nothing here is a real online result.
 *
 * - cascade (Craswell et al. 2008, "An experimental comparison of click position-bias models"):
 *   examine top-down, click rank r with probability attr(doc_r), stop after the first click.
 * - DCM, the dependent click model (Guo et al. 2009, "Efficient multiple-click models in web
 *   search"): examine top-down, click with attr(doc_r); after a click go on with probability
 *   lambda_r, else stop; after a skip always go on.
 *
 * Attractiveness from a grade g (unjudged = 0, clipped to [0, gmax]):
 *   attr(g) = eps + (1 - 2 eps) (2^g - 1) / (2^gmax - 1)
 * so a non-relevant document is clicked with probability eps and a perfect one with 1 - eps.
 * Optional position bias multiplies the click probability at rank r (1-based) by exam(r) = 1 / r^eta;
 * a rank examined but skipped never stops the scan.
 */
import { ConfigError, show } from "../core/errors";
import type { Rng } from "../core/rng";

/** Which click model a simulated user follows. */
export type ClickModelName = "cascade" | "dcm";

/** Every click model name. */
export const CLICK_MODEL_NAMES: readonly ClickModelName[] = ["cascade", "dcm"];

/** Configuration of a simulated user. */
export interface ClickModelConfig {
  /** `cascade` (one click at most) or `dcm` (several clicks). Default "cascade". */
  model: ClickModelName;
  /** Click probability of a non-relevant document; a perfect one gets 1 - eps. In [0, 0.5). Default 0.05. */
  eps: number;
  /** Highest relevance grade (TREC DL: 3); grades above it count as gmax. Default 3. */
  gmax: number;
  /**
   * DCM only: probability of going on after a click at rank r, in [0, 1]. A number applies to every
   * rank; an array gives lambda_r for r = 1..k (index 0 is rank 1, length >= k). Default 0.6.
   */
  lambda: number | readonly number[];
  /** Position-bias exponent: rank r is examined with probability 1 / r^eta. >= 0; default 0 (no bias). */
  eta: number;
  /** Depth: only the top k documents are shown. Integer >= 1; default 10. */
  k: number;
}

/** Default simulated user: cascade, eps 0.05, gmax 3, lambda 0.6, no position bias, top 10. */
export const CLICK_MODEL_DEFAULTS: Readonly<ClickModelConfig> = Object.freeze({
  model: "cascade", eps: 0.05, gmax: 3, lambda: 0.6, eta: 0, k: 10,
});

/** Merge overrides onto `CLICK_MODEL_DEFAULTS` and validate every field; returns a frozen copy. */
export function resolveClickModel(overrides: Partial<ClickModelConfig> = {}, where = "clickModel"): Readonly<ClickModelConfig> {
  if (overrides === null || typeof overrides !== "object") throw new ConfigError(`${where}: expected an object, got ${show(overrides)}`);
  const known = Object.keys(CLICK_MODEL_DEFAULTS);
  for (const key of Object.keys(overrides)) {
    if (!known.includes(key)) throw new ConfigError(`${where}: unknown option ${show(key)}; expected one of ${known.join(", ")}`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const c = { ...CLICK_MODEL_DEFAULTS, ...defined } as ClickModelConfig;
  if (!CLICK_MODEL_NAMES.includes(c.model)) throw new ConfigError(`${where}: model must be one of ${CLICK_MODEL_NAMES.join(", ")}, got ${show(c.model)}`);
  if (typeof c.eps !== "number" || !(c.eps >= 0 && c.eps < 0.5)) throw new ConfigError(`${where}: eps must be in [0, 0.5), got ${show(c.eps)}`);
  if (typeof c.gmax !== "number" || !Number.isInteger(c.gmax) || c.gmax < 1) throw new ConfigError(`${where}: gmax must be an integer >= 1, got ${show(c.gmax)}`);
  if (typeof c.eta !== "number" || !(c.eta >= 0) || !Number.isFinite(c.eta)) throw new ConfigError(`${where}: eta must be a finite number >= 0, got ${show(c.eta)}`);
  if (typeof c.k !== "number" || !Number.isInteger(c.k) || c.k < 1) throw new ConfigError(`${where}: k must be an integer >= 1, got ${show(c.k)}`);
  const inUnit = (x: unknown): boolean => typeof x === "number" && x >= 0 && x <= 1;
  if (Array.isArray(c.lambda)) {
    if (c.lambda.length < c.k) throw new ConfigError(`${where}: lambda as an array needs one value per shown rank (k = ${c.k}), got length ${c.lambda.length}`);
    c.lambda.forEach((x, i) => {
      if (!inUnit(x)) throw new ConfigError(`${where}: lambda[${i}] must be in [0, 1], got ${show(x)}`);
    });
    c.lambda = Object.freeze(c.lambda.slice());
  } else if (!inUnit(c.lambda)) {
    throw new ConfigError(`${where}: lambda must be in [0, 1] or an array of such, got ${show(c.lambda)}`);
  }
  return Object.freeze(c);
}

/** Click probability of a document with grade `grade` (undefined = unjudged = 0) given eps and gmax. */
export function attractiveness(grade: number | undefined, eps = CLICK_MODEL_DEFAULTS.eps, gmax = CLICK_MODEL_DEFAULTS.gmax): number {
  const g = Math.min(gmax, Math.max(0, grade ?? 0));
  return eps + ((1 - 2 * eps) * (2 ** g - 1)) / (2 ** gmax - 1);
}

/** Examination probability of 1-based rank r under position bias exponent eta: 1 / r^eta. */
export function examination(rank: number, eta: number): number {
  return eta === 0 ? 1 : 1 / rank ** eta;
}

/**
 * Simulate one user on `ranking` (docids, best first) and return the clicked 0-based rank indices in
 * increasing order. `model` is resolved (and validated) by `resolveClickModel`.
 */
export function simulateClicks(ranking: readonly string[], grades: ReadonlyMap<string, number> | undefined, model: Partial<ClickModelConfig>, rng: Rng): number[] {
  const m = resolveClickModel(model);
  return clicksResolved(ranking, grades, m, rng);
}

/** `simulateClicks` for an already resolved model (no validation: for the per-session loop). */
export function clicksResolved(ranking: readonly string[], grades: ReadonlyMap<string, number> | undefined, m: Readonly<ClickModelConfig>, rng: Rng): number[] {
  const clicks: number[] = [];
  const depth = Math.min(m.k, ranking.length);
  for (let i = 0; i < depth; i++) {
    const p = examination(i + 1, m.eta) * attractiveness(grades?.get(ranking[i]), m.eps, m.gmax);
    if (!(rng.next() < p)) continue;
    clicks.push(i);
    if (m.model === "cascade") break;
    const lambda = typeof m.lambda === "number" ? m.lambda : m.lambda[i];
    if (!(rng.next() < lambda)) break;
  }
  return clicks;
}
