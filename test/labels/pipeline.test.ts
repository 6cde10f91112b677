import assert from "node:assert/strict";
import { readFileSync } from "fs";
import type { Kysely } from "kysely";
import { join } from "path";
import { dataDir, loadDataset, shippedRuns } from "../../lib/data/datasets";
import { readRun } from "../../lib/data/trec";
import { windowPreferences, windowTargets } from "../../lib/labels/convert";
import { labelJobId, resolveLabelConfig, runLabelJob } from "../../lib/labels/pipeline";
import { replayLogNames } from "../../lib/labels/teachers/replay";
import { listLabelJobs, loadWindows } from "../../lib/store/labels";
import { listTeacherCalls } from "../../lib/store/teacher-calls";
import type { Database } from "../../lib/store/schema";
import { describeBackends, openTestStore, type TestStore } from "../pg";

/** Independent per-log anomaly counts (Python, test/fixtures/anomaly-counts.py; its "source" field says how it was run). */
const ANOMALY_REFERENCE = JSON.parse(readFileSync("test/fixtures/anomaly-counts.json", "utf8")) as {
  logs: Record<string, { windows: number; missingIds: number; duplicateIds: number; outOfRangeIds: number; echoWindows: number; emptyResponses: number }>;
};

/** The shipped run a log's teacher produced: same file name under rerank_runs/. */
function shippedRunOf(log: string) {
  const r = shippedRuns().find((x) => x.file.endsWith(`/${log}.trec`));
  assert.ok(r, `a shipped run for ${log}`);
  return readRun(join(dataDir(), r.file));
}

describeBackends("label pipeline", (backend) => {
  let store: TestStore | undefined;
  let db: Kysely<Database>;
  before(async function () {
    this.timeout(300000);
    store = await openTestStore(backend);
    db = store.db;
  });
  after(async () => { await store?.close(); });

  // On PostgreSQL the single-window logs only: the sliding ones store windows the same way and cost ~15 s of
  // pipeline CPU each; sliding chains on PostgreSQL are covered by test/labels/distributed.test.ts.
  const logs = backend === "sqlite" ? replayLogNames() : replayLogNames().filter((l) => !l.includes("sw20s10"));
  describe(backend === "sqlite" ? "replaying every shipped rank_llm log" : "replaying the shipped single-window rank_llm logs", () => {
    for (const log of logs) {
      it(`reproduces the teacher run of ${log} for every logged window`, async () => {
        const dataset = log.endsWith("dl19") ? "dl19" : "dl20";
        const { summary, teacherRun } = await runLabelJob(db, { dataset, teacher: `replay:${log}` }, { quiet: true });
        assert.equal(summary.failed, 0, "every window was found in the log");
        const shipped = shippedRunOf(log);
        for (const [qid, docs] of shipped.queries) {
          const expected = docs.slice().sort((a, b) => a.rank - b.rank).map((d) => d.docid);
          assert.deepEqual(teacherRun.queries.get(qid)!.map((d) => d.docid), expected, `query ${qid}`);
        }
        // the anomaly counts match the independent count of test/fixtures/anomaly-counts.py
        const ref = ANOMALY_REFERENCE.logs[`rank-llm-listwise/prompts_and_responses/${log}.json`];
        assert.deepEqual(
          { windows: summary.windows, missing: summary.missing, duplicates: summary.duplicates, outOfRange: summary.outOfRange, echo: summary.echo, empty: summary.empty },
          { windows: ref.windows, missing: ref.missingIds, duplicates: ref.duplicateIds, outOfRange: ref.outOfRangeIds, echo: ref.echoWindows, empty: ref.emptyResponses });
        assert.equal(summary.calls, summary.windows);
      });
    }
  });

  it("counts the real anomalies of the noisy checkpoint and derives hard negatives from its missing ids", async () => {
    const { summary } = await runLabelJob(db, { dataset: "dl19", teacher: "replay:vicuna-7b-ckpt800_bm25-top20-single_dl19" }, { quiet: true });
    // test/fixtures/anomaly-counts.json (independent Python count): 8 missing ids, 23 duplicate ids, 6 echo windows
    assert.deepEqual([summary.windows, summary.missing, summary.duplicates, summary.echo], [43, 8, 23, 6]);
    const windows = await loadWindows(db, summary.job);
    const w = windows.find((x) => x.facts.some((f) => f.missing))!;
    const missing = w.facts.filter((f) => f.missing).map((f) => f.docid);
    const targets = windowTargets(w, "hardNegative");
    assert.deepEqual(targets.filter((t) => t.hardNegative).map((t) => t.docid).sort(), missing.slice().sort());
    assert.ok(targets.filter((t) => t.hardNegative).every((t) => t.gain === 0 && t.rank === null));
    const listed = targets.filter((t) => !t.hardNegative);
    const m = listed.length;
    assert.deepEqual(listed.map((t) => t.gain), listed.map((_, i) => (m - i) / m), "gain (m - r + 1) / m");
    const prefs = windowPreferences(w, "hardNegative");
    assert.equal(prefs.filter((p) => p.kind === "listedOverMissing").length, m * missing.length);
    assert.equal(prefs.filter((p) => p.kind === "listed").length, (m * (m - 1)) / 2);
    const appended = windowTargets(w, "append");
    assert.equal(appended.length, w.facts.length);
    assert.ok(appended.every((t) => !t.hardNegative && t.rank !== null));
    assert.equal(windowTargets(w, "drop").length, m);
  });

  it("labels RRADistill windows (top 10 + bottom 10 of 50, shuffled) with a projected teacher, deterministically", async () => {
    const a = await runLabelJob(db, { dataset: "dl20", teacher: "projected:rankvicuna-7b", limit: 5 }, { quiet: true });
    assert.equal(a.summary.selection, "top10+bottom10");
    assert.equal(a.summary.windows, 5);
    assert.equal(a.summary.missing, 0, "a projected teacher never leaves documents out");
    const windows = await loadWindows(db, a.summary.job);
    const list = loadDataset("dl20").lists[0];
    const expected = [...list.candidates.slice(0, 10), ...list.candidates.slice(40, 50)].map((c) => c.docid).sort();
    assert.deepEqual(windows[0].docids.slice().sort(), expected, "the top 10 and the bottom 10 of the first 50");
    assert.notDeepEqual(windows[0].docids, [...list.candidates.slice(0, 10), ...list.candidates.slice(40, 50)].map((c) => c.docid), "shuffled before prompting");
    assert.ok(windows[0].shuffleSeed !== null);
    // the same config is the same job with the same shown orders; another seed shows other orders
    const again = await runLabelJob(db, { dataset: "dl20", teacher: "projected:rankvicuna-7b", limit: 5 }, { quiet: true });
    assert.equal(again.summary.job, a.summary.job);
    assert.deepEqual((await loadWindows(db, a.summary.job)).map((w) => w.docids), windows.map((w) => w.docids));
    const other = await runLabelJob(db, { dataset: "dl20", teacher: "projected:rankvicuna-7b", limit: 5, seed: 7 }, { quiet: true });
    assert.notEqual(other.summary.job, a.summary.job);
    assert.notDeepEqual((await loadWindows(db, other.summary.job))[0].docids, windows[0].docids);
    // every answered window is a stored teacher call with its prompt and token counts
    const calls = await listTeacherCalls(db, { teacher: "projected:rankvicuna-7b" });
    assert.ok(calls.length >= 5 && calls.every((c) => c.status === "done" && (c.promptTokens ?? 0) > 1000));
  });

  it("says which windows were never logged instead of inventing answers", async () => {
    const { summary } = await runLabelJob(db, { dataset: "dl19", teacher: "replay:rankvicuna-7b_bm25-top20-single_dl19", selection: "top10+bottom10", limit: 3 }, { quiet: true });
    assert.equal(summary.failed, 3);
    assert.equal(summary.calls, 0);
    const job = (await listLabelJobs(db)).find((j) => j.id === summary.job)!;
    assert.equal(job.status, "running", "a job with failed windows is not done");
  });

  it("rejects unknown config keys, teachers and selections with the accepted forms", () => {
    assert.throws(() => resolveLabelConfig({ dataset: "dl19", windows: 3 } as never), /unknown key "windows"; expected one of dataset, teacher/);
    assert.throws(() => resolveLabelConfig({ dataset: "dl19", selection: "top10-bottom10" }), /unknown selection "top10-bottom10"; expected top\{k\}\+bottom\{k\}/);
    assert.match(labelJobId(resolveLabelConfig({ dataset: "dl19" })), /^dl19-projected_rankvicuna-7b-top10\+bottom10-[0-9a-f]{8}$/);
  });
});
