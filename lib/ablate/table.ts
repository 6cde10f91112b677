/**
 * Aggregation of the ablation grid into one table: a row per configuration (loss, missing, TCL, ts)
 * and direction / test set, mean ± sample std over seeds, and paired per-query significance of the
 * seed-averaged per-query scores against BM25 (the test set's first stage) and against the matching
 * no-TCL student (same loss, missing policy, direction and test set). Plain numbers, no tfjs, no danfo.
 */
import { ConfigError, ShapeError, show } from "../core/errors";
import { deriveSeed } from "../core/rng";
import { pairedTTest, randomizationTest } from "../eval/significance";
import type { PerQuery } from "../eval/types";

/** `loss/missing/tcl:<ts>` or `loss/missing/no-tcl`. */
export function configKey(c: { loss: string; missing: string; tcl: boolean; ts: string | null }): string {
  return `${c.loss}/${c.missing}/${c.tcl ? `tcl:${c.ts}` : "no-tcl"}`;
}

/** Human label of a configuration: `listNet · hardNegative · TCL exact` / `... · no TCL`. */
export function configLabel(c: { loss: string; missing: string; tcl: boolean; ts: string | null }): string {
  return `${c.loss} · ${c.missing} · ${c.tcl ? `TCL ${c.ts}` : "no TCL"}`;
}

/** One trained cell's per-query scores on one test set. */
export interface CellScores {
  direction: string;
  testSet: string;
  loss: string;
  missing: string;
  tcl: boolean;
  ts: string | null;
  seed: number;
  perQuery: PerQuery;
}

/** A paired comparison of a row with a reference row. */
export interface RowTest {
  /** Reference row's config key (`bm25` or the no-TCL key). */
  against: string;
  /** mean(row) - mean(reference) over the paired queries. */
  delta: number;
  /** Two-sided p-value; null when fewer than 2 queries are paired. */
  p: number | null;
  /** p < alpha. */
  significant: boolean;
}

/** One metric of a row. */
export interface RowMetric {
  /** Mean over seeds of each seed's mean over queries (= mean of the seed-averaged per-query scores). */
  mean: number;
  /** Sample standard deviation (n - 1) over seeds; null with one seed (and for BM25). */
  std: number | null;
  /** Each seed's mean over queries, in the order of `seeds`. */
  perSeed: number[];
  vsBm25: RowTest | null;
  /** Against the no-TCL student of the same loss and missing policy; null for no-TCL rows and when the grid has none. */
  vsNoTcl: RowTest | null;
}

/** One row of the ablation table. */
export interface AblationRow {
  direction: string;
  testSet: string;
  system: "bm25" | "student";
  /** `bm25`, or `loss/missing/tcl:<ts>` / `loss/missing/no-tcl`. */
  configKey: string;
  label: string;
  loss: string | null;
  missing: string | null;
  tcl: boolean | null;
  ts: string | null;
  seeds: number[];
  /** Paired queries (the baseline's evaluated queries). */
  queries: number;
  metrics: Record<string, RowMetric>;
  /** Seed-averaged per-query scores. */
  perQuery: PerQuery;
}

/** Paired test of the ablation table. */
export type AblationTest = "t" | "randomization";

/** What each test is, for captions. */
export const ABLATION_TEST_NAMES: Readonly<Record<AblationTest, string>> = {
  t: "two-sided paired Student t-test over queries",
  randomization: "two-sided paired Fisher randomization (sign-flip) test over queries",
};

/** Options of `aggregateAblation`. */
export interface AggregateOptions {
  /** Metric keys. Default ["ndcg@10", "mrr@10"]. */
  metrics?: readonly string[];
  /** Paired test. Default "t". */
  test?: AblationTest;
  /** Significance level (uncorrected). Default 0.05. */
  alpha?: number;
  /** Seed of the randomization test (per comparison via deriveSeed). Default 42. */
  seed?: number;
  /** Sign flips of the randomization test when n > 20. Default 10000. */
  trials?: number;
}

/** Defaults of AggregateOptions. */
export const AGGREGATE_DEFAULTS = Object.freeze({ metrics: ["ndcg@10", "mrr@10"] as readonly string[], test: "t" as AblationTest, alpha: 0.05, seed: 42, trials: 10000 });

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function sampleStd(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) * (x - m), 0) / (xs.length - 1));
}

function values(where: string, pq: PerQuery, qids: readonly string[], metric: string): number[] {
  return qids.map((q) => {
    const v = pq[q]?.[metric];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ShapeError(`aggregateAblation: ${where} has no finite ${show(metric)} for qid ${show(q)}; every cell must be evaluated on the baseline's ${qids.length} queries`);
    return v;
  });
}

/**
 * Aggregate cell scores into rows: per (direction, test set), in order of first appearance, the BM25 row
 * (from `baselines[testSet]`, whose qids define the paired queries) and then one row per configuration.
 */
export function aggregateAblation(cells: readonly CellScores[], baselines: Readonly<Record<string, PerQuery>>, options: AggregateOptions = {}): AblationRow[] {
  const { metrics, test, alpha, seed, trials } = { ...AGGREGATE_DEFAULTS, ...options };
  if (test !== "t" && test !== "randomization") throw new ConfigError(`aggregateAblation: test must be "t" or "randomization", got ${show(test)}`);
  if (!(alpha > 0 && alpha < 1)) throw new ConfigError(`aggregateAblation: alpha must be in (0, 1), got ${show(alpha)}`);
  if (metrics.length === 0) throw new ConfigError("aggregateAblation: metrics must not be empty");
  const compare = (a: number[], b: number[], label: string): number | null => {
    if (a.length < 2) return null;
    return test === "t" ? pairedTTest(a, b).p : randomizationTest(a, b, { seed: deriveSeed(seed, label), trials }).p;
  };
  const groups = new Map<string, CellScores[]>();
  for (const c of cells) {
    const k = `${c.direction}\u0000${c.testSet}`;
    const g = groups.get(k);
    if (g) g.push(c); else groups.set(k, [c]);
  }
  const rows: AblationRow[] = [];
  for (const group of groups.values()) {
    const { direction, testSet } = group[0];
    const base = baselines[testSet];
    if (!base) throw new ConfigError(`aggregateAblation: no BM25 baseline for test set ${show(testSet)}; have ${Object.keys(baselines).join(", ") || "none"}`);
    const qids = Object.keys(base);
    const bm25Values: Record<string, number[]> = {};
    const bm25Metrics: Record<string, RowMetric> = {};
    for (const m of metrics) {
      bm25Values[m] = values(`BM25 of ${testSet}`, base, qids, m);
      bm25Metrics[m] = { mean: mean(bm25Values[m]), std: null, perSeed: [], vsBm25: null, vsNoTcl: null };
    }
    rows.push({ direction, testSet, system: "bm25", configKey: "bm25", label: "BM25", loss: null, missing: null, tcl: null, ts: null, seeds: [], queries: qids.length, metrics: bm25Metrics, perQuery: base });

    const byConfig = new Map<string, CellScores[]>();
    for (const c of group) {
      const k = configKey(c);
      const g = byConfig.get(k);
      if (g) g.push(c); else byConfig.set(k, [c]);
    }
    const averaged = new Map<string, Record<string, number[]>>();
    const students: AblationRow[] = [];
    for (const [key, cs] of byConfig) {
      const seeds = cs.map((c) => c.seed);
      if (new Set(seeds).size !== seeds.length) throw new ConfigError(`aggregateAblation: ${direction} ${testSet} ${key} has seed ${seeds.find((s, i) => seeds.indexOf(s) !== i)} twice`);
      const avg: Record<string, number[]> = {};
      const rowMetrics: Record<string, RowMetric> = {};
      for (const m of metrics) {
        const perSeedValues = cs.map((c) => values(`${direction} ${testSet} ${key} seed ${c.seed}`, c.perQuery, qids, m));
        avg[m] = qids.map((_, i) => mean(perSeedValues.map((v) => v[i])));
        const perSeed = perSeedValues.map(mean);
        rowMetrics[m] = { mean: mean(perSeed), std: sampleStd(perSeed), perSeed, vsBm25: null, vsNoTcl: null };
      }
      averaged.set(key, avg);
      const perQuery: PerQuery = {};
      qids.forEach((q, i) => { perQuery[q] = Object.fromEntries(metrics.map((m) => [m, avg[m][i]])); });
      const c = cs[0];
      students.push({ direction, testSet, system: "student", configKey: key, label: configLabel(c), loss: c.loss, missing: c.missing, tcl: c.tcl, ts: c.tcl ? c.ts : null, seeds, queries: qids.length, metrics: rowMetrics, perQuery });
    }
    for (const row of students) {
      const avg = averaged.get(row.configKey) as Record<string, number[]>;
      const noTclKey = configKey({ loss: row.loss as string, missing: row.missing as string, tcl: false, ts: null });
      const noTcl = row.tcl ? averaged.get(noTclKey) : undefined;
      for (const m of metrics) {
        const rm = row.metrics[m];
        const pB = compare(avg[m], bm25Values[m], `${direction}/${testSet}/${row.configKey}/${m}/bm25`);
        rm.vsBm25 = { against: "bm25", delta: mean(avg[m]) - mean(bm25Values[m]), p: pB, significant: pB !== null && pB < alpha };
        if (noTcl) {
          const pN = compare(avg[m], noTcl[m], `${direction}/${testSet}/${row.configKey}/${m}/no-tcl`);
          rm.vsNoTcl = { against: noTclKey, delta: mean(avg[m]) - mean(noTcl[m]), p: pN, significant: pN !== null && pN < alpha };
        }
      }
    }
    rows.push(...students);
  }
  return rows;
}

/** Marker of a significant gain or loss against BM25. */
export const MARK_BM25 = "†";
/** Marker of a significant difference against the matching no-TCL student. */
export const MARK_NO_TCL = "‡";

/** `0.4123 ± 0.0100†‡` (no ± with one seed). */
export function formatCell(m: RowMetric, digits = 4): string {
  const marks = (m.vsBm25?.significant ? MARK_BM25 : "") + (m.vsNoTcl?.significant ? MARK_NO_TCL : "");
  return `${m.mean.toFixed(digits)}${m.std !== null ? ` ± ${m.std.toFixed(digits)}` : ""}${marks}`;
}

/** The table caption: what the numbers and the markers mean. */
export function ablationCaption(rows: readonly AblationRow[], options: Pick<AggregateOptions, "test" | "alpha"> = {}): string {
  const { test, alpha } = { ...AGGREGATE_DEFAULTS, ...options };
  const seeds = [...new Set(rows.flatMap((r) => r.seeds))].sort((a, b) => a - b);
  return `Student ablation: mean ± sample std over seeds {${seeds.join(", ")}} (trec_eval rules, rel >= 2 for MRR). ` +
    `${MARK_BM25} p < ${alpha} against BM25 (the test set's first stage), ${MARK_NO_TCL} p < ${alpha} against the no-TCL student of the same loss and missing policy; ` +
    `${ABLATION_TEST_NAMES[test]} on the seed-averaged per-query scores, uncorrected for multiple comparisons. ` +
    `Train -> test: teacher labels of the first year, the epoch count picked by nDCG@10 on the first year alone (on its held-out folds with --folds, else on its qrels); the second year is used only for testing.`;
}

/** A Markdown table with the caption above it. */
export function ablationMarkdown(rows: readonly AblationRow[], options: Pick<AggregateOptions, "test" | "alpha" | "metrics"> = {}): string {
  const metrics = options.metrics ?? Object.keys(rows[0]?.metrics ?? {});
  const header = ["train -> test", "config", "seeds", "queries", ...metrics];
  const lines = [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) => `| ${[`${r.direction.split("->")[0]} -> ${r.testSet}`, r.label, r.seeds.length ? r.seeds.join(",") : "-", String(r.queries), ...metrics.map((m) => formatCell(r.metrics[m]))].join(" | ")} |`),
  ];
  return `${ablationCaption(rows, options)}\n\n${lines.join("\n")}\n`;
}

/** One flat row for notebooks (danfo-free): config columns, then `<metric>`, `<metric> std`, p-values and markers. */
export type AblationTableRow = Record<string, string | number | boolean | null>;

/** The rows as plain objects, ready for a DataFrame, an HTML table or a plot. */
export function ablationTable(rows: readonly AblationRow[]): AblationTableRow[] {
  return rows.map((r) => {
    const out: AblationTableRow = {
      direction: r.direction, test: r.testSet, config: r.label, system: r.system, loss: r.loss, missing: r.missing, tcl: r.tcl, ts: r.ts,
      seeds: r.seeds.join(","), queries: r.queries,
    };
    for (const [m, v] of Object.entries(r.metrics)) {
      out[m] = v.mean;
      out[`${m} std`] = v.std;
      out[`${m} p vs bm25`] = v.vsBm25?.p ?? null;
      out[`${m} p vs no-tcl`] = v.vsNoTcl?.p ?? null;
      out[`${m} marks`] = (v.vsBm25?.significant ? MARK_BM25 : "") + (v.vsNoTcl?.significant ? MARK_NO_TCL : "");
    }
    return out;
  });
}
