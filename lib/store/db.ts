/**
 * Opening and closing the SQLite store. There is no global handle: `openStore` returns a migrated
 * `Kysely<Database>` that every store function takes as its first argument.
 */
import { mkdirSync } from "fs";
import { dirname, resolve } from "path";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { ConfigError } from "../core/errors";
import { projectPath } from "../core/paths";
import { migrateToLatest } from "./migrate";
import type { Database } from "./schema";

/** How long a write waits for another process's lock before failing with SQLITE_BUSY, in ms. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * Bound variables per statement we allow ourselves. SQLite's default limit is 32766 since 3.32
 * (999 before); staying far below it keeps statements short and portable.
 */
export const MAX_SQL_VARIABLES = 999;

/** The database file: env `RRA_DB` when set (`:memory:` allowed), else `<project root>/data/rra.sqlite`. */
export function defaultDbPath(): string {
  const env = process.env.RRA_DB;
  if (env !== undefined && env.trim() !== "") return env === ":memory:" ? env : resolve(env);
  return projectPath("data", "rra.sqlite");
}

/**
 * Open (creating if needed) and migrate the store. File databases use WAL so that readers (notebooks)
 * and a writer (training) can work at once; every connection enforces foreign keys.
 */
export async function openStore(path: string = defaultDbPath()): Promise<Kysely<Database>> {
  if (typeof path !== "string" || path.trim() === "") {
    throw new ConfigError(`openStore: expected a database file path or ":memory:", got ${JSON.stringify(path)}`);
  }
  const memory = path === ":memory:";
  if (!memory) mkdirSync(dirname(resolve(path)), { recursive: true });
  let sqlite: SQLite.Database;
  try {
    sqlite = new SQLite(path);
  } catch (e) {
    throw new ConfigError(`openStore: cannot open SQLite database ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  try {
    if (!memory) sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (e) {
    sqlite.close();
    throw e;
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    await migrateToLatest(db);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return db;
}

/** Close the store and its SQLite connection (checkpointing the WAL). */
export async function closeStore(db: Kysely<Database>): Promise<void> {
  await db.destroy();
}

/** Split rows into chunks whose bound variables (`rows × columns`) stay under `MAX_SQL_VARIABLES`. */
export function chunkRows<T>(rows: readonly T[], columns: number): T[][] {
  const size = Math.max(1, Math.floor(MAX_SQL_VARIABLES / Math.max(1, columns)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}
