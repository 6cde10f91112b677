import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { lockStore, storeLockFile, StoreBusyError } from "../../lib/store/lock";
import { spawnCli } from "../cli/run-cli";

describe("store lock for runs that need the store alone (issue 15 item 9)", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), "rra-lock-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("needs no file for :memory: and PostgreSQL; a SQLite store's lock sits beside it (matched by .gitignore's data/*.sqlite-*)", () => {
    assert.equal(storeLockFile(":memory:"), null);
    assert.equal(storeLockFile("postgres://u:p@h/db"), null);
    assert.equal(storeLockFile("/x/data/rra.sqlite"), "/x/data/rra.sqlite-lock");
  });

  it("refuses a second holder while the first process lives, naming its command and pid", () => {
    const db = join(dir, "a.sqlite");
    // a lock held by another live process (a sleeping child)
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      writeFileSync(storeLockFile(db)!, JSON.stringify({ pid: child.pid, host: hostname(), command: "rra reproduce", since: "2026-12-02T07:00:00.000Z" }));
      assert.throws(() => lockStore(db, "rra reproduce"), (e: unknown) => e instanceof StoreBusyError &&
        new RegExp(`^another rra reproduce \\(pid ${child.pid}, since 2026-12-02T07:00:00\\.000Z\\) is using this store .*a\\.sqlite; wait for it to finish`).test(e.message));
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("takes over a lock whose process is gone, and removes its own on release", async () => {
    const db = join(dir, "b.sqlite");
    const gone = spawn(process.execPath, ["-e", "0"]);
    await new Promise((r) => gone.on("exit", r));
    writeFileSync(storeLockFile(db)!, JSON.stringify({ pid: gone.pid, host: hostname(), command: "rra reproduce", since: "earlier" }));
    const lock = lockStore(db, "rra reproduce");
    assert.equal(JSON.parse(readFileSync(lock.file!, "utf8")).pid, process.pid);
    lock.release();
    assert.equal(existsSync(storeLockFile(db)!), false);
  });

  it("rra reproduce refuses a store another rra reproduce holds, in one line (exit 1)", () => {
    const db = join(dir, "c.sqlite");
    writeFileSync(storeLockFile(db)!, JSON.stringify({ pid: process.pid, host: hostname(), command: "rra reproduce", since: "now" }));
    const r = spawnCli(["reproduce", "--fast", "--db", db, "--work", join(dir, "work"), "--results", join(dir, "r.md"), "--figures", join(dir, "fig"), "--export", join(dir, "exp")]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim(), `rra reproduce: another rra reproduce (pid ${process.pid}, since now) is using this store ${db}; wait for it to finish, or give this run another store (--db). If no such process runs, delete ${db}-lock`);
    assert.equal(existsSync(join(dir, "work")), false, "nothing was started");
  });
});
