import { strict as assert } from "assert";
import { ConfigError, ShapeError } from "../../lib/core/errors";
import {
  bootstrapCI, holm, lgamma, pairedTTest, randomizationTest, regularizedIncompleteBeta, studentTCdf, studentTSf,
} from "../../lib/eval/significance";

// Reference numbers from scipy (see "source" in the fixture and test/fixtures/significance-reference.py).
const REF = require("../fixtures/significance-reference.json") as {
  source: string;
  ttest: { name: string; a: number[]; b: number[]; t: number; p: number; df: number }[];
  tcdf: { t: number; df: number; cdf: number }[];
  tsf: { t: number; df: number; sf: number }[];
  randomization: { a: number[]; b: number[]; p: number; statistic: number };
  holm: { note: string; p: number[]; adjusted: number[] }[];
  randomizationHand: { note: string; a: number[]; b: number[]; p: number }[];
};

function assertRel(got: number, want: number, tol: number, what: string): void {
  const err = want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want);
  assert.ok(err <= tol, `${what}: got ${got}, want ${want} (relative error ${err} > ${tol})`);
}

const byName = (name: string) => {
  const c = REF.ttest.find((x) => x.name.startsWith(name));
  if (!c) throw new Error(`fixture case ${name} missing`);
  return c;
};

describe("significance reference fixture", () => {
  it("names the scipy calls and version that produced it", () => {
    assert.match(REF.source, /scipy \d+\.\d+\.\d+/);
    assert.match(REF.source, /scipy\.stats\.ttest_rel/);
    assert.match(REF.source, /scipy\.stats\.t\.cdf/);
  });
});

describe("pairedTTest", () => {
  for (const c of REF.ttest) {
    it(`matches scipy.stats.ttest_rel to 1e-10 (${c.name})`, () => {
      const r = pairedTTest(c.a, c.b);
      assertRel(r.t, c.t, 1e-10, "t");
      assertRel(r.p, c.p, 1e-10, "p");
      assert.equal(r.df, c.df);
    });
  }

  it("gets the tiny p of a huge effect to full relative precision", () => {
    const c = byName("n=43 huge");
    assert.ok(c.p < 1e-40);
    assertRel(pairedTTest(c.a, c.b).p, c.p, 1e-10, "p");
  });

  it("gives t = 0, p = 1 for identical systems", () => {
    const a = [0.1, 0.5, 0.9, 0.3];
    assert.deepEqual(pairedTTest(a, a.slice()), { meanDiff: 0, t: 0, df: 3, p: 1 });
  });

  it("gives p = 0, t = Infinity for a constant non-zero difference (as scipy)", () => {
    const r = pairedTTest([0.5, 0.75, 1], [0.25, 0.5, 0.75]);
    assert.equal(r.t, Infinity);
    assert.equal(r.p, 0);
  });

  it("is antisymmetric in its arguments", () => {
    const c = byName("n=54");
    const ab = pairedTTest(c.a, c.b);
    const ba = pairedTTest(c.b, c.a);
    assert.equal(ba.t, -ab.t);
    assert.equal(ba.p, ab.p);
  });

  it("throws ShapeError naming both lengths on a length mismatch", () => {
    assert.throws(() => pairedTTest([1, 2, 3], [1, 2]), (e: Error) => e instanceof ShapeError && /3 and 2/.test(e.message));
  });

  it("throws ShapeError when n < 2", () => {
    assert.throws(() => pairedTTest([1], [0]), (e: Error) => e instanceof ShapeError && /1 and 1/.test(e.message));
    assert.throws(() => pairedTTest([], []), ShapeError);
  });

  it("rejects non-finite values, naming the index", () => {
    assert.throws(() => pairedTTest([1, NaN, 2], [0, 0, 0]), /a\[1\].*NaN/);
  });
});

describe("studentTCdf", () => {
  it("matches scipy.stats.t.cdf to 1e-10 at several t and df", () => {
    for (const c of REF.tcdf) assertRel(studentTCdf(c.t, c.df), c.cdf, 1e-10, `cdf(${c.t}; df=${c.df})`);
  });

  it("matches scipy.stats.t.sf far in the upper tail", () => {
    for (const c of REF.tsf) assertRel(studentTSf(c.t, c.df), c.sf, 1e-10, `sf(${c.t}; df=${c.df})`);
  });

  it("equals the Cauchy CDF 1/2 + atan(t)/pi at df = 1", () => {
    for (const t of [-7, -0.3, 0, 1, 42]) assertRel(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13, `t=${t}`);
  });

  it("is symmetric: cdf(-t) = 1 - cdf(t)", () => {
    for (const t of [0.2, 1.5, 4]) assert.ok(Math.abs(studentTCdf(-t, 7) - (1 - studentTCdf(t, 7))) < 1e-15);
  });

  it("rejects df <= 0", () => {
    assert.throws(() => studentTCdf(1, 0), /df must be > 0, got 0/);
  });
});

describe("regularizedIncompleteBeta and lgamma", () => {
  it("has the closed forms I_x(1,1) = x, I_x(a,1) = x^a, I_1/2(a,a) = 1/2", () => {
    for (const x of [0, 0.1, 0.5, 0.99, 1]) assertRel(regularizedIncompleteBeta(x, 1, 1), x, 1e-14, `x=${x}`);
    assertRel(regularizedIncompleteBeta(0.3, 4, 1), 0.3 ** 4, 1e-13, "x^4");
    for (const a of [0.5, 3, 40]) assertRel(regularizedIncompleteBeta(0.5, a, a), 0.5, 1e-13, `a=${a}`);
  });

  it("gives ln Gamma at known points", () => {
    assert.ok(Math.abs(lgamma(1)) < 1e-15 && Math.abs(lgamma(2)) < 1e-15);
    assertRel(lgamma(0.5), 0.5 * Math.log(Math.PI), 1e-14, "lgamma(0.5)");
    assertRel(lgamma(10), Math.log(362880), 1e-14, "lgamma(10)");
    assertRel(lgamma(0.1), 2.252712651734206, 1e-13, "lgamma(0.1)");
  });
});

describe("holm", () => {
  for (const c of REF.holm) {
    it(`matches the hand-computed example: ${c.note}`, () => {
      const got = holm(c.p);
      got.forEach((v, i) => assert.ok(Math.abs(v - c.adjusted[i]) < 1e-15, `[${i}] got ${v}, want ${c.adjusted[i]}`));
    });
  }

  it("is monotone in the raw p order, never below the raw p and capped at 1", () => {
    const p = [0.2, 0.001, 0.04, 0.3, 0.011, 0.9];
    const adj = holm(p);
    const order = p.map((_, i) => i).sort((i, j) => p[i] - p[j]);
    for (let k = 1; k < order.length; k++) assert.ok(adj[order[k]] >= adj[order[k - 1]]);
    adj.forEach((v, i) => assert.ok(v >= p[i] && v <= 1));
  });

  it("returns [] for no p-values and rejects p outside [0, 1]", () => {
    assert.deepEqual(holm([]), []);
    assert.throws(() => holm([0.1, 1.5]), /pValues\[1\].*1\.5/);
  });
});

describe("randomizationTest", () => {
  for (const c of REF.randomizationHand) {
    it(`enumerates exactly: ${c.note}`, () => {
      const r = randomizationTest(c.a, c.b, { seed: 1 });
      assert.equal(r.exact, true);
      assert.equal(r.trials, 2 ** c.a.length);
      assert.equal(r.p, c.p);
    });
  }

  it("matches scipy.stats.permutation_test (exact, n = 10)", () => {
    const { a, b, p, statistic } = REF.randomization;
    const r = randomizationTest(a, b, { seed: 1 });
    assert.equal(r.exact, true);
    assert.equal(r.trials, 1024);
    assertRel(r.meanDiff, statistic, 1e-12, "meanDiff");
    assertRel(r.p, p, 1e-12, "p");
  });

  it("gives p = 1 for identical systems", () => {
    const a = Array.from({ length: 30 }, (_, i) => (i % 7) / 7);
    assert.equal(randomizationTest(a, a, { seed: 3, trials: 500 }).p, 1);
  });

  it("samples for n > 20 and lands near the t-test p (n = 54, t-test p = 0.031)", () => {
    const c = byName("n=54");
    const r = randomizationTest(c.a, c.b, { seed: 7, trials: 20000 });
    assert.equal(r.exact, false);
    assert.equal(r.trials, 20000);
    assert.ok(Math.abs(r.p - c.p) < 0.01, `randomization p ${r.p} vs t-test p ${c.p}`);
  });

  it("reaches its floor 1/(trials + 1) on a huge effect, where the t-test p is tiny too", () => {
    const c = byName("n=43 huge");
    const r = randomizationTest(c.a, c.b, { seed: 7, trials: 2000 });
    assert.equal(r.p, 1 / 2001);
    assert.ok(pairedTTest(c.a, c.b).p < r.p);
  });

  it("is deterministic for a seed", () => {
    const c = byName("n=54");
    assert.deepEqual(randomizationTest(c.a, c.b, { seed: 11, trials: 3000 }), randomizationTest(c.a, c.b, { seed: 11, trials: 3000 }));
    assert.notEqual(randomizationTest(c.a, c.b, { seed: 11, trials: 3000 }).p, randomizationTest(c.a, c.b, { seed: 12, trials: 3000 }).p);
  });

  it("requires a seed and rejects unknown options and bad trials", () => {
    assert.throws(() => randomizationTest([1, 2], [0, 0], {} as { seed: number }), (e: Error) => e instanceof ConfigError && /seed/.test(e.message));
    assert.throws(() => randomizationTest([1, 2], [0, 0], { seed: 1, trails: 5 } as { seed: number }), /unknown option "trails"/);
    assert.throws(() => randomizationTest([1, 2], [0, 0], { seed: 1, trials: 0 }), /trials must be a positive integer, got 0/);
    assert.throws(() => randomizationTest([1, 2], [0], { seed: 1 }), (e: Error) => e instanceof ShapeError && /2 and 1/.test(e.message));
  });
});

describe("bootstrapCI", () => {
  const c = byName("n=54");
  const diffs = c.a.map((x, i) => x - c.b[i]);

  it("is deterministic for a seed and differs for another seed", () => {
    const r1 = bootstrapCI(c.a, c.b, { seed: 5, samples: 2000 });
    assert.deepEqual(bootstrapCI(c.a, c.b, { seed: 5, samples: 2000 }), r1);
    const r2 = bootstrapCI(c.a, c.b, { seed: 6, samples: 2000 });
    assert.ok(r2.lower !== r1.lower || r2.upper !== r1.upper);
  });

  it("contains the mean (paired difference and one sample)", () => {
    const paired = bootstrapCI(c.a, c.b, { seed: 1 });
    assert.ok(Math.abs(paired.mean - pairedTTest(c.a, c.b).meanDiff) < 1e-15);
    assert.ok(paired.lower < paired.mean && paired.mean < paired.upper);
    const one = bootstrapCI(c.a, { seed: 1 });
    assert.ok(one.lower < one.mean && one.mean < one.upper);
    assert.equal(one.samples, 10000);
    assert.equal(one.level, 0.95);
  });

  it("bootstraps a - b exactly as the one-sample CI of the differences", () => {
    assert.deepEqual(bootstrapCI(c.a, c.b, { seed: 9, samples: 500 }), bootstrapCI(diffs, undefined, { seed: 9, samples: 500 }));
  });

  it("is close to the normal interval mean ± 1.96 sd/sqrt(n) for n = 54", () => {
    const n = diffs.length;
    const m = diffs.reduce((s, x) => s + x, 0) / n;
    const sd = Math.sqrt(diffs.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
    const half = (1.96 * sd) / Math.sqrt(n);
    const r = bootstrapCI(c.a, c.b, { seed: 2 });
    assert.ok(Math.abs(r.upper - r.lower - 2 * half) / (2 * half) < 0.1, `width ${r.upper - r.lower} vs ${2 * half}`);
  });

  it("narrows with a lower level", () => {
    const wide = bootstrapCI(c.a, c.b, { seed: 4, level: 0.99 });
    const narrow = bootstrapCI(c.a, c.b, { seed: 4, level: 0.5 });
    assert.ok(narrow.upper - narrow.lower < wide.upper - wide.lower);
  });

  it("rejects a bad level, missing options and mismatched lengths", () => {
    assert.throws(() => bootstrapCI([1, 2], { seed: 1, level: 95 }), /level must be in \(0, 1\), got 95/);
    assert.throws(() => bootstrapCI([1, 2], undefined as unknown as { seed: number }), ConfigError);
    assert.throws(() => bootstrapCI([1, 2], [1], { seed: 1 }), (e: Error) => e instanceof ShapeError && /2 and 1/.test(e.message));
  });
});
