/**
 * SIMULATED online evaluation (issue 6, "Online A/B, simulated"): compare two rankers the way a search
 * engine's interleaving or A/B split test would, with simulated users from clicks.ts whose clicks
 * follow the TREC qrels grades. This is a SIMULATION over judged queries, never a real online result:
 * the outcome only says what the chosen click model would do, given the offline judgments.
 *
 * Sessions draw a query uniformly from the queries both runs and the qrels share. All randomness flows
 * from `seed` through `deriveSeed` (one stream per purpose), so a seed reproduces every number, and the
 * interleaving and the split see the same query sequence for the same seed.
 */
import { ConfigError, show } from "../core/errors";
import { createRng, deriveSeed, type Rng } from "../core/rng";
import { compareTrecEval } from "../data/trec";
import type { Qrels, Run } from "../data/types";
import { evaluateRun } from "../eval/evaluate";
import { clicksResolved, resolveClickModel, type ClickModelConfig } from "./clicks";
import { interleavingOutcome, teamDraft } from "./interleave";
import { proportionDiffInterval, wilsonInterval, type Interval } from "./stats";

/** Arguments shared by `simulateInterleaving`, `simulateSplit` and `compareOnline`. */
export interface OnlineArgs {
  /** Ranker A (the control). */
  runA: Run;
  /** Ranker B (the treatment). */
  runB: Run;
  /** Graded judgments; unjudged documents count as grade 0. */
  qrels: Qrels;
  /** Simulated user (see `ClickModelConfig`); default `CLICK_MODEL_DEFAULTS`. */
  clickModel?: Partial<ClickModelConfig>;
  /** Number of simulated sessions (integer >= 1). */
  sessions: number;
  /** Seed of every random choice (integer). */
  seed: number;
  /** Documents shown per session (integer >= 1). Default `clickModel.k`, else 10. */
  k?: number;
  /** Restrict sessions to these qids (each must be shared by both runs and the qrels). Default: all shared. */
  queries?: readonly string[];
}

const ARG_KEYS = ["runA", "runB", "qrels", "clickModel", "sessions", "seed", "k", "queries"];

/** Validated inputs: the query pool, each query's rankings and grades, and the resolved click model. */
interface Prepared {
  qids: string[];
  rankA: Map<string, string[]>;
  rankB: Map<string, string[]>;
  model: Readonly<ClickModelConfig>;
  sessions: number;
  seed: number;
}

/** Docids of one query in trec_eval order (score descending, ties by docid descending). */
function ranking(run: Run, qid: string): string[] {
  return (run.queries.get(qid) ?? []).slice().sort(compareTrecEval).map((c) => c.docid);
}

/** Queries that both runs and the qrels share, in qrels order. */
export function sharedQueries(runA: Run, runB: Run, qrels: Qrels): string[] {
  return [...qrels.keys()].filter((q) => runA.queries.has(q) && runB.queries.has(q));
}

function prepare(args: OnlineArgs, where: string): Prepared {
  if (args === null || typeof args !== "object") throw new ConfigError(`${where}: expected an arguments object, got ${show(args)}`);
  for (const key of Object.keys(args)) {
    if (!ARG_KEYS.includes(key)) throw new ConfigError(`${where}: unknown option ${show(key)}; expected one of ${ARG_KEYS.join(", ")}`);
  }
  const { runA, runB, qrels, clickModel = {}, sessions, seed, k } = args;
  for (const [name, run] of [["runA", runA], ["runB", runB]] as const) {
    if (!run || !(run.queries instanceof Map)) throw new ConfigError(`${where}: ${name} must be a Run (see readRun), got ${show(run)}`);
  }
  if (!(qrels instanceof Map)) throw new ConfigError(`${where}: qrels must be a Qrels map (see readQrels), got ${show(qrels)}`);
  if (clickModel === null || typeof clickModel !== "object") throw new ConfigError(`${where}: clickModel must be an object, got ${show(clickModel)}`);
  if (typeof sessions !== "number" || !Number.isInteger(sessions) || sessions < 1) throw new ConfigError(`${where}: sessions must be an integer >= 1, got ${show(sessions)}`);
  if (typeof seed !== "number" || !Number.isInteger(seed)) throw new ConfigError(`${where}: seed must be an integer, got ${show(seed)}`);
  if (k !== undefined && (typeof k !== "number" || !Number.isInteger(k) || k < 1)) throw new ConfigError(`${where}: k must be an integer >= 1, got ${show(k)}`);
  if (k !== undefined && clickModel.k !== undefined && clickModel.k !== k) {
    throw new ConfigError(`${where}: k (${show(k)}) and clickModel.k (${show(clickModel.k)}) disagree; give one of them`);
  }
  const model = resolveClickModel(k === undefined ? clickModel : { ...clickModel, k }, `${where}: clickModel`);
  const shared = sharedQueries(runA, runB, qrels);
  if (shared.length === 0) {
    throw new ConfigError(`${where}: runA (${show(runA.tag)}) and runB (${show(runB.tag)}) share no judged query (runA has ${runA.queries.size} queries, runB ${runB.queries.size}, qrels ${qrels.size})`);
  }
  let qids = shared;
  if (args.queries !== undefined) {
    if (!Array.isArray(args.queries) || args.queries.length === 0) throw new ConfigError(`${where}: queries must be a non-empty array of qids, got ${show(args.queries)}`);
    const missing = args.queries.filter((q) => !shared.includes(q));
    if (missing.length > 0) throw new ConfigError(`${where}: queries must be shared by runA, runB and the qrels, got ${show(missing.join(", "))}`);
    qids = [...new Set(args.queries)];
  }
  const rankA = new Map(qids.map((q) => [q, ranking(runA, q)]));
  const rankB = new Map(qids.map((q) => [q, ranking(runB, q)]));
  return { qids, rankA, rankB, model, sessions, seed };
}

/** The random streams of one simulation: query draws, team-draft coins or arm assignment, clicks. */
function streams(seed: number): { queries: Rng; coins: Rng; clicks: Rng } {
  return {
    queries: createRng(deriveSeed(seed, "online/queries")),
    coins: createRng(deriveSeed(seed, "online/coins")),
    clicks: createRng(deriveSeed(seed, "online/clicks")),
  };
}

/** Session counts of one query in an interleaving experiment. */
export interface QueryTally {
  sessions: number;
  winsA: number;
  winsB: number;
  ties: number;
}

/** Result of `simulateInterleaving` (SIMULATED). */
export interface InterleavingResult {
  sessions: number;
  winsA: number;
  winsB: number;
  ties: number;
  /** winsA / (winsA + winsB); NaN when every session tied. Win rate of B is 1 - winRateA. */
  winRateA: number;
  /** Wilson score interval of winRateA over the winsA + winsB decisive sessions. */
  winRateCi: Interval;
  /** Tallies per qid (queries never drawn are absent). */
  perQuery: Record<string, QueryTally>;
  /** Size of the query pool sessions were drawn from. */
  queries: number;
  clickModel: Readonly<ClickModelConfig>;
  seed: number;
}

/** Simulate a team-draft interleaving experiment of A against B (see interleave.ts). */
export function simulateInterleaving(args: OnlineArgs): InterleavingResult {
  const p = prepare(args, "simulateInterleaving");
  const rng = streams(p.seed);
  const perQuery: Record<string, QueryTally> = {};
  let winsA = 0, winsB = 0, ties = 0;
  for (let s = 0; s < p.sessions; s++) {
    const qid = p.qids[rng.queries.int(p.qids.length)];
    const il = teamDraft(p.rankA.get(qid) ?? [], p.rankB.get(qid) ?? [], p.model.k, rng.coins);
    const outcome = interleavingOutcome(il, clicksResolved(il.list, args.qrels.get(qid), p.model, rng.clicks));
    const t = (perQuery[qid] ??= { sessions: 0, winsA: 0, winsB: 0, ties: 0 });
    t.sessions++;
    if (outcome === "A") { winsA++; t.winsA++; } else if (outcome === "B") { winsB++; t.winsB++; } else { ties++; t.ties++; }
  }
  const decisive = winsA + winsB;
  return {
    sessions: p.sessions, winsA, winsB, ties,
    winRateA: decisive > 0 ? winsA / decisive : NaN,
    winRateCi: wilsonInterval(winsA, decisive),
    perQuery, queries: p.qids.length, clickModel: p.model, seed: p.seed,
  };
}

/** One arm of an A/B split. */
export interface ArmStats {
  sessions: number;
  /** Sessions with at least one click. */
  sessionsWithClick: number;
  clicks: number;
  /** CTR@k: share of sessions with >= 1 click (NaN for an empty arm). */
  ctr: number;
  clicksPerSession: number;
}

/** Result of `simulateSplit` (SIMULATED). */
export interface SplitResult {
  sessions: number;
  a: ArmStats;
  b: ArmStats;
  /** CTR@k of B minus CTR@k of A. */
  deltaCtr: number;
  /** Interval of deltaCtr: normal approximation for a difference of independent proportions (Wald). */
  deltaCtrCi: Interval;
  ciMethod: "normal-approximation";
  queries: number;
  clickModel: Readonly<ClickModelConfig>;
  seed: number;
}

function armStats(sessions: number, withClick: number, clicks: number): ArmStats {
  return { sessions, sessionsWithClick: withClick, clicks, ctr: withClick / sessions, clicksPerSession: clicks / sessions };
}

/** Simulate an A/B split: each session goes to A or B with probability 1/2 and sees that ranking. */
export function simulateSplit(args: OnlineArgs): SplitResult {
  const p = prepare(args, "simulateSplit");
  const rng = streams(p.seed);
  const n = { A: 0, B: 0 }, withClick = { A: 0, B: 0 }, clicks = { A: 0, B: 0 };
  for (let s = 0; s < p.sessions; s++) {
    const qid = p.qids[rng.queries.int(p.qids.length)];
    const arm = rng.coins.next() < 0.5 ? "A" : "B";
    const shown = (arm === "A" ? p.rankA : p.rankB).get(qid) ?? [];
    const c = clicksResolved(shown, args.qrels.get(qid), p.model, rng.clicks).length;
    n[arm]++;
    clicks[arm] += c;
    if (c > 0) withClick[arm]++;
  }
  const a = armStats(n.A, withClick.A, clicks.A), b = armStats(n.B, withClick.B, clicks.B);
  return {
    sessions: p.sessions, a, b,
    deltaCtr: b.ctr - a.ctr,
    deltaCtrCi: proportionDiffInterval(withClick.A, n.A, withClick.B, n.B),
    ciMethod: "normal-approximation",
    queries: p.qids.length, clickModel: p.model, seed: p.seed,
  };
}

/** Result of `compareOnline`: offline nDCG@10 next to both SIMULATED online outcomes. */
export interface OnlineComparison {
  /** nDCG@10 of A and B on the simulated query pool, and diff = B - A. */
  offline: { metric: "ndcg@10"; a: number; b: number; diff: number; queries: number };
  /** agreesWithOffline: (win rate of B > 0.5) === (offline diff > 0). */
  interleaving: InterleavingResult & { agreesWithOffline: boolean };
  /** agreesWithOffline: (deltaCtr > 0) === (offline diff > 0). */
  split: SplitResult & { agreesWithOffline: boolean };
  config: { clickModel: Readonly<ClickModelConfig>; k: number; sessions: number; seed: number; runA: string; runB: string };
}

/** Run the interleaving and the split with the same seed and set them against the offline nDCG@10 difference. */
export function compareOnline(args: OnlineArgs): OnlineComparison {
  const p = prepare(args, "compareOnline");
  const pool: Qrels = new Map(p.qids.map((q) => [q, args.qrels.get(q) ?? new Map<string, number>()]));
  const ndcg = (run: Run): number => evaluateRun(pool, run, { metrics: ["ndcg@10"] }).all["ndcg@10"];
  const a = ndcg(args.runA), b = ndcg(args.runB), diff = b - a;
  const il = simulateInterleaving(args);
  const split = simulateSplit(args);
  return {
    offline: { metric: "ndcg@10", a, b, diff, queries: p.qids.length },
    interleaving: { ...il, agreesWithOffline: (1 - il.winRateA > 0.5) === (diff > 0) },
    split: { ...split, agreesWithOffline: (split.deltaCtr > 0) === (diff > 0) },
    config: { clickModel: p.model, k: p.model.k, sessions: p.sessions, seed: p.seed, runA: args.runA.tag, runB: args.runB.tag },
  };
}
