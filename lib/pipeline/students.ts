/**
 * Students against BM25 and the teacher on a held-out year: train each named student configuration
 * (every seed) on one year's teacher labels, select its epoch count on held-out folds of that year's
 * queries (train/select.ts; with folds 0, the old way: the best epoch on the training year's first
 * devQueries, which it also trains on), re-rank the other year's first-stage top-100 with the model, and
 * compare the seed-averaged per-query scores with the shipped BM25 run (baseline) and the shipped
 * RankVicuna-7B runs (the teacher). Optionally the student is also fused with BM25 (eval/fusion.ts) at a
 * weight tuned on the same held-out folds.
 */
import { join } from "path";
import type { Kysely } from "kysely";
import { ConfigError, show } from "../core/errors";
import { interruptCheck } from "../core/interrupt";
import { checkNames } from "../core/names";
import { createProgress } from "../core/progress";
import { dataDir, loadDataset, shippedRuns } from "../data/datasets";
import { readRun } from "../data/trec";
import type { Dataset, Run } from "../data/types";
import { compareSystems, type ComparisonRow } from "../eval/compare";
import { evaluateRun } from "../eval/evaluate";
import { firstStageRun, fuseRuns, tuneFusionWeight } from "../eval/fusion";
import type { PerQuery } from "../eval/types";
import type { Database } from "../store/schema";
import { trainRunId, resolveTrainConfig, type TrainConfig, type TrainResult } from "../train/config";
import { trainStudent } from "../train/loop";
import { loadReranker } from "../train/reranker";
import { trainSelected } from "../train/select";

/** Checkpoints the students warm-start from (train/init.ts): `bert` for the RRA-BERT transformer kinds, `gpt` for RRA-GPT; absent or "" = from scratch. */
export interface StudentInits {
  bert?: string | null;
  gpt?: string | null;
}

/** One student configuration under a display name. */
export interface StudentSpec {
  name: string;
  config: Partial<TrainConfig>;
  /** Also report this student fused with BM25 (weight tuned on the training year). Default false. */
  fuse?: boolean;
}

/** What to compare. */
export interface StudentComparisonSpec {
  students: readonly StudentSpec[];
  /** Training year (labels, epoch selection) and held-out test year. */
  train: "dl19" | "dl20";
  test: "dl19" | "dl20";
  seeds: readonly number[];
  /** Model directories go to `<out>/<runId>`; finished runs there are reused. */
  out: string;
  /** Shipped teacher runs to include (systems of shippedRuns()). Default RankVicuna-7B sliding and top-20. */
  teachers?: readonly string[];
  metrics?: readonly string[];
  /** Test on the first N queries of the test year only (0 = all). Default 0. */
  testQueries?: number;
  /** Seed of the comparison's bootstrap / randomization. Default 42. */
  seed?: number;
  quiet?: boolean;
  /** Called when a student run is done. */
  onRun?: (name: string, seed: number, result: TrainResult) => void;
}

/** One trained run of a student. */
export interface StudentRun {
  name: string;
  seed: number;
  runId: string;
  outDir: string;
  steps: number;
  examplesPerSec: number;
  /** The selection's nDCG@10 on the training year (held-out folds; with folds 0 the best epoch's on the dev queries). */
  selectionNdcg: number | null;
  /** The selected epoch count (0 = the untrained student). */
  selectedEpoch: number | null;
  /** Held-out nDCG@10 per epoch (folds only). */
  selectionCurve?: Array<{ epoch: number; ndcg: number }>;
  /** Test-year means of this seed. */
  test: Record<string, number>;
  /** Fusion weight tuned on the training year (fused students only). */
  fusionWeight?: number;
}

/** The comparison. */
export interface StudentComparison {
  rows: ComparisonRow[];
  runs: StudentRun[];
  /** Per-query test scores of every system (students averaged over seeds), by name. */
  perQuery: Record<string, PerQuery>;
  /** Mean and sample std over seeds of each student's test metrics. */
  seedStats: Array<{ name: string; metric: string; mean: number; std: number | null; seeds: number[] }>;
}

const DEFAULT_TEACHERS = ["rankvicuna-7b", "rankvicuna-7b-top20"];

function averagePerQuery(runs: readonly PerQuery[]): PerQuery {
  const out: PerQuery = {};
  for (const qid of Object.keys(runs[0] ?? {})) {
    const metrics = Object.keys(runs[0][qid]);
    out[qid] = Object.fromEntries(metrics.map((m) => [m, runs.reduce((s, r) => s + (r[qid]?.[m] ?? 0), 0) / runs.length]));
  }
  return out;
}

function limitRun(run: Run, qids: ReadonlySet<string>): Run {
  return { tag: run.tag, queries: new Map([...run.queries].filter(([q]) => qids.has(q))) };
}

/** Train (or reuse), re-rank the test year and compare against BM25 and the teacher. */
export async function compareStudents(db: Kysely<Database>, spec: StudentComparisonSpec): Promise<StudentComparison> {
  let at = "before its first run";
  const interrupt = interruptCheck(() => `student comparison ${at}`); // each training run checks too, between its steps
  if (spec.train === spec.test) throw new ConfigError(`compareStudents: train and test are both ${show(spec.train)}; the test year must be held out`);
  if (spec.students.length === 0 || spec.seeds.length === 0) throw new ConfigError("compareStudents: give at least one student and one seed");
  const metrics = spec.metrics ?? ["ndcg@10", "mrr@10"];
  const train: Dataset = loadDataset(spec.train), test: Dataset = loadDataset(spec.test);
  const testLists = spec.testQueries ? test.lists.slice(0, spec.testQueries) : test.lists;
  const qids = new Set(testLists.map((l) => l.qid));
  const evalOn = (run: Run): PerQuery => evaluateRun(test.qrels, limitRun(run, qids), { metrics, querySet: "intersection" }).perQuery;
  const systems: Array<{ name: string; perQuery: PerQuery }> = [];
  const bm25 = shippedRuns().find((r) => r.dataset === spec.test && r.system === "bm25");
  if (!bm25) throw new ConfigError(`compareStudents: no shipped BM25 run of ${spec.test}`);
  systems.push({ name: "BM25", perQuery: evalOn(readRun(join(dataDir(), bm25.file))) });
  for (const t of spec.teachers ?? DEFAULT_TEACHERS) {
    const r = shippedRuns().find((x) => x.dataset === spec.test && x.system === t);
    if (!r) throw new ConfigError(`compareStudents: no shipped ${spec.test} run named ${show(t)}`);
    systems.push({ name: `teacher ${t}`, perQuery: evalOn(readRun(join(dataDir(), r.file))) });
  }
  const runs: StudentRun[] = [];
  const seedStats: StudentComparison["seedStats"] = [];
  const bm25Train = firstStageRun(train.lists, "bm25"), bm25Test = firstStageRun(testLists, "bm25");
  // one line in a notebook (training bars join it); the CLI prints its own line per run
  const bar = createProgress({ label: "students", total: spec.students.length * spec.seeds.length, unit: "runs", quiet: spec.quiet, lineOnly: true });
  for (const s of spec.students) {
    const perSeed: PerQuery[] = [], fusedPerSeed: PerQuery[] = [];
    for (const seed of spec.seeds) {
      at = `at ${s.name}, seed ${seed} (${runs.length === 0 ? "no run finished yet" : `the ${runs.length} finished run${runs.length === 1 ? " is" : "s are"} kept and reused by the next call`})`;
      await interrupt.check();
      bar.tick(0, `${s.name} · seed ${seed}`);
      const cfg = resolveTrainConfig({ ...s.config, seed, train: spec.train, dev: spec.train, out: "" });
      const selected = cfg.folds >= 2 ? await trainSelected(db, cfg, { out: spec.out, quiet: spec.quiet, fuse: s.fuse }) : null;
      const result = selected ? selected.final : await trainStudent(db, { ...cfg, out: join(spec.out, trainRunId(cfg)) }, { quiet: spec.quiet });
      spec.onRun?.(s.name, seed, result);
      const reranker = await loadReranker(result.outDir);
      try {
        const testRun = await reranker.rerank(testLists);
        const pq = evalOn(testRun);
        perSeed.push(pq);
        const row: StudentRun = {
          name: s.name, seed, runId: result.runId, outDir: result.outDir, steps: result.steps, examplesPerSec: result.throughput.examplesPerSec,
          selectionNdcg: selected ? selected.ndcg : result.best && Number.isFinite(result.best["ndcg@10"]) ? result.best["ndcg@10"] : null,
          selectedEpoch: selected ? selected.epoch : result.best?.epoch ?? null, test: meanOf(pq, metrics),
          ...(selected ? { selectionCurve: selected.curve.map((c) => ({ epoch: c.epoch, ndcg: c.ndcg })) } : {}),
        };
        if (s.fuse) {
          // folds: tuned on the held-out folds' runs of the selected epoch; else on the lists the epoch was picked on
          const weight = selected?.fusion ? selected.fusion.weight
            : tuneFusionWeight(train.qrels, await reranker.rerank(cfg.devQueries > 0 ? train.lists.slice(0, cfg.devQueries) : train.lists), bm25Train).weight;
          fusedPerSeed.push(evalOn(fuseRuns(testRun, bm25Test, weight)));
          row.fusionWeight = weight;
        }
        runs.push(row);
      } finally {
        reranker.dispose();
      }
      bar.tick(1);
    }
    systems.push({ name: s.name, perQuery: averagePerQuery(perSeed) });
    for (const m of metrics) seedStats.push({ name: s.name, metric: m, ...spread(perSeed.map((pq) => meanOf(pq, [m])[m])), seeds: [...spec.seeds] });
    if (s.fuse) {
      const name = `${s.name} ⊕ BM25`;
      systems.push({ name, perQuery: averagePerQuery(fusedPerSeed) });
      for (const m of metrics) seedStats.push({ name, metric: m, ...spread(fusedPerSeed.map((pq) => meanOf(pq, [m])[m])), seeds: [...spec.seeds] });
    }
  }
  bar.done();
  const rows = compareSystems({ systems, baseline: "BM25", metrics, seed: spec.seed ?? 42 });
  return { rows, runs, seedStats, perQuery: Object.fromEntries(systems.map((s) => [s.name, s.perQuery])) };
}

function meanOf(pq: PerQuery, metrics: readonly string[]): Record<string, number> {
  const q = Object.keys(pq);
  return Object.fromEntries(metrics.map((m) => [m, q.reduce((s, k) => s + pq[k][m], 0) / Math.max(q.length, 1)]));
}

function spread(values: readonly number[]): { mean: number; std: number | null } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : null;
  return { mean, std };
}

/** Names of the student kinds (studentKinds). */
export const STUDENT_KINDS = ["residual", "residual-notcl", "residual-nofeat", "lexical", "pure", "pure-notcl", "gpt", "gpt-pure"] as const;

/** The student kinds of the tables: display name and config (on top of the shared settings). */
export function studentKinds(shared: Partial<TrainConfig>, gptEpochs?: number, init: StudentInits = {}): Record<string, StudentSpec> {
  const { init: _shared, ...rest } = shared; // a checkpoint is for one architecture: given per kind below
  const bert: Partial<TrainConfig> = { ...rest, arch: "bert", ...(init.bert ? { init: init.bert } : {}) };
  const gpt: Partial<TrainConfig> = { ...rest, arch: "gpt", tcl: false, epochs: gptEpochs ?? shared.epochs, ...(init.gpt ? { init: init.gpt } : {}) };
  const { init: _none, ...lexical } = bert; // no network to warm-start
  return {
    residual: { name: "RRA-BERT residual + features + TCL v3", config: { ...bert, tcl: true } },
    "residual-notcl": { name: "RRA-BERT residual + features, no TCL", config: { ...bert, tcl: false } },
    "residual-nofeat": { name: "RRA-BERT residual, no features, TCL v3", config: { ...bert, tcl: true, features: "none" } },
    lexical: { name: "lexical features + prior (no transformer)", config: { ...lexical, tcl: false, network: false } },
    pure: { name: "RRA-BERT pure (no prior, no features), TCL v3", config: { ...bert, tcl: true, prior: 0, features: "none" }, fuse: true },
    "pure-notcl": { name: "RRA-BERT pure, no TCL", config: { ...bert, tcl: false, prior: 0, features: "none" }, fuse: true },
    gpt: { name: "RRA-GPT residual + features", config: gpt },
    "gpt-pure": { name: "RRA-GPT pure", config: { ...gpt, prior: 0, features: "none" } },
  };
}

/** The kinds named in `names`, in that order; an unknown name is a ConfigError with a did-you-mean (notebook 05's config). */
export function pickStudentKinds(kinds: Readonly<Record<string, StudentSpec>>, names: readonly string[], where = "students"): StudentSpec[] {
  checkNames(where, names, Object.keys(kinds));
  return names.map((n) => kinds[n]);
}
