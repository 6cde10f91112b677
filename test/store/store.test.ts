import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { sql, type Kysely } from "kysely";
import { ConfigError, DataError, RraError } from "../../lib/core/errors";
import { hash8 } from "../../lib/core/hash";
import { readRun } from "../../lib/data/trec";
import type { Dataset, Run } from "../../lib/data/types";
import type { EvalResult } from "../../lib/eval/types";
import {
  BUSY_TIMEOUT_MS,
  closeStore,
  computeRunId,
  defaultDbPath,
  defaultStoreTarget,
  deleteDataset,
  deleteRun,
  getRunInfo,
  isPostgresUrl,
  listDatasets,
  listRuns,
  loadMetrics,
  loadRun,
  loadStoredDataset,
  migrateDownAll,
  MIGRATIONS,
  migrateToLatest,
  openStore,
  redactStoreTarget,
  saveDataset,
  saveMetrics,
  saveRun,
  type Database,
  type RunMeta,
} from "../../lib/store";
import { describeBackends, openTestStore, PG_TEST_URL, storePerTest, type Backend } from "../pg";

const ROOT = resolve(__dirname, "..", "..");
const DL19_RUN = join(ROOT, "data", "trec-dl-2019-2020", "bm25_trec_results_dl19.txt");
const STORE_TABLES = ["bench_runs", "candidates", "dataset_passages", "datasets", "judgments", "label_claims", "label_jobs", "label_windows", "labels", "lexicons", "metrics", "passages", "queries", "rationales", "run_entries", "runs", "teacher_calls", "train_curves", "train_runs"];
const MIGRATION_NAMES = ["0001_init", "0002_labels", "0003_training", "0004_bench", "0005_claims", "0006_lexicons", "0007_train_init"];

/** The store's own tables (not kysely's bookkeeping), by name. */
async function tableNames(db: Kysely<Database>, backend: Backend): Promise<string[]> {
  const r = backend === "sqlite"
    ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'kysely_%' and name not like 'sqlite_%' order by name`.execute(db)
    : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_name not like 'kysely_%' order by table_name`.execute(db);
  return r.rows.map((x) => x.name);
}

async function count(db: Kysely<Database>, table: keyof Database): Promise<number> {
  const r = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** A run with awkward values: many digits, negative and integer scores, numeric-looking qids out of order. */
function handRun(): Run {
  return {
    tag: "myTag",
    queries: new Map([
      ["1037798", [
        { docid: "7", rank: 1, score: 12.3456789 },
        { docid: "3", rank: 2, score: -0.5 },
        { docid: "10", rank: 3, score: -123.000001 },
      ]],
      ["104861", [
        { docid: "b", rank: 1, score: 3 },
        { docid: "a", rank: 2, score: 1e-12 },
      ]],
      ["1", [{ docid: "z", rank: 5, score: -7.25e20 }]],
    ]),
  };
}

const META: RunMeta = { name: "hand", dataset: "toy", source: "test", config: { k: 3, loss: "listNet" }, seed: 42, backend: "cpu", versions: { node: "20" }, gitSha: "abc123" };

/** A small dataset: list order differs from query order, a query without list, a candidate without text. */
function handDataset(name = "toy"): Dataset {
  return {
    name,
    queries: [
      { qid: "20", text: "what is bm25" },
      { qid: "3", text: "define ranking" },
      { qid: "100", text: "no list for me" },
    ],
    qrels: new Map([
      ["3", new Map([["d2", 3], ["d9", 0]])],
      ["20", new Map([["d1", 1]])],
      ["555", new Map([["d4", 2]])],
    ]),
    lists: [
      { qid: "3", query: "define ranking ", candidates: [
        { docid: "d2", score: 9.75, rank: 1, text: "passage two" },
        { docid: "d1", score: -1.5, rank: 2, text: "passage one" },
      ] },
      { qid: "20", query: "what is bm25", candidates: [
        { docid: "d1", score: 12.3456789, rank: 1, text: "passage one" },
        { docid: "d3", score: 0, rank: 2 },
      ] },
    ],
    passages: new Map([
      ["d2", { docid: "d2", text: "passage two" }],
      ["d1", { docid: "d1", text: "passage one" }],
    ]),
  };
}

describeBackends("store", (backend) => {
  let db: Kysely<Database>;
  storePerTest(backend, (h) => { db = h; });

  describe("migrations", () => {
    it("create every table on a fresh store and down removes them", async () => {
      assert.deepEqual(await tableNames(db, backend), STORE_TABLES);
      assert.deepEqual(await migrateToLatest(db), [], "nothing pending after openStore");
      assert.deepEqual(await migrateDownAll(db), MIGRATION_NAMES.slice().reverse());
      assert.deepEqual(await tableNames(db, backend), []);
      assert.deepEqual(await migrateToLatest(db), MIGRATION_NAMES);
      assert.deepEqual(await tableNames(db, backend), STORE_TABLES);
    });

    it("name the failing migration and leave no half-made schema", async () => {
      const bad = {
        ...MIGRATIONS,
        "0099_broken": {
          up: async (k: Kysely<any>) => {
            await k.schema.createTable("half").addColumn("x", "text").execute();
            await sql`create table nonsense (`.execute(k);
          },
        },
      };
      const fresh = await openTestStore(backend);
      try {
        await assert.rejects(migrateToLatest(fresh.db, bad), (e: unknown) => {
          assert.ok(e instanceof RraError);
          assert.match(e.message, /migration "0099_broken" \(up\) failed/);
          return true;
        });
        assert.ok(!(await tableNames(fresh.db, backend)).includes("half"), "the failed migration was rolled back");
      } finally {
        await fresh.close();
      }
    });

    it("enforce foreign keys on every connection", async () => {
      if (backend === "sqlite") {
        const r = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
        assert.equal(r.rows[0].foreign_keys, 1);
      }
      await assert.rejects(db.insertInto("run_entries").values({ run_id: "nope", qid: "1", docid: "d", ord: 0, rank: 1, score: 1 }).execute(), /FOREIGN KEY|foreign key/);
    });

    if (backend === "postgres") {
      it("say the server refused the password, without printing it", async () => {
        const url = new URL(PG_TEST_URL);
        url.password = "wrong-pw-3e9a1c";
        const e = await openStore(url.toString()).then(() => assert.fail("opened with a wrong password"), (err: unknown) => err);
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, /cannot connect to PostgreSQL at "postgres:\/\/[^:]+:\*\*\*@.*": password authentication failed/);
        assert.ok(!e.message.includes("wrong-pw-3e9a1c"));
      });
    }

    it("store 64-bit integers and doubles exactly (seeds above 2^31, scores with 17 digits)", async () => {
      const seed = 4_294_967_295;
      await saveRun(db, { ...META, seed }, { tag: "t", queries: new Map([["1", [{ docid: "d", rank: 1, score: 0.30130000000000001 }, { docid: "e", rank: 2, score: -7.25e20 }]]]) });
      const info = (await listRuns(db))[0];
      assert.equal(info.seed, seed);
      assert.deepEqual((await loadRun(db, info.id)).queries.get("1")!.map((d) => d.score), [0.30130000000000001, -7.25e20]);
    });
  });

  describe("runs", () => {
    it("round-trip a hand-made run: scores, tag, query order and document order", async () => {
      const run = handRun();
      const id = await saveRun(db, META, run);
      assert.equal(id, `hand-${hash8(META.config)}`);
      assert.equal(id, computeRunId("hand", META.config));
      const back = await loadRun(db, id);
      assert.deepStrictEqual(back, run);
      assert.deepEqual([...back.queries.keys()], ["1037798", "104861", "1"]);
      assert.deepEqual(back.queries.get("1037798")!.map((d) => d.docid), ["7", "3", "10"]);
    });

    it("round-trip the BM25 DL19 run file exactly", async () => {
      const run = readRun(DL19_RUN);
      const id = await saveRun(db, { name: "bm25-dl19", dataset: "dl19", source: DL19_RUN, config: {} }, run);
      assert.equal(await count(db, "run_entries"), 4300);
      assert.deepStrictEqual(await loadRun(db, id), run);
    });

    it("record metadata, filter listRuns and delete runs with their entries", async () => {
      const id = await saveRun(db, META, handRun());
      const other = await saveRun(db, { name: "other", dataset: "dl20", source: "x", config: {} }, { tag: "t", queries: new Map() });
      const info = await getRunInfo(db, id);
      assert.ok(info);
      assert.deepEqual({ ...info, createdAt: "" }, {
        id, name: "hand", dataset: "toy", tag: "myTag", source: "test", config: META.config, seed: 42,
        backend: "cpu", versions: { node: "20" }, gitSha: "abc123", createdAt: "",
      });
      assert.match(info.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual((await listRuns(db)).map((r) => r.id).sort(), [id, other].sort());
      assert.deepEqual((await listRuns(db, { dataset: "dl20" })).map((r) => r.id), [other]);
      assert.deepEqual(await listRuns(db, { dataset: "toy", tag: "nope" }), []);
      assert.equal(await deleteRun(db, id), true);
      assert.equal(await deleteRun(db, id), false);
      assert.equal(await count(db, "run_entries"), 0);
      await assert.rejects(loadRun(db, id), DataError);
    });

    it("replace a run saved again under the same id", async () => {
      const id = await saveRun(db, META, handRun());
      const smaller: Run = { tag: "v2", queries: new Map([["9", [{ docid: "x", rank: 1, score: 0.5 }]]]) };
      assert.equal(await saveRun(db, META, smaller), id);
      assert.deepStrictEqual(await loadRun(db, id), smaller);
      assert.equal(await count(db, "runs"), 1);
    });

    it("reject a NaN score or a duplicate document with a DataError and store nothing", async () => {
      const nan = handRun();
      nan.queries.get("104861")![1].score = NaN;
      await assert.rejects(saveRun(db, META, nan), (e: unknown) => e instanceof DataError && /score/.test(e.message) && /NaN/.test(e.message));
      const dup = handRun();
      dup.queries.get("1037798")!.push({ docid: "7", rank: 4, score: 1 });
      await assert.rejects(saveRun(db, META, dup), (e: unknown) => e instanceof DataError && /docid "7" again for qid "1037798"/.test(e.message));
      assert.equal(await count(db, "runs"), 0);
      assert.equal(await count(db, "run_entries"), 0);
    });

    it("roll back the whole run when a write fails inside the transaction", async () => {
      // A trigger makes the database itself refuse one entry in a late chunk of a large run.
      if (backend === "sqlite") {
        await sql`create temp trigger boom before insert on run_entries when new.docid = '1000' begin select raise(abort, 'boom'); end`.execute(db);
      } else {
        await sql`create function boom() returns trigger language plpgsql as $$ begin if new.docid = '1000' then raise exception 'boom'; end if; return new; end $$`.execute(db);
        await sql`create trigger boom before insert on run_entries for each row execute function boom()`.execute(db);
      }
      const run = readRun(DL19_RUN);
      const last = [...run.queries.values()].pop()!;
      last.push({ docid: "1000", rank: 1001, score: -1 });
      await assert.rejects(saveRun(db, { name: "bm25", dataset: "dl19", source: "x", config: {} }, run), /boom/);
      assert.equal(await count(db, "runs"), 0);
      assert.equal(await count(db, "run_entries"), 0);
    });

    it("name the unknown id when loading a missing run", async () => {
      await saveRun(db, META, handRun());
      await assert.rejects(loadRun(db, "hand-00000000"), (e: unknown) => e instanceof DataError && /"hand-00000000"/.test(e.message) && /Runs named "hand"/.test(e.message));
    });
  });

  describe("metrics", () => {
    const result: EvalResult = {
      all: { "ndcg@10": 0.4795, map: 0.30130000000000001 },
      perQuery: { "1037798": { "ndcg@10": 0.123456789, map: 0 }, "104861": { "ndcg@10": 0.8359, map: 0.6023 } },
    };

    it("round-trip means and per-query values", async () => {
      const id = await saveRun(db, META, handRun());
      assert.deepStrictEqual(await loadMetrics(db, id), { all: {}, perQuery: {} });
      await saveMetrics(db, id, result, 2);
      assert.deepStrictEqual(await loadMetrics(db, id), result);
      const thresholds = await db.selectFrom("metrics").select("rel_threshold").distinct().execute();
      assert.deepEqual(thresholds, [{ rel_threshold: 2 }]);
    });

    it("replace the metrics saved again and keep the others", async () => {
      const id = await saveRun(db, META, handRun());
      await saveMetrics(db, id, result, 2);
      await saveMetrics(db, id, { all: { "ndcg@10": 0.5 }, perQuery: { "104861": { "ndcg@10": 0.5 } } }, 2);
      assert.deepStrictEqual(await loadMetrics(db, id), {
        all: { "ndcg@10": 0.5, map: result.all.map },
        perQuery: { "1037798": { map: 0 }, "104861": { "ndcg@10": 0.5, map: 0.6023 } },
      });
    });

    it("reject metrics of an unknown run, a NaN value and the reserved qid 'all'", async () => {
      await assert.rejects(saveMetrics(db, "nope-12345678", result, 1), DataError);
      const id = await saveRun(db, META, handRun());
      await assert.rejects(saveMetrics(db, id, { all: { map: NaN }, perQuery: {} }, 1), /map/);
      await assert.rejects(saveMetrics(db, id, { all: {}, perQuery: { all: { map: 1 } } }, 1), /reserved/);
      assert.equal(await count(db, "metrics"), 0);
    });

    it("are deleted with their run", async () => {
      const id = await saveRun(db, META, handRun());
      await saveMetrics(db, id, result, 2);
      await deleteRun(db, id);
      assert.equal(await count(db, "metrics"), 0);
    });
  });

  describe("datasets", () => {
    it("round-trip a hand-made dataset", async () => {
      const ds = handDataset();
      const row = await saveDataset(db, ds, "hand-made");
      assert.equal(row.name, "toy");
      assert.match(row.fingerprint, /^[0-9a-f]{64}$/);
      assert.deepStrictEqual(await loadStoredDataset(db, "toy"), ds);
      assert.deepEqual((await listDatasets(db)).map((d) => d.source), ["hand-made"]);
    });

    it("replace a dataset saved again, leaving no stale rows", async () => {
      await saveDataset(db, handDataset(), "v1");
      const v2 = handDataset();
      v2.queries.pop();
      v2.lists = v2.lists.slice(1);
      v2.lists[0].candidates[0].text = "passage one, fixed";
      v2.passages = new Map([["d1", { docid: "d1", text: "passage one, fixed" }]]);
      v2.qrels.delete("555");
      await saveDataset(db, v2, "v2");
      assert.deepStrictEqual(await loadStoredDataset(db, "toy"), v2);
      assert.equal(await count(db, "passages"), 1, "passages only the old version used are gone");
      assert.equal(await count(db, "queries"), 2);
      assert.equal((await listDatasets(db))[0].source, "v2");
    });

    it("share passages between datasets and refuse a second text for a docid", async () => {
      await saveDataset(db, handDataset("a"), "a");
      await saveDataset(db, handDataset("b"), "b");
      assert.equal(await count(db, "passages"), 2);
      const c = handDataset("c");
      c.passages.set("d2", { docid: "d2", text: "another text" });
      c.lists[0].candidates[0].text = "another text";
      await assert.rejects(saveDataset(db, c, "c"), (e: unknown) => e instanceof DataError && /docid d2/.test(e.message));
      assert.deepEqual((await listDatasets(db)).map((d) => d.name), ["a", "b"], "the failed save left nothing");
      assert.equal(await deleteDataset(db, "a"), true);
      assert.equal(await count(db, "passages"), 2, "b still uses them");
      assert.equal(await deleteDataset(db, "b"), true);
      assert.equal(await count(db, "passages"), 0);
    });

    it("reject inconsistent datasets naming the field", async () => {
      const noQuery = handDataset();
      noQuery.lists.push({ qid: "999", query: "q", candidates: [] });
      await assert.rejects(saveDataset(db, noQuery, "x"), /lists\[2\]\.qid/);
      const badText = handDataset();
      badText.lists[1].candidates[1].text = "not stored";
      await assert.rejects(saveDataset(db, badText, "x"), /lists\[1\]\.candidates\[1\]\.text/);
      const badScore = handDataset();
      badScore.lists[0].candidates[0].score = Infinity;
      await assert.rejects(saveDataset(db, badScore, "x"), /candidates\[0\]\.score/);
      await assert.rejects(loadStoredDataset(db, "toy"), /no datasets yet/);
      assert.equal(await count(db, "datasets"), 0);
    });
  });
});

describe("store files", () => {
  let dir: string;
  const savedEnv = { RRA_DB: process.env.RRA_DB, RRA_DB_URL: process.env.RRA_DB_URL };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rra-store-"));
    delete process.env.RRA_DB_URL;
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("use WAL for a file db and keep data across reopen", async () => {
    const file = join(dir, "sub", "rra.sqlite");
    let db = await openStore(file);
    const r = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
    assert.equal(r.rows[0].journal_mode, "wal");
    const busy = await sql<{ timeout: number }>`pragma busy_timeout`.execute(db);
    assert.equal(busy.rows[0].timeout, BUSY_TIMEOUT_MS);
    const id = await saveRun(db, META, handRun());
    await closeStore(db);
    db = await openStore(file);
    try {
      assert.deepStrictEqual(await loadRun(db, id), handRun());
    } finally {
      await closeStore(db);
    }
  });

  it("honour RRA_DB in defaultDbPath, else use <project root>/data/rra.sqlite", async () => {
    process.env.RRA_DB = join(dir, "env.sqlite");
    assert.equal(defaultDbPath(), join(dir, "env.sqlite"));
    const db = await openStore();
    await closeStore(db);
    assert.ok(existsSync(join(dir, "env.sqlite")));
    delete process.env.RRA_DB;
    assert.equal(defaultDbPath(), join(ROOT, "data", "rra.sqlite"));
  });

  it("take RRA_DB_URL over RRA_DB as the default store, and tell SQLite paths from postgres:// URLs", () => {
    process.env.RRA_DB = join(dir, "env.sqlite");
    assert.equal(defaultStoreTarget(), join(dir, "env.sqlite"));
    process.env.RRA_DB_URL = "postgres://u:pw@db.example:5432/rra";
    assert.equal(defaultStoreTarget(), "postgres://u:pw@db.example:5432/rra");
    assert.equal(defaultDbPath(), join(dir, "env.sqlite"), "defaultDbPath stays the SQLite file");
    assert.ok(isPostgresUrl("postgresql://h/db") && isPostgresUrl("POSTGRES://h/db") && !isPostgresUrl("data/postgres.sqlite"));
    assert.equal(redactStoreTarget("postgres://rra:s3cret@h:5432/db?x=1"), "postgres://rra:***@h:5432/db?x=1");
    assert.equal(redactStoreTarget("postgres://rra:p@ss@h/db"), "postgres://rra:***@h/db");
    assert.equal(redactStoreTarget("/data/rra.sqlite"), "/data/rra.sqlite");
  });

  it("say which PostgreSQL URL is malformed or unreachable, never printing the password", async () => {
    const secret = "pw-7f3a9c1e";
    for (const [url, pattern] of [
      [`postgres://rra:${secret}@/`, /expected a URL like postgres:\/\/user:password@host:5432\/database, got "postgres:\/\/rra:\*\*\*@\/"/],
      [`postgres://rra:${secret}@127.0.0.1:1/rra_test`, /cannot connect to PostgreSQL at "postgres:\/\/rra:\*\*\*@127\.0\.0\.1:1\/rra_test": connect ECONNREFUSED 127\.0\.0\.1:1\. Is the server running/],
    ] as const) {
      const e = await openStore(url).then(() => assert.fail(`opened ${url}`), (err: unknown) => err);
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes(secret) && !String(e.stack).includes(secret), e.message);
    }
  });
});
