/** sessionStore: one open store per target for the process, so notebook cells can run in any order (issue 14 item 2). */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { closeSessionStores, sessionStore } from "../../lib/store/session";
import { listDatasets } from "../../lib/store/datasets";

describe("sessionStore", () => {
  const dir = mkdtempSync(join(tmpdir(), "rra-session-"));
  after(closeSessionStores);

  it("opens a target once and hands every caller the same open store; after closeSessionStores it opens again", async () => {
    const file = join(dir, "a.sqlite");
    const [a, b] = await Promise.all([sessionStore(file), sessionStore(file)]);
    assert.equal(a, b);
    assert.notEqual(await sessionStore(join(dir, "b.sqlite")), a);
    assert.deepEqual(await listDatasets(a), []);
    await closeSessionStores();
    const c = await sessionStore(file);
    assert.notEqual(c, a);
    assert.deepEqual(await listDatasets(c), []); // usable: a cell re-run after the "last" cell still works
    assert.ok(existsSync(file));
  });

  it("a target that fails to open is not remembered: the next call tries again", async () => {
    const file = join(dir, "not-sqlite.sqlite");
    writeFileSync(file, "this is not a database\n".repeat(50));
    await assert.rejects(sessionStore(file), /not.*SQLite|quick_check|database/i);
    writeFileSync(file, "");
    const db = await sessionStore(file);
    assert.deepEqual(await listDatasets(db), []);
  });
});
