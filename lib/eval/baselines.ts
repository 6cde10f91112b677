/** The shipped runs (BM25 and real LLM re-rankers) evaluated and compared per TREC DL year. */
import { join } from "path";
import { ConfigError, show } from "../core/errors";
import { checkNames, didYouMean } from "../core/names";
import { dataDir, loadDataset, shippedRuns, type ShippedRun } from "../data/datasets";
import { readRun } from "../data/trec";
import { compareSystems, type ComparisonRow, type CompareTest } from "./compare";
import { evaluateRun } from "./evaluate";
import type { EvalResult } from "./types";

/** Options of `evaluateShippedRuns` and `compareShippedRuns`. */
export interface ShippedRunsOptions {
  /** Systems to include (see `shippedRuns()`); default bm25, rankvicuna-7b, gpt-3.5-turbo-run1. */
  systems?: readonly string[];
  metrics?: readonly string[];
  relThreshold?: number;
}

/** The systems notebook 01 and `rra reproduce` show by default. */
export const DEFAULT_SHIPPED_SYSTEMS: readonly string[] = ["bm25", "rankvicuna-7b-top20", "rankvicuna-7b", "gpt-3.5-turbo-run1"];

/** The shipped runs of a year for the requested systems, in the requested order. */
export function selectShippedRuns(year: "dl19" | "dl20", systems: readonly string[] = DEFAULT_SHIPPED_SYSTEMS): ShippedRun[] {
  const all = shippedRuns().filter((r) => r.dataset === year);
  return systems.map((s) => {
    const r = all.find((x) => x.system === s);
    if (!r) throw new ConfigError(`no shipped ${year} run named ${show(s)}; available: ${all.map((x) => x.system).join(", ")}${didYouMean(s, all.map((x) => x.system))}`);
    return r;
  });
}

/**
 * Check system names against every shipped run (either year): an unknown name, or one with the wrong case
 * (`rankvicuna-7B`), is a ConfigError with a did-you-mean instead of a silently missing row.
 */
export function checkShippedSystems(systems: readonly string[], where = "systems"): void {
  checkNames(where, systems, [...new Set(shippedRuns().map((r) => r.system))]);
}

/** The shipped run of `system` for `year`, or null when that system has no run for the year (check the name with checkShippedSystems). */
export function shippedRunOf(year: "dl19" | "dl20", system: string): ShippedRun | null {
  checkShippedSystems([system]);
  return shippedRuns().find((r) => r.dataset === year && r.system === system) ?? null;
}

/** Evaluate shipped runs of one year: system name -> result (trec_eval rules). */
export function evaluateShippedRuns(year: "dl19" | "dl20", options: ShippedRunsOptions = {}): Record<string, EvalResult> {
  const { systems, metrics = ["ndcg@10", "mrr@10", "map", "recall@20"], relThreshold = 2 } = options;
  const qrels = loadDataset(year).qrels;
  const out: Record<string, EvalResult> = {};
  for (const r of selectShippedRuns(year, systems)) out[r.system] = evaluateRun(qrels, readRun(join(dataDir(), r.file)), { metrics, relThreshold });
  return out;
}

/** Compare shipped runs of one year against a baseline (default bm25): significance with Holm, bootstrap CIs. */
export function compareShippedRuns(year: "dl19" | "dl20", options: ShippedRunsOptions & { baseline?: string; seed?: number; test?: CompareTest } = {}): ComparisonRow[] {
  const { baseline = "bm25", seed = 42, test = "t", metrics = ["ndcg@10", "mrr@10", "map", "recall@20"] } = options;
  const results = evaluateShippedRuns(year, { ...options, metrics });
  return compareSystems({ systems: Object.entries(results).map(([name, r]) => ({ name, perQuery: r.perQuery })), baseline, metrics, seed, test });
}
