/**
 * The cross-validation protocol beside the year-against-year one: the labelled queries of both TREC DL
 * years are pooled (97 queries; their qids are distinct) and dealt into K outer folds (run-data.ts
 * queryFolds, salt "outer"); for each fold a student trains on the other folds' queries (selecting its
 * epoch count on inner folds of them, select.ts) and re-ranks the fold's first-stage lists. Every
 * labelled query is tested exactly once, by a model that never trained or selected on it, so the paired
 * tests run over all 97 queries instead of one year's 43 or 54. NovelEval's 21 queries have no shipped
 * teacher ranking: they are never trained on and each is tested by the model of its own outer fold
 * (BM25 over its 20 candidates as the first stage), as a second, unseen domain.
 */
import { join } from "path";
import type { Kysely } from "kysely";
import { ConfigError, show } from "../core/errors";
import { interruptCheck } from "../core/interrupt";
import { dataDir, loadDataset, mergeDatasets, shippedRuns } from "../data/datasets";
import { readRun } from "../data/trec";
import type { Dataset, RankedList, Run } from "../data/types";
import { novelEvalBm25Lists } from "../ablate/run";
import { compareSystems, type ComparisonRow } from "../eval/compare";
import { evaluateRun } from "../eval/evaluate";
import type { PerQuery } from "../eval/types";
import type { Database } from "../store/schema";
import { resolveTrainConfig, trainRunId, type TrainResult } from "../train/config";
import { trainStudent } from "../train/loop";
import { loadReranker } from "../train/reranker";
import { queryFolds } from "../train/run-data";
import { trainSelected } from "../train/select";
import type { StudentSpec } from "./students";

/** What to cross-validate. */
export interface CrossValSpec {
  students: readonly StudentSpec[];
  /** Labelled datasets pooled for training and testing. Default ["dl19", "dl20"]. */
  datasets?: ReadonlyArray<"dl19" | "dl20">;
  /** Also test each fold's model on its share of NovelEval. Default true. */
  noveleval?: boolean;
  /** Outer folds K. Default 5. */
  folds?: number;
  seeds: readonly number[];
  /** Model directories under `<out>/<runId>`; finished runs are reused. */
  out: string;
  metrics?: readonly string[];
  /** Shipped teacher runs pooled over the years (systems of shippedRuns()). Default RankVicuna-7B sliding. */
  teachers?: readonly string[];
  quiet?: boolean;
  /** Called when a student's fold run is done. */
  onRun?: (name: string, seed: number, fold: number, result: TrainResult) => void;
}

/** The protocol's result. */
export interface CrossValResult {
  /** Students, BM25 and the teacher over every pooled labelled query (paired tests against BM25, Holm). */
  rows: ComparisonRow[];
  /** The same on NovelEval (students against BM25 over each query's 20 candidates); empty without NovelEval. */
  novelRows: ComparisonRow[];
  /** Per-query scores of every system (students averaged over seeds), pooled and NovelEval. */
  perQuery: Record<string, PerQuery>;
  novelPerQuery: Record<string, PerQuery>;
  /** Each student's fold runs: the selected epoch count and held-out score per seed and fold. */
  runs: Array<{ name: string; seed: number; fold: number; runId: string; selectedEpoch: number | null; selectionNdcg: number | null; testQueries: number }>;
  folds: number;
  queries: { pooled: number; noveleval: number };
}

function average(runs: readonly PerQuery[]): PerQuery {
  const out: PerQuery = {};
  for (const qid of Object.keys(runs[0] ?? {})) {
    const ms = Object.keys(runs[0][qid]);
    out[qid] = Object.fromEntries(ms.map((m) => [m, runs.reduce((s, r) => s + (r[qid]?.[m] ?? 0), 0) / runs.length]));
  }
  return out;
}

/** Run the protocol (see the file header). */
export async function crossValidateStudents(db: Kysely<Database>, spec: CrossValSpec): Promise<CrossValResult> {
  let at = "before its first run";
  const interrupt = interruptCheck(() => `cross-validation ${at}`); // each training run checks too, between its steps
  const K = spec.folds ?? 5;
  if (!Number.isInteger(K) || K < 2) throw new ConfigError(`crossValidateStudents: folds must be an integer >= 2, got ${show(K)}`);
  if (spec.students.length === 0 || spec.seeds.length === 0) throw new ConfigError("crossValidateStudents: give at least one student and one seed");
  const names = spec.datasets ?? ["dl19", "dl20"];
  const metrics = spec.metrics ?? ["ndcg@10", "mrr@10"];
  const parts = names.map((n) => loadDataset(n));
  const pool: Dataset = mergeDatasets(parts);
  const datasets: Record<string, Dataset> = Object.fromEntries([...parts.map((d) => [d.name, d] as const), [pool.name, pool] as const]);
  const outer = queryFolds(pool.name, pool.lists.map((l) => l.qid), K, "outer");
  const novel = spec.noveleval === false ? null : loadDataset("noveleval");
  const novelLists = novel ? novelEvalBm25Lists(novel) : [];
  const novelFolds = novel ? queryFolds("noveleval", novelLists.map((l) => l.qid), K, "outer") : new Map<string, number>();
  const listsOf = (k: number): RankedList[] => pool.lists.filter((l) => outer.get(l.qid) === k);
  const evalRun = (d: Dataset, run: Run): PerQuery => evaluateRun(d.qrels, run, { metrics, querySet: "intersection" }).perQuery;

  // baselines over the pooled queries: the shipped BM25 run and teacher runs of each year
  const shipped = (system: string): PerQuery => Object.assign({}, ...parts.map((d) => {
    const r = shippedRuns().find((x) => x.dataset === d.name && x.system === system);
    if (!r) throw new ConfigError(`crossValidateStudents: no shipped ${d.name} run named ${show(system)}`);
    return evalRun(d, readRun(join(dataDir(), r.file)));
  }));
  const systems: Array<{ name: string; perQuery: PerQuery }> = [{ name: "BM25", perQuery: shipped("bm25") }];
  for (const t of spec.teachers ?? ["rankvicuna-7b"]) systems.push({ name: `teacher ${t}`, perQuery: shipped(t) });
  const novelSystems: Array<{ name: string; perQuery: PerQuery }> = novel ? [{ name: "BM25", perQuery: evalRun(novel, { tag: "bm25", queries: new Map(novelLists.map((l) => [l.qid, l.candidates])) }) }] : [];

  const runs: CrossValResult["runs"] = [];
  for (const s of spec.students) {
    const perSeed: PerQuery[] = [], novelPerSeed: PerQuery[] = [];
    for (const seed of spec.seeds) {
      const pq: PerQuery = {}, npq: PerQuery = {};
      for (let k = 0; k < K; k++) {
        at = `at ${s.name}, seed ${seed}, fold ${k + 1} of ${K} (${runs.length === 0 ? "no run finished yet" : `the ${runs.length} finished run${runs.length === 1 ? " is" : "s are"} kept and reused by the next call`})`;
        await interrupt.check();
        const cfg = resolveTrainConfig({ ...s.config, seed, train: pool.name, dev: pool.name, heldOut: `${k}/${K}`, out: "" });
        const selected = cfg.folds >= 2 ? await trainSelected(db, cfg, { out: spec.out, quiet: spec.quiet, datasets }) : null;
        const result = selected ? selected.final : await trainStudent(db, { ...cfg, out: join(spec.out, trainRunId(cfg)) }, { quiet: spec.quiet, datasets });
        spec.onRun?.(s.name, seed, k, result);
        const reranker = await loadReranker(result.outDir);
        try {
          const test = listsOf(k);
          Object.assign(pq, evalRun(pool, await reranker.rerank(test, { tag: result.runId })));
          const nl = novelLists.filter((l) => novelFolds.get(l.qid) === k);
          if (novel && nl.length) Object.assign(npq, evalRun(novel, await reranker.rerank(nl, { tag: result.runId })));
          runs.push({ name: s.name, seed, fold: k, runId: result.runId, selectedEpoch: selected?.epoch ?? result.best?.epoch ?? null, selectionNdcg: selected?.ndcg ?? null, testQueries: test.length });
        } finally {
          reranker.dispose();
        }
      }
      perSeed.push(pq);
      novelPerSeed.push(npq);
    }
    systems.push({ name: s.name, perQuery: average(perSeed) });
    if (novel) novelSystems.push({ name: s.name, perQuery: average(novelPerSeed) });
  }
  const rows = compareSystems({ systems, baseline: "BM25", metrics, seed: 42 });
  const novelRows = novel ? compareSystems({ systems: novelSystems, baseline: "BM25", metrics, seed: 42 }) : [];
  return {
    rows, novelRows, perQuery: Object.fromEntries(systems.map((x) => [x.name, x.perQuery])), novelPerQuery: Object.fromEntries(novelSystems.map((x) => [x.name, x.perQuery])),
    runs, folds: K, queries: { pooled: pool.lists.length, noveleval: novelLists.length },
  };
}
