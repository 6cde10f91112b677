/**
 * Opening and closing the store: a SQLite file (one machine) or a PostgreSQL database (a team; see
 * environment.md, "PostgreSQL store for a team"). There is no global handle: `openStore` returns a
 * migrated `Kysely<Database>` that every store function takes as its first argument.
 */
import { existsSync, mkdirSync, statSync } from "fs";
import { dirname, resolve } from "path";
import SQLite from "better-sqlite3";
import { CompiledQuery, Kysely, PostgresDialect, SqliteAdapter, SqliteDialect, type DatabaseConnection, type Driver } from "kysely";
import type { PoolConfig } from "pg";
import { ConfigError, DataError } from "../core/errors";
import { projectPath } from "../core/paths";
import { migrateToLatest } from "./migrate";
import type { Database } from "./schema";

/** How long a write waits for another process's lock before failing with SQLITE_BUSY, in ms. */
export const BUSY_TIMEOUT_MS = 10_000;

/** How long opening a PostgreSQL store waits for a connection before saying the server is unreachable, in ms. */
export const PG_CONNECT_TIMEOUT_MS = 10_000;

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

/** The store to open by default: env `RRA_DB_URL` (a `postgres://` URL) when set, else `defaultDbPath()`. */
export function defaultStoreTarget(): string {
  const url = process.env.RRA_DB_URL;
  return url !== undefined && url.trim() !== "" ? url.trim() : defaultDbPath();
}

/** True for a `postgres://` or `postgresql://` URL (the other store targets are SQLite paths). */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/** `scheme://user:` and the password of a URL (up to the last `@` before the path), for redaction. */
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):([^/?#]*)@/i;

/** A store target fit for messages: the password of a URL replaced by `***`. */
export function redactStoreTarget(target: string): string {
  return target.replace(URL_PASSWORD, "$1:***@");
}

/**
 * Open (creating if needed) and migrate the store: a SQLite file path, `:memory:`, or a
 * `postgres://user:password@host:port/db` URL (add `?options=-c%20search_path%3Dname` for another schema
 * than `public`). SQLite files use WAL so that readers (notebooks) and a writer (training) can work at
 * once; every SQLite connection enforces foreign keys (PostgreSQL always does).
 */
export async function openStore(target: string = defaultStoreTarget()): Promise<Kysely<Database>> {
  if (typeof target !== "string" || target.trim() === "") {
    throw new ConfigError(`openStore: expected a SQLite file path, ":memory:" or a postgres:// URL, got ${JSON.stringify(target)}`);
  }
  const db = isPostgresUrl(target) ? await openPostgres(target) : openSqlite(target);
  try {
    await migrateToLatest(db);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return db;
}

/**
 * SQLite as several processes share it: every transaction starts with BEGIN IMMEDIATE (it takes the write
 * lock first, waiting up to the busy timeout, instead of failing with SQLITE_BUSY when a reader turns
 * writer while another process writes), and migrations run in one such transaction (SQLite's DDL is
 * transactional), so two processes opening a fresh store do not both create its tables.
 */
class SharedSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw("begin immediate"));
    };
    return driver;
  }

  override createAdapter(): SqliteAdapter {
    return new (class extends SqliteAdapter {
      override get supportsTransactionalDdl(): boolean {
        return true;
      }
    })();
  }
}

const DAMAGED_HINT = "Nothing was written to it. Restore it from a copy, or start a new store with another --db / RRA_DB (rra reproduce imports the shipped data again)";

/** The first lines of SQLite's quick_check, or null when it says ok. */
function quickCheck(sqlite: SQLite.Database): string | null {
  const rows = sqlite.pragma("quick_check(5)", { simple: false }) as Array<{ quick_check: string }>;
  const problems = rows.map((r) => r.quick_check).filter((t) => t !== "ok");
  return problems.length > 0 ? problems.join("; ") : null;
}

/** A SQLite store (not yet migrated); a file that is not SQLite or fails quick_check is refused, naming it. */
function openSqlite(path: string): Kysely<Database> {
  const memory = path === ":memory:";
  if (!memory) {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    if (existsSync(path) && statSync(path).isDirectory()) throw new DataError({ file: path }, "a SQLite database file (--db or RRA_DB)", "a directory");
  }
  let sqlite: SQLite.Database;
  try {
    sqlite = new SQLite(path);
  } catch (e) {
    throw new ConfigError(`openStore: cannot open SQLite database ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  try {
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!memory) {
      const damage = quickCheck(sqlite);
      if (damage !== null) {
        throw new DataError({ file: path }, "a sound SQLite database (PRAGMA quick_check: ok)", `a damaged one: ${damage.replace(/\*\*\* in database main \*\*\*\s*/g, "")}`, DAMAGED_HINT);
      }
      sqlite.pragma("journal_mode = WAL");
    }
    sqlite.pragma("foreign_keys = ON");
  } catch (e) {
    sqlite.close();
    if (e instanceof DataError) throw e;
    const code = (e as { code?: string }).code;
    if (code === "SQLITE_NOTADB") {
      throw new DataError({ file: path }, "a SQLite database file (--db or RRA_DB), or a postgres:// URL", `a file that is not one (${(e as Error).message})`,
        "Nothing was written to it; point --db at a SQLite file (a new one is created) or a postgres:// URL");
    }
    if (code?.startsWith("SQLITE_CORRUPT")) {
      throw new DataError({ file: path }, "a sound SQLite database (PRAGMA quick_check: ok)", `a damaged one (${(e as Error).message})`, DAMAGED_HINT);
    }
    throw new ConfigError(`openStore: cannot use SQLite database ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  return new Kysely<Database>({ dialect: new SharedSqliteDialect({ database: sqlite }) });
}

/**
 * PostgreSQL hands 64-bit integers (`bigint`, int8) and `numeric` to JS as strings; the store's values are
 * all far inside the safe-integer range (as they are on SQLite), so they come back as numbers.
 */
function pgNumberTypes(pgTypes: typeof import("pg").types): PoolConfig["types"] {
  return {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === pgTypes.builtins.INT8 || oid === pgTypes.builtins.NUMERIC ? (v: string) => Number(v) : pgTypes.getTypeParser(oid, format)) as typeof pgTypes.getTypeParser,
  };
}

/** A PostgreSQL store (not yet migrated); says clearly, without the password, when the server cannot be reached. */
async function openPostgres(url: string): Promise<Kysely<Database>> {
  const shown = redactStoreTarget(url);
  try {
    const parsed = new URL(url);
    if (parsed.hostname === "" && !parsed.searchParams.has("host")) throw new Error("no host");
    if (parsed.pathname.replace(/^\//, "") === "") throw new Error("no database name");
  } catch (e) {
    throw new ConfigError(`openStore: expected a URL like postgres://user:password@host:5432/database, got ${JSON.stringify(shown)} (${(e as Error).message})`);
  }
  // pg is required here, not at the top: a SQLite store (every notebook by default) never loads it.
  const { Pool, types: pgTypes } = require("pg") as typeof import("pg");
  const pool = new Pool({ connectionString: url, types: pgNumberTypes(pgTypes), connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS, application_name: "rra" });
  // An idle connection the server drops (restart, admin) must not crash the process; the pool replaces it.
  pool.on("error", (e) => process.stderr.write(`[store] PostgreSQL connection to ${shown} lost: ${e.message}\n`));
  try {
    const client = await pool.connect();
    client.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    const password = URL_PASSWORD.exec(url)?.[2] ?? "";
    let why = (e as Error).message || String(e);
    for (const p of new Set([password, safeDecode(password)])) if (p.length > 0) why = why.split(p).join("***");
    throw new ConfigError(`openStore: cannot connect to PostgreSQL at ${JSON.stringify(shown)}: ${why}. ` +
      "Is the server running and are host, port, user, password and database right? (RRA_DB_URL or --db; see environment.md)");
  }
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** `decodeURIComponent`, or the text itself when it is not valid percent-encoding. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Close the store: its SQLite connection (checkpointing the WAL) or its PostgreSQL connection pool. */
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
