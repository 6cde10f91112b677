import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { DataError } from "../../lib/core/errors";
import { loadDataset } from "../../lib/data/datasets";
import type { Dataset, Run } from "../../lib/data/types";
import { kendallTau } from "../../lib/eval/correlation";
import { evaluateRun } from "../../lib/eval/evaluate";
import { analyzeLists, type AnalyzedList } from "../../lib/lexical/analyzed";
import { buildLexicon, corpusIdf, extendLexicon, lexiconFromIdf, loadLexicon, poolDf, saveLexicon, scoreList, termIdf } from "../../lib/lexical/lexicon";
import { bm25Idf, docFreqOfIdf, lengthNorm, luceneLength, saturatedTf } from "../../lib/lexical/lucene";
import { leastSquares, recoverStatistics } from "../../lib/lexical/recover";
import { shippedLexicon } from "../../lib/lexical/shipped";
import { createRng } from "../../lib/core/rng";
import { main } from "../../lib/cli/main";

/** A synthetic list whose scores are Lucene BM25 with the given idf (k1 0.9, b 0.4, avgdl 37). */
function synthetic(qid: string, idf: Record<string, number>, seed: number, score = true): AnalyzedList {
  const rng = createRng(seed);
  const terms = Object.keys(idf);
  const docs = Array.from({ length: 60 }, (_, i) => {
    const tf = new Map<string, number>();
    for (const t of terms) if (rng.next() < 0.6) tf.set(t, 1 + rng.int(4));
    const length = 10 + rng.int(80);
    const norm = lengthNorm(length, { k1: 0.9, b: 0.4, avgdl: 37 });
    const s = terms.reduce((acc, t) => acc + idf[t] * saturatedTf(tf.get(t) ?? 0, norm), 0);
    return { docid: `${qid}-${i}`, tf, length, terms: [], score: score ? Math.fround(s) : rng.next() * 20 };
  });
  return { qid, query: terms.join(" "), queryTerms: new Map(terms.map((t) => [t, 1])), docs };
}

describe("Lucene BM25 pieces (lib/lexical/lucene.ts)", () => {
  it("stores lengths as Lucene's SmallFloat.intToByte4 / byte4ToInt do", () => {
    // hand-derived from SmallFloat (Lucene 8+): exact below 24, then 4 significant bits of (length - 24), rounded down
    const golden: Array<[number, number]> = [[0, 0], [1, 1], [23, 23], [24, 24], [39, 39], [40, 40], [41, 40], [55, 54], [60, 60], [61, 60], [100, 96], [1000, 984]];
    assert.deepEqual(golden.map(([n]) => [n, luceneLength(n)]), golden);
    assert.throws(() => luceneLength(-1), RangeError);
    for (const df of [1, 10, 1234, 500000]) assert.ok(Math.abs(docFreqOfIdf(8841823, bm25Idf(8841823, df)) - df) < 1e-6 * df);
  });

  it("solves least squares exactly and leaves out columns no row separates", () => {
    const a = Float64Array.from([1, 0, 1, 2]), b = Float64Array.from([0, 1, 1, 1]), dup = Float64Array.from([0, 2, 2, 2]);
    const y = [2, 3, 5, 7]; // 2a + 3b
    const x = leastSquares([a, b], y, [0, 1, 2, 3]);
    assert.ok(Math.abs(x[0] - 2) < 1e-9 && Math.abs(x[1] - 3) < 1e-9, `${x}`);
    const x2 = leastSquares([a, b, dup], y, [0, 1, 2, 3]);
    assert.ok(Number.isNaN(x2[2]), "a column that is a multiple of another is not identifiable");
  });
});

describe("recovering collection statistics (lib/lexical/recover.ts)", () => {
  it("recovers idf, k1, b and avgdl from exact BM25 scores; the same term agrees across lists", () => {
    const lists = [synthetic("q1", { cat: 7.25, sat: 3.5 }, 1), synthetic("q2", { cat: 7.25, mat: 9.1, on: 2.2 }, 2), synthetic("q3", { dog: 5.5 }, 3)];
    const r = recoverStatistics(lists);
    assert.equal(r.ok, true, r.reason ?? "");
    assert.equal(r.k1, 0.9);
    assert.equal(r.b, 0.4);
    assert.ok(Math.abs(r.avgdl - 37) < 0.05, `avgdl ${r.avgdl}`);
    for (const [t, v] of [["cat", 7.25], ["sat", 3.5], ["mat", 9.1], ["on", 2.2], ["dog", 5.5]] as const) assert.ok(Math.abs((r.idf.get(t) as number) - v) < 1e-3, `${t}: ${r.idf.get(t)}`);
    assert.equal(r.support.get("cat")?.lists, 2);
    assert.ok(r.lists.every((l) => l.r2 > 0.99999));
  });

  it("says so when the scores are not BM25's, and drops the few candidates an analyzer split differently", () => {
    const random = [synthetic("r1", { a: 3, b: 4 }, 5, false), synthetic("r2", { c: 3 }, 6, false)];
    const r = recoverStatistics(random);
    assert.equal(r.ok, false);
    assert.match(r.reason ?? "", /do not look like BM25/);
    assert.equal(r.idf.size, 0);
    const l = synthetic("q", { x: 6, y: 2 }, 7);
    l.docs[3] = { ...l.docs[3], score: l.docs[3].score + 5 };
    const fit = recoverStatistics([l, synthetic("q2", { z: 4 }, 8)]);
    assert.equal(fit.lists[0].docsDropped, 1);
    assert.ok(Math.abs((fit.idf.get("x") as number) - 6) < 1e-3);
  });
});

describe("the shipped lexicon (statistics recovered from the shipped Pyserini BM25 runs)", () => {
  let dl19: Dataset, dl20: Dataset;
  before(() => {
    dl19 = loadDataset("dl19");
    dl20 = loadDataset("dl20");
  });

  it("re-scores BM25 to within 0.002 nDCG@10 of the shipped runs (published 0.5058 / 0.4796) with per-query Kendall tau >= 0.94", () => {
    const lex = shippedLexicon({ dl19, dl20 });
    const rec = lex.provenance.recovery as { ok: boolean; listsRecovered: number; listsFitted: number; medianR2: number };
    assert.equal(rec.ok, true);
    assert.ok(rec.listsRecovered >= 95 && rec.medianR2 > 0.9999, JSON.stringify(rec));
    assert.ok(lex.avgdl > 39 && lex.avgdl < 41, `avgdl ${lex.avgdl}`);
    for (const [d, published] of [[dl19, 0.5058], [dl20, 0.4796]] as const) {
      const analyzed = analyzeLists(d.lists);
      const run: Run = { tag: "rescored", queries: new Map() };
      const taus: number[] = [];
      analyzed.forEach((l) => {
        const s = scoreList(lex, l);
        taus.push(kendallTau(s, l.docs.map((x) => x.score)));
        run.queries.set(l.qid, l.docs.map((x, i) => ({ docid: x.docid, score: s[i], rank: i + 1 })));
      });
      const ndcg = evaluateRun(d.qrels, run, { metrics: ["ndcg@10"] }).all["ndcg@10"];
      assert.ok(Math.abs(ndcg - published) < 0.002, `${d.name}: re-scored nDCG@10 ${ndcg} vs ${published}`);
      assert.ok(Math.min(...taus) >= 0.94, `${d.name}: min tau ${Math.min(...taus)}`);
    }
  });

  it("falls back to calibrated corpus statistics with the query's own pool left out", () => {
    const lex = shippedLexicon({ dl19, dl20 });
    const l = analyzeLists(dl19.lists.slice(0, 1))[0];
    const pool = poolDf(l.docs, lex.corpus);
    assert.equal(pool.docs, 100);
    // a passage word of this pool that no query asked for: corpus idf, higher without its own pool
    const word = [...l.docs[0].tf.keys()].find((t) => !lex.recovered.has(t) && (pool.df.get(t) ?? 0) >= 3) as string;
    assert.ok(word, "a pool term that is not recovered");
    assert.ok(corpusIdf(lex, word, pool) > corpusIdf(lex, word), "leaving the pool out makes its frequent words rarer");
    assert.equal(termIdf(lex, word, pool), Math.max(lex.calibration.intercept + lex.calibration.slope * corpusIdf(lex, word, pool), 1e-3));
    const q = [...l.queryTerms.keys()][0];
    assert.equal(termIdf(lex, q, pool), lex.recovered.get(q));
    assert.ok(lex.calibration.pairs > 300 && lex.calibration.slope > 0, JSON.stringify(lex.calibration));
  });

  it("extends with a candidates file it never saw: that file's query terms are recovered from its own scores", () => {
    const only19 = buildLexicon(analyzeLists(dl19.lists), [], { name: "dl19 only" });
    const a20 = analyzeLists(dl20.lists);
    const newTerms = [...new Set(a20.flatMap((l) => [...l.queryTerms.keys()]))].filter((t) => !only19.recovered.has(t));
    assert.ok(newTerms.length > 50);
    const ext = extendLexicon(only19, a20, { name: "dl20" });
    const got = newTerms.filter((t) => ext.recovered.has(t));
    assert.ok(got.length > 0.9 * newTerms.length, `${got.length} of ${newTerms.length}`);
    assert.equal(ext.avgdl, only19.avgdl);
    assert.ok(ext.corpus.docs > only19.corpus.docs);
  });

  it("round-trips through lexicon.json; a bad file names the file and the field", () => {
    const lex = lexiconFromIdf(new Map([["flea", 7.4], ["life", 4.1]]), { avgdl: 39.9 });
    const dir = mkdtempSync(join(tmpdir(), "rra-lexicon-"));
    saveLexicon(join(dir, "lexicon.json"), lex);
    const back = loadLexicon(join(dir, "lexicon.json"));
    assert.deepEqual([...back.recovered], [...lex.recovered]);
    assert.equal(back.avgdl, 39.9);
    assert.equal(termIdf(back, "unknown"), 1);
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ format: "rra-lexicon/1", k1: 0.9, b: 0.4, avgdl: "x" }));
    assert.throws(() => loadLexicon(join(dir, "bad.json")), (e: Error) => e instanceof DataError && /bad\.json \(avgdl\): expected a finite number/.test(e.message));
    writeFileSync(join(dir, "trunc.json"), "{\"format\": \"rra-lex");
    assert.throws(() => loadLexicon(join(dir, "trunc.json")), /trunc\.json:1: expected valid lexicon \(lexicon\.json\) JSON, got a truncated document/);
  });
});

describe("kendallTau (tau-b)", () => {
  it("matches hand-computed values (with ties as in scipy.stats.kendalltau)", () => {
    assert.ok(Math.abs(kendallTau([1, 2, 3, 4], [1, 3, 2, 4]) - 4 / 6) < 1e-12);
    // scipy.stats.kendalltau([1, 1, 2], [1, 2, 3]).statistic = 0.8164965809277261
    assert.ok(Math.abs(kendallTau([1, 1, 2], [1, 2, 3]) - 0.8164965809277261) < 1e-12);
    assert.ok(Number.isNaN(kendallTau([1, 1], [1, 2])));
  });
});

describe("rra stats", () => {
  it("stores the shipped lexicon, writes it with --out, and reads a new candidates file with --input", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rra-stats-"));
    const out = join(dir, "lexicon.json");
    const input = join(dir, "new.json");
    const dl20 = loadDataset("dl20");
    writeFileSync(input, JSON.stringify(dl20.lists.slice(0, 3).map((l) => ({ query: l.query, hits: l.candidates.map((c) => ({ content: c.text, qid: `n${l.qid}`, docid: `n${c.docid}`, rank: c.rank, score: c.score })) }))));
    const log = console.log;
    const printed: string[] = [];
    console.log = (...a: unknown[]) => { printed.push(a.join(" ")); };
    let code: number;
    try {
      code = await main(["stats", "--db", ":memory:", "--input", input, "--out", out, "--json"]);
    } finally {
      console.log = log;
    }
    assert.equal(code, 0);
    const report = JSON.parse(printed.join("\n")) as { id: string; sets: Array<{ name: string; rescoredNdcg10: number | null; meanTau: number }> };
    assert.equal(report.sets.length, 3);
    assert.equal(report.sets[2].rescoredNdcg10, null, "no qrels for the new file");
    assert.ok(report.sets.every((s) => s.meanTau > 0.98), JSON.stringify(report.sets));
    const lex = loadLexicon(out);
    assert.ok(lex.corpus.docids.has(`n${dl20.lists[0].candidates[0].docid}`), "the new file's passages joined the corpus");
  });
});
