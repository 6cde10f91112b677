import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, statSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type { Kysely } from "kysely";
import { ABLATION_GRID_DEFAULTS, expandGrid, parseDirection, resolveAblationGrid, type AblationGrid } from "../../lib/ablate/grid";
import { runAblation, type AblationResult } from "../../lib/ablate/run";
import { ablationMarkdown, ablationTable, aggregateAblation, type CellScores } from "../../lib/ablate/table";
import { initBackend } from "../../lib/backend/tf";
import { main } from "../../lib/cli/main";
import { ConfigError } from "../../lib/core/errors";
import { loadDataset } from "../../lib/data/datasets";
import type { Dataset } from "../../lib/data/types";
import type { PerQuery } from "../../lib/eval/types";
import { ablationFigure } from "../../lib/plots/ablation";
import { closeStore, openStore } from "../../lib/store/db";
import type { Database } from "../../lib/store/schema";
import { resolveTrainConfig, TRAIN_DEFAULTS, trainRunId } from "../../lib/train/loop";

const throwsConfig = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (e: Error) => e instanceof ConfigError && pattern.test(e.message), String(pattern));
};

describe("ablation grid (lib/ablate/grid)", () => {
  it("defaults to the TCL ablation: 2 directions x (TCL on, off) x 3 seeds = 12 cells", () => {
    const cells = expandGrid();
    assert.equal(cells.length, 12);
    assert.deepEqual(cells.map((c) => c.index), [...Array(12).keys()]);
    assert.deepEqual([...new Set(cells.map((c) => c.direction))], ABLATION_GRID_DEFAULTS.directions);
    assert.equal(new Set(cells.map((c) => c.runId)).size, 12);
    assert.deepEqual(cells.slice(0, 6).map((c) => [c.tcl, c.seed]), [[true, 1], [true, 2], [true, 3], [false, 1], [false, 2], [false, 3]]);
    assert.deepEqual([cells[0].train, cells[0].dev, cells[6].train, cells[6].dev], ["dl19", "dl20", "dl20", "dl19"]);
  });

  it("does not vary TCL-off cells over the Token Selection mode (deduped, run id independent of the ts list)", () => {
    const grid: Partial<AblationGrid> = { ts: ["exact", "topk:3"], seeds: [1, 2], directions: ["dl19->dl20"], losses: ["listNet", "rankNet"] };
    const cells = expandGrid(grid);
    assert.equal(cells.length, 2 * (2 + 1) * 2); // losses x (ts on-modes + one off) x seeds
    const off = cells.filter((c) => !c.tcl);
    assert.equal(off.length, 4);
    assert.ok(off.every((c) => c.ts === null && c.configKey.endsWith("/no-tcl") && c.trainConfig.ts === TRAIN_DEFAULTS.ts));
    const reordered = expandGrid({ ...grid, ts: ["topk:3", "exact"] }).filter((c) => !c.tcl);
    assert.deepEqual(reordered.map((c) => c.runId), off.map((c) => c.runId));
    // the run id is trainStudent's own: same config -> same id (so model dirs are reused)
    const c = cells[0];
    assert.equal(c.runId, trainRunId(resolveTrainConfig({ ...c.trainConfig, out: "anywhere" })));
    assert.equal(cells.find((x) => x.tcl && x.ts === "topk:3")?.noTclKey, "listNet/hardNegative/no-tcl");
  });

  it("passes base fields to every cell and rejects base fields the grid sets", () => {
    const cells = expandGrid({ base: { epochs: 1, maxSteps: 2 }, seeds: [1], directions: ["dl20->dl19"] });
    assert.ok(cells.every((c) => c.trainConfig.epochs === 1 && c.trainConfig.maxSteps === 2 && c.trainConfig.train === "dl20"));
    throwsConfig(() => resolveAblationGrid({ base: { loss: "rankNet" } }), /base must not set "loss"/);
    throwsConfig(() => resolveAblationGrid({ base: { out: "x" } }), /base must not set "out"/);
    throwsConfig(() => resolveAblationGrid({ base: { epochs: 0 } }), /base: train config: epochs must be an integer >= 1, got 0/);
    throwsConfig(() => resolveAblationGrid({ base: { epoch: 3 } as never }), /base: train config: unknown key "epoch"/);
  });

  it("names the bad field and value", () => {
    throwsConfig(() => resolveAblationGrid({ loss: ["listNet"] } as never), /unknown key "loss"/);
    throwsConfig(() => resolveAblationGrid({ losses: [] }), /losses must not be empty/);
    throwsConfig(() => resolveAblationGrid({ losses: ["listnet"] }), /losses\[0\] = "listnet".*did you mean "listNet"/);
    throwsConfig(() => resolveAblationGrid({ losses: ["listNet", "marginMse"] }), /losses\[1\] = "marginMse".*needs teacher scores/);
    throwsConfig(() => resolveAblationGrid({ missing: ["hardNegative", "ignore" as never] }), /missing\[1\] must be one of hardNegative, append, drop, got "ignore"/);
    throwsConfig(() => resolveAblationGrid({ missing: ["hardnegative" as never] }), /missing\[0\] must be one of hardNegative, append, drop, got "hardnegative" \(did you mean "hardNegative"\?\)/);
    throwsConfig(() => resolveAblationGrid({ tcl: ["on" as never] }), /tcl\[0\] must be true \(on\) or false \(off\), got "on"/);
    throwsConfig(() => resolveAblationGrid({ ts: ["topk:0"] }), /ts\[0\]: token selection: unknown mode "topk:0"/);
    throwsConfig(() => resolveAblationGrid({ seeds: [1, 1.5] }), /seeds\[1\] must be an integer >= 0, got 1.5/);
    throwsConfig(() => resolveAblationGrid({ seeds: [1, 2, 1] }), /seeds lists 1 twice/);
    throwsConfig(() => resolveAblationGrid({ directions: ["dl19->dl19"] }), /"dl19->dl19" trains and tests on the same year/);
    throwsConfig(() => resolveAblationGrid({ directions: ["dl21->dl20"] }), /bad direction "dl21->dl20"/);
    assert.deepEqual(parseDirection(" dl20 -> dl19 "), { name: "dl20->dl19", train: "dl20", dev: "dl19" });
    assert.equal(parseDirection("dl19:dl20").name, "dl19->dl20");
    throwsConfig(() => resolveAblationGrid({ directions: ["dl19-"] }), /unquoted -> in a shell/);
  });
});

/**
 * Hand-made per-query nDCG@10 on 3 queries (so the t-test has df = 2, whose two-sided p-value has the
 * closed form p = 1 - |t| / sqrt(t^2 + 2), from the t(2) CDF F(t) = 1/2 + t / (2 sqrt(t^2 + 2))).
 * Seed-averaged scores: BM25 [.2 .4 .6]; TCL exact [.4 .7 .7]; TCL topk:3 [.4 .65 .75]; no TCL [.3 .4 .6].
 * Differences and t by hand (t = mean(d) / (sd(d) / sqrt 3)):
 *   exact - BM25   [.2 .3 .1]    t = 2 sqrt 3        p = 1 - sqrt(12/14)
 *   exact - noTCL  [.1 .3 .1]    t = 2.5             p = 1 - sqrt(6.25/8.25)
 *   topk  - BM25   [.2 .25 .15]  t = 4 sqrt 3        p = 1 - sqrt(48/50)     (< 0.05: †)
 *   topk  - noTCL  [.1 .25 .15]  t^2 = 100/7         p = 1 - sqrt(100/114)
 *   noTCL - BM25   [.1 0 0]      t = 1               p = 1 - sqrt(1/3)
 */
describe("ablation table (lib/ablate/table)", () => {
  const pq = (xs: number[]): PerQuery => Object.fromEntries(xs.map((x, i) => [`q${i + 1}`, { "ndcg@10": x }]));
  const cell = (tcl: boolean, ts: string | null, seed: number, xs: number[], testSet = "dl20"): CellScores =>
    ({ direction: "dl19->dl20", testSet, loss: "listNet", missing: "hardNegative", tcl, ts, seed, perQuery: pq(xs) });
  const cells: CellScores[] = [
    cell(true, "exact", 1, [0.5, 0.8, 0.8]), cell(true, "exact", 2, [0.3, 0.6, 0.6]),
    cell(true, "topk:3", 1, [0.4, 0.65, 0.75]), cell(true, "topk:3", 2, [0.4, 0.65, 0.75]),
    cell(false, null, 1, [0.35, 0.45, 0.6]), cell(false, null, 2, [0.25, 0.35, 0.6]),
  ];
  const baselines = { dl20: pq([0.2, 0.4, 0.6]) };
  const close = (a: number | null | undefined, b: number, what: string): void => assert.ok(a !== null && a !== undefined && Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

  it("gives mean ± sample std over seeds and paired t-test p-values (closed-form golden values)", () => {
    const rows = aggregateAblation(cells, baselines, { metrics: ["ndcg@10"] });
    assert.deepEqual(rows.map((r) => r.configKey), ["bm25", "listNet/hardNegative/tcl:exact", "listNet/hardNegative/tcl:topk:3", "listNet/hardNegative/no-tcl"]);
    const [bm25, exact, topk, noTcl] = rows.map((r) => r.metrics["ndcg@10"]);
    close(bm25.mean, 0.4, "bm25 mean");
    assert.equal(bm25.vsBm25, null);
    close(exact.mean, 0.6, "exact mean");
    close(exact.std, Math.sqrt(0.02), "exact std: seed means .7 and .5");
    assert.deepEqual(exact.perSeed.map((x) => +x.toFixed(9)), [0.7, 0.5]);
    close(noTcl.std, Math.sqrt(((0.7 / 1.5 - 0.4) ** 2) / 2), "no-TCL std: seed means 1.4/3 and 1.2/3");
    close(topk.std, 0, "topk std");
    close(exact.vsBm25?.p, 1 - Math.sqrt(12 / 14), "exact vs BM25");
    close(exact.vsNoTcl?.p, 1 - Math.sqrt(6.25 / 8.25), "exact vs no TCL");
    close(topk.vsBm25?.p, 1 - Math.sqrt(48 / 50), "topk vs BM25");
    close(topk.vsNoTcl?.p, 1 - Math.sqrt(100 / 114), "topk vs no TCL");
    close(noTcl.vsBm25?.p, 1 - Math.sqrt(1 / 3), "no TCL vs BM25");
    close(exact.vsBm25?.delta, 0.2, "delta");
    assert.equal(noTcl.vsNoTcl, null);
    assert.deepEqual([exact.vsBm25?.significant, topk.vsBm25?.significant, topk.vsNoTcl?.significant], [false, true, false]);
    close(rows[1].perQuery.q2["ndcg@10"], 0.7, "seed-averaged per-query score");
  });

  it("marks significance with † / ‡ in Markdown, flat rows and the figure", () => {
    const rows = aggregateAblation(cells, baselines, { metrics: ["ndcg@10"] });
    const md = ablationMarkdown(rows);
    assert.match(md, /two-sided paired Student t-test over queries/);
    assert.match(md, /\| dl19 -> dl20 \| listNet · hardNegative · TCL topk:3 \| 1,2 \| 3 \| 0\.6000 ± 0\.0000† \|/);
    assert.match(md, /\| dl19 -> dl20 \| BM25 \| - \| 3 \| 0\.4000 \|/);
    const flat = ablationTable(rows);
    assert.equal(flat.length, 4);
    assert.equal(flat[2]["ndcg@10 marks"], "†");
    assert.equal(flat[0]["ndcg@10 p vs bm25"], null);
    const fig = ablationFigure(rows);
    const traces = fig.data as Array<{ type: string; x: string[]; y: number[]; text?: string[]; error_y?: { array: number[] } }>;
    assert.deepEqual(traces.map((t) => t.type), ["bar", "scatter"]);
    assert.deepEqual(traces[0].x, ["listNet<br>hardNegative<br>TCL exact", "listNet<br>hardNegative<br>TCL topk:3", "listNet<br>hardNegative<br>no TCL"]);
    assert.equal(traces[0].text?.[1], "0.600†");
    assert.deepEqual(traces[1].y.map((v) => +v.toFixed(9)), [0.4, 0.4]); // BM25 line across the plot
  });

  it("offers the exact randomization test, and rejects cells missing a baseline query", () => {
    const rows = aggregateAblation(cells, baselines, { metrics: ["ndcg@10"], test: "randomization" });
    // exact - BM25 = [.2 .3 .1]: of the 2^3 sign patterns only all-plus and all-minus reach |mean| .2
    close(rows[1].metrics["ndcg@10"].vsBm25?.p, 2 / 8, "randomization p");
    const short = [...cells.slice(0, 5), cell(false, null, 2, [0.25, 0.35])];
    assert.throws(() => aggregateAblation(short, baselines, { metrics: ["ndcg@10"] }), /no finite "ndcg@10" for qid "q3"/);
    throwsConfig(() => aggregateAblation(cells, {}, { metrics: ["ndcg@10"] }), /no BM25 baseline for test set "dl20"/);
  });
});

describe("rra ablate end to end (tiny, 2 cells)", () => {
  const dir = mkdtempSync(join(tmpdir(), "rra-ablate-"));
  const out = join(dir, "ablation");
  const dbFile = join(dir, "store.sqlite");
  let db: Kysely<Database>;
  let datasets: Record<string, Dataset>;
  let first: AblationResult;
  const grid: Partial<AblationGrid> = {
    tcl: [true, false], seeds: [1], directions: ["dl19->dl20"],
    base: { preset: "tiny", vocabSize: 2000, maxLength: 48, groupSize: 4, groupsPerBatch: 2, trainQueries: 2, devQueries: 3, maxSteps: 2, epochs: 1 },
  };
  before(async () => {
    await initBackend({ quiet: true });
    db = await openStore(dbFile);
    datasets = { dl19: loadDataset("dl19"), dl20: loadDataset("dl20"), noveleval: loadDataset("noveleval") };
  });
  after(async () => {
    await closeStore(db);
  });

  it("trains both cells, evaluates dl20 and NovelEval against BM25, writes ablation.json and ablation.md", async () => {
    first = await runAblation(db, grid, { out, evalQueries: 3, quiet: true, datasets });
    assert.equal(first.cells.length, 2);
    assert.deepEqual(first.cells.map((c) => [c.tcl, c.reused, c.evalCached]), [[true, false, false], [false, false, false]]);
    for (const c of first.cells) {
      assert.equal(c.modelDir, join(out, "models", c.runId));
      assert.ok(c.steps >= 1 && existsSync(join(c.modelDir, "training.json")));
      assert.deepEqual(c.evals.map((e) => [e.testSet, Object.keys(e.perQuery).length]), [["dl20", 3], ["noveleval", 3]]);
    }
    assert.deepEqual(first.rows.map((r) => `${r.testSet}:${r.configKey}`), [
      "dl20:bm25", "dl20:listNet/hardNegative/tcl:exact", "dl20:listNet/hardNegative/no-tcl",
      "noveleval:bm25", "noveleval:listNet/hardNegative/tcl:exact", "noveleval:listNet/hardNegative/no-tcl",
    ]);
    const tcl = first.rows[1].metrics["ndcg@10"];
    assert.ok(tcl.vsBm25 && tcl.vsNoTcl && tcl.mean >= 0 && tcl.mean <= 1);
    const json = JSON.parse(readFileSync(join(out, "ablation.json"), "utf8")) as AblationResult;
    assert.equal(json.format, "rra-ablation/1");
    assert.ok(json.backend && json.versions.node && json.wallSeconds > 0);
    assert.deepEqual(json.seeds, [1]);
    assert.equal(Object.keys(json.rows[1].perQuery).length, 3);
    assert.match(readFileSync(join(out, "ablation.md"), "utf8"), /\| dl19 -> noveleval \| BM25 \|/);
  });

  it("a rerun (through the CLI) reuses the trained cells: no training, training.json untouched", async () => {
    const mtimes = first.cells.map((c) => statSync(join(c.modelDir, "training.json")).mtimeMs);
    const silence = async (fn: () => Promise<number>): Promise<{ code: number; stdout: string }> => {
      const o = process.stdout.write, e = process.stderr.write;
      const lines: string[] = [];
      process.stdout.write = ((c: unknown) => (lines.push(String(c)), true)) as typeof o;
      process.stderr.write = (() => true) as typeof e;
      try {
        return { code: await fn(), stdout: lines.join("") };
      } finally {
        process.stdout.write = o;
        process.stderr.write = e;
      }
    };
    const args = ["ablate", "--tcl", "on,off", "--seeds", "1", "--directions", "dl19->dl20", "--preset", "tiny", "--vocab-size", "2000", "--max-length", "48", "--group-size", "4",
      "--batch", "2", "--train-queries", "2", "--dev-queries", "3", "--max-steps", "2", "--epochs", "1", "--eval-queries", "3", "--out", out, "--db", dbFile];
    const r = await silence(() => main([...args, "--json"]));
    assert.equal(r.code, 0);
    const printed = JSON.parse(r.stdout) as { rows: Array<Record<string, unknown>> };
    assert.equal(printed.rows.length, 6);
    const again = JSON.parse(readFileSync(join(out, "ablation.json"), "utf8")) as AblationResult;
    assert.deepEqual(again.cells.map((c) => c.runId), first.cells.map((c) => c.runId));
    assert.deepEqual(again.cells.map((c) => [c.reused, c.evalCached]), [[true, true], [true, true]]);
    assert.deepEqual(first.cells.map((c) => statSync(join(c.modelDir, "training.json")).mtimeMs), mtimes);
    assert.deepEqual(again.rows.map((x) => x.metrics["ndcg@10"].mean), first.rows.map((x) => x.metrics["ndcg@10"].mean));
    // help and bad values
    assert.equal((await silence(() => main(["ablate", "--help"]))).code, 0);
    assert.equal((await silence(() => main(["ablate", "--tcl", "yes", "--out", out]))).code, 2);
    assert.equal((await silence(() => main(["ablate", "--losses", "listnet", "--out", out]))).code, 2);
    assert.equal((await silence(() => main(["ablate", "--seeds", "1,x", "--out", out]))).code, 2);
    assert.equal((await silence(() => main(["ablate", "--seeds", "1"]))).code, 2);
  });
});
