import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ablationEstimate } from "../../lib/ablate/estimate";
import { expandGrid, resolveAblationGrid } from "../../lib/ablate/grid";
import { benchEstimate } from "../../lib/bench/estimate";
import { estimateText, formatDuration } from "../../lib/core/estimate";
import { loadDataset } from "../../lib/data/datasets";
import { CANDIDATES_PER_QUERY, QUERY_COUNTS, queryCount } from "../../lib/data/sizes";
import { labelJobsEstimate, labelJobWindows } from "../../lib/labels/estimate";
import { offlineLabelJobs } from "../../lib/labels/jobs";
import { resolveLabelConfig } from "../../lib/labels/pipeline";
import { studentsEstimate } from "../../lib/pipeline/estimate";
import { studentKinds } from "../../lib/pipeline/students";
import { resolveTrainConfig, trainRunId } from "../../lib/train/config";
import { measuredTrainSpeed, selectedTrainingWork, trainingEstimate, trainRunWork } from "../../lib/train/estimate";

/** Notebook 03's grids (full and SMOKE), as its config cell writes them. */
const GRID_FULL = {
  losses: ["listNet", "rankNet", "listMle", "lambdaNdcg2", "pointwiseBce"], missing: ["hardNegative", "drop"] as const, tcl: [true, false], ts: ["exact"],
  seeds: [1, 2, 3], directions: ["dl19->dl20", "dl20->dl19"], base: { epochs: 4, lr: 3e-3, scoreScale: 10, groupsPerBatch: 2, folds: 3 },
};
const GRID_SMOKE = {
  losses: ["listNet", "rankNet"], missing: ["hardNegative"] as const, tcl: [true, false], ts: ["exact"], seeds: [1], directions: ["dl19->dl20"],
  base: { epochs: 1, maxSteps: 2, trainQueries: 3, maxLength: 48, groupSize: 4, groupsPerBatch: 2, folds: 2 },
};

/** A finished run's training.json (what finishedRecord and measuredTrainSpeed read) under `dir/<runId>`. */
function finishedRun(dir: string, overrides: Record<string, unknown>, examplesPerSec: number): void {
  const cfg = resolveTrainConfig({ ...overrides, out: "" });
  const runDir = join(dir, trainRunId(cfg));
  mkdirSync(runDir, { recursive: true });
  for (const f of ["config.json", "weights.json", "weights.bin"]) writeFileSync(join(runDir, f), "{}");
  writeFileSync(join(runDir, "training.json"), JSON.stringify({
    format: "rra-training-record/1", runId: trainRunId(cfg), config: cfg, status: "done", steps: 10, best: { epoch: 1, step: 10, "ndcg@10": 0.5 }, throughput: { stepsPerSec: 1, examplesPerSec },
  }));
}

describe("estimates of long work (core/estimate.ts and each kind's estimate)", () => {
  it("the shipped dataset sizes used before loading match the data", () => {
    for (const name of ["dl19", "dl20", "noveleval"]) {
      const d = loadDataset(name);
      assert.equal(QUERY_COUNTS[name], d.lists.length, name);
      assert.equal(CANDIDATES_PER_QUERY[name], Math.max(...d.lists.map((l) => l.candidates.length)), name);
    }
    assert.equal(queryCount("dl19+dl20"), 97);
  });

  it("rounds durations and announces the mode, the basis and what Interrupt keeps", () => {
    assert.deepEqual([3, 42, 59, 61, 600, 5300, 9000].map(formatDuration), ["3 s", "40 s", "60 s", "1 min", "10 min", "88 min", "2.5 h"]);
    const e = { what: "2 things", seconds: 9000, basis: "~75 s per thing", keeps: "finished things are kept" };
    assert.equal(estimateText(e, false), "Running 2 things (full size; SMOKE=1 runs the CI size): about 2.5 h, an estimate from ~75 s per thing. " +
      "Interrupt (I,I or the stop button) stops it within a second or two; finished things are kept.");
    assert.match(estimateText(e, true), /^Running 2 things \(SMOKE=1: the CI size\): about 2\.5 h/);
  });

  it("counts a training run's steps and scored pairs from its config (folds, caps, maxSteps)", () => {
    // dl19: 43 queries, 3 folds: fold 0 trains on 2/3 (29 groups of one window each, 15 steps per epoch) and scores 1/3 x 100 before and after each epoch
    const fold = trainRunWork({ train: "dl19", dev: "dl19", folds: 3, fold: 0, epochs: 4, groupsPerBatch: 2, groupSize: 20 });
    assert.equal(fold.examples, 60 * 2 * 20);
    assert.equal(fold.pairs, Math.round((43 / 3) * 100 * 5));
    assert.equal(trainRunWork({ maxSteps: 2, trainQueries: 3, groupsPerBatch: 2, groupSize: 4, epochs: 1 }).examples, 2 * 2 * 4);
    assert.equal(trainRunWork({ network: false }).examples, 0, "the lexical ranker only fits its composition");
    assert.equal(trainRunWork({ selection: "sliding20/10", trainQueries: 2, groupsPerBatch: 1, epochs: 1, devQueries: 1 }).examples, 18 * 20, "9 windows per query");
    const sel = selectedTrainingWork({ train: "dl19", dev: "dl19", folds: 3, epochs: 4, groupsPerBatch: 2 });
    assert.equal(sel.runs, 4, "3 fold runs and the refit");
  });

  it("notebook 03's full grid: 120 cells, about 2-4 h on an idle 2-core machine; SMOKE a few seconds per cell", () => {
    assert.equal(expandGrid(resolveAblationGrid(GRID_FULL)).length, 120);
    const full = ablationEstimate(GRID_FULL, { noveleval: true });
    assert.match(full.what, /^120 grid cells$/);
    assert.ok(full.seconds > 2 * 3600 && full.seconds < 4 * 3600, `${full.seconds} s`);
    assert.match(full.basis, /^~\d+ s per cell at ~260 training examples\/s, the speed of an idle 2-core machine$/);
    const smoke = ablationEstimate(GRID_SMOKE, { noveleval: true, evalQueries: 5 });
    assert.ok(smoke.seconds > 4 && smoke.seconds < 60, `${smoke.seconds} s`);
  });

  it("cells already evaluated are free, finished runs are not counted again, and their speed is used", () => {
    const out = mkdtempSync(join(tmpdir(), "rra-estimate-"));
    const cells = expandGrid(resolveAblationGrid(GRID_SMOKE));
    mkdirSync(join(out, "evals"));
    writeFileSync(join(out, "evals", `${cells[0].runId}.json`), "{}");
    const before = ablationEstimate(GRID_SMOKE, { evalQueries: 5 });
    const after = ablationEstimate(GRID_SMOKE, { out, evalQueries: 5 });
    assert.match(after.what, /^4 grid cells, 1 already done and reused$/);
    assert.ok(Math.abs(after.seconds - (before.seconds * 3) / 4) < 1e-6, `${after.seconds} vs ${before.seconds}`);
    // a finished fold run at 60 examples/s: its work is gone and the speed is the measured one
    const cfg = { ...cells[1].trainConfig, fold: 0, patience: 0 };
    finishedRun(join(out, "models"), cfg, 60);
    assert.equal(selectedTrainingWork(cells[1].trainConfig, { dir: join(out, "models") }).runs, 2, "fold 1 and the refit are left");
    const speed = measuredTrainSpeed([join(out, "models")]);
    assert.equal(speed.source, "the median of 1 run measured here");
    assert.match(ablationEstimate(GRID_SMOKE, { out, evalQueries: 5 }).basis, /at ~\d+ training examples\/s, the median of 1 run measured here$/);
    const single = { trainQueries: 3, maxSteps: 2, epochs: 1, groupsPerBatch: 2, groupSize: 4, maxLength: 48 };
    finishedRun(out, single, 60);
    assert.equal(trainingEstimate({ ...single, out: join(out, trainRunId(resolveTrainConfig(single))) }, { dir: out }).seconds, 0, "a finished run is reused");
  });

  it("notebook 02's offline label jobs: 1745 windows in about a minute", () => {
    const jobs = offlineLabelJobs(["dl19", "dl20"]);
    assert.equal(jobs.map((j) => labelJobWindows(resolveLabelConfig(j))).reduce((a, b) => a + b, 0), 43 * 14 + 9 * 43 + 54 * 14);
    const e = labelJobsEstimate(jobs);
    assert.match(e.what, /^13 label jobs \(1745 teacher windows\)$/);
    assert.ok(e.seconds > 30 && e.seconds < 120, `${e.seconds} s`);
    assert.ok(labelJobsEstimate(jobs, { limit: 8 }).seconds < 15);
    assert.match(labelJobsEstimate([{ dataset: "dl19", teacher: "live:qwen2.5:7b" }]).basis, /a live teacher's speed is its endpoint's/);
  });

  it("notebook 05's students and 06's bench: minutes at full size, seconds in SMOKE", () => {
    const kinds = studentKinds({ epochs: 4, lr: 3e-3, scoreScale: 10, groupsPerBatch: 2, folds: 3 }, 3);
    const full = studentsEstimate({ students: ["residual", "lexical", "gpt"].map((k) => kinds[k]), train: "dl19", test: "dl20", seeds: [1, 2, 3], out: mkdtempSync(join(tmpdir(), "rra-estimate-")) });
    assert.match(full.what, /^9 student runs \(3 students x 3 seeds\)$/);
    assert.ok(full.seconds > 5 * 60 && full.seconds < 60 * 60, `${full.seconds} s`);
    const bench = benchEstimate({});
    assert.ok(bench.seconds > 6 * 60 && bench.seconds < 15 * 60, `full bench ${bench.seconds} s (measured 9-11 min)`);
    const tiny = benchEstimate({ tiny: true });
    assert.ok(tiny.seconds > 10 && tiny.seconds < 60, `tiny bench ${tiny.seconds} s (measured 30 s)`);
  });
});
