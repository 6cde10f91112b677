import { strict as assert } from "assert";
import { ConfigError, ShapeError } from "../../lib/core/errors";
import { createRng, deriveSeed } from "../../lib/core/rng";
import { compareSystems, type ComparisonRow, type SystemRun } from "../../lib/eval/compare";
import { bootstrapCI, holm, pairedTTest, randomizationTest } from "../../lib/eval/significance";
import type { PerQuery } from "../../lib/eval/types";

const METRICS = ["ndcg@10", "mrr@10"];

// Synthetic per-query scores: `shift` is the true effect over the baseline.
function makeRun(seed: number, n: number, shift: number, noise = 0.1): PerQuery {
  const base = createRng(1);
  const rng = createRng(seed);
  const out: PerQuery = {};
  for (let i = 0; i < n; i++) {
    const b = base.next();
    const row: Record<string, number> = {};
    for (const m of METRICS) row[m] = b * (m === "mrr@10" ? 0.9 : 1) + shift + noise * (rng.next() - 0.5);
    out[`q${100 + i}`] = row;
  }
  return out;
}

const SYSTEMS: SystemRun[] = [
  { name: "bm25", perQuery: makeRun(2, 30, 0, 0) },
  { name: "monoT5", perQuery: makeRun(3, 30, 0.15) },
  { name: "rra-tcl", perQuery: makeRun(4, 30, 0.002) },
];

const column = (pq: PerQuery, qids: string[], m: string): number[] => qids.map((q) => pq[q][m]);
const find = (rows: ComparisonRow[], system: string, metric: string): ComparisonRow => {
  const r = rows.find((x) => x.system === system && x.metric === metric);
  if (!r) throw new Error(`no row ${system}/${metric}`);
  return r;
};

describe("compareSystems", () => {
  const rows = compareSystems({ systems: SYSTEMS, baseline: "bm25", metrics: METRICS, seed: 42, bootstrapSamples: 2000 });
  const qids = Object.keys(SYSTEMS[0].perQuery);

  it("returns one row per (system, metric), baseline first, metrics in the given order", () => {
    assert.deepEqual(rows.map((r) => `${r.system}/${r.metric}`), [
      "bm25/ndcg@10", "bm25/mrr@10", "monoT5/ndcg@10", "monoT5/mrr@10", "rra-tcl/ndcg@10", "rra-tcl/mrr@10",
    ]);
    const b = find(rows, "bm25", "ndcg@10");
    assert.equal(b.isBaseline, true);
    assert.equal(b.p, null);
    assert.equal(b.delta, 0);
    assert.equal(b.significant, false);
  });

  it("computes mean, delta, relative delta and the t-test p on queries paired by qid", () => {
    const r = find(rows, "monoT5", "ndcg@10");
    const a = column(SYSTEMS[1].perQuery, qids, "ndcg@10");
    const b = column(SYSTEMS[0].perQuery, qids, "ndcg@10");
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(r.mean - mean(a)) < 1e-12);
    assert.ok(Math.abs(r.baselineMean - mean(b)) < 1e-12);
    assert.ok(Math.abs(r.delta - (mean(a) - mean(b))) < 1e-12);
    assert.ok(Math.abs((r.relDelta as number) - r.delta / r.baselineMean) < 1e-12);
    assert.equal(r.p, pairedTTest(a, b).p);
    assert.equal(r.n, 30);
    assert.equal(r.test, "t");
  });

  it("adjusts p with Holm over the non-baseline systems of each metric", () => {
    for (const m of METRICS) {
      const ps = [find(rows, "monoT5", m).p as number, find(rows, "rra-tcl", m).p as number];
      const adj = holm(ps);
      assert.equal(find(rows, "monoT5", m).pAdjusted, adj[0]);
      assert.equal(find(rows, "rra-tcl", m).pAdjusted, adj[1]);
    }
    assert.equal(find(rows, "monoT5", "ndcg@10").significant, true);
    assert.equal(find(rows, "rra-tcl", "ndcg@10").significant, false);
  });

  it("bootstraps the delta CI with the seed derived from <system>/<metric>", () => {
    const r = find(rows, "rra-tcl", "mrr@10");
    const seed = deriveSeed(deriveSeed(42, "rra-tcl/mrr@10"), "bootstrap");
    const a = column(SYSTEMS[2].perQuery, qids, "mrr@10");
    const b = column(SYSTEMS[0].perQuery, qids, "mrr@10");
    const ci = bootstrapCI(a, b, { seed, samples: 2000 });
    assert.equal(r.ciLower, ci.lower);
    assert.equal(r.ciUpper, ci.upper);
    assert.ok((r.ciLower as number) < r.delta && r.delta < (r.ciUpper as number));
  });

  it("is deterministic for a seed; another seed changes only the resampled numbers", () => {
    const args = { systems: SYSTEMS, baseline: "bm25", metrics: METRICS, bootstrapSamples: 500 };
    assert.deepEqual(compareSystems({ ...args, seed: 1 }), compareSystems({ ...args, seed: 1 }));
    const other = compareSystems({ ...args, seed: 2 });
    const one = compareSystems({ ...args, seed: 1 });
    assert.deepEqual(other.map((r) => r.p), one.map((r) => r.p));
    assert.notDeepEqual(other.map((r) => r.ciLower), one.map((r) => r.ciLower));
  });

  it("runs the randomization test with per-pair seeds (sampled for n > 20, exact for n <= 20)", () => {
    const sampled = compareSystems({ systems: SYSTEMS, baseline: "bm25", metrics: ["ndcg@10"], seed: 7, test: "randomization", trials: 999, bootstrapSamples: 200 });
    const r = find(sampled, "rra-tcl", "ndcg@10");
    const a = column(SYSTEMS[2].perQuery, qids, "ndcg@10");
    const b = column(SYSTEMS[0].perQuery, qids, "ndcg@10");
    const ref = randomizationTest(a, b, { trials: 999, seed: deriveSeed(deriveSeed(7, "rra-tcl/ndcg@10"), "randomization") });
    assert.equal(r.p, ref.p);
    assert.equal(r.trials, 999);
    assert.equal(r.exact, false);

    const small: SystemRun[] = SYSTEMS.map((s) => ({ name: s.name, perQuery: Object.fromEntries(qids.slice(0, 12).map((q) => [q, s.perQuery[q]])) }));
    const exact = find(compareSystems({ systems: small, baseline: "bm25", metrics: ["ndcg@10"], seed: 7, test: "randomization", bootstrapSamples: 200 }), "monoT5", "ndcg@10");
    assert.equal(exact.exact, true);
    assert.equal(exact.trials, 4096);
  });

  it("pairs by qid, not by key order, and ignores queries the baseline does not have", () => {
    const shuffled = createRng(5).shuffle(qids);
    const reordered: PerQuery = {};
    for (const q of shuffled) reordered[q] = SYSTEMS[1].perQuery[q];
    reordered["extra"] = { "ndcg@10": 1, "mrr@10": 1 };
    const args = { baseline: "bm25", metrics: METRICS, seed: 3, bootstrapSamples: 300 };
    const a = compareSystems({ ...args, systems: [SYSTEMS[0], SYSTEMS[1]] });
    const b = compareSystems({ ...args, systems: [SYSTEMS[0], { name: "monoT5", perQuery: reordered }] });
    assert.deepEqual(b, a);
  });

  it("accepts a record name -> PerQuery like the list form", () => {
    const asRecord = Object.fromEntries(SYSTEMS.map((s) => [s.name, s.perQuery]));
    assert.deepEqual(
      compareSystems({ systems: asRecord, baseline: "bm25", metrics: METRICS, seed: 9, bootstrapSamples: 300 }),
      compareSystems({ systems: SYSTEMS, baseline: "bm25", metrics: METRICS, seed: 9, bootstrapSamples: 300 }),
    );
  });

  it("throws naming the system and the qid when a system misses a baseline query (no silent zero)", () => {
    const partial = { ...SYSTEMS[2].perQuery };
    delete partial["q117"];
    assert.throws(
      () => compareSystems({ systems: [SYSTEMS[0], SYSTEMS[1], { name: "rra-tcl", perQuery: partial }], baseline: "bm25", metrics: METRICS, seed: 1 }),
      (e: Error) => e instanceof ShapeError && /"rra-tcl"/.test(e.message) && /"q117"/.test(e.message) && /"bm25"/.test(e.message),
    );
  });

  it("throws naming the qid and metric when one value is missing or not finite", () => {
    const broken = JSON.parse(JSON.stringify(SYSTEMS[1].perQuery)) as PerQuery;
    broken["q105"]["mrr@10"] = NaN;
    assert.throws(
      () => compareSystems({ systems: [SYSTEMS[0], { name: "monoT5", perQuery: broken }], baseline: "bm25", metrics: METRICS, seed: 1 }),
      /"monoT5", qid "q105": expected a finite "mrr@10" value, got NaN/,
    );
  });

  it("rejects an unknown baseline, naming it and the systems", () => {
    assert.throws(
      () => compareSystems({ systems: SYSTEMS, baseline: "BM25", metrics: METRICS, seed: 1 }),
      (e: Error) => e instanceof ConfigError && /unknown baseline "BM25"; expected one of "bm25", "monoT5", "rra-tcl"/.test(e.message),
    );
  });

  it("rejects unknown metrics and options, duplicate names and a missing seed", () => {
    assert.throws(() => compareSystems({ systems: SYSTEMS, baseline: "bm25", metrics: ["ndcg@1O"], seed: 1 }), /unknown metric "ndcg@1O".*expected one of ndcg@10, mrr@10/);
    assert.throws(() => compareSystems({ systems: SYSTEMS, baseline: "bm25", metrics: METRICS, seed: 1, alhpa: 0.1 } as never), /unknown option "alhpa"/);
    assert.throws(() => compareSystems({ systems: [SYSTEMS[0], SYSTEMS[0]], baseline: "bm25", metrics: METRICS, seed: 1 }), /"bm25" twice/);
    assert.throws(() => compareSystems({ systems: SYSTEMS, baseline: "bm25", metrics: METRICS } as never), /seed must be an integer, got undefined/);
    assert.throws(() => compareSystems({ systems: SYSTEMS, baseline: "bm25", metrics: METRICS, seed: 1, test: "wilcoxon" } as never), /test must be "t" or "randomization", got "wilcoxon"/);
  });
});
