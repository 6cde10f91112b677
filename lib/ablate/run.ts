/**
 * Run the student ablation grid: train every cell (`trainStudent`, model in `<out>/models/<runId>`),
 * re-rank the test year's first-stage lists (and NovelEval's BM25 pre-ranking) with the best saved
 * model, evaluate nDCG@10 / MRR@10 with trec_eval's rules, aggregate (table.ts) and write
 * `<out>/ablation.json` and `<out>/ablation.md` atomically.
 *
 * Reruns are cheap: a cell whose model directory holds a finished training.json (status done or
 * stopped) of the same run id is not passed to trainStudent again (which would rebuild the model and
 * rewrite training.json, and continue an early-stopped run), and its evaluation is read back from
 * `<out>/evals/<runId>.json` when the model, query set and depth match.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import type { Kysely } from "kysely";
import { backendInfo, initBackend } from "../backend/tf";
import { ConfigError, RraError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { interruptCheck } from "../core/interrupt";
import { createProgress } from "../core/progress";
import { provenance } from "../core/provenance";
import { dataDir, loadDataset, TREC_DL_FILES } from "../data/datasets";
import { readRun } from "../data/trec";
import type { Dataset, Qrels, RankedList, Run } from "../data/types";
import { evaluateRun } from "../eval/evaluate";
import { parseMetric } from "../eval/metrics";
import type { PerQuery } from "../eval/types";
import { bm25PreRank } from "../labels/bm25";
import type { Database } from "../store/schema";
import { trainStudent, type BestEpoch } from "../train/loop";
import { trainSelected } from "../train/select";
import { loadStudent, rerankLists } from "../train/rerank";
import { expandGrid, resolveAblationGrid, type AblationCell, type AblationGrid } from "./grid";
import { ablationMarkdown, aggregateAblation, AGGREGATE_DEFAULTS, configLabel, type AblationRow, type AblationTest, type CellScores } from "./table";

/** Options of `runAblation`. */
export interface AblationOptions {
  /** Output folder: models/, evals/, ablation.json, ablation.md. Required. */
  out: string;
  /** Also test every cell on NovelEval (unseen domain). Default true. */
  noveleval?: boolean;
  /** Evaluate on the first N queries of each test set only (and BM25 on the same ones); 0 = all. Default 0. */
  evalQueries?: number;
  /** Candidates re-ranked per query. Default 100. */
  depth?: number;
  /** Metrics. Default ["ndcg@10", "mrr@10"]. */
  metrics?: readonly string[];
  /** Paired test of the table. Default "t". */
  test?: AblationTest;
  /** Significance level. Default 0.05. */
  alpha?: number;
  /** No training progress bars. */
  quiet?: boolean;
  /** Called before each cell is trained or reused. */
  onCellStart?: (cell: AblationCell, total: number) => void;
  /** Called once per cell when it is done. */
  onCell?: (cell: AblationCellResult, total: number) => void;
  /** Datasets already loaded, by name (tests). */
  datasets?: Record<string, Dataset>;
}

/** One test set's evaluation of a cell. */
export interface CellEvaluation {
  testSet: string;
  all: Record<string, number>;
  perQuery: PerQuery;
}

/** A trained and evaluated cell. */
export interface AblationCellResult extends AblationCell {
  label: string;
  modelDir: string;
  /** The finished model directory was reused: trainStudent was not called. */
  reused: boolean;
  /** The evaluations were read back from evals/<runId>.json. */
  evalCached: boolean;
  status: string;
  steps: number;
  best: BestEpoch | null;
  trainSeconds: number;
  evalSeconds: number;
  evals: CellEvaluation[];
  /** Honest selection (folds >= 2): the selected epoch count, its held-out nDCG@10 and the curve. */
  selection: { epoch: number; ndcg: number; curve: Array<{ epoch: number; ndcg: number }> } | null;
}

/** The first stage of a test set, evaluated on the same queries as the students. */
export interface AblationBaseline {
  testSet: string;
  /** Where the BM25 ranking comes from. */
  source: string;
  all: Record<string, number>;
  perQuery: PerQuery;
}

/** Everything `ablation.json` holds. */
export interface AblationResult {
  format: "rra-ablation/1";
  createdAt: string;
  grid: Readonly<AblationGrid>;
  options: { noveleval: boolean; evalQueries: number; depth: number; metrics: string[]; test: AblationTest; alpha: number };
  seeds: number[];
  testSets: string[];
  baselines: AblationBaseline[];
  cells: AblationCellResult[];
  rows: AblationRow[];
  backend: string;
  versions: Record<string, string>;
  gitSha: string | null;
  gitDirty: boolean | null;
  wallSeconds: number;
  files: { json: string; markdown: string };
}

interface TrainingRecord {
  format?: string;
  runId?: string;
  status?: string;
  steps?: number;
  best?: BestEpoch | null;
}

/** The training.json of a finished run of `runId` in `dir` (status done or stopped, model files present), else null. */
export function finishedTraining(dir: string, runId: string): TrainingRecord | null {
  const file = join(dir, "training.json");
  if (!existsSync(file)) return null;
  let rec: TrainingRecord;
  try {
    rec = JSON.parse(readFileSync(file, "utf8")) as TrainingRecord;
  } catch {
    return null;
  }
  if (rec.format !== "rra-training-record/1" || rec.runId !== runId || (rec.status !== "done" && rec.status !== "stopped")) return null;
  if (!rec.best) return null;
  for (const f of ["config.json", "weights.json", "weights.bin", "vocab.txt", "tokenizer.json"]) if (!existsSync(join(dir, f))) return null;
  return rec;
}

/** A test set's lists and qrels restricted to its first `n` lists (0 = all). */
export function testSplit(d: Dataset, n: number): { lists: RankedList[]; qrels: Qrels } {
  if (n <= 0) return { lists: d.lists, qrels: d.qrels };
  const lists = d.lists.slice(0, n);
  const keep = new Set(lists.map((l) => l.qid));
  return { lists, qrels: new Map([...d.qrels].filter(([q]) => keep.has(q))) };
}

/** NovelEval's first stage: BM25 (k1 0.9, b 0.4) over each query's 20 candidates, as `rra label` pre-ranks it. */
export function novelEvalBm25Lists(d: Dataset): RankedList[] {
  return d.lists.map((l) => ({ ...l, candidates: bm25PreRank(l) }));
}

function listsRun(tag: string, lists: readonly RankedList[]): Run {
  return { tag, queries: new Map(lists.map((l) => [l.qid, l.candidates])) };
}

interface EvalCache {
  format: "rra-ablation-eval/1";
  runId: string;
  steps: number;
  bestStep: number | null;
  evalQueries: number;
  depth: number;
  metrics: string[];
  evals: CellEvaluation[];
}

/** Train (or reuse), evaluate and aggregate the grid; writes ablation.json and ablation.md into `options.out`. */
export async function runAblation(db: Kysely<Database>, gridOverrides: Partial<AblationGrid>, options: AblationOptions): Promise<AblationResult> {
  const t0 = Date.now();
  let at = "before its first cell";
  const interrupt = interruptCheck(() => `ablation grid ${at}`);
  const grid = resolveAblationGrid(gridOverrides);
  if (typeof options.out !== "string" || options.out === "") throw new ConfigError(`runAblation: out must be a folder path, got ${show(options.out)}`);
  const { out, noveleval = true, evalQueries = 0, depth = 100, quiet = false } = options;
  const { metrics, test, alpha } = { ...AGGREGATE_DEFAULTS, ...options, metrics: [...(options.metrics ?? AGGREGATE_DEFAULTS.metrics)] };
  if (!Number.isInteger(evalQueries) || evalQueries < 0) throw new ConfigError(`runAblation: evalQueries must be an integer >= 0, got ${show(evalQueries)}`);
  // fail before any training, not at aggregation time
  if (test !== "t" && test !== "randomization") throw new ConfigError(`runAblation: test must be "t" or "randomization", got ${show(test)}`);
  if (typeof alpha !== "number" || !(alpha > 0 && alpha < 1)) throw new ConfigError(`runAblation: alpha must be in (0, 1), got ${show(alpha)}`);
  if (metrics.length === 0) throw new ConfigError("runAblation: metrics must not be empty");
  metrics.forEach(parseMetric);
  if (!Number.isInteger(depth) || depth < 1) throw new ConfigError(`runAblation: depth must be a positive integer, got ${show(depth)}`);
  const cells = expandGrid(grid);
  await initBackend({ quiet: true });

  const cache: Record<string, Dataset> = { ...(options.datasets ?? {}) };
  const data = (name: string): Dataset => (cache[name] ??= loadDataset(name));
  const testSets = [...new Set(cells.map((c) => c.dev as string)), ...(noveleval ? ["noveleval"] : [])];
  const splits: Record<string, { lists: RankedList[]; qrels: Qrels }> = {};
  const baselines: AblationBaseline[] = [];
  for (const t of testSets) {
    const d = data(t);
    const s = testSplit(t === "noveleval" ? { ...d, lists: novelEvalBm25Lists(d) } : d, evalQueries);
    splits[t] = s;
    const source = t === "noveleval" ? "BM25 (k1 0.9, b 0.4) over each query's candidates (lib/labels/bm25.ts bm25PreRank)" : `shipped run ${TREC_DL_FILES[t as "dl19" | "dl20"].bm25Run}`;
    const run = t === "noveleval" ? listsRun("bm25", s.lists) : readRun(join(dataDir(), TREC_DL_FILES[t as "dl19" | "dl20"].bm25Run));
    const r = evaluateRun(s.qrels, run, { metrics });
    baselines.push({ testSet: t, source, all: r.all, perQuery: r.perQuery });
  }

  // train (or reuse) and evaluate one cell
  const runCell = async (cell: AblationCell): Promise<AblationCellResult> => {
    options.onCellStart?.(cell, cells.length);
    let modelDir = join(out, "models", cell.runId);
    const t1 = Date.now();
    let rec = finishedTraining(modelDir, cell.runId);
    let reused = rec !== null;
    let selection: AblationCellResult["selection"] = null;
    if (!rec && (cell.trainConfig.folds ?? 0) >= 2) {
      // honest selection: fold runs and the refit, each a finished-run-reusing training run under models/
      data(cell.train);
      const sel = await trainSelected(db, cell.trainConfig, { out: join(out, "models"), quiet, datasets: cache });
      modelDir = sel.final.outDir;
      reused = [...sel.folds, sel.final].every((r) => r.reused === true);
      rec = { runId: sel.final.runId, status: sel.final.status, steps: sel.final.steps, best: sel.final.best };
      selection = { epoch: sel.epoch, ndcg: sel.ndcg, curve: sel.curve.map((c) => ({ epoch: c.epoch, ndcg: c.ndcg })) };
    } else if (!rec) {
      data(cell.train);
      data(cell.dev);
      const r = await trainStudent(db, { ...cell.trainConfig, out: modelDir }, { quiet, datasets: cache });
      if (r.status === "interrupted") throw new RraError(`ablate: cell ${cell.index + 1} (${cell.runId}) stopped as interrupted; rerun to resume it`);
      rec = { runId: r.runId, status: r.status, steps: r.steps, best: r.best };
    }
    const trainSeconds = (Date.now() - t1) / 1000;
    const t2 = Date.now();
    const cacheFile = join(out, "evals", `${cell.runId}.json`);
    const want = { runId: cell.runId, steps: rec.steps ?? 0, bestStep: rec.best?.step ?? null, evalQueries, depth, metrics };
    let evals: CellEvaluation[] | null = null;
    if (existsSync(cacheFile)) {
      const c = JSON.parse(readFileSync(cacheFile, "utf8")) as EvalCache;
      const same = c.format === "rra-ablation-eval/1" && c.runId === want.runId && c.steps === want.steps && c.bestStep === want.bestStep &&
        c.evalQueries === evalQueries && c.depth === depth && c.metrics.join(",") === metrics.join(",");
      const have = new Set(c.evals.map((e) => e.testSet));
      if (same && testSets.filter((t) => t === cell.dev || t === "noveleval").every((t) => have.has(t))) evals = c.evals;
    }
    const evalCached = evals !== null;
    if (!evals) {
      const student = loadStudent(modelDir);
      try {
        evals = [];
        for (const t of testSets.filter((x) => x === cell.dev || x === "noveleval")) {
          const run = await rerankLists(student, splits[t].lists, { depth, tag: cell.runId });
          const r = evaluateRun(splits[t].qrels, run, { metrics });
          evals.push({ testSet: t, all: r.all, perQuery: r.perQuery });
        }
      } finally {
        student.dispose();
      }
      const record: EvalCache = { format: "rra-ablation-eval/1", ...want, evals };
      writeFileAtomic(cacheFile, JSON.stringify(record) + "\n");
    }
    const res: AblationCellResult = {
      ...cell, label: configLabel(cell), modelDir, reused, evalCached, selection, status: rec.status ?? "done", steps: rec.steps ?? 0, best: rec.best ?? null,
      trainSeconds, evalSeconds: (Date.now() - t2) / 1000, evals: evals.filter((e) => e.testSet === cell.dev || (noveleval && e.testSet === "noveleval")),
    };
    return res;
  };

  const results: AblationCellResult[] = [];
  // one line in a notebook (training bars join it); the CLI prints its own line per cell
  const bar = createProgress({ label: "ablation grid", total: cells.length, unit: "cells", quiet, lineOnly: true });
  try {
    for (const cell of cells) {
      await interrupt.check();
      const kept = results.length === 0 ? "no cell finished yet" : `the ${results.length} finished cell${results.length === 1 ? " is" : "s are"} kept`;
      at = `at cell ${cell.index + 1} of ${cells.length} (${kept}: running the grid again ${results.length ? "reuses them and " : ""}resumes this one from its last epoch)`;
      bar.tick(0, `cell ${cell.index + 1}: ${configLabel(cell)} · ${cell.direction} · seed ${cell.seed}`);
      results.push(await runCell(cell));
      bar.tick(1);
      options.onCell?.(results[results.length - 1], cells.length);
    }
  } catch (e) {
    throw interrupt.explain(e);
  }
  bar.done(`${results.filter((c) => c.reused).length} reused`);

  const scores: CellScores[] = [];
  // rows per direction in grid order: the test year first, then NovelEval
  for (const c of results) for (const e of c.evals) scores.push({ direction: c.direction, testSet: e.testSet, loss: c.loss, missing: c.missing, tcl: c.tcl, ts: c.ts, seed: c.seed, perQuery: e.perQuery });
  const order = (s: CellScores): number => 2 * grid.directions.indexOf(s.direction) + (s.testSet === "noveleval" ? 1 : 0);
  scores.sort((a, b) => order(a) - order(b)); // stable: configs keep grid order
  const rows = aggregateAblation(scores, Object.fromEntries(baselines.map((b) => [b.testSet, b.perQuery])), { metrics, test, alpha });

  const prov = provenance();
  const files = { json: join(out, "ablation.json"), markdown: join(out, "ablation.md") };
  const result: AblationResult = {
    format: "rra-ablation/1", createdAt: new Date().toISOString(), grid, options: { noveleval, evalQueries, depth, metrics, test, alpha },
    seeds: [...grid.seeds], testSets, baselines, cells: results, rows, backend: backendInfo()?.name ?? tf.getBackend(),
    versions: { node: prov.node, ...prov.packages }, gitSha: prov.gitSha, gitDirty: prov.gitDirty, wallSeconds: (Date.now() - t0) / 1000, files,
  };
  writeFileAtomic(files.json, JSON.stringify(result, null, 1) + "\n");
  writeFileAtomic(files.markdown, `# Student ablation\n\n${ablationMarkdown(rows, { test, alpha, metrics })}\n` +
    `Backend ${result.backend}; ${results.length} cells (${results.filter((c) => c.reused).length} reused); wall time ${result.wallSeconds.toFixed(0)} s. Details: ablation.json.\n`);
  return result;
}
