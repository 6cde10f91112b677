/**
 * Honest selection of a student's epoch count (and of a fusion weight) on held-out queries of the
 * training side, never on queries it trains on and never on the test set:
 *
 * 1. K fold runs: run k trains on the training queries outside fold k (run-data.ts queryFolds) for the
 *    configured epochs and evaluates nDCG@10 on fold k's queries after every epoch, and before the first
 *    (epoch 0: the untrained student, which with the residual prior ranks exactly as the first stage);
 * 2. the held-out curve: per epoch, the mean nDCG@10 over every training query, each scored by the run
 *    that did not train on it; the selected epoch count e* is its maximum (ties: fewer epochs);
 * 3. the refit: one run on all training queries with the same schedule, stopped after e* epochs
 *    (stopEpoch); its last model is the student. e* = 0 keeps the untrained student.
 * A fusion weight with the first stage, when asked, is tuned the same way: on the pooled held-out runs
 * of epoch e* (each fold run's dev-runs.json), against the training queries' qrels.
 *
 * Every run is an ordinary training run (its own run id and directory under `out`), so reruns reuse
 * finished ones and a killed selection resumes.
 */
import { join } from "path";
import type { Kysely } from "kysely";
import { ConfigError, show } from "../core/errors";
import { loadDataset } from "../data/datasets";
import type { Dataset, Run } from "../data/types";
import { firstStageRun, tuneFusionWeight } from "../eval/fusion";
import type { Database } from "../store/schema";
import { resolveTrainConfig, trainRunId, type TrainConfig, type TrainOptions, type TrainResult } from "./config";
import { readDevRuns, trainStudent } from "./loop";

/** Options of trainSelected. */
export interface SelectionOptions extends TrainOptions {
  /** Folder of the fold runs and the refit (each in `<out>/<runId>`). */
  out: string;
  /** The refit's model directory instead of `<out>/<runId>` (rra train --out). */
  finalOut?: string;
  /** Also tune a fusion weight with the first stage on the held-out runs. Default false. */
  fuse?: boolean;
}

/** A selected student. */
export interface SelectionResult {
  /** The refit on every training query (its best.epoch is e*). */
  final: TrainResult;
  /** The fold runs. */
  folds: TrainResult[];
  /** Held-out nDCG@10 per epoch (0 = untrained), pooled over the training queries. */
  curve: Array<{ epoch: number; ndcg: number; queries: number }>;
  /** The selected epoch count and its held-out nDCG@10. */
  epoch: number;
  ndcg: number;
  /** Fusion weight with the first stage tuned on the held-out runs of epoch e* (when asked). */
  fusion: { weight: number; ndcg: number } | null;
}

/** Train with honest selection (see the file header); `config.folds` >= 2. */
export async function trainSelected(db: Kysely<Database>, config: Partial<TrainConfig>, options: SelectionOptions): Promise<SelectionResult> {
  const base = resolveTrainConfig({ ...config, out: "" });
  if (base.folds < 2) throw new ConfigError(`trainSelected: folds must be at least 2 (the training queries are split into folds), got ${show(base.folds)}`);
  if (base.fold !== -1 || base.stopEpoch !== -1) throw new ConfigError("trainSelected: fold and stopEpoch are set by the selection itself; leave them at -1");
  if (base.dev !== base.train) throw new ConfigError(`trainSelected: selection is on the training set's held-out folds, so dev must equal train (${show(base.train)}), got ${show(base.dev)}`);
  const data = (name: string): Dataset => options.datasets?.[name] ?? loadDataset(name);
  const train = data(base.train);
  const datasets = { ...(options.datasets ?? {}), [base.train]: train };

  const folds: TrainResult[] = [];
  for (let k = 0; k < base.folds; k++) {
    // every epoch is evaluated: no early stopping inside the fold runs (the curve needs all of them)
    const cfg = resolveTrainConfig({ ...base, fold: k, patience: 0, out: "" });
    folds.push(await trainStudent(db, { ...cfg, out: join(options.out, trainRunId(cfg)) }, { ...options, datasets }));
  }
  const curve = heldOutCurve(folds, base.epochs);
  if (curve.length === 0) throw new ConfigError("trainSelected: the fold runs evaluated no held-out query (too few training queries for the folds?)");
  const best = curve.reduce((a, b) => (b.ndcg > a.ndcg + 1e-12 ? b : a));
  let fusion: SelectionResult["fusion"] = null;
  if (options.fuse) {
    const runs = folds.map((f) => readDevRuns(f.outDir, f.runId)[String(best.epoch)] ?? {});
    const pooled: Run = { tag: "held-out", queries: new Map() };
    for (const r of runs) for (const [q, docs] of Object.entries(r)) pooled.queries.set(q, Object.entries(docs).map(([docid, score]) => ({ docid, score, rank: 0 })));
    const lists = train.lists.filter((l) => pooled.queries.has(l.qid));
    const tuned = tuneFusionWeight(train.qrels, pooled, firstStageRun(lists, "first-stage"));
    fusion = { weight: tuned.weight, ndcg: tuned.ndcg };
  }
  const refit = resolveTrainConfig({ ...base, stopEpoch: best.epoch, out: "" });
  const final = await trainStudent(db, { ...refit, out: options.finalOut ?? join(options.out, trainRunId(refit)) }, { ...options, datasets, selectionNdcg: best.ndcg });
  return { final, folds, curve, epoch: best.epoch, ndcg: best.ndcg, fusion };
}

/** Per epoch 0..epochs, the mean held-out nDCG@10 over the queries of every fold (weighted by each fold's query count). */
export function heldOutCurve(folds: readonly TrainResult[], epochs: number): SelectionResult["curve"] {
  const out: SelectionResult["curve"] = [];
  for (let e = 0; e <= epochs; e++) {
    let sum = 0, n = 0, complete = true;
    for (const f of folds) {
      const p = f.curves.find((c) => c.split === "dev" && c.metric === "ndcg@10" && c.epoch === e);
      if (p === undefined) { complete = false; break; }
      const queries = foldQueries(f);
      sum += p.value * queries;
      n += queries;
    }
    // an epoch counts only when every fold run reached it (else its mean would cover other queries)
    if (complete && n > 0) out.push({ epoch: e, ndcg: sum / n, queries: n });
  }
  return out;
}

function foldQueries(f: TrainResult): number {
  const runs = readDevRuns(f.outDir, f.runId);
  const any = Object.values(runs)[0];
  return any ? Object.keys(any).length : 1;
}
