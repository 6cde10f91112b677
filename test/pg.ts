/**
 * Test stores on both engines. A SQLite test store is `:memory:`; a PostgreSQL one lives in a fresh schema
 * of the test database (env RRA_TEST_PG_URL, default the database scripts/setup-postgres.sh creates),
 * reached through the URL's search_path and dropped when the test closes it.
 * When the server cannot be reached the PostgreSQL suites are pending, with the reason printed once; with
 * env CI or RRA_TEST_PG_URL set they fail instead (CI must prove the PostgreSQL store works).
 */
import { randomBytes } from "crypto";
import type { Kysely } from "kysely";
import { Client } from "pg";
import { closeStore, openStore, redactStoreTarget } from "../lib/store/db";
import type { Database } from "../lib/store/schema";

/** The PostgreSQL test database: env RRA_TEST_PG_URL, else the one scripts/setup-postgres.sh creates. */
export const PG_TEST_URL = process.env.RRA_TEST_PG_URL?.trim() || "postgres://rra:rra@127.0.0.1:5432/rra_test";

/** The store engines every backend-parametrised suite runs on. */
export const BACKENDS = ["sqlite", "postgres"] as const;
/** A store engine. */
export type Backend = (typeof BACKENDS)[number];

/** A store opened for one test: its handle, the target another process may open, and `close` (drops a PostgreSQL schema). */
export interface TestStore {
  db: Kysely<Database>;
  /** What `openStore` / `--db` take to reach the same store (":memory:" cannot be shared). */
  target: string;
  close(): Promise<void>;
}

/** Prefix of test schemas; the part after it is the creation time in base 36, so stale ones can be found. */
const SCHEMA_PREFIX = "rra_t_";
const STALE_MS = 3_600_000;

let reachable: Promise<string | null> | undefined;

/** Run `fn` on one short-lived connection to the test database. */
async function withClient<T>(fn: (c: Client) => Promise<T>, url = PG_TEST_URL): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** null when the test database answers, else why not (checked once per process; drops test schemas older than an hour). */
export function pgUnavailable(): Promise<string | null> {
  reachable ??= withClient(async (c) => {
    const { rows } = await c.query<{ nspname: string }>("select nspname from pg_namespace where nspname like $1", [`${SCHEMA_PREFIX}%`]);
    for (const { nspname } of rows) {
      const born = parseInt(nspname.slice(SCHEMA_PREFIX.length).split("_")[0], 36);
      if (Date.now() - born > STALE_MS) await c.query(`drop schema if exists "${nspname}" cascade`);
    }
    return null;
  }).catch((e: Error) => e.message || String(e));
  return reachable;
}

let warned = false;

/** For a `before` hook of a PostgreSQL suite: pending when the server is unreachable, failing under CI or an explicit URL. */
export async function requirePg(ctx: Mocha.Context): Promise<void> {
  const why = await pgUnavailable();
  if (why === null) return;
  const message = `PostgreSQL test database ${redactStoreTarget(PG_TEST_URL)} unreachable (${why}); ` +
    "start it with `bash scripts/setup-postgres.sh` or point RRA_TEST_PG_URL at one";
  if (process.env.CI || process.env.RRA_TEST_PG_URL) throw new Error(message);
  if (!warned) console.warn(`      [pending] ${message}`);
  warned = true;
  ctx.skip();
}

/** A fresh, empty schema of the test database: its name, the URL that makes it the search_path, and `drop`. */
export async function createPgSchema(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${SCHEMA_PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await withClient((c) => c.query(`create schema "${name}"`));
  const url = new URL(PG_TEST_URL);
  url.searchParams.set("options", `-c search_path=${name}`);
  return { name, url: url.toString(), drop: () => withClient((c) => c.query(`drop schema if exists "${name}" cascade`)).then(() => undefined) };
}

/** A migrated store for one test: `:memory:` SQLite, or PostgreSQL in a fresh schema. */
export async function openTestStore(backend: Backend): Promise<TestStore> {
  if (backend === "sqlite") {
    const db = await openStore(":memory:");
    return { db, target: ":memory:", close: () => closeStore(db) };
  }
  const schema = await createPgSchema();
  let db: Kysely<Database>;
  try {
    db = await openStore(schema.url);
  } catch (e) {
    await schema.drop();
    throw e;
  }
  return {
    db,
    target: schema.url,
    close: async () => {
      await closeStore(db);
      await schema.drop();
    },
  };
}

/** `describe(`${title} (${backend})`)` for every backend; PostgreSQL suites get the `requirePg` hook first. */
export function describeBackends(title: string, body: (backend: Backend) => void): void {
  for (const backend of BACKENDS) {
    describe(`${title} (${backend})`, function () {
      if (backend === "postgres") {
        before(async function () {
          await requirePg(this);
        });
      }
      body(backend);
    });
  }
}

/**
 * A fresh store for every test of a `describeBackends` suite, closed (PostgreSQL schema dropped) after it.
 * `onOpen` receives each test's handle (assign it to the suite's `db`) and may prepare rows.
 */
export function storePerTest(backend: Backend, onOpen: (db: Kysely<Database>) => void | Promise<void>): void {
  let store: TestStore | undefined;
  beforeEach(async () => {
    store = await openTestStore(backend);
    await onOpen(store.db);
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
}
