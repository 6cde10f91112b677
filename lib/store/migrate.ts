/**
 * Schema migrations from a static, ordered table (no directory globbing), so they run the same from any
 * working directory, from tsx, from compiled JS and from notebooks. Add a migration by writing
 * `migrations/000N_name.ts` and listing it in `MIGRATIONS`. The same migrations run on SQLite and on
 * PostgreSQL (see dialect.ts); on PostgreSQL the bookkeeping tables live in the connection's current
 * schema (its search_path), next to the store's tables.
 */
import { Migrator, NO_MIGRATIONS, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from "kysely";
import { ConfigError, RraError } from "../core/errors";
import { storeDialect } from "./dialect";
import * as m0001 from "./migrations/0001_init";
import * as m0002 from "./migrations/0002_labels";
import * as m0003 from "./migrations/0003_training";
import * as m0004 from "./migrations/0004_bench";
import * as m0005 from "./migrations/0005_claims";
import * as m0006 from "./migrations/0006_lexicons";
import * as m0007 from "./migrations/0007_train_init";

/** Every migration by name; names sort in the order they must run. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  "0001_init": m0001,
  "0002_labels": m0002,
  "0003_training": m0003,
  "0004_bench": m0004,
  "0005_claims": m0005,
  "0006_lexicons": m0006,
  "0007_train_init": m0007,
});

/** A kysely migration provider over a fixed table of migrations, each run in its own transaction. */
export function createMigrationProvider(migrations: Readonly<Record<string, Migration>> = MIGRATIONS): MigrationProvider {
  const atomic: Record<string, Migration> = {};
  for (const [name, m] of Object.entries(migrations)) atomic[name] = inTransaction(m);
  return { getMigrations: async () => atomic };
}

/**
 * A kysely `Migrator` for the store's migrations (bookkeeping in `kysely_migration`). `schema` names the
 * PostgreSQL schema of the bookkeeping tables (`migrateToLatest` passes the current one); leave it out on SQLite.
 */
export function createMigrator(db: Kysely<any>, migrations: Readonly<Record<string, Migration>> = MIGRATIONS, schema?: string): Migrator {
  return new Migrator({ db, provider: createMigrationProvider(migrations), ...(schema !== undefined ? { migrationTableSchema: schema } : {}) });
}

/** Apply every pending migration; throws an `RraError` naming the migration that failed. Returns the names applied. */
export async function migrateToLatest(db: Kysely<any>, migrations: Readonly<Record<string, Migration>> = MIGRATIONS): Promise<string[]> {
  return checked(await createMigrator(db, migrations, await bookkeepingSchema(db)).migrateToLatest(), "up");
}

/** Revert every applied migration (drops all store tables); returns the names reverted, newest first. */
export async function migrateDownAll(db: Kysely<any>, migrations: Readonly<Record<string, Migration>> = MIGRATIONS): Promise<string[]> {
  return checked(await createMigrator(db, migrations, await bookkeepingSchema(db)).migrateTo(NO_MIGRATIONS), "down");
}

/**
 * PostgreSQL: the connection's current schema. kysely looks its bookkeeping tables up in every schema of
 * the database unless told which one, so a second store (another schema) would find the first one's.
 */
async function bookkeepingSchema(db: Kysely<any>): Promise<string | undefined> {
  if (storeDialect(db) !== "postgres") return undefined;
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema ?? null;
  if (schema === null) {
    const path = await sql<{ search_path: string }>`show search_path`.execute(db);
    throw new ConfigError(`store: the PostgreSQL search_path (${path.rows[0]?.search_path}) names no existing schema; create it (create schema ...) or fix the URL's options=-c search_path=...`);
  }
  return schema;
}

/**
 * kysely's SQLite adapter reports no transactional DDL, so the migrator runs migrations bare; SQLite does
 * roll DDL back, so each migration gets its own transaction and a failure leaves no half-made schema.
 * On PostgreSQL the migrator already runs them inside one transaction (its DDL is transactional too).
 */
function inTransaction(m: Migration): Migration {
  const down = m.down;
  return {
    up: (db) => (db.isTransaction ? m.up(db) : db.transaction().execute((trx) => m.up(trx))),
    down: down ? (db) => (db.isTransaction ? down(db) : db.transaction().execute((trx) => down(trx))) : undefined,
  };
}

/** Turn kysely's result set into the names that ran, or a thrown error that says which one failed. */
function checked({ error, results }: MigrationResultSet, direction: "up" | "down"): string[] {
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    const cause = error instanceof Error ? error.message : String(error);
    const where = failed !== undefined ? `migration "${failed}" (${direction})` : `migrations (${direction}, before any ran)`;
    const done = (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
    const err = new RraError(
      `store: ${where} failed: ${cause}` +
        (done.length ? `; applied before it: ${done.join(", ")}` : "") +
        ". The failing migration was rolled back; fix it, or open a fresh store (RRA_DB file, RRA_DB_URL database or schema).",
    );
    Object.defineProperty(err, "cause", { value: error, enumerable: false });
    throw err;
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
