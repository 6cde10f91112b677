/**
 * The label pipeline (RRADistill section 2): for each query, pre-rank the candidates, select windows
 * (top10+bottom10 of the first 50 for RRADistill, one top-20 window, or RankGPT's sliding 20/10 over
 * 100), shuffle each window with a recorded seed, prompt the teacher once per window, parse its answer
 * (anomalies counted, never thrown) and store the raw facts per (window, document). Every teacher call
 * is stored; a window is stored atomically once answered, so an interrupted job resumes where it
 * stopped (live teachers answer repeated requests from their cache). Several workers sharing one job
 * (distributed.ts) run the same `labelQuery` per claimed query and store its windows in one transaction.
 */
import type { Kysely } from "kysely";
import { ConfigError, TeacherError, show } from "../core/errors";
import { hash8, stableStringify } from "../core/hash";
import { interruptCheck } from "../core/interrupt";
import { createProgress } from "../core/progress";
import { provenance } from "../core/provenance";
import { deriveSeed } from "../core/rng";
import { loadDataset } from "../data/datasets";
import type { Candidate, Dataset, RankedList, Run } from "../data/types";
import { evaluateRun } from "../eval/evaluate";
import { finishLabelJob, saveRationale, saveWindow, upsertLabelJob, type LabelFact, type RationaleRecord, type WindowRecord } from "../store/labels";
import type { Database } from "../store/schema";
import { beginTeacherCall, finishTeacherCall, teacherCallKey } from "../store/teacher-calls";
import { bm25PreRank } from "./bm25";
import { applyMissingPolicy, parsePermutation, type AnomalyCounts, type ParseMode } from "./parse";
import { DEFAULT_TEMPLATE, getTemplate, renderPrompt, renderRationalePrompt } from "./prompts";
import { applyWindowPermutation, formatSelection, parseSelection, selectWindows, shuffleWindow, slidingWindows, unshuffleOrder, SELECTION_DEFAULT_N } from "./select";
import { createTeacher, teacherDefaults } from "./teachers/create";
import type { LabelWindow, Teacher, TeacherRequest } from "./types";

/** Configuration of a label job. Unknown keys are rejected. */
export interface LabelJobConfig {
  /** dl19, dl20 or noveleval. */
  dataset: string;
  /** Teacher name (see teachers/create.ts). Default `projected:rankvicuna-7b`. */
  teacher: string;
  /** `top10+bottom10` (default), `top20` or `sliding20/10`. */
  selection: string;
  /** Leading pre-ranked candidates considered; default 50 for top+bottom, 100 otherwise. */
  n: number;
  /** `first-stage` (the shipped BM25 order; default for TREC DL) or `bm25` (over the candidate pool; default for NovelEval). */
  preRanker: "first-stage" | "bm25";
  /** Shuffle each window with a seed derived from `seed` before prompting. Default true (false for replay). */
  shuffle: boolean;
  /** Prompt template version. */
  template: string;
  /** How answers are read to order the documents: `brackets` (default) or `rankllm` (replay, to reproduce rank_llm's runs). Stored facts and anomaly counts always read `[k]` ids. */
  parseMode: ParseMode;
  seed: number;
  /** Only the first `limit` queries (smoke runs); 0 = all. */
  limit: number;
  /** Queries labelled at once (bounds in-flight teacher calls). */
  concurrency: number;
  /** A second teacher (e.g. `live:<small model>`) that writes a short rationale of each window's ranking; none by default. */
  rationaleTeacher: string | null;
}

const KEYS: Array<keyof LabelJobConfig> = ["dataset", "teacher", "selection", "n", "preRanker", "shuffle", "template", "parseMode", "seed", "limit", "concurrency", "rationaleTeacher"];

/** Fill in the defaults a dataset and teacher imply and validate everything. */
export function resolveLabelConfig(partial: Partial<LabelJobConfig> & { dataset: string }): LabelJobConfig {
  for (const k of Object.keys(partial)) {
    if (!(KEYS as string[]).includes(k)) throw new ConfigError(`label config: unknown key ${show(k)}; expected one of ${KEYS.join(", ")}`);
  }
  const teacher = partial.teacher ?? "projected:rankvicuna-7b";
  const td = teacherDefaults(teacher);
  const selection = formatSelection(parseSelection(partial.selection ?? td.selection ?? "top10+bottom10"));
  const mode = parseSelection(selection);
  const cfg: LabelJobConfig = {
    dataset: partial.dataset,
    teacher,
    selection,
    n: partial.n ?? SELECTION_DEFAULT_N[mode.kind],
    preRanker: partial.preRanker ?? td.preRanker ?? (partial.dataset === "noveleval" ? "bm25" : "first-stage"),
    shuffle: partial.shuffle ?? td.shuffle ?? mode.kind !== "sliding",
    template: partial.template ?? td.template ?? DEFAULT_TEMPLATE,
    parseMode: partial.parseMode ?? td.parseMode ?? "brackets",
    seed: partial.seed ?? 42,
    limit: partial.limit ?? 0,
    concurrency: partial.concurrency ?? 4,
    rationaleTeacher: partial.rationaleTeacher ?? null,
  };
  getTemplate(cfg.template);
  if (!["first-stage", "bm25"].includes(cfg.preRanker)) throw new ConfigError(`label config: preRanker must be first-stage or bm25, got ${show(cfg.preRanker)}`);
  if (!["brackets", "rankllm"].includes(cfg.parseMode)) throw new ConfigError(`label config: parseMode must be brackets or rankllm, got ${show(cfg.parseMode)}`);
  for (const k of ["n", "seed", "limit", "concurrency"] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < (k === "n" || k === "concurrency" ? 1 : 0)) throw new ConfigError(`label config: ${k} must be a ${k === "n" || k === "concurrency" ? "positive" : "non-negative"} integer, got ${show(cfg[k])}`);
  }
  return cfg;
}

/** The id of a job: readable prefix plus the hash of its resolved config. */
export function labelJobId(cfg: LabelJobConfig): string {
  const { concurrency: _c, ...identity } = cfg; // how fast a job runs is not part of what it is
  return `${cfg.dataset}-${cfg.teacher.replace(/[^A-Za-z0-9.+-]+/g, "_")}-${cfg.selection.replace("/", "_")}-${hash8(identity)}`;
}

/** What a job did and what its labels are worth (the `--json` summary of `rra label`). */
export interface LabelSummary {
  job: string;
  dataset: string;
  teacher: string;
  model: string;
  selection: string;
  queries: number;
  windows: number;
  /** Windows the teacher could not answer (errors, never-logged windows); not stored, retried on rerun. */
  failed: number;
  /** Teacher calls made for this job (answered windows); cached ones cost nothing when rerun. */
  calls: number;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  missing: number;
  duplicates: number;
  outOfRange: number;
  malformed: number;
  echo: number;
  freeText: number;
  empty: number;
  /** nDCG@10 of the teacher's ranking (listed in order, then missing, then unshown candidates). */
  teacherNdcg10: number;
  /** nDCG@10 of the pre-ranked order the teacher started from. */
  preRankNdcg10: number;
  /** Share of judged missing documents with grade <= 1 (the hard-negative precision), and of judged listed ones. */
  hardNegativePrecision: { missing: number | null; listed: number | null; judgedMissing: number; judgedListed: number };
  /** Rationales stored (when a rationale teacher is configured) and rationale calls that failed. */
  rationales: number;
  rationaleFailed: number;
  seconds: number;
  /** Set by `runLabelJobs` when this is the stored summary of a finished job it reused (`seconds` is then that run's). */
  reused?: boolean;
}

/** What labelling one query gave: the teacher's ranking, counts, facts, anomalies, tokens. */
export interface QueryResult {
  ranking: string[];
  windows: number;
  failed: number;
  facts: LabelFact[];
  anomalies: AnomalyCounts[];
  tokens: { prompt: number; completion: number; latency: number; calls: number };
  rationales: number;
  rationaleFailed: number;
  /** The teacher's error message of each failed window (secrets already redacted by the teacher). */
  errors?: string[];
}

/** Options of `runLabelJob` besides the config. */
export interface RunLabelJobOptions {
  /** A loaded dataset (else loaded by name). */
  dataset?: Dataset;
  /** A teacher instance (else created from the config's name). */
  teacher?: Teacher;
  /** A rationale teacher instance (else created from `rationaleTeacher`). */
  rationaleTeacher?: Teacher;
  quiet?: boolean;
}

/** Store a non-live teacher's answer as a teacher call (live teachers store their own). */
async function recordCall(db: Kysely<Database>, teacher: Teacher, request: TeacherRequest, answer: { response: string; promptTokens: number | null; completionTokens: number | null; latencyMs: number; callId?: number }): Promise<number> {
  if (answer.callId !== undefined) return answer.callId;
  const params = { max_tokens: request.maxTokens, temperature: 0 };
  const cacheKey = teacherCallKey({ teacher: teacher.kind, model: teacher.model, templateVersion: request.templateVersion, request: { messages: request.messages, params } });
  const begun = await beginTeacherCall(db, { cacheKey, teacher: teacher.name, model: teacher.model, templateVersion: request.templateVersion, requestJson: stableStringify({ messages: request.messages, params }) });
  if (begun.status !== "done") await finishTeacherCall(db, begun.id, { response: answer.response, promptTokens: answer.promptTokens, completionTokens: answer.completionTokens, latencyMs: answer.latencyMs });
  return begun.id;
}

/** Where `labelQuery` puts each answered window and each rationale (a rationale after its window). */
export interface WindowSink {
  window(w: WindowRecord): Promise<void>;
  rationale(r: RationaleRecord): Promise<void>;
}

/** A sink that stores at once, each window in its own transaction (`runLabelJob`). */
function storeSink(db: Kysely<Database>): WindowSink {
  return { window: (w) => saveWindow(db, w), rationale: (r) => saveRationale(db, r) };
}

/** Label one query: windows, teacher calls (stored), parsing; answered windows go to `sink` (default: the store). */
export async function labelQuery(db: Kysely<Database>, jobId: string, cfg: LabelJobConfig, teacher: Teacher, rationaleTeacher: Teacher | null, list: RankedList, qIndex: number, onWindow: () => void, sink: WindowSink = storeSink(db)): Promise<QueryResult> {
  const template = getTemplate(cfg.template);
  const mode = parseSelection(cfg.selection);
  const ranked: Candidate[] = cfg.preRanker === "bm25" ? bm25PreRank(list) : list.candidates.map((c) => ({ ...c }));
  const res: QueryResult = { ranking: [], windows: 0, failed: 0, facts: [], anomalies: [], tokens: { prompt: 0, completion: 0, latency: 0, calls: 0 }, rationales: 0, rationaleFailed: 0 };
  // between windows: each answered window is already stored whole (its own transaction)
  const interrupt = interruptCheck(() => `query ${list.qid} after ${res.windows} window(s)`);

  // Ask the teacher about the window holding `docs`; returns the teacher's order over `docs` (append policy) or null on failure.
  const ask = async (docs: Candidate[], w: number): Promise<{ order: number[]; listed: Set<number> } | null> => {
    await interrupt.check();
    const windowId = `${list.qid}/${cfg.selection}/${w}`;
    const shuffleSeed = cfg.shuffle ? deriveSeed(cfg.seed, `shuffle/${list.qid}/${w}`) : null;
    const shuffled = shuffleSeed === null ? { docs, permutation: docs.map((_, i) => i) } : shuffleWindow(docs, shuffleSeed);
    const window: LabelWindow = { windowId, qid: list.qid, query: list.query, shuffleSeed, docs: shuffled.docs.map((c) => ({ docid: c.docid, text: c.text ?? "" })) };
    const rendered = renderPrompt(template, window);
    const request: TeacherRequest = { window, templateVersion: template.version, messages: rendered.messages, prompt: rendered.text, maxTokens: template.maxTokens };
    res.windows++;
    try {
      const answer = await teacher.rank(request);
      const callId = await recordCall(db, teacher, request, answer);
      // Facts and anomalies read ids as written ([k]); the order that forms the next sliding window may
      // follow another reading (rank_llm's, to reproduce its runs): see parse.ts for where they differ.
      const parsed = parsePermutation(answer.response, window.docs.length, { mode: "brackets" });
      const ordering = cfg.parseMode === "brackets" ? parsed : parsePermutation(answer.response, window.docs.length, { mode: cfg.parseMode });
      const shownRank = new Map<number, number>();
      parsed.listed.forEach((p, r) => shownRank.set(p, r + 1));
      const facts: LabelFact[] = window.docs.map((d, p) => ({
        qid: list.qid, docid: d.docid, positionShown: p + 1, teacherRank: shownRank.get(p) ?? null, missing: !shownRank.has(p),
        flags: { ...(parsed.anomalies.echo ? { echo: true } : {}), ...(shuffleSeed !== null ? { prePosition: shuffled.permutation[p] + 1 } : {}) },
      }));
      await sink.window({ jobId, windowId, qid: list.qid, ord: qIndex * 1000 + w, docids: window.docs.map((d) => d.docid), shuffleSeed, callId, anomalies: { ...parsed.anomalies }, facts });
      if (rationaleTeacher && parsed.listed.length > 0) {
        const r = renderRationalePrompt(window, parsed.listed);
        const rTemplate = getTemplate("rationale-v1");
        const rRequest: TeacherRequest = { window, templateVersion: rTemplate.version, messages: r.messages, prompt: r.text, maxTokens: rTemplate.maxTokens };
        try {
          const rAnswer = await rationaleTeacher.rank(rRequest);
          const rCallId = await recordCall(db, rationaleTeacher, rRequest, rAnswer);
          await sink.rationale({ jobId, windowId, qid: list.qid, callId: rCallId, text: rAnswer.response.trim() });
          res.rationales++;
        } catch (e) {
          if (!(e instanceof TeacherError)) throw e;
          res.rationaleFailed++; // the labels stand; a rerun asks for the rationale again
        }
      }
      res.facts.push(...facts);
      res.anomalies.push(parsed.anomalies);
      res.tokens.calls++;
      res.tokens.prompt += answer.promptTokens ?? 0;
      res.tokens.completion += answer.completionTokens ?? 0;
      res.tokens.latency += answer.latencyMs;
      const shownOrder = applyMissingPolicy(ordering, "append").ranking;
      return { order: unshuffleOrder(shownOrder, shuffled.permutation), listed: new Set(ordering.listed.map((p) => shuffled.permutation[p])) };
    } catch (e) {
      if (!(e instanceof TeacherError)) throw e;
      res.failed++;
      (res.errors ??= []).push(e.message);
      return null;
    } finally {
      onWindow();
    }
  };

  if (mode.kind === "sliding") {
    const n = Math.min(cfg.n, ranked.length);
    let current = ranked.slice(0, n);
    const windows = slidingWindows(0, n, mode.window, mode.step);
    for (let w = 0; w < windows.length; w++) {
      const [start, end] = windows[w];
      const answer = await ask(current.slice(start, end), w);
      if (answer) current = applyWindowPermutation(current, start, end, answer.order);
    }
    res.ranking = [...current, ...ranked.slice(n)].map((c) => c.docid);
  } else {
    const windows = selectWindows(ranked, mode, { n: cfg.n });
    const listedFirst: string[] = [];
    const missingAfter: string[] = [];
    for (let w = 0; w < windows.length; w++) {
      const docs = windows[w].map((i) => ranked[i]);
      const answer = await ask(docs, w);
      if (!answer) continue;
      for (const i of answer.order) (answer.listed.has(i) ? listedFirst : missingAfter).push(docs[i].docid);
    }
    const shown = new Set([...listedFirst, ...missingAfter]);
    res.ranking = [...listedFirst, ...missingAfter, ...ranked.filter((c) => !shown.has(c.docid)).map((c) => c.docid)];
  }
  return res;
}

/** What `runLabelJob` returns: the summary and the teacher's ranking of every query as a run. */
export interface LabelJobResult {
  summary: LabelSummary;
  /** Per query: listed documents in the teacher's order, then missing ones, then unshown candidates (sliding: the final order). */
  teacherRun: Run;
  /** Why windows failed: each distinct teacher error message (HTTP status and the endpoint's own message, redacted) with its count, most frequent first. */
  failures: Array<{ message: string; windows: number }>;
}

/** A label job ready to run: its resolved config, data, teachers, id (recorded as running) and queries. */
export interface StartedLabelJob {
  cfg: LabelJobConfig;
  dataset: Dataset;
  teacher: Teacher;
  rationaleTeacher: Teacher | null;
  jobId: string;
  lists: RankedList[];
}

/** Resolve the config, create the teachers and record the job as running (shared by `runLabelJob` and the distributed worker). */
export async function startLabelJob(db: Kysely<Database>, partial: Partial<LabelJobConfig> & { dataset: string }, options: RunLabelJobOptions = {}): Promise<StartedLabelJob> {
  const cfg = resolveLabelConfig(partial);
  const dataset = options.dataset ?? loadDataset(cfg.dataset);
  const teacher = options.teacher ?? createTeacher(cfg.teacher, { db, dataset });
  const rationaleTeacher = options.rationaleTeacher ?? (cfg.rationaleTeacher ? createTeacher(cfg.rationaleTeacher, { db, dataset }) : null);
  const jobId = labelJobId(cfg);
  const prov = provenance();
  await upsertLabelJob(db, {
    id: jobId, dataset: cfg.dataset, teacher: teacher.name, model: teacher.model, templateVersion: cfg.template, selection: cfg.selection,
    seed: cfg.seed, config: cfg, versions: { node: prov.node, ...prov.packages }, gitSha: prov.gitSha, status: "running",
  });
  return { cfg, dataset, teacher, rationaleTeacher, jobId, lists: cfg.limit > 0 ? dataset.lists.slice(0, cfg.limit) : dataset.lists };
}

/** Run (or resume) a label job and summarise it. */
export async function runLabelJob(db: Kysely<Database>, partial: Partial<LabelJobConfig> & { dataset: string }, options: RunLabelJobOptions = {}): Promise<LabelJobResult> {
  const t0 = Date.now();
  let at = `label job on ${partial.dataset} before its first query`;
  const interrupt = interruptCheck(() => at);
  const { cfg, dataset, teacher, rationaleTeacher, jobId, lists } = await startLabelJob(db, partial, options);
  const mode = parseSelection(cfg.selection);
  const perQuery = mode.kind === "sliding" ? slidingWindows(0, Math.min(cfg.n, 100), mode.window, mode.step).length : 1;
  const progress = createProgress({ label: `label ${cfg.dataset} ${teacher.name} ${cfg.selection}`, total: lists.length * perQuery, unit: "windows", quiet: options.quiet });
  const results: QueryResult[] = new Array(lists.length);
  let next = 0, done = 0;
  let failure: { error: unknown } | null = null;
  at = `label job ${jobId}`;
  const worker = async () => {
    // every worker stops at its next query once one failed (or was interrupted)
    while (next < lists.length && failure === null) {
      at = `label job ${jobId} after ${done} of ${lists.length} queries (every answered window is stored whole: running it again resumes the job)`;
      await interrupt.check();
      if (next >= lists.length || failure !== null) break; // taken by another worker while this one yielded
      const i = next++;
      results[i] = await labelQuery(db, jobId, cfg, teacher, rationaleTeacher, lists[i], i, () => progress.tick());
      done++;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(cfg.concurrency, lists.length) }, () => worker().catch((error: unknown) => { failure ??= { error }; })));
  } finally {
    await teacher.close?.();
    await rationaleTeacher?.close?.();
  }
  if (failure !== null) throw interrupt.explain((failure as { error: unknown }).error);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  progress.done(failed ? `${failed} window(s) failed` : "ok");
  const teacherRun = teacherRunOf(lists, results);
  const summary = summarizeLabelJob(jobId, cfg, teacher, dataset, lists, results, teacherRun, (Date.now() - t0) / 1000);
  await finishLabelJob(db, jobId, summary, failed === 0);
  return { summary, teacherRun, failures: countFailures(results) };
}

/** Distinct failure messages of the queries' windows with their counts, most frequent first. */
export function countFailures(results: readonly QueryResult[]): Array<{ message: string; windows: number }> {
  const counts = new Map<string, number>();
  for (const r of results) for (const m of r.errors ?? []) counts.set(m, (counts.get(m) ?? 0) + 1);
  return [...counts].map(([message, windows]) => ({ message, windows })).sort((a, b) => b.windows - a.windows);
}

/** The teacher's ranking of every query as a run (rank 1 first). */
export function teacherRunOf(lists: readonly RankedList[], results: readonly QueryResult[]): Run {
  const teacherRun: Run = { tag: "teacher", queries: new Map() };
  lists.forEach((l, i) => teacherRun.queries.set(l.qid, results[i].ranking.map((docid, r) => ({ docid, rank: r + 1, score: results[i].ranking.length - r }))));
  return teacherRun;
}

/** The job's summary from every query's result (in `lists` order) and the teacher's run. */
export function summarizeLabelJob(jobId: string, cfg: LabelJobConfig, teacher: Teacher, dataset: Dataset, lists: readonly RankedList[], results: readonly QueryResult[], teacherRun: Run, seconds: number): LabelSummary {
  const preRun: Run = { tag: "pre", queries: new Map() };
  lists.forEach((l) => {
    const pre = cfg.preRanker === "bm25" ? bm25PreRank(l) : l.candidates;
    preRun.queries.set(l.qid, pre.map((c, r) => ({ docid: c.docid, rank: r + 1, score: -r })));
  });
  const qrels = new Map(lists.map((l) => [l.qid, dataset.qrels.get(l.qid) ?? new Map<string, number>()]));
  const ndcg = (run: Run) => evaluateRun(qrels, run, { metrics: ["ndcg@10"] }).all["ndcg@10"];
  const all = results.flatMap((r) => r.anomalies);
  const sum = (k: keyof AnomalyCounts) => all.reduce((a, x) => a + Number(x[k]), 0);
  let judgedMissing = 0, nonRelMissing = 0, judgedListed = 0, nonRelListed = 0;
  for (const f of results.flatMap((r) => r.facts)) {
    const g = dataset.qrels.get(f.qid)?.get(f.docid);
    if (g === undefined) continue;
    if (f.missing) { judgedMissing++; if (g <= 1) nonRelMissing++; } else { judgedListed++; if (g <= 1) nonRelListed++; }
  }
  return {
    job: jobId, dataset: cfg.dataset, teacher: teacher.name, model: teacher.model, selection: cfg.selection,
    queries: lists.length,
    windows: results.reduce((a, r) => a + r.windows, 0),
    failed: results.reduce((a, r) => a + r.failed, 0),
    calls: results.reduce((a, r) => a + r.tokens.calls, 0),
    promptTokens: results.reduce((a, r) => a + r.tokens.prompt, 0),
    completionTokens: results.reduce((a, r) => a + r.tokens.completion, 0),
    latencyMs: results.reduce((a, r) => a + r.tokens.latency, 0),
    missing: sum("missing"), duplicates: sum("duplicates"), outOfRange: sum("outOfRange"), malformed: sum("malformed"),
    echo: sum("echo"), freeText: sum("freeText"), empty: sum("empty"),
    teacherNdcg10: ndcg(teacherRun),
    preRankNdcg10: ndcg(preRun),
    hardNegativePrecision: {
      missing: judgedMissing ? nonRelMissing / judgedMissing : null, listed: judgedListed ? nonRelListed / judgedListed : null, judgedMissing, judgedListed,
    },
    rationales: results.reduce((a, r) => a + r.rationales, 0),
    rationaleFailed: results.reduce((a, r) => a + r.rationaleFailed, 0),
    seconds,
  };
}
