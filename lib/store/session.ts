/**
 * Stores that live as long as the process: a notebook kernel opens its store on first use and every cell
 * (re-run in any order, edited, run again after the last one) gets the same open store. Nothing closes it
 * from a cell; the process releases it when it ends (SQLite keeps every committed write: its WAL is
 * replayed on the next open), or `closeSessionStores()` does it explicitly (scripts, tests).
 */
import type { Kysely } from "kysely";
import { closeStore, defaultStoreTarget, openStore } from "./db";
import type { Database } from "./schema";

const open = new Map<string, Promise<Kysely<Database>>>();

/** The store at `target` (default: RRA_DB_URL, else RRA_DB, else data/rra.sqlite), opened once per process and reused. Do not closeStore it. */
export function sessionStore(target: string = defaultStoreTarget()): Promise<Kysely<Database>> {
  let p = open.get(target);
  if (!p) {
    p = openStore(target);
    open.set(target, p);
    p.catch(() => open.delete(target)); // a failed open is retried by the next call (after the user fixed the cause)
  }
  return p;
}

/** Close every store sessionStore opened (the next sessionStore call opens it again). */
export async function closeSessionStores(): Promise<void> {
  const all = [...open.values()];
  open.clear();
  for (const p of all) {
    const db = await p.catch(() => null);
    if (db) await closeStore(db);
  }
}
