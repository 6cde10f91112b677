/**
 * A store used by one run alone. Most writers share a store safely (SQLite transactions wait for each
 * other, db.ts), but a run such as `rra reproduce` rebuilds whole parts of it and must not interleave with
 * another: it takes this lock, a file beside the SQLite file (`<db>-lock`, JSON {pid, host, command,
 * since}) created exclusively. A second run is refused with the holder's command and pid; a lock whose
 * process is gone (killed) is taken over. `:memory:` and PostgreSQL stores need no file lock.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "fs";
import { hostname } from "os";
import { resolve } from "path";
import { RraError } from "../core/errors";
import { alive } from "../core/process";
import { isPostgresUrl } from "./db";

/** Another run holds the store. */
export class StoreBusyError extends RraError {}

/** What the lock file holds. */
export interface StoreLockInfo {
  pid: number;
  host: string;
  /** The command line that holds it, e.g. "rra reproduce". */
  command: string;
  /** ISO time it was taken. */
  since: string;
}

/** A held lock; `release` is idempotent and also runs when the process exits. */
export interface StoreLock {
  file: string | null;
  release(): void;
}

/** The lock file of a store target, or null when the target needs none (:memory:, postgres://). */
export function storeLockFile(target: string): string | null {
  if (target === ":memory:" || isPostgresUrl(target)) return null;
  return `${resolve(target)}-lock`;
}


function readLock(file: string): StoreLockInfo | null {
  try {
    const o = JSON.parse(readFileSync(file, "utf8")) as Partial<StoreLockInfo>;
    return typeof o.pid === "number" ? { pid: o.pid, host: String(o.host ?? ""), command: String(o.command ?? "rra"), since: String(o.since ?? "?") } : null;
  } catch {
    return null; // being written right now, or damaged
  }
}

/**
 * Take the store alone for `command`, or throw StoreBusyError: "another rra reproduce (pid N, since T) is
 * using this store". A lock left by a process that is gone is taken over.
 */
export function lockStore(target: string, command: string): StoreLock {
  const file = storeLockFile(target);
  if (file === null) return { file: null, release: () => undefined };
  const me: StoreLockInfo = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, "wx");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new RraError(`store lock: cannot create ${file}: ${(e as Error).message}`);
      const holder = readLock(file);
      if (holder && holder.pid !== process.pid && (holder.host !== me.host || alive(holder.pid))) {
        throw new StoreBusyError(`another ${holder.command} (pid ${holder.pid}${holder.host !== me.host ? ` on ${holder.host}` : ""}, since ${holder.since}) is using this store ${target}; ` +
          `wait for it to finish, or give this run another store (--db). If no such process runs, delete ${file}`);
      }
      if (holder === null && attempt === 0) {
        // a lock being written this instant: look again once
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        continue;
      }
      try { unlinkSync(file); } catch { /* taken over by someone else meanwhile */ }
      continue;
    }
    writeSync(fd, JSON.stringify(me) + "\n");
    closeSync(fd);
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      process.off("exit", release);
      const now = readLock(file);
      if (now?.pid === process.pid) {
        try { unlinkSync(file); } catch { /* already gone */ }
      }
    };
    process.on("exit", release);
    return { file, release };
  }
  throw new StoreBusyError(`store lock: could not take ${file} (another process keeps taking it)`);
}
