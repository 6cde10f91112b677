/**
 * The SQL that differs between the store's two engines: SQLite (a file on one machine) and PostgreSQL
 * (a server a team shares). Migrations build their tables through `migrationSql(db)`, so the same
 * migrations create the SQLite schema (STRICT tables, `integer`, `real`, `integer primary key
 * autoincrement`) and the PostgreSQL one (`bigint`, `double precision`, identity ids). Store functions
 * take times from `nowIso` / `nowIsoPlus`, so every time is the database's clock in one text format.
 * Old migrations call these helpers: they must keep producing the same SQL for the dialects they know.
 */
import { PostgresAdapter, sql, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, type RawBuilder } from "kysely";
import { ConfigError, show } from "../core/errors";

/** The engine a store runs on. */
export type StoreDialect = "sqlite" | "postgres";

/** Which engine `db` (a store or one of its transactions) runs on. */
export function storeDialect(db: Kysely<any>): StoreDialect {
  // getExecutor is marked internal, but kysely's own Migrator reads the adapter this way; transactions share it.
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

/** PostgreSQL's to_char pattern of the store's time format, `2025-01-31T12:00:00.123Z` (fixed width, so text order is time order). */
const PG_ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** The current UTC time as ISO-8601 text with milliseconds, from the database clock (PostgreSQL: transaction start). */
export function nowIso(db: Kysely<any>): RawBuilder<string> {
  return storeDialect(db) === "postgres"
    ? sql<string>`(to_char(now() at time zone 'UTC', ${sql.raw(PG_ISO)}))`
    : sql<string>`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
}

/** The database clock's time now (PostgreSQL: the statement's own moment) plus `seconds`, in the `nowIso` format. */
export function nowIsoPlus(db: Kysely<any>, seconds: number): RawBuilder<string> {
  if (!Number.isFinite(seconds)) throw new ConfigError(`nowIsoPlus: seconds must be a finite number, got ${show(seconds)}`);
  if (storeDialect(db) === "postgres") {
    return sql<string>`(to_char((clock_timestamp() + make_interval(secs => ${seconds})) at time zone 'UTC', ${sql.raw(PG_ISO)}))`;
  }
  const modifier = `${seconds < 0 ? "-" : "+"}${Math.abs(seconds)} seconds`;
  return sql<string>`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${modifier}))`;
}

/** Column types and table options of one dialect, for migrations. */
export interface MigrationSql {
  dialect: StoreDialect;
  /** A 64-bit integer column: `integer` (SQLite) or `bigint` (PostgreSQL, whose `integer` is 32-bit). */
  int: "integer" | "bigint";
  /** A double-precision float column: `real` (SQLite) or `double precision` (PostgreSQL, whose `real` is 32-bit). */
  real: "real" | "double precision";
  /** Type of an auto-numbered id column; use with `autoId`. */
  id: "integer" | "bigint";
  /** Makes an `id` column the auto-numbered primary key (SQLite `autoincrement`, PostgreSQL identity). */
  autoId: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
  /** Default of `created_at` columns: the current time (see `nowIso`). */
  nowIso: RawBuilder<string>;
  /** `db.schema.createTable(name)`, as a STRICT table on SQLite (a value of the wrong type is refused). */
  table: (name: string) => CreateTableBuilder<string, never>;
}

/** The migration helpers for the dialect of `db`. */
export function migrationSql(db: Kysely<any>): MigrationSql {
  const dialect = storeDialect(db);
  if (dialect === "postgres") {
    return {
      dialect, int: "bigint", real: "double precision", id: "bigint",
      autoId: (c) => c.primaryKey().generatedByDefaultAsIdentity(),
      nowIso: nowIso(db),
      table: (name) => db.schema.createTable(name),
    };
  }
  return {
    dialect, int: "integer", real: "real", id: "integer",
    autoId: (c) => c.primaryKey().autoIncrement(),
    nowIso: nowIso(db),
    table: (name) => db.schema.createTable(name).modifyEnd(sql`strict`),
  };
}
