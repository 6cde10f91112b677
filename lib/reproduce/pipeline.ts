/**
 * `rra reproduce` end to end: data check, the collection statistics (recovered from the shipped BM25
 * runs), baselines, label jobs (the RRADistill window against single and sliding windows of real LLM
 * logs), per cross-year direction the students (the residual RRA-BERT with and without the TCL and the
 * lexical features, the lexical ranker alone, the pure cross-encoder, RRA-GPT, a baseline student on
 * sliding-window labels) with the TCL and loss/target ablations, tested on the other year and on
 * NovelEval; the cross-validation protocol over both years; the export of the student with the best
 * held-out score on its training side; the paper-style figures and results.md. Every epoch count and
 * fusion weight is selected on held-out folds of the training side.
 *
 * Every step is stored (steps.ts) and read back when its inputs did not change, so a second run takes
 * seconds and a killed run resumes. With two or more directions the second one trains in a child process
 * (`rra reproduce --step ...`) on the second core while this process trains the first.
 */
import { spawn } from "child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from "fs";
import { join, relative, resolve } from "path";
import type { Kysely } from "kysely";
import { aggregateAblation, type AblationRow, type CellScores } from "../ablate/table";
import { parseDirection } from "../ablate/grid";
import { runAblation, type AblationBaseline, type AblationCellResult } from "../ablate/run";
import { tfjsEngineName } from "../backend/native-matmul";
import { RraError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { hash8 } from "../core/hash";
import { projectPath, projectRoot } from "../core/paths";
import { provenance } from "../core/provenance";
import { checkData } from "../data/check";
import { dataDir, loadDataset } from "../data/datasets";
import { exportModel } from "../export/model";
import { runLabelJob, type LabelSummary } from "../labels/pipeline";
import { runBaselineStage } from "../pipeline/baselines";
import { crossValidateStudents, type CrossValResult } from "../pipeline/crossval";
import { lexiconReport, type LexiconReport } from "../pipeline/lexicon-report";
import { compareStudents, studentKinds, type StudentComparison, type StudentSpec } from "../pipeline/students";
import { shippedLexicon } from "../lexical/shipped";
import { storeLexicon } from "../store/lexicons";
import type { ComparisonRow } from "../eval/compare";
import { closeStore, isPostgresUrl, openStore } from "../store/db";
import type { Database } from "../store/schema";
import type { CurvePoint, TrainConfig } from "../train/config";
import { reproduceId, type ReproduceConfig } from "./config";
import { readStep, step, stepFileName, type StepOutcome, type StepStore } from "./steps";
import { writeReproduceFigures } from "./figures";
import { reproduceMarkdown } from "./results";

/** Where a run reads and writes. */
export interface ReproducePaths {
  /** Work folder: config.json, steps/, students/ (models, evaluations). Default runs/reproduce/<name>-<hash8>. */
  work: string;
  /** The store (SQLite file or URL) the steps use. */
  db: string;
  /** results.md. */
  results: string;
  /** Figures folder. */
  figures: string;
  /** Exported best model. */
  export: string;
}

/** Options of `reproduce`. */
export interface ReproduceOptions extends Partial<ReproducePaths> {
  /** Train the second direction in a child process (default true when there are two directions). */
  parallel?: boolean;
  /** Recompute every step (finished models are still reused by training). */
  force?: boolean;
  /** Progress lines. Default: stderr. */
  log?: (line: string) => void;
  /** No training progress bars. */
  quiet?: boolean;
}

/** What one direction's students step stores. */
export interface DirectionOutput {
  direction: string;
  train: "dl19" | "dl20";
  test: "dl19" | "dl20";
  comparison: StudentComparison;
  /** Training curves of each student's first seed. */
  curves: Array<{ name: string; seed: number; runId: string; curves: CurvePoint[] }>;
  /** The TCL and loss/target ablation cells of this direction (test year and NovelEval), aggregated. */
  ablation: { rows: AblationRow[]; baselines: Array<Omit<AblationBaseline, "perQuery">>; cells: Array<{ label: string; targets: string; runId: string; loss: string; tcl: boolean; seed: number; steps: number; bestEpoch: number | null; selectedEpoch: number | null; heldOut: number | null; trainSeconds: number }> };
  /** Held-out nDCG@10 per epoch of each student's selection (first seed). */
  selection: Array<{ name: string; seed: number; epoch: number | null; curve: Array<{ epoch: number; ndcg: number }> }>;
  /** Engine that trained and scored (e.g. tfjs-wasm+blas). */
  engine: string;
  seconds: number;
}

/** The exported model. */
export interface ExportOutput {
  student: string;
  direction: string;
  seed: number;
  source: string;
  out: string;
  format: string;
  /** The held-out (training-side folds) nDCG@10 that chose it. */
  heldOutNdcg10: number;
  /** Its nDCG@10 on the test year (reported only). */
  testNdcg10: number;
  parityMaxAbsDiff: number;
  parityPairs: number;
  bytes: number;
}

/** Everything a run produced. */
export interface ReproduceResult {
  config: ReproduceConfig;
  id: string;
  paths: ReproducePaths;
  baselines: Record<"dl19" | "dl20", ComparisonRow[]>;
  /** The collection statistics every student uses, measured against the shipped runs, and their id in the store. */
  lexicon: { id: string; report: LexiconReport };
  labels: LabelSummary[];
  directions: DirectionOutput[];
  /** The cross-validation protocol over both years (null when the configuration skips it). */
  crossval: CrossValOutput | null;
  exported: ExportOutput;
  figures: string[];
  outcomes: StepOutcome[];
  seconds: number;
}

/** Default paths of a configuration. */
export function defaultReproducePaths(cfg: ReproduceConfig, db: string): ReproducePaths {
  const fast = cfg.name !== "default";
  return {
    work: projectPath("runs", "reproduce", reproduceId(cfg)),
    db,
    results: projectPath(fast ? `results-${cfg.name}.md` : "results.md"),
    figures: projectPath("figures", fast ? `reproduce-${cfg.name}` : "reproduce"),
    export: projectPath("models", fast ? `best-${cfg.name}` : "best"),
  };
}

/** Names and sizes of the vendored data (a store file and its lock excluded: they change while a run reads the data): a changed file reruns everything. */
export function dataFingerprint(): string {
  const root = dataDir();
  const entries: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (!/(\.sqlite(-wal|-shm|-journal)?|-lock)$/.test(name)) entries.push(`${relative(root, p)}:${st.size}`);
    }
  };
  walk(root);
  return hash8(entries);
}

/** The student kinds of a configuration: its shared settings, teacher and warm-start checkpoints. */
export function reproduceKinds(cfg: ReproduceConfig): Record<string, StudentSpec> {
  return studentKinds({ ...cfg.student, teacher: cfg.teacher }, undefined, { bert: cfg.init, gpt: cfg.gptInit });
}

/** The students compared in every direction (names are the tables' and figures' labels). */
export function directionStudents(cfg: ReproduceConfig): StudentSpec[] {
  const kinds = reproduceKinds(cfg);
  const gpt = (k: string): StudentSpec => ({ ...kinds[k], config: { ...kinds[k].config, ...cfg.gpt } });
  const full = cfg.fullRanking;
  const fullName = full && (full.selection.startsWith("sliding") ? "sliding-window labels (9 calls per query)" : `the teacher's full ${full.selection} ranking (its sliding window: 9 calls per query)`);
  return [
    ...cfg.students.map((k) => (k.startsWith("gpt") ? gpt(k) : kinds[k])),
    ...(full ? [{ name: `${kinds[full.student].name}, ${fullName}`, config: { ...kinds[full.student].config, selection: full.selection, epochs: full.epochs, groupSize: Math.max(kinds[full.student].config.groupSize ?? 20, /^top(\d+)$/.test(full.selection) ? Number(full.selection.slice(3)) : 20) } }] : []),
  ];
}

/** One direction: the ablation cells (TCL on/off with listNet; the other losses where configured), then the student comparison (BERT runs reused). */
export async function runDirection(db: Kysely<Database>, cfg: ReproduceConfig, work: string, direction: string, log: (l: string) => void, quiet: boolean): Promise<DirectionOutput> {
  const t0 = Date.now();
  const d = parseDirection(direction);
  const out = join(work, "students");
  // the ablation cells are the residual student (features + prior) with TCL v3 on and off, then losses x targets without TCL
  const base = { ...reproduceKinds(cfg).residual.config, tcl: undefined };
  delete (base as { tcl?: unknown }).tcl;
  const common = { out, noveleval: cfg.noveleval, evalQueries: cfg.testQueries, quiet };
  const onCell = (c: AblationCellResult, total: number) => log(`${d.name} ablation ${c.index + 1}/${total} ${c.label} seed ${c.seed}: ${c.reused ? "reused" : `trained in ${c.trainSeconds.toFixed(0)} s`}${c.selection ? `, ${c.selection.epoch} epoch(s) selected` : ""}, ${c.evals.map((e) => `${e.testSet} nDCG@10 ${e.all["ndcg@10"].toFixed(4)}`).join(", ")}`);
  const grids: Array<{ targets: string; kind: string; result: Awaited<ReturnType<typeof runAblation>> }> = [
    { targets: "exp", kind: "residual", result: await runAblation(db, { losses: ["listNet"], tcl: [true, false], seeds: cfg.seeds, directions: [d.name], base: { ...base, targets: "exp" } }, { ...common, onCell }) },
  ];
  const lossKind = cfg.lossAblation.student;
  if (cfg.lossAblation.direction === d.name) {
    const lossBase = { ...reproduceKinds(cfg)[lossKind].config } as Partial<TrainConfig>;
    delete lossBase.tcl;
    for (const targets of cfg.lossAblation.targets) {
      // on the residual student without TCL, listNet with exp gains is the TCL-off cell above
      const losses = cfg.lossAblation.losses.filter((l) => !(lossKind === "residual-notcl" && l === "listNet" && targets === "exp"));
      if (losses.length) grids.push({ targets, kind: lossKind, result: await runAblation(db, { losses, tcl: [false], seeds: cfg.seeds, directions: [d.name], base: { ...lossBase, targets } }, { ...common, onCell }) });
    }
  }
  const cells = grids.flatMap((g) => g.result.cells.map((c) => ({ ...c, targets: g.targets, kind: g.kind })));
  const scores: CellScores[] = [];
  // the loss label carries the student and the target form, so that the table keeps them apart
  const lossLabel = (c: { loss: string; targets: string; kind: string }): string => `${c.kind === "residual" || c.kind === "residual-notcl" ? "" : `${c.kind}: `}${c.loss}${c.targets === "exp" ? "" : `, ${c.targets} gains`}`;
  for (const c of cells) for (const e of c.evals) scores.push({ direction: c.direction, testSet: e.testSet, loss: lossLabel(c), missing: c.missing, tcl: c.tcl, ts: c.ts, seed: c.seed, perQuery: e.perQuery });
  scores.sort((a, b) => Number(a.testSet === "noveleval") - Number(b.testSet === "noveleval"));
  const baselines = grids[0].result.baselines;
  const rows = aggregateAblation(scores, Object.fromEntries(baselines.map((b) => [b.testSet, b.perQuery])));

  const curves: DirectionOutput["curves"] = [];
  const comparison = await compareStudents(db, {
    students: directionStudents(cfg), train: d.train, test: d.dev, seeds: cfg.seeds, out: join(out, "models"), testQueries: cfg.testQueries, quiet,
    onRun: (name, seed, r) => {
      if (seed === cfg.seeds[0]) curves.push({ name, seed, runId: r.runId, curves: r.curves });
      log(`${d.name} ${name} seed ${seed}: ${r.steps} steps, ${r.best?.epoch ?? "-"} epoch(s) selected on held-out folds of ${d.train}`);
    },
  });
  const selection = comparison.runs.filter((x) => x.seed === cfg.seeds[0]).map((x) => ({ name: x.name, seed: x.seed, epoch: x.selectedEpoch, curve: x.selectionCurve ?? [] }));
  return {
    direction: d.name, train: d.train, test: d.dev, comparison, curves, selection,
    ablation: {
      rows, baselines: baselines.map(({ perQuery: _p, ...b }) => b),
      cells: cells.map((c) => ({
        label: c.label, targets: c.targets, runId: c.runId, loss: c.loss, tcl: c.tcl, seed: c.seed, steps: c.steps, bestEpoch: c.best?.epoch ?? null,
        selectedEpoch: c.selection?.epoch ?? null, heldOut: c.selection?.ndcg ?? null, trainSeconds: c.trainSeconds,
      })),
    },
    engine: tfjsEngineName(),
    seconds: (Date.now() - t0) / 1000,
  };
}

/** A stored direction is reusable only while its models are still on disk (the export reads one). */
export function directionModelsPresent(o: DirectionOutput): boolean {
  return o.comparison.runs.every((r) => existsSync(join(r.outDir, "config.json")));
}

/** The step name and inputs of a direction (shared by the parent and the child process). */
export function directionStep(cfg: ReproduceConfig, direction: string, db: string, labelsKey: string): { name: string; inputs: unknown } {
  return { name: `students ${direction}`, inputs: { cfg, direction, db, labelsKey, version: 2 } };
}

/**
 * Run a direction's step in a child process (`rra reproduce --step`). Its output goes to a log file in the
 * work folder, not a pipe: this process trains synchronously between awaits and would not drain a pipe,
 * so a chatty child could block on a full one. The log is echoed (prefixed) when the child ends.
 */
function directionInChild(paths: ReproducePaths, direction: string, force: boolean, log: (l: string) => void): Promise<void> {
  const logFile = join(paths.work, `${stepFileName(direction)}.log`);
  writeFileSync(logFile, "");
  const fd = openSync(logFile, "a");
  log(`${direction} trains in a child process on the second core; follow it with: tail -f ${relative(process.cwd(), logFile) || logFile}`);
  return new Promise((resolvePromise, reject) => {
    // a PostgreSQL URL (with its password) goes through the environment, not the command line that ps shows
    const pg = isPostgresUrl(paths.db);
    const child = spawn(process.execPath, [join(projectRoot(), "bin", "rra.js"), "reproduce", "--step", direction, "--work", paths.work, ...(pg ? [] : ["--db", paths.db]), ...(force ? ["--force"] : [])], {
      stdio: ["ignore", fd, fd], env: { ...process.env, ...(pg ? { RRA_DB_URL: paths.db } : {}) },
    });
    closeSync(fd);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const lines = readFileSync(logFile, "utf8").split(/\r|\n/).filter((l) => l.trim() !== "");
      for (const line of lines) log(`[${direction}] ${line}`);
      if (code === 0) resolvePromise();
      else reject(new RraError(`reproduce: the child process of ${direction} ${signal ? `was killed (${signal})` : `exited with ${code}`}; its log: ${logFile}. Rerun to resume.`));
    });
  });
}

/** The run, every step stored and reused. */
export async function reproduce(cfg: ReproduceConfig, options: ReproduceOptions = {}): Promise<ReproduceResult> {
  const t0 = Date.now();
  const log = options.log ?? ((l: string) => console.error(`[reproduce] ${l}`));
  const paths: ReproducePaths = { ...defaultReproducePaths(cfg, options.db ?? ""), ...givenPaths(options) };
  if (!paths.db) throw new RraError("reproduce: no store given (db)");
  mkdirSync(paths.work, { recursive: true });
  writeFileAtomic(join(paths.work, "config.json"), JSON.stringify(cfg, null, 1) + "\n");
  const store: StepStore = { dir: join(paths.work, "steps"), force: options.force, log, outcomes: [] };
  const quiet = options.quiet ?? false;
  const data = dataFingerprint();

  await step(store, "data check", { data, version: 1 }, async () => {
    const failed = checkData().filter((r) => !r.ok);
    if (failed.length) throw new RraError(`reproduce: ${failed.length} data check(s) failed:\n${failed.map((f) => `  ${f.file}: ${f.detail}`).join("\n")}`);
    return { ok: true };
  });

  const db = await openStore(paths.db);
  let directions: DirectionOutput[];
  let baselines: Record<"dl19" | "dl20", ComparisonRow[]>;
  let labels: LabelSummary[];
  let lexicon: ReproduceResult["lexicon"];
  let crossval: CrossValOutput | null = null;
  try {
    lexicon = await step(store, "lexicon", { data, db: paths.db, version: 1 }, async () => {
      const dl19 = loadDataset("dl19"), dl20 = loadDataset("dl20");
      const lex = shippedLexicon({ dl19, dl20 });
      const report = lexiconReport(lex, [{ name: "DL19", lists: dl19.lists, qrels: dl19.qrels }, { name: "DL20", lists: dl20.lists, qrels: dl20.qrels }]);
      log(`  lexicon: avgdl ${lex.avgdl.toFixed(2)}, ${lex.recovered.size} terms recovered; BM25 re-scored nDCG@10 ${report.sets.map((s) => `${s.name} ${s.rescoredNdcg10?.toFixed(4)}`).join(", ")}`);
      return { id: await storeLexicon(db, lex), report };
    });

    baselines = await step(store, "baselines", { data, db: paths.db, version: 1 }, async () => (await runBaselineStage(db, { log: (l) => log(`  ${l}`) })).comparisons);

    labels = await step(store, "labels", { data, db: paths.db, jobs: cfg.labelJobs, n: cfg.labelQueries, version: 1 }, async () => {
      const out: LabelSummary[] = [];
      for (const year of ["dl19", "dl20"] as const) {
        for (const j of cfg.labelJobs) {
          if (j.years && !j.years.includes(year)) continue;
          const teacher = j.teacher.replace("{year}", year);
          const { summary } = await runLabelJob(db, { dataset: year, teacher, ...(j.selection ? { selection: j.selection } : {}), limit: cfg.labelQueries }, { quiet });
          log(`  labels ${year} ${teacher} ${summary.selection}: ${(summary.calls / summary.queries).toFixed(1)} calls/query, teacher nDCG@10 ${summary.teacherNdcg10.toFixed(4)}`);
          out.push(summary);
        }
      }
      return out;
    });
    const labelsKey = hash8(labels.map((l) => l.job));

    // the second direction trains in a child process, when it has work to do
    const second = (options.parallel ?? true) && cfg.directions.length > 1 ? directionStep(cfg, cfg.directions[1], paths.db, labelsKey) : null;
    const secondRec = second ? readStep<DirectionOutput>(store, second.name, second.inputs) : null;
    const child = second && (options.force || !secondRec || !directionModelsPresent(secondRec.output)) ? cfg.directions[1] : null;
    const childRun = child ? directionInChild(paths, child, Boolean(options.force), log) : null;
    childRun?.catch(() => undefined); // awaited below; keep an early failure from being reported as unhandled
    directions = [];
    try {
      for (const dir of cfg.directions) {
        if (dir === child) continue;
        const s = directionStep(cfg, dir, paths.db, labelsKey);
        directions.push(await step(store, s.name, s.inputs, () => runDirection(db, cfg, paths.work, dir, log, quiet), directionModelsPresent));
      }
      // the cross-validation protocol runs here, while the child (if any) trains its direction
      if (cfg.crossval) {
        const cv = cfg.crossval;
        crossval = await step(store, "crossval", { cfg: { crossval: cv, student: cfg.student, teacher: cfg.teacher, seeds: cfg.seeds, ...(cfg.init ? { init: cfg.init } : {}), ...(cfg.gptInit ? { gptInit: cfg.gptInit } : {}) }, db: paths.db, labelsKey, version: 1 }, () => runCrossval(db, cfg, cv, paths.work, log, quiet));
      }
    } finally {
      // the child's failure is the one to report only when this process's own directions succeeded
      if (childRun) await childRun.catch((e) => { if (directions.length === cfg.directions.length - 1) throw e; });
    }
    if (child && second) {
      const rec = readStep<DirectionOutput>(store, second.name, second.inputs);
      if (!rec) throw new RraError(`reproduce: the child process finished but left no record of ${show(second.name)} in ${store.dir}`);
      store.outcomes.push({ name: second.name, status: "ran", seconds: rec.seconds, computeSeconds: rec.seconds });
      directions.splice(cfg.directions.indexOf(child), 0, rec.output);
    }
  } finally {
    await closeStore(db);
  }

  const exported = await step(store, "export", { best: bestStudent(directions), format: cfg.exportFormat, out: paths.export, version: 1 }, async () => {
    const best = bestStudent(directions);
    const r = await exportModel({ model: best.source, format: cfg.exportFormat, out: paths.export });
    log(`  exported ${best.student} (${best.direction}, seed ${best.seed}) as ${cfg.exportFormat}: parity max |diff| ${r.parity.maxAbsDiff.toExponential(2)} on ${r.parity.pairs} pairs`);
    return { ...best, out: r.out, format: r.format, parityMaxAbsDiff: r.parity.maxAbsDiff, parityPairs: r.parity.pairs, bytes: r.bytes };
  }, (o) => existsSync(join(o.out, "config.json")));

  const figures = await step(store, "figures", { labels, directions, crossval, dir: paths.figures, version: 2 }, () => writeReproduceFigures({ labels, directions, crossval, dir: paths.figures }),
    (files) => files.every((f) => existsSync(f)));

  const result: ReproduceResult = { config: cfg, id: reproduceId(cfg), paths, baselines, lexicon, labels, directions, crossval, exported, figures, outcomes: store.outcomes, seconds: (Date.now() - t0) / 1000 };
  writeFileAtomic(paths.results, reproduceMarkdown(result, provenance()));
  log(`results: ${relative(process.cwd(), paths.results) || paths.results} (${result.seconds.toFixed(1)} s; ${store.outcomes.filter((o) => o.status === "cached").length}/${store.outcomes.length} steps reused)`);
  return result;
}

/** What the cross-validation step stores. */
export interface CrossValOutput extends Omit<CrossValResult, "perQuery" | "novelPerQuery"> {
  students: string[];
  seconds: number;
}

/** The cross-validation protocol of a configuration (pipeline/crossval.ts) with its students. */
export async function runCrossval(db: Kysely<Database>, cfg: ReproduceConfig, cv: NonNullable<ReproduceConfig["crossval"]>, work: string, log: (l: string) => void, quiet: boolean): Promise<CrossValOutput> {
  const t0 = Date.now();
  const kinds = reproduceKinds(cfg);
  const students = cv.students.map((k) => (k.startsWith("gpt") ? { ...kinds[k], config: { ...kinds[k].config, ...cfg.gpt } } : kinds[k]));
  const r = await crossValidateStudents(db, {
    students, seeds: cfg.seeds, folds: cv.folds, out: join(work, "students", "models"), quiet, noveleval: cfg.noveleval,
    onRun: (name, seed, fold, res) => log(`crossval ${name} seed ${seed} fold ${fold + 1}/${cv.folds}: ${res.best?.epoch ?? "-"} epoch(s) selected`),
  });
  const { perQuery: _p, novelPerQuery: _n, ...rest } = r;
  return { ...rest, students: students.map((s) => s.name), seconds: (Date.now() - t0) / 1000 };
}

/** Run one direction's step alone (the child process of `reproduce`). */
export async function reproduceDirectionStep(work: string, db: string, direction: string, cfg: ReproduceConfig, options: { log?: (l: string) => void; quiet?: boolean; force?: boolean } = {}): Promise<void> {
  const log = options.log ?? ((l: string) => console.error(l));
  const store: StepStore = { dir: join(work, "steps"), log, outcomes: [], force: options.force };
  const labels = readStep<LabelSummary[]>(store, "labels", { data: dataFingerprint(), db, jobs: cfg.labelJobs, n: cfg.labelQueries, version: 1 });
  if (!labels) throw new RraError(`reproduce --step ${direction}: the labels step of ${work} is not stored yet; run rra reproduce`);
  const handle = await openStore(db);
  try {
    const s = directionStep(cfg, direction, db, hash8(labels.output.map((l) => l.job)));
    await step(store, s.name, s.inputs, () => runDirection(handle, cfg, work, direction, log, options.quiet ?? true), directionModelsPresent);
  } finally {
    await closeStore(handle);
  }
}

/**
 * The model that is exported: in the first direction, the RRA-BERT student (and seed) with the best
 * held-out nDCG@10 on its training year's folds, the score that selected it; the test year plays no part
 * in the choice (its score is reported, not used). RRA-GPT and the no-network lexical ranker are not
 * exported (the first has its own export path, the second has no network to export).
 */
export function bestStudent(directions: readonly DirectionOutput[]): Omit<ExportOutput, "out" | "format" | "parityMaxAbsDiff" | "parityPairs" | "bytes"> {
  const d = directions[0];
  const scored = d.comparison.runs.filter((r) => r.selectionNdcg !== null && Number.isFinite(r.selectionNdcg) && r.name.startsWith("RRA-BERT"));
  if (scored.length === 0) throw new RraError(`reproduce: no RRA-BERT student in ${d.direction} with a held-out selection score to export`);
  // a student whose network trained at least one epoch, when there is one (an epoch-0 student's network scores 0: a vacuous graph)
  const trained = scored.filter((r) => (r.selectedEpoch ?? 0) > 0);
  const best = (trained.length ? trained : scored).reduce((a, b) => ((b.selectionNdcg as number) > (a.selectionNdcg as number) ? b : a));
  return { student: best.name, direction: d.direction, seed: best.seed, source: best.outDir, heldOutNdcg10: best.selectionNdcg as number, testNdcg10: best.test["ndcg@10"] };
}

/** The paths given in `o`, folders and files made absolute; a PostgreSQL URL or ":memory:" store kept as given. */
function givenPaths(o: ReproduceOptions): Partial<ReproducePaths> {
  const out: Partial<ReproducePaths> = {};
  for (const k of ["work", "results", "figures", "export"] as const) if (o[k] !== undefined) out[k] = resolve(o[k] as string);
  if (o.db !== undefined) out.db = isPostgresUrl(o.db) || o.db === ":memory:" ? o.db : resolve(o.db);
  return out;
}
