import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type { Kysely } from "kysely";
import { DataError } from "../../lib/core/errors";
import { claimItems, completeClaim, countClaims, loadClaims, releaseClaim, renewClaims, retryFailedClaims, seedClaims, type HeldClaim } from "../../lib/store/claims";
import { closeStore, openStore } from "../../lib/store/db";
import { loadWindows, upsertLabelJob, writeWindow, type WindowRecord } from "../../lib/store/labels";
import type { Database } from "../../lib/store/schema";
import { createPgSchema, describeBackends, storePerTest, type Backend } from "../pg";

const JOB = "toy-job";
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const items = (n: number) => Array.from({ length: n }, (_, i) => ({ qid: `q${i}`, ord: i }));

async function addJob(db: Kysely<Database>): Promise<void> {
  await upsertLabelJob(db, { id: JOB, dataset: "toy", teacher: "t", model: "m", templateVersion: "v1", selection: "top10+bottom10", seed: 1, config: {}, versions: {}, gitSha: null, status: "running" });
}

function windowOf(qid: string): WindowRecord {
  return {
    jobId: JOB, windowId: `${qid}/w0`, qid, ord: 0, docids: ["a", "b"], shuffleSeed: 4_000_000_000, callId: null, anomalies: {},
    facts: [
      { qid, docid: "a", positionShown: 1, teacherRank: 2, missing: false, flags: {} },
      { qid, docid: "b", positionShown: 2, teacherRank: null, missing: true, flags: {} },
    ],
  };
}

/** Several handles on one store (separate connections), as separate workers have. */
async function openHandles(backend: Backend, n: number): Promise<{ handles: Kysely<Database>[]; close(): Promise<void> }> {
  if (backend === "postgres") {
    const schema = await createPgSchema();
    const handles: Kysely<Database>[] = [];
    for (let i = 0; i < n; i++) handles.push(await openStore(schema.url));
    return { handles, close: async () => { for (const h of handles) await closeStore(h); await schema.drop(); } };
  }
  const dir = mkdtempSync(join(tmpdir(), "rra-claims-"));
  const handles: Kysely<Database>[] = [];
  for (let i = 0; i < n; i++) handles.push(await openStore(join(dir, "claims.sqlite")));
  return { handles, close: async () => { for (const h of handles) await closeStore(h); rmSync(dir, { recursive: true, force: true }); } };
}

describeBackends("label claims", (backend) => {
  let db: Kysely<Database>;
  storePerTest(backend, async (h) => {
    db = h;
    await addJob(db);
  });

  it("seeds items once and hands them out lowest ord first, each to one worker", async () => {
    assert.equal(await seedClaims(db, JOB, items(10)), 10);
    assert.equal(await seedClaims(db, JOB, items(10)), 0, "seeding again (another worker) changes nothing");
    const a = await claimItems(db, JOB, "A", { limit: 3, leaseSeconds: 30 });
    assert.deepEqual(a.map((c) => [c.qid, c.attempts]), [["q0", 1], ["q1", 1], ["q2", 1]]);
    assert.match(a[0].leaseUntil, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const b = await claimItems(db, JOB, "B", { limit: 100, leaseSeconds: 30 });
    assert.deepEqual(b.map((c) => c.qid), ["q3", "q4", "q5", "q6", "q7", "q8", "q9"]);
    assert.deepEqual(await claimItems(db, JOB, "C", { limit: 5, leaseSeconds: 30 }), []);
    assert.deepEqual(await countClaims(db, JOB), { pending: 0, claimed: 10, done: 0, failed: 0, total: 10 });
    await assert.rejects(claimItems(db, JOB, "C", { limit: 1, leaseSeconds: 0 }), (e: unknown) => e instanceof DataError && /leaseSeconds/.test(e.message));
    await assert.rejects(seedClaims(db, JOB, [{ qid: "x", ord: 0 }, { qid: "x", ord: 1 }]), /items\[1\]\.qid/);
  });

  it("never hands one item to two concurrent claimers", async function () {
    this.timeout(60_000);
    const N = 120;
    const { handles, close } = await openHandles(backend, 4);
    try {
      await addJob(handles[0]);
      await seedClaims(handles[0], JOB, items(N));
      const got = await Promise.all(handles.map(async (h, w) => {
        const mine: HeldClaim[] = [];
        for (;;) {
          const c = await claimItems(h, JOB, `W${w}`, { limit: 3, leaseSeconds: 30 });
          if (c.length === 0) return mine;
          mine.push(...c);
        }
      }));
      const all = got.flat().map((c) => c.qid);
      assert.equal(all.length, N, "no item claimed twice");
      assert.equal(new Set(all).size, N, "every item claimed");
      assert.ok(got.flat().every((c) => c.attempts === 1));
      assert.ok(got.filter((g) => g.length > 0).length >= 2, `the claimers took turns: ${got.map((g) => g.length).join(", ")}`);
      const stored = await loadClaims(handles[1], JOB);
      const owner = new Map(got.flatMap((g, w) => g.map((c) => [c.qid, `W${w}`] as const)));
      assert.ok(stored.every((c) => c.status === "claimed" && c.workerId === owner.get(c.qid)));
    } finally {
      await close();
    }
  });

  it("lets another worker take over an item whose lease ran out, and not before", async () => {
    await seedClaims(db, JOB, items(2));
    const [a] = await claimItems(db, JOB, "A", { limit: 1, leaseSeconds: 0.4 });
    assert.equal(a.qid, "q0");
    // A renews for a while: B gets only the other item
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      assert.deepEqual([...(await renewClaims(db, JOB, "A", ["q0"], 0.4))], ["q0"]);
    }
    assert.deepEqual((await claimItems(db, JOB, "B", { limit: 5, leaseSeconds: 30 })).map((c) => c.qid), ["q1"]);
    // A stops renewing (it died): after the lease, B takes q0 over
    await sleep(500);
    const taken = await claimItems(db, JOB, "B", { limit: 5, leaseSeconds: 30 });
    assert.deepEqual(taken.map((c) => [c.qid, c.attempts]), [["q0", 2]]);
    assert.deepEqual([...(await renewClaims(db, JOB, "A", ["q0"], 30))], [], "A learns it lost the claim");
    assert.equal((await loadClaims(db, JOB))[0].workerId, "B");
  });

  it("stores an item only for the worker holding it: a worker whose lease was lost writes nothing", async () => {
    await seedClaims(db, JOB, items(1));
    await claimItems(db, JOB, "A", { limit: 1, leaseSeconds: 0.2 });
    await sleep(350);
    await claimItems(db, JOB, "B", { limit: 1, leaseSeconds: 30 });
    let wroteA = false;
    assert.equal(await completeClaim(db, JOB, "A", "q0", { by: "A" }, async (tx) => { wroteA = true; await writeWindow(tx, windowOf("q0")); }), false);
    assert.equal(wroteA, false, "A's write never ran");
    assert.deepEqual(await loadWindows(db, JOB), []);
    // a write that fails rolls the completion back: the item stays B's
    await assert.rejects(completeClaim(db, JOB, "B", "q0", { by: "B" }, async () => { throw new Error("disk full"); }), /disk full/);
    assert.equal((await loadClaims(db, JOB))[0].status, "claimed");
    assert.equal(await completeClaim(db, JOB, "B", "q0", { by: "B" }, (tx) => writeWindow(tx, windowOf("q0"))), true);
    assert.equal(await completeClaim(db, JOB, "B", "q0", { by: "B again" }, (tx) => writeWindow(tx, windowOf("q0"))), false, "done is final");
    const [w] = await loadWindows(db, JOB);
    assert.deepEqual(w, windowOf("q0"), "the window and its facts (and a seed above 2^31) round-trip");
    const [c] = await loadClaims(db, JOB);
    assert.deepEqual([c.status, c.workerId, c.result, c.leaseUntil, c.attempts], ["done", "B", { by: "B" }, null, 2]);
    assert.ok(c.finishedAt !== null);
  });

  it("puts a failed item back to pending, marks it failed after maxAttempts, and retries failed items on request", async () => {
    await seedClaims(db, JOB, items(1));
    for (let attempt = 1; attempt <= 2; attempt++) {
      await claimItems(db, JOB, "A", { limit: 1, leaseSeconds: 30 });
      assert.equal(await releaseClaim(db, JOB, "B", "q0", { maxAttempts: 2 }), null, "only the holder releases");
      assert.equal(await releaseClaim(db, JOB, "A", "q0", { maxAttempts: 2, result: { failed: 1 } }), attempt < 2 ? "pending" : "failed");
    }
    assert.deepEqual(await claimItems(db, JOB, "A", { limit: 1, leaseSeconds: 30 }), [], "a failed item is not claimed");
    assert.deepEqual(await countClaims(db, JOB), { pending: 0, claimed: 0, done: 0, failed: 1, total: 1 });
    assert.deepEqual((await loadClaims(db, JOB))[0].result, { failed: 1 });
    assert.equal(await retryFailedClaims(db, JOB), 1);
    assert.deepEqual((await claimItems(db, JOB, "C", { limit: 1, leaseSeconds: 30 })).map((c) => c.attempts), [1]);
  });
});
