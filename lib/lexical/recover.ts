/**
 * Recover the collection statistics of a BM25 first stage from its scores.
 *
 * A candidate's first-stage score is (lucene.ts) score_d = sum_t idf_t * x_dt with
 * x_dt = qtf_t * tf_dt / (tf_dt + k1 (1 - b + b L(dl_d) / avgdl)): given k1, b and avgdl, it is linear in
 * the idf of the query's terms, and each list of 100 scored candidates gives 100 equations for a handful
 * of unknowns. Per list we solve them by least squares (Cholesky of the normal equations, pivoting out
 * terms that no candidate separates), drop the few candidates whose text our analyzer splits
 * differently from Lucene's (residual far above the list's typical one) and solve again. avgdl is one
 * number for the whole collection: it is found by a grid plus golden-section search on the total squared
 * error; k1 and b are picked from a short list of common settings by the same error.
 *
 * A list counts as recovered when its fit explains the scores (R^2 >= minR2); a term's idf is the
 * median of its estimates over the recovered lists (the same term in several queries agrees to ~1e-3 on
 * the shipped runs). When most lists fail (the scores are not BM25's), nothing is recovered and the
 * caller falls back to corpus statistics (lexicon.ts).
 */
import { ConfigError, show } from "../core/errors";
import type { AnalyzedList } from "./analyzed";
import { lengthNorm, luceneLength, saturatedTf } from "./lucene";

/** Options of recoverStatistics. */
export interface RecoverOptions {
  /** (k1, b) settings tried; the best fit wins. Default Anserini's MS MARCO (0.9, 0.4) and Lucene's (1.2, 0.75). */
  params?: ReadonlyArray<{ k1: number; b: number }>;
  /** A list is recovered when its R^2 reaches this. Default 0.99 (the shipped runs fit at a median 0.99999; a first stage that is not BM25 fits far worse). */
  minR2?: number;
  /** avgdl search interval. Default [5, 500]. */
  avgdlRange?: readonly [number, number];
  /** Lists needed (as a share of the scored lists) for the recovery to count. Default 0.5. */
  minShare?: number;
}

/** The fit of one list. */
export interface ListFit {
  qid: string;
  /** Coefficient of determination of the fit over the candidates kept. */
  r2: number;
  /** Root mean squared error of the fit (score units). */
  rmse: number;
  /** Candidates kept / dropped as analyzer mismatches. */
  docsUsed: number;
  docsDropped: number;
  recovered: boolean;
  /** Estimated idf of each identifiable query term (terms no candidate contains, or that no candidate separates, are left out). */
  idf: Record<string, number>;
}

/** What recoverStatistics found. */
export interface Recovery {
  /** The recovery worked (enough lists fit). */
  ok: boolean;
  /** Why not, when ok is false. */
  reason: string | null;
  k1: number;
  b: number;
  avgdl: number;
  /** Term -> idf: the median over recovered lists. */
  idf: Map<string, number>;
  /** Term -> number of recovered lists that estimated it, and the spread (max - min) of their estimates. */
  support: Map<string, { lists: number; spread: number }>;
  lists: ListFit[];
}

const DEFAULT_PARAMS = [{ k1: 0.9, b: 0.4 }, { k1: 1.2, b: 0.75 }];

interface Fit { x: Float64Array; terms: string[]; sse: number; sst: number; used: number; dropped: number }

/** Solve min ||A x - y||^2 for the columns that are linearly independent (tiny pivots are left out, x = NaN there). */
export function leastSquares(A: readonly Float64Array[], y: ArrayLike<number>, rows: readonly number[]): Float64Array {
  const m = A.length; // columns
  const G = Array.from({ length: m }, () => new Float64Array(m));
  const r = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    for (const i of rows) r[j] += A[j][i] * y[i];
    for (let k = 0; k <= j; k++) {
      let s = 0;
      for (const i of rows) s += A[j][i] * A[k][i];
      G[j][k] = s;
      G[k][j] = s;
    }
  }
  // Cholesky with columns skipped when their pivot is tiny against their own norm (not identifiable)
  const L = Array.from({ length: m }, () => new Float64Array(m));
  const active: boolean[] = new Array(m).fill(false);
  for (let j = 0; j < m; j++) {
    let d = G[j][j];
    for (let k = 0; k < j; k++) if (active[k]) d -= L[j][k] * L[j][k];
    if (!(G[j][j] > 0) || d <= 1e-10 * G[j][j]) continue;
    active[j] = true;
    L[j][j] = Math.sqrt(d);
    for (let i = j + 1; i < m; i++) {
      let s = G[i][j];
      for (let k = 0; k < j; k++) if (active[k]) s -= L[i][k] * L[j][k];
      L[i][j] = s / L[j][j];
    }
  }
  const z = new Float64Array(m), x = new Float64Array(m).fill(NaN);
  for (let j = 0; j < m; j++) {
    if (!active[j]) continue;
    let s = r[j];
    for (let k = 0; k < j; k++) if (active[k]) s -= L[j][k] * z[k];
    z[j] = s / L[j][j];
  }
  for (let j = m - 1; j >= 0; j--) {
    if (!active[j]) continue;
    let s = z[j];
    for (let k = j + 1; k < m; k++) if (active[k]) s -= L[k][j] * x[k];
    x[j] = s / L[j][j];
  }
  return x;
}

/** A list's scored candidates as arrays: scores, Lucene-stored lengths, and per identifiable term qtf and tf. */
interface ListSystem { qid: string; terms: string[]; qtf: number[]; tf: Float64Array[]; length: Float64Array; y: Float64Array }

function listSystem(list: AnalyzedList): ListSystem | null {
  const docs = list.docs.filter((d) => Number.isFinite(d.score));
  if (docs.length < 5) return null;
  const terms = [...list.queryTerms.keys()].filter((t) => docs.some((d) => d.tf.has(t)));
  if (terms.length === 0) return null;
  return {
    qid: list.qid, terms, qtf: terms.map((t) => list.queryTerms.get(t) as number), tf: terms.map((t) => Float64Array.from(docs, (d) => d.tf.get(t) ?? 0)),
    length: Float64Array.from(docs, (d) => luceneLength(d.length)), y: Float64Array.from(docs, (d) => d.score),
  };
}

function fitList(sys: ListSystem, k1: number, b: number, avgdl: number): Fit {
  const n = sys.y.length, y = sys.y;
  const norm = Float64Array.from(sys.length, (len) => lengthNorm(len, { k1, b, avgdl, quantize: false }));
  const A = sys.tf.map((tf, j) => Float64Array.from(tf, (f, i) => sys.qtf[j] * saturatedTf(f, norm[i])));
  const predict = (x: Float64Array, i: number): number => {
    let s = 0;
    for (let j = 0; j < A.length; j++) if (Number.isFinite(x[j])) s += A[j][i] * x[j];
    return s;
  };
  let rows = Array.from({ length: n }, (_, i) => i);
  let x = leastSquares(A, y, rows);
  // candidates our analyzer splits differently from Lucene's: far off the fit; refit without them (at most 10%)
  const res = rows.map((i) => Math.abs(predict(x, i) - y[i]));
  const sorted = [...res].sort((p, q) => p - q);
  const cut = Math.max(20 * sorted[Math.floor(sorted.length / 2)], 1e-3);
  const bad = rows.filter((i) => res[i] > cut).sort((p, q) => res[q] - res[p]).slice(0, Math.floor(n / 10));
  if (bad.length) {
    const drop = new Set(bad);
    rows = rows.filter((i) => !drop.has(i));
    x = leastSquares(A, y, rows);
  }
  let mean = 0;
  for (const i of rows) mean += y[i] / rows.length;
  let sse = 0, sst = 0;
  for (const i of rows) {
    sse += (predict(x, i) - y[i]) ** 2;
    sst += (y[i] - mean) ** 2;
  }
  return { x, terms: sys.terms, sse, sst, used: rows.length, dropped: bad.length };
}

function totalError(systems: readonly ListSystem[], k1: number, b: number, avgdl: number): number {
  let e = 0;
  for (const sys of systems) {
    const f = fitList(sys, k1, b, avgdl);
    e += f.sst > 0 ? f.sse / f.sst : 0; // relative, so long and short score ranges count alike
  }
  return e;
}

/** avgdl minimising the total relative error: a geometric grid, then golden-section search around its best point. */
function searchAvgdl(lists: readonly ListSystem[], k1: number, b: number, range: readonly [number, number]): { avgdl: number; error: number } {
  const grid: number[] = [];
  for (let a = range[0]; a <= range[1]; a *= 1.15) grid.push(a);
  const errs = grid.map((a) => totalError(lists, k1, b, a));
  let i = errs.indexOf(Math.min(...errs));
  let lo = grid[Math.max(0, i - 1)], hi = grid[Math.min(grid.length - 1, i + 1)];
  const g = (Math.sqrt(5) - 1) / 2;
  let c = hi - g * (hi - lo), d = lo + g * (hi - lo);
  let fc = totalError(lists, k1, b, c), fd = totalError(lists, k1, b, d);
  for (i = 0; i < 40 && hi - lo > 1e-3; i++) {
    if (fc < fd) { hi = d; d = c; fd = fc; c = hi - g * (hi - lo); fc = totalError(lists, k1, b, c); }
    else { lo = c; c = d; fc = fd; d = lo + g * (hi - lo); fd = totalError(lists, k1, b, d); }
  }
  const avgdl = (lo + hi) / 2;
  return { avgdl, error: totalError(lists, k1, b, avgdl) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Recover k1, b, avgdl and the idf of every query term from first-stage BM25 scores (see the file header). */
export function recoverStatistics(lists: readonly AnalyzedList[], options: RecoverOptions = {}): Recovery {
  const { params = DEFAULT_PARAMS, minR2 = 0.99, avgdlRange = [5, 500], minShare = 0.5 } = options;
  if (params.length === 0) throw new ConfigError("recoverStatistics: params must list at least one (k1, b)");
  for (const p of params) if (!(p.k1 >= 0) || !(p.b >= 0 && p.b <= 1)) throw new ConfigError(`recoverStatistics: bad BM25 parameters ${show(JSON.stringify(p))}; expected k1 >= 0 and b in [0, 1]`);
  if (!(avgdlRange[0] > 0 && avgdlRange[1] > avgdlRange[0])) throw new ConfigError(`recoverStatistics: avgdlRange must be an interval of positive numbers, got ${show(JSON.stringify(avgdlRange))}`);
  const scored = lists.map(listSystem).filter((s): s is ListSystem => s !== null);
  const empty = (reason: string, k1 = params[0].k1, b = params[0].b, avgdl = NaN): Recovery => ({ ok: false, reason, k1, b, avgdl, idf: new Map(), support: new Map(), lists: [] });
  if (scored.length === 0) return empty("no list has first-stage scores for at least 5 candidates that contain a query term");
  let best: { k1: number; b: number; avgdl: number; error: number } | null = null;
  for (const p of params) {
    const s = searchAvgdl(scored, p.k1, p.b, avgdlRange);
    if (!best || s.error < best.error) best = { ...p, ...s };
  }
  const { k1, b, avgdl } = best as { k1: number; b: number; avgdl: number };
  const fits: ListFit[] = [];
  const estimates = new Map<string, number[]>();
  for (const l of scored) {
    const f = fitList(l, k1, b, avgdl);
    const r2 = f.sst > 0 ? 1 - f.sse / f.sst : 1;
    const idf: Record<string, number> = {};
    f.terms.forEach((t, j) => { if (Number.isFinite(f.x[j]) && f.x[j] > 0) idf[t] = f.x[j]; });
    const recovered = r2 >= minR2;
    fits.push({ qid: l.qid, r2, rmse: Math.sqrt(f.sse / f.used), docsUsed: f.used, docsDropped: f.dropped, recovered, idf });
    if (recovered) for (const [t, v] of Object.entries(idf)) estimates.set(t, [...(estimates.get(t) ?? []), v]);
  }
  const ok = fits.filter((f) => f.recovered).length >= minShare * scored.length;
  if (!ok) {
    const r2s = fits.map((f) => f.r2);
    return { ...empty(`only ${fits.filter((f) => f.recovered).length} of ${scored.length} lists fit BM25 with R^2 >= ${minR2} (median R^2 ${r2s.length ? median(r2s).toFixed(4) : "n/a"}): the first-stage scores do not look like BM25 over this analyzer`, k1, b, avgdl), lists: fits };
  }
  const idf = new Map<string, number>();
  const support = new Map<string, { lists: number; spread: number }>();
  for (const [t, vs] of [...estimates].sort((p, q) => (p[0] < q[0] ? -1 : 1))) {
    idf.set(t, median(vs));
    support.set(t, { lists: vs.length, spread: Math.max(...vs) - Math.min(...vs) });
  }
  return { ok: true, reason: null, k1, b, avgdl, idf, support, lists: fits };
}
