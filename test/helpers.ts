/** Test helpers: temporary files and checking that a thrown DataError names the right place. */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { DataError } from "../lib/core/errors";

const dir = mkdtempSync(join(tmpdir(), "rra-test-"));
let n = 0;

/** Write `content` to a fresh temporary file and return its path. */
export function tempFile(name: string, content: string): string {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, content);
  return p;
}

/** Assert that `fn` throws a DataError for `file` (and `line` when given) whose message matches `pattern`. */
export function assertDataError(fn: () => unknown, where: { file: string; line?: number }, pattern: RegExp): DataError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${String(caught)}`);
  const e = caught as DataError;
  assert.equal(e.file, where.file);
  if (where.line !== undefined) assert.equal(e.line, where.line, `line in: ${e.message}`);
  assert.match(e.message, pattern);
  assert.ok(e.message.startsWith(where.file), `message names the file: ${e.message}`);
  return e;
}
