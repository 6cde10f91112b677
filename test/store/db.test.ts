import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { DataError } from "../../lib/core/errors";
import { closeStore, openStore } from "../../lib/store/db";

const ROOT = resolve(__dirname, "..", "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

/** Run the store writer fixture as a child process. */
function writer(db: string, transactions: number): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(TSX, [join(ROOT, "test/fixtures/store-writer.ts"), db, String(transactions)], { cwd: ROOT });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => done({ code, out }));
  });
}

describe("SQLite store shared and checked (lib/store/db.ts)", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), "rra-sqlite-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("three processes migrate a fresh store and write to it at once without SQLITE_BUSY (issue 15 item 9)", async () => {
    const db = join(dir, "shared.sqlite");
    const runs = await Promise.all([writer(db, 150), writer(db, 150), writer(db, 150)]);
    for (const r of runs) assert.equal(r.code, 0, r.out);
    const store = await openStore(db);
    try {
      const rows = await store.selectFrom("datasets").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
      assert.equal(Number(rows.n), 450, "every transaction of every writer is stored");
    } finally {
      await closeStore(store);
    }
  });

  it("refuses a --db that is not SQLite, naming it, and leaves the file as it was (issue 15 item 10)", async () => {
    const file = join(dir, "notes.txt");
    writeFileSync(file, "these are my notes, not a database\n".repeat(20));
    await assert.rejects(openStore(file), (e: unknown) => e instanceof DataError && e.file === file &&
      /expected a SQLite database file \(--db or RRA_DB\), or a postgres:\/\/ URL, got a file that is not one \(file is not a database\)/.test(e.message));
    assert.equal(readFileSync(file, "utf8"), "these are my notes, not a database\n".repeat(20));
  });

  it("refuses a damaged SQLite file by its quick_check and writes nothing to it (issue 15 item 10)", async () => {
    const file = join(dir, "damaged.sqlite");
    await closeStore(await openStore(file));
    const raw = new SQLite(file);
    const root = (raw.prepare("select rootpage from sqlite_master where name = 'label_claims'").get() as { rootpage: number }).rootpage;
    const pageSize = raw.pragma("page_size", { simple: true }) as number;
    raw.close();
    // the page's first-freeblock offset points near its end: a freeblock running off the page
    const bytes = readFileSync(file);
    bytes.writeUInt16BE(pageSize - 16, (root - 1) * pageSize + 1);
    writeFileSync(file, bytes);
    await assert.rejects(openStore(file), (e: unknown) => e instanceof DataError && e.file === file &&
      /expected a sound SQLite database \(PRAGMA quick_check: ok\), got a damaged one: .*free space corruption\. Nothing was written to it/.test(e.message));
    assert.deepEqual(readFileSync(file), bytes, "not a byte changed");
  });
});
