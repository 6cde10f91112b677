/** Bench runs in the store (`bench_runs`, migration 0004_bench): insert a report, read them back. */
import type { Kysely } from "kysely";
import { DataError } from "../core/errors";
import type { BenchRunRow, Database } from "../store/schema";
import type { BenchConfig } from "./config";
import type { BenchReport } from "./types";

/** A stored bench run, parsed. */
export interface StoredBenchRun {
  id: number;
  createdAt: string;
  config: BenchConfig;
  report: BenchReport;
  versions: Record<string, string>;
}

/** Insert a report; returns the row id. */
export async function saveBenchRun(db: Kysely<Database>, report: BenchReport): Promise<number> {
  const row = await db.insertInto("bench_runs")
    .values({ config_json: JSON.stringify(report.config), results_json: JSON.stringify(report), versions_json: JSON.stringify(report.versions) })
    .returning("id")
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

function parse(row: BenchRunRow): StoredBenchRun {
  const json = <T>(text: string, field: string): T => {
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new DataError({ file: `bench_runs id ${row.id}`, field }, "JSON", text.slice(0, 60));
    }
  };
  return { id: row.id, createdAt: row.created_at, config: json(row.config_json, "config_json"), report: json(row.results_json, "results_json"), versions: json(row.versions_json, "versions_json") };
}

/** Every stored bench run, newest first (at most `limit`). */
export async function listBenchRuns(db: Kysely<Database>, limit = 100): Promise<StoredBenchRun[]> {
  const rows = await db.selectFrom("bench_runs").selectAll().orderBy("id", "desc").limit(limit).execute();
  return rows.map(parse);
}
