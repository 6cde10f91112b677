/**
 * The baseline stage of `rra reproduce`: load the shipped datasets into the store, evaluate every
 * shipped run with trec_eval's rules, store runs and metrics with their provenance, and compare the
 * re-rankers with BM25 per year.
 */
import { join } from "path";
import type { Kysely } from "kysely";
import { ConfigError } from "../core/errors";
import { provenance } from "../core/provenance";
import { dataDir, DATASET_NAMES, loadDataset, shippedRuns } from "../data/datasets";
import { readRun } from "../data/trec";
import type { Dataset } from "../data/types";
import { compareSystems, type ComparisonRow } from "../eval/compare";
import { evaluateRun } from "../eval/evaluate";
import { DEFAULT_SHIPPED_SYSTEMS } from "../eval/baselines";
import { saveDataset } from "../store/datasets";
import { saveMetrics, saveRun } from "../store/runs";
import type { Database } from "../store/schema";

/** Options of `runBaselineStage`. */
export interface BaselineStageOptions {
  metrics?: readonly string[];
  relThreshold?: number;
  /** Systems in the comparison tables (all shipped runs are evaluated and stored). */
  systems?: readonly string[];
  seed?: number;
  /** Called with a line of progress. */
  log?: (line: string) => void;
}

/** What the stage produced. */
export interface BaselineStageResult {
  datasets: Dataset[];
  /** Stored run ids by `${year}/${system}`. */
  runIds: Record<string, string>;
  /** Comparison rows per year. */
  comparisons: Record<"dl19" | "dl20", ComparisonRow[]>;
}

/** The metrics the baseline stage stores for every run. */
export const BASELINE_METRICS: readonly string[] = ["ndcg@1", "ndcg@5", "ndcg@10", "ndcg@20", "mrr@10", "map", "p@10", "recall@20", "recall@100", "judged@10"];

/** Run the baseline stage against an open store. */
export async function runBaselineStage(db: Kysely<Database>, options: BaselineStageOptions = {}): Promise<BaselineStageResult> {
  const { metrics = BASELINE_METRICS, relThreshold = 2, systems = DEFAULT_SHIPPED_SYSTEMS, seed = 42, log = () => undefined } = options;
  const prov = provenance();
  const datasets: Dataset[] = [];
  for (const name of DATASET_NAMES) {
    const d = loadDataset(name);
    await saveDataset(db, d, join(dataDir(), name === "noveleval" ? "noveleval" : "trec-dl-2019-2020"));
    datasets.push(d);
    log(`stored dataset ${name}: ${d.queries.length} queries, ${d.lists.length} candidate lists`);
  }
  const runIds: Record<string, string> = {};
  const perQuery: Record<string, Record<string, Record<string, Record<string, number>>>> = { dl19: {}, dl20: {} };
  for (const r of shippedRuns()) {
    const qrels = datasets.find((d) => d.name === r.dataset)!.qrels;
    const run = readRun(join(dataDir(), r.file));
    const result = evaluateRun(qrels, run, { metrics, relThreshold });
    const config = { file: r.file, metrics, relThreshold, querySet: "qrels" };
    const id = await saveRun(db, {
      name: `${r.system}-${r.dataset}`, dataset: r.dataset, source: r.file, config,
      versions: { node: prov.node, ...prov.packages }, gitSha: prov.gitSha,
    }, run);
    await saveMetrics(db, id, result, relThreshold);
    runIds[`${r.dataset}/${r.system}`] = id;
    perQuery[r.dataset][r.system] = result.perQuery;
    log(`stored run ${id}: ndcg@10 ${result.all["ndcg@10"]?.toFixed(4) ?? "-"}`);
  }
  const comparisons = {} as BaselineStageResult["comparisons"];
  for (const year of ["dl19", "dl20"] as const) {
    const missing = systems.filter((s) => !perQuery[year][s]);
    if (missing.length) throw new ConfigError(`baseline stage: no shipped ${year} run for ${missing.join(", ")}; available: ${Object.keys(perQuery[year]).join(", ")}`);
    comparisons[year] = compareSystems({
      systems: systems.map((s) => ({ name: s, perQuery: perQuery[year][s] })),
      baseline: systems[0], metrics: ["ndcg@10", "mrr@10", "map", "recall@20"], seed,
    });
  }
  return { datasets, runIds, comparisons };
}
