import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataError } from "../../lib/core/errors";
import { writeFileAtomic } from "../../lib/core/files";

/** The fs module object itself (writable properties, unlike an ES namespace), to stub one call. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs = require("fs") as { fsyncSync: (fd: number) => void; writeSync: unknown };

describe("writeFileAtomic (issue 15 items 8 and 12)", () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), "rra-files-")); });

  it("writes through a temporary sibling, creating the folder, and replaces an old file", () => {
    const file = join(dir, "a", "b.txt");
    writeFileAtomic(file, "one\n");
    writeFileAtomic(file, Buffer.from("two\n"));
    assert.equal(readFileSync(file, "utf8"), "two\n");
    assert.deepEqual(readdirSync(join(dir, "a")), ["b.txt"]);
  });

  it("fsyncs the data before the rename (and the folder after it)", () => {
    const real = fs.fsyncSync;
    const synced: number[] = [];
    fs.fsyncSync = (fd: number) => { synced.push(fd); real(fd); };
    try {
      writeFileAtomic(join(dir, "x.txt"), "x");
    } finally {
      fs.fsyncSync = real;
    }
    assert.ok(synced.length >= 1, "fsyncSync was called");
  });

  it("refuses a target that is a folder, naming it, and leaves no temporary file", () => {
    const target = join(dir, "out");
    mkdirSync(target);
    assert.throws(() => writeFileAtomic(target, "x"), (e: unknown) => e instanceof DataError && e.file === target && /expected a file path to write, got a directory/.test(e.message));
    assert.deepEqual(readdirSync(dir), ["out"]);
    assert.deepEqual(readdirSync(target), []);
  });

  it("removes the temporary file when the write fails half way", () => {
    const file = join(dir, "half.txt");
    writeFileSync(file, "old");
    const real = fs.writeSync;
    fs.writeSync = () => { throw new Error("ENOSPC: no space left on device, write"); };
    try {
      assert.throws(() => writeFileAtomic(file, "new"), /half\.txt: expected a file that can be written, got ENOSPC: no space left on device/);
    } finally {
      fs.writeSync = real;
    }
    assert.deepEqual(readdirSync(dir), ["half.txt"], "no .tmp file is left behind");
    assert.equal(readFileSync(file, "utf8"), "old", "the old file is untouched");
  });
});
