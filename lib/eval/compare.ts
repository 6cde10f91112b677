/**
 * Compare rankers against a baseline, per metric, on the same queries: mean, delta, paired test,
 * Holm-adjusted p-value over the non-baseline systems of each metric, and a bootstrap CI of the delta.
 * Plain numbers in and out; tables.ts turns the rows into DataFrames, Markdown and LaTeX.
 */
import { ConfigError, ShapeError, show } from "../core/errors";
import { deriveSeed } from "../core/rng";
import { bootstrapCI, holm, pairedTTest, randomizationTest } from "./significance";
import type { MetricName, PerQuery } from "./types";

/** Paired test used by `compareSystems`: Student t (`t`) or Fisher sign-flip randomization. */
export type CompareTest = "t" | "randomization";

/** One ranker's per-query values under a display name. */
export interface SystemRun {
  name: string;
  perQuery: PerQuery;
}

/** Arguments of `compareSystems`. */
export interface CompareArgs {
  /** Systems to compare, baseline included: a list, or a record name -> per-query values. */
  systems: readonly SystemRun[] | Record<string, PerQuery>;
  /** Name of the baseline system; queries are paired over its qids. */
  baseline: string;
  /** Metric keys to compare, e.g. `["ndcg@10", "mrr@10"]`. */
  metrics: readonly MetricName[];
  /** Seed; each (system, metric) pair uses `deriveSeed(seed, "<system>/<metric>")`. */
  seed: number;
  /** Significance level for the Holm-adjusted p-value. Default 0.05. */
  alpha?: number;
  /** Paired test. Default "t". */
  test?: CompareTest;
  /** Sign flips of the randomization test when n > 20 (n <= 20 is exact). Default 10000. */
  trials?: number;
  /** Bootstrap resamples for the CI of the delta. Default 10000. */
  bootstrapSamples?: number;
  /** Confidence level of the delta CI. Default 0.95. */
  ciLevel?: number;
}

/** Defaults of the optional `CompareArgs` fields. */
export const COMPARE_DEFAULTS = { alpha: 0.05, test: "t" as CompareTest, trials: 10000, bootstrapSamples: 10000, ciLevel: 0.95 };

/** One (system, metric) comparison against the baseline. Baseline rows have null test fields. */
export interface ComparisonRow {
  system: string;
  metric: MetricName;
  /** The baseline system's name (same for every row of one comparison). */
  baseline: string;
  isBaseline: boolean;
  /** Number of paired queries (the baseline's qids). */
  n: number;
  mean: number;
  baselineMean: number;
  /** mean - baselineMean. */
  delta: number;
  /** delta / baselineMean; null when the baseline mean is 0. */
  relDelta: number | null;
  /** Two-sided paired p-value; null for the baseline. */
  p: number | null;
  /** Holm-adjusted p over the non-baseline systems of this metric; null for the baseline. */
  pAdjusted: number | null;
  /** pAdjusted < alpha. */
  significant: boolean;
  /** Percentile bootstrap CI of the mean paired delta; null for the baseline. */
  ciLower: number | null;
  ciUpper: number | null;
  ciLevel: number;
  test: CompareTest;
  /** Randomization test: sign patterns evaluated (2^n when exact); null for the t-test and the baseline. */
  trials: number | null;
  /** Randomization test enumerated every sign pattern; false otherwise. */
  exact: boolean;
  /** Multiple-comparison correction applied to `pAdjusted`. */
  correction: "holm";
  alpha: number;
}

const ALLOWED_KEYS = ["systems", "baseline", "metrics", "seed", "alpha", "test", "trials", "bootstrapSamples", "ciLevel"];

function normalizeSystems(systems: CompareArgs["systems"]): SystemRun[] {
  if (Array.isArray(systems)) {
    const seen = new Set<string>();
    return (systems as readonly SystemRun[]).map((s, i) => {
      if (!s || typeof s.name !== "string" || s.name === "" || typeof s.perQuery !== "object" || s.perQuery === null) {
        throw new ConfigError(`compareSystems: systems[${i}] must be {name: non-empty string, perQuery}, got ${show(s && JSON.stringify(s))}`);
      }
      if (seen.has(s.name)) throw new ConfigError(`compareSystems: system names must be unique, got ${show(s.name)} twice`);
      seen.add(s.name);
      return s;
    });
  }
  if (typeof systems !== "object" || systems === null) {
    throw new ConfigError(`compareSystems: systems must be a list of {name, perQuery} or a record name -> PerQuery, got ${show(systems)}`);
  }
  return Object.entries(systems as Record<string, PerQuery>).map(([name, perQuery]) => ({ name, perQuery }));
}

function checkOptions(args: CompareArgs): Required<Omit<CompareArgs, "systems" | "baseline" | "metrics">> {
  for (const k of Object.keys(args)) {
    if (!ALLOWED_KEYS.includes(k)) throw new ConfigError(`compareSystems: unknown option ${show(k)}; expected one of ${ALLOWED_KEYS.join(", ")}`);
  }
  const { seed, alpha = COMPARE_DEFAULTS.alpha, test = COMPARE_DEFAULTS.test, trials = COMPARE_DEFAULTS.trials } = args;
  const { bootstrapSamples = COMPARE_DEFAULTS.bootstrapSamples, ciLevel = COMPARE_DEFAULTS.ciLevel } = args;
  if (typeof seed !== "number" || !Number.isInteger(seed)) throw new ConfigError(`compareSystems: seed must be an integer, got ${show(seed)}`);
  if (typeof alpha !== "number" || !(alpha > 0 && alpha < 1)) throw new ConfigError(`compareSystems: alpha must be in (0, 1), got ${show(alpha)}`);
  if (test !== "t" && test !== "randomization") throw new ConfigError(`compareSystems: test must be "t" or "randomization", got ${show(test)}`);
  if (typeof ciLevel !== "number" || !(ciLevel > 0 && ciLevel < 1)) throw new ConfigError(`compareSystems: ciLevel must be in (0, 1), got ${show(ciLevel)}`);
  return { seed, alpha, test, trials, bootstrapSamples, ciLevel };
}

// The system's values for `metric`, aligned to the baseline's qids; throws on any missing query or value.
function aligned(system: SystemRun, qids: readonly string[], metric: MetricName, baseline: string): number[] {
  return qids.map((qid) => {
    const row = system.perQuery[qid];
    if (row === undefined) {
      const have = Object.keys(system.perQuery).length;
      throw new ShapeError(
        `compareSystems: system ${show(system.name)} has no result for qid ${show(qid)}, which baseline ${show(baseline)} has; ` +
          `expected all ${qids.length} baseline qids, got ${have} qids. Evaluate every system on the same queries (missing queries are never scored 0 here)`,
      );
    }
    const v = row[metric];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new ShapeError(`compareSystems: system ${show(system.name)}, qid ${show(qid)}: expected a finite ${show(metric)} value, got ${show(v)}`);
    }
    return v;
  });
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Compare every system with the baseline on each metric: one row per (system, metric), baseline rows first. */
export function compareSystems(args: CompareArgs): ComparisonRow[] {
  const opts = checkOptions(args);
  const systems = normalizeSystems(args.systems);
  const names = systems.map((s) => s.name);
  const base = systems.find((s) => s.name === args.baseline);
  if (base === undefined) {
    throw new ConfigError(`compareSystems: unknown baseline ${show(args.baseline)}; expected one of ${names.map((n) => show(n)).join(", ")}`);
  }
  const metrics = args.metrics;
  if (!Array.isArray(metrics) || metrics.length === 0) throw new ConfigError(`compareSystems: metrics must be a non-empty list, got ${show(metrics)}`);
  if (new Set(metrics).size !== metrics.length) throw new ConfigError(`compareSystems: metrics must be unique, got ${metrics.join(", ")}`);
  const qids = Object.keys(base.perQuery);
  if (qids.length < 2) throw new ShapeError(`compareSystems: baseline ${show(base.name)} needs at least 2 queries for a paired test, got ${qids.length}`);
  const others = systems.filter((s) => s !== base);
  const known = Object.keys(base.perQuery[qids[0]] ?? {});
  for (const metric of metrics) {
    if (!qids.some((q) => base.perQuery[q] && metric in base.perQuery[q])) {
      throw new ConfigError(`compareSystems: unknown metric ${show(metric)}: baseline ${show(base.name)} has no value for it; expected one of ${known.join(", ")}`);
    }
  }

  // rows[system index][metric index]; Holm is filled in per metric once every p is known.
  const byMetric = metrics.map((metric) => {
    const baseValues = aligned(base, qids, metric, base.name);
    const baselineMean = mean(baseValues);
    const common = { metric, baseline: base.name, n: qids.length, baselineMean, ciLevel: opts.ciLevel, test: opts.test, correction: "holm" as const, alpha: opts.alpha };
    const baseRow: ComparisonRow = {
      ...common, system: base.name, isBaseline: true, mean: baselineMean, delta: 0, relDelta: baselineMean === 0 ? null : 0,
      p: null, pAdjusted: null, significant: false, ciLower: null, ciUpper: null, trials: null, exact: false,
    };
    const rows = others.map((sys): ComparisonRow => {
      const values = aligned(sys, qids, metric, base.name);
      const pairSeed = deriveSeed(opts.seed, `${sys.name}/${metric}`);
      let p: number;
      let trials: number | null = null;
      let exact = false;
      if (opts.test === "t") {
        p = pairedTTest(values, baseValues).p;
      } else {
        const r = randomizationTest(values, baseValues, { trials: opts.trials, seed: deriveSeed(pairSeed, "randomization") });
        p = r.p;
        trials = r.trials;
        exact = r.exact;
      }
      const ci = bootstrapCI(values, baseValues, { samples: opts.bootstrapSamples, level: opts.ciLevel, seed: deriveSeed(pairSeed, "bootstrap") });
      const m = mean(values);
      const delta = m - baselineMean;
      return {
        ...common, system: sys.name, isBaseline: false, mean: m, delta, relDelta: baselineMean === 0 ? null : delta / baselineMean,
        p, pAdjusted: p, significant: false, ciLower: ci.lower, ciUpper: ci.upper, trials, exact,
      };
    });
    const adjusted = holm(rows.map((r) => r.p as number));
    rows.forEach((r, i) => {
      r.pAdjusted = adjusted[i];
      r.significant = adjusted[i] < opts.alpha;
    });
    return [baseRow, ...rows];
  });

  // Order: system-major (baseline first, then the given order), metrics in the given order.
  const out: ComparisonRow[] = [];
  for (let s = 0; s < systems.length; s++) for (const rows of byMetric) out.push(rows[s]);
  return out;
}
