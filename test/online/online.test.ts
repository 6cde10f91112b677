import { strict as assert } from "assert";
import { join } from "path";
import { ConfigError } from "../../lib/core/errors";
import { createRng } from "../../lib/core/rng";
import { dataDir, loadDataset, shippedRuns } from "../../lib/data/datasets";
import { readRun, runFromLists } from "../../lib/data/trec";
import type { Qrels, Run } from "../../lib/data/types";
import { attractiveness, simulateClicks, type ClickModelConfig } from "../../lib/online/clicks";
import { interleavingOutcome, teamDraft } from "../../lib/online/interleave";
import { compareOnline, simulateInterleaving, simulateSplit, type OnlineArgs } from "../../lib/online/simulate";
import { proportionDiffInterval, wilsonInterval } from "../../lib/online/stats";
import { onlineVsOfflineFigure } from "../../lib/plots/online";

const qrels: Qrels = loadDataset("dl19").qrels;
const shipped = (system: string): Run => {
  const r = shippedRuns().find((x) => x.dataset === "dl19" && x.system === system);
  if (!r) throw new Error(`no shipped dl19 run ${system}`);
  return readRun(join(dataDir(), r.file));
};
const bm25 = shipped("bm25");
const vicuna = shipped("rankvicuna-7b");
// The best possible ranking: judged documents by grade descending (ties by docid).
const ideal = runFromLists("ideal", [...qrels].map(([qid, m]) => ({
  qid, docids: [...m].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([d]) => d),
})));
const docs = (n: number): string[] => Array.from({ length: n }, (_, i) => `d${i}`);
const gradesAll = (ids: string[], g: number): Map<string, number> => new Map(ids.map((d) => [d, g]));
const throwsConfig = (fn: () => unknown, re: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && re.test(e.message));
};

describe("online click models (simulated users)", () => {
  it("attractiveness maps grades 0..3 to eps..1-eps with unjudged = 0", () => {
    assert.equal(attractiveness(0), 0.05);
    assert.ok(Math.abs(attractiveness(3) - 0.95) < 1e-12);
    assert.ok(Math.abs(attractiveness(1) - (0.05 + 0.9 / 7)) < 1e-12);
    assert.equal(attractiveness(undefined), 0.05);
    assert.equal(attractiveness(5), attractiveness(3));
  });
  it("cascade never yields more than one click (DL19 BM25, 3000 sessions)", () => {
    const rng = createRng(7);
    const qids = [...qrels.keys()];
    for (let s = 0; s < 3000; s++) {
      const qid = qids[s % qids.length];
      const ranking = (bm25.queries.get(qid) ?? []).map((c) => c.docid);
      assert.ok(simulateClicks(ranking, qrels.get(qid), { model: "cascade" }, rng).length <= 1);
    }
  });
  it("DCM with lambda = 1 and attractiveness 1 clicks every shown document", () => {
    const d = docs(15);
    const clicks = simulateClicks(d, gradesAll(d, 3), { model: "dcm", lambda: 1, eps: 0, k: 10 }, createRng(1));
    assert.deepEqual(clicks, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it("DCM with lambda = 0 stops after the first click, per-rank lambda arrays are accepted", () => {
    const d = docs(10);
    assert.deepEqual(simulateClicks(d, gradesAll(d, 3), { model: "dcm", lambda: 0, eps: 0 }, createRng(1)), [0]);
    const lambda = [1, 1, 0, 1, 1, 1, 1, 1, 1, 1];
    assert.deepEqual(simulateClicks(d, gradesAll(d, 3), { model: "dcm", lambda, eps: 0 }, createRng(1)), [0, 1, 2]);
  });
  it("position bias eta makes deep clicks rarer (20000 seeded sessions)", () => {
    const d = docs(10), g = gradesAll(d, 1);
    const deep = (eta: number): number => {
      const rng = createRng(3);
      let n = 0;
      for (let s = 0; s < 20000; s++) n += simulateClicks(d, g, { model: "dcm", lambda: 1, eta }, rng).filter((r) => r >= 5).length;
      return n;
    };
    const flat = deep(0), biased = deep(1);
    // Expected: 20000 * attr(1) * sum over ranks 6..10 of exam(r); attr(1) = 0.05 + 0.9/7.
    const a1 = 0.05 + 0.9 / 7;
    const expFlat = 20000 * a1 * 5, expBiased = 20000 * a1 * (1 / 6 + 1 / 7 + 1 / 8 + 1 / 9 + 1 / 10);
    assert.ok(Math.abs(flat - expFlat) < 0.1 * expFlat, `flat ${flat} vs ${expFlat}`);
    assert.ok(Math.abs(biased - expBiased) < 0.15 * expBiased, `biased ${biased} vs ${expBiased}`);
    assert.ok(biased < 0.5 * flat);
  });
});

describe("teamDraft", () => {
  const a = ["a1", "x", "a2", "y", "a3", "a4", "z", "a5"];
  const b = ["y", "b1", "x", "b2", "z", "b3", "b4", "b5"];
  it("has no duplicates, keeps each team's ranking order and balances team sizes", () => {
    for (let seed = 0; seed < 200; seed++) {
      const il = teamDraft(a, b, 10, createRng(seed));
      assert.equal(new Set(il.list).size, il.list.length);
      assert.equal(il.list.length, il.team.length);
      for (const [team, src] of [["A", a], ["B", b]] as const) {
        const picked = il.list.filter((_, i) => il.team[i] === team);
        const pos = picked.map((d) => src.indexOf(d));
        assert.ok(pos.every((p) => p >= 0), `${team} picked a document not in its ranking`);
        assert.deepEqual(pos, pos.slice().sort((x, y) => x - y), `${team} out of order at seed ${seed}`);
      }
      const nA = il.team.filter((t) => t === "A").length;
      assert.ok(Math.abs(nA - (il.team.length - nA)) <= 1);
      assert.ok(il.list.length <= 10);
    }
  });
  it("gives only ties for identical rankings, whatever is clicked", () => {
    const d = docs(20), g = gradesAll(d, 2);
    const rng = createRng(5);
    for (let s = 0; s < 500; s++) {
      const il = teamDraft(d, d, 10, rng);
      assert.deepEqual(il.list, d.slice(0, 10));
      assert.equal(interleavingOutcome(il, simulateClicks(il.list, g, { model: "dcm" }, rng)), "tie");
    }
    const r = simulateInterleaving({ runA: bm25, runB: bm25, qrels, sessions: 1000, seed: 1 });
    assert.deepEqual([r.winsA, r.winsB, r.ties], [0, 0, 1000]);
  });
  it("credits clicks to the picking team", () => {
    const il = { list: ["p", "q", "r"], team: ["A", "B", "B"] as ("A" | "B")[], shared: 0 };
    assert.equal(interleavingOutcome(il, [0]), "A");
    assert.equal(interleavingOutcome(il, [0, 1, 2]), "B");
    assert.equal(interleavingOutcome(il, [0, 1]), "tie");
    assert.equal(interleavingOutcome({ ...il, shared: 1 }, [0]), "tie");
  });
});

describe("confidence intervals", () => {
  it("Wilson interval of 60 wins in 100 is [0.502, 0.691]", () => {
    // p = 0.6, n = 100, z = 1.959964, z² = 3.841459:
    // center = (0.6 + 3.841459/200) / (1 + 3.841459/100) = 0.6192073 / 1.0384146 = 0.596300
    // half = 1.959964/1.0384146 * sqrt(0.24/100 + 3.841459/40000) = 1.887456 * 0.0499604 = 0.094298
    const ci = wilsonInterval(60, 100);
    assert.equal(ci.lower.toFixed(3), "0.502");
    assert.equal(ci.upper.toFixed(3), "0.691");
    assert.deepEqual(wilsonInterval(0, 0), { lower: 0, upper: 1, level: 0.95 });
  });
  it("difference of proportions: 50/100 vs 60/100 is 0.1 ± 1.96 * 0.0700", () => {
    // se = sqrt(0.25/100 + 0.24/100) = 0.0700000
    const ci = proportionDiffInterval(50, 100, 60, 100);
    assert.ok(Math.abs(ci.lower - (0.1 - 1.959964 * 0.07)) < 1e-5 && Math.abs(ci.upper - (0.1 + 1.959964 * 0.07)) < 1e-5);
  });
});

describe("simulated online comparison (DL19)", () => {
  const base: OnlineArgs = { runA: bm25, runB: vicuna, qrels, sessions: 2000, seed: 42 };
  it("is deterministic for a seed and changes with the seed", () => {
    assert.deepEqual(simulateInterleaving(base), simulateInterleaving(base));
    assert.deepEqual(simulateSplit(base), simulateSplit(base));
    assert.notDeepEqual(simulateInterleaving(base), simulateInterleaving({ ...base, seed: 43 }));
    assert.notDeepEqual(simulateSplit(base), simulateSplit({ ...base, seed: 43 }));
  });
  for (const model of ["cascade", "dcm"] as const) {
    it(`the grade-sorted ranking beats BM25 (${model}, 5000 sessions) and agrees with nDCG@10`, () => {
      const r = compareOnline({ runA: bm25, runB: ideal, qrels, sessions: 5000, seed: 42, clickModel: { model } });
      assert.ok(r.offline.diff > 0);
      assert.ok(r.interleaving.winRateA < 0.5 && r.interleaving.winRateCi.upper < 0.5, JSON.stringify(r.interleaving.winRateCi));
      assert.ok(r.split.deltaCtr > 0 && r.split.deltaCtrCi.lower > 0, JSON.stringify(r.split.deltaCtrCi));
      assert.equal(r.interleaving.agreesWithOffline, true);
      assert.equal(r.split.agreesWithOffline, true);
      assert.equal(r.split.a.sessions + r.split.b.sessions, 5000);
    });
  }
  for (const model of ["cascade", "dcm"] as const) {
    it(`RankVicuna vs BM25 (${model}, 10000 sessions, seed 42) gives a well-formed result`, () => {
      const clickModel: Partial<ClickModelConfig> = { model };
      const r = compareOnline({ ...base, sessions: 10000, clickModel });
      const il = r.interleaving, sp = r.split;
      assert.equal(il.winsA + il.winsB + il.ties, 10000);
      assert.equal(Object.values(il.perQuery).reduce((s, t) => s + t.sessions, 0), 10000);
      assert.ok(il.winRateCi.lower <= il.winRateA && il.winRateA <= il.winRateCi.upper);
      assert.ok(sp.deltaCtrCi.lower <= sp.deltaCtr && sp.deltaCtr <= sp.deltaCtrCi.upper);
      assert.equal(typeof il.agreesWithOffline, "boolean");
      assert.equal(typeof sp.agreesWithOffline, "boolean");
      assert.equal(r.offline.queries, 43);
      assert.deepEqual([r.config.seed, r.config.sessions, r.config.k], [42, 10000, 10]);
      const f = (x: number): string => x.toFixed(4);
      console.log(`      [${model}] winRate(B)=${f(1 - il.winRateA)} CI[${f(1 - il.winRateCi.upper)}, ${f(1 - il.winRateCi.lower)}]`
        + ` (A ${il.winsA} / B ${il.winsB} / tie ${il.ties}); dCTR@10=${f(sp.deltaCtr)} CI[${f(sp.deltaCtrCi.lower)}, ${f(sp.deltaCtrCi.upper)}]`
        + ` (nA ${sp.a.sessions}, nB ${sp.b.sessions}); offline dnDCG@10=${f(r.offline.diff)}; agree il=${il.agreesWithOffline} split=${sp.agreesWithOffline}`);
    });
  }
  it("restricts sessions to the given queries", () => {
    const qids = [...qrels.keys()].slice(0, 2);
    const r = simulateInterleaving({ ...base, queries: qids, sessions: 300 });
    assert.deepEqual(Object.keys(r.perQuery).sort(), qids.slice().sort());
    assert.equal(r.queries, 2);
  });
  it("rejects bad inputs with a ConfigError naming the field and value", () => {
    throwsConfig(() => simulateInterleaving({ ...base, sessions: 0 }), /sessions must be an integer >= 1, got 0/);
    throwsConfig(() => simulateSplit({ ...base, sessions: 2.5 }), /sessions .*got 2\.5/);
    throwsConfig(() => simulateInterleaving({ ...base, k: 0 }), /k must be an integer >= 1, got 0/);
    throwsConfig(() => simulateInterleaving({ ...base, clickModel: { eps: 0.5 } }), /eps must be in \[0, 0\.5\), got 0\.5/);
    throwsConfig(() => simulateInterleaving({ ...base, clickModel: { model: "dcm", lambda: 1.2 } }), /lambda must be in \[0, 1\].*got 1\.2/);
    throwsConfig(() => simulateInterleaving({ ...base, clickModel: { lambda: [0.5, 2], k: 2 } }), /lambda\[1\] must be in \[0, 1\], got 2/);
    throwsConfig(() => simulateInterleaving({ ...base, clickModel: { lambda: [0.5] } }), /lambda as an array .*k = 10.*length 1/);
    throwsConfig(() => simulateInterleaving({ ...base, clickModel: { eta: -1 } }), /eta must be .*>= 0, got -1/);
    throwsConfig(() => simulateInterleaving({ ...base, clickModel: { model: "pbm" as "dcm" } }), /model must be one of cascade, dcm, got "pbm"/);
    throwsConfig(() => simulateInterleaving({ ...base, clickModel: { ets: 1 } as Partial<ClickModelConfig> }), /unknown option "ets"/);
    throwsConfig(() => simulateInterleaving({ ...base, seed: 1.5 }), /seed must be an integer, got 1\.5/);
    throwsConfig(() => simulateInterleaving({ ...base, k: 5, clickModel: { k: 10 } }), /k \(5\) and clickModel\.k \(10\) disagree/);
    throwsConfig(() => simulateInterleaving({ ...base, queries: ["nope"] }), /queries must be shared .*"nope"/);
    const other = runFromLists("other", [{ qid: "999999", docids: ["d1"] }]);
    throwsConfig(() => compareOnline({ ...base, runB: other }), /share no judged query/);
    throwsConfig(() => simulateClicks(["d"], undefined, { eps: -0.1 }, createRng(1)), /eps must be in \[0, 0\.5\), got -0\.1/);
  });
  it("onlineVsOfflineFigure: two panels per click model, the system's win rate mirrored from A's Wilson interval", () => {
    const c = compareOnline({ ...base, sessions: 400 });
    const fig = onlineVsOfflineFigure([{ label: "x", clickModel: "cascade", comparison: c }, { label: "x", clickModel: "DCM", comparison: compareOnline({ ...base, sessions: 400, clickModel: { model: "dcm" } }) }]);
    const traces = fig.data as Array<{ name: string; y: number[]; x: number[]; xaxis?: string; error_y: { array: number[]; arrayminus: number[] } }>;
    assert.deepEqual(traces.map((t) => `${t.name}|${t.xaxis ?? "x"}`), ["cascade|x", "cascade|x2", "DCM|x", "DCM|x2"]);
    const il = c.interleaving, win = 1 - il.winRateA;
    assert.equal(traces[0].y[0], win);
    assert.equal(traces[0].x[0], c.offline.diff);
    assert.ok(Math.abs(win + traces[0].error_y.array[0] - (1 - il.winRateCi.lower)) < 1e-12);
    assert.ok(Math.abs(win - traces[0].error_y.arrayminus[0] - (1 - il.winRateCi.upper)) < 1e-12);
    assert.equal(traces[1].y[0], c.split.deltaCtr);
  });
});
