/**
 * Paired significance tests for per-query IR scores, over plain number[] (no tfjs, no danfo):
 * the two-sided paired Student t-test, the Fisher randomization (sign-flip) test, the percentile
 * bootstrap confidence interval and the Holm-Bonferroni correction.
 *
 * The Student t distribution comes from the regularized incomplete beta function, evaluated with the
 * continued fraction of Numerical Recipes (3rd ed., §6.4 `betacf`) and a Lanczos log-gamma (g = 7,
 * n = 9), which together give close to full double precision. Checked against scipy in
 * test/fixtures/significance-reference.json.
 */
import { ConfigError, RraError, ShapeError, show } from "../core/errors";
import { createRng } from "../core/rng";

// Lanczos approximation, g = 7, 9 coefficients (relative error ~1e-15 for x > 0).
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.9189385332046728;

/** ln Γ(x) for x > 0 (Lanczos, g = 7); reflection for 0 < x < 0.5. */
export function lgamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`lgamma: x must be > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const EPS = 1e-16;
const FPMIN = 1e-300;
const MAX_ITER = 100000;

// Continued fraction for I_x(a, b) (Numerical Recipes betacf, modified Lentz); converges fast for x < (a+1)/(a+b+2).
function betacf(a: number, b: number, x: number): number {
  const qab = a + b, qap = a + 1, qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITER; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) <= EPS) return h;
  }
  throw new RraError(`betacf: continued fraction did not converge in ${MAX_ITER} iterations for a=${a}, b=${b}, x=${x}`);
}

// I_x(a, b) given both x and y = 1 - x, so that callers can pass a y computed without cancellation.
function betaInc(a: number, b: number, x: number, y: number): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const lnFront = a * Math.log(x) + b * Math.log(y) - (lgamma(a) + lgamma(b) - lgamma(a + b));
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betacf(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betacf(b, a, y)) / b;
}

/** Regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0)) throw new RangeError(`regularizedIncompleteBeta: a and b must be > 0, got a=${a}, b=${b}`);
  if (!(x >= 0 && x <= 1)) throw new RangeError(`regularizedIncompleteBeta: x must be in [0, 1], got ${x}`);
  return betaInc(a, b, x, 1 - x);
}

// P(|T| >= |t|) for T ~ Student t(df): I_{df/(df+t²)}(df/2, 1/2).
function tTwoSided(t: number, df: number): number {
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  const t2 = t * t;
  return betaInc(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}

/** Student t cumulative distribution function P(T <= t) with `df` > 0 degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`studentTCdf: df must be > 0, got ${df}`);
  const tail = tTwoSided(t, df) / 2; // P(T >= |t|)
  return t < 0 ? tail : 1 - tail;
}

/** Student t survival function P(T > t), accurate in the far upper tail (tiny p-values). */
export function studentTSf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`studentTSf: df must be > 0, got ${df}`);
  const tail = tTwoSided(t, df) / 2;
  return t > 0 ? tail : 1 - tail;
}

// Paired differences a[i] - b[i] after checking lengths and finiteness.
function differences(where: string, a: readonly number[], b: readonly number[], minN: number): number[] {
  if (a.length !== b.length) {
    throw new ShapeError(`${where}: a and b must be paired (same length), got lengths ${a.length} and ${b.length}`);
  }
  if (a.length < minN) {
    throw new ShapeError(`${where}: needs at least ${minN} paired values, got lengths ${a.length} and ${b.length}`);
  }
  checkFinite(where, "a", a);
  checkFinite(where, "b", b);
  return a.map((x, i) => x - b[i]);
}

function checkFinite(where: string, name: string, xs: readonly number[]): void {
  for (let i = 0; i < xs.length; i++) {
    if (typeof xs[i] !== "number" || !Number.isFinite(xs[i])) {
      throw new RraError(`${where}: ${name}[${i}] must be a finite number, got ${show(xs[i])}`);
    }
  }
}

function checkKeys(where: string, opts: object, allowed: readonly string[]): void {
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new ConfigError(`${where}: unknown option ${show(k)}; expected one of ${allowed.join(", ")}`);
  }
}

function checkSeed(where: string, seed: unknown): number {
  if (typeof seed !== "number" || !Number.isInteger(seed)) {
    throw new ConfigError(`${where}: option seed must be an integer (every random choice needs an explicit seed), got ${show(seed)}`);
  }
  return seed;
}

function checkCount(where: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new ConfigError(`${where}: option ${name} must be a positive integer, got ${show(v)}`);
  }
  return v;
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Result of `pairedTTest`: mean of a - b, t statistic, degrees of freedom and two-sided p-value. */
export interface TTestResult {
  meanDiff: number;
  t: number;
  df: number;
  p: number;
}

/** Two-sided paired Student t-test of mean(a - b) = 0 (scipy.stats.ttest_rel). Identical systems give t = 0, p = 1. */
export function pairedTTest(a: readonly number[], b: readonly number[]): TTestResult {
  const d = differences("pairedTTest", a, b, 2);
  const n = d.length;
  const m = mean(d);
  let ss = 0;
  for (const x of d) ss += (x - m) * (x - m); // two-pass variance, as numpy
  const df = n - 1;
  if (ss === 0) {
    // Constant differences: no variance. All zero = identical systems; otherwise an infinitely sure effect.
    if (m === 0) return { meanDiff: 0, t: 0, df, p: 1 };
    return { meanDiff: m, t: m > 0 ? Infinity : -Infinity, df, p: 0 };
  }
  const t = m / Math.sqrt(ss / df / n);
  return { meanDiff: m, t, df, p: Math.min(1, tTwoSided(t, df)) };
}

/** Options of `randomizationTest`. */
export interface RandomizationArgs {
  /** Random sign patterns drawn when n > 20 (n <= 20 enumerates all 2^n exactly). Default 10000. */
  trials?: number;
  /** Seed of the sign-flip stream (required; see core/rng). */
  seed: number;
}

/** Result of `randomizationTest`; `trials` is 2^n when `exact`. */
export interface RandomizationResult {
  meanDiff: number;
  p: number;
  trials: number;
  exact: boolean;
}

/** Largest n whose 2^n sign patterns are enumerated exactly. */
export const EXACT_RANDOMIZATION_MAX_N = 20;
const TIE_TOLERANCE = 1e-12;

// Sums of every sign pattern of xs: out[mask] = Σ (bit i of mask ? -xs[i] : xs[i]).
function signedSums(xs: readonly number[]): Float64Array {
  const out = new Float64Array(1 << xs.length);
  for (let mask = 0; mask < out.length; mask++) {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += mask & (1 << i) ? -xs[i] : xs[i];
    out[mask] = s;
  }
  return out;
}

/**
 * Two-sided paired Fisher randomization test on mean(a - b): flips the sign of each difference.
 * p = (#{|permuted mean| >= |observed| - 1e-12} + 1) / (trials + 1); exact over all 2^n patterns when n <= 20.
 */
export function randomizationTest(a: readonly number[], b: readonly number[], args: RandomizationArgs): RandomizationResult {
  const where = "randomizationTest";
  checkKeys(where, args, ["trials", "seed"]);
  const { trials = 10000 } = args;
  const seed = checkSeed(where, args.seed);
  checkCount(where, "trials", trials);
  const d = differences(where, a, b, 1);
  const n = d.length;
  const observed = mean(d);
  const threshold = Math.abs(observed) - TIE_TOLERANCE;

  if (n <= EXACT_RANDOMIZATION_MAX_N) {
    // Meet in the middle: every pattern's sum is lo[i] + hi[j], each half summed directly (no drift).
    const k = n >> 1;
    const lo = signedSums(d.slice(0, k));
    const hi = signedSums(d.slice(k));
    let count = 0;
    for (let i = 0; i < lo.length; i++) {
      for (let j = 0; j < hi.length; j++) if (Math.abs((lo[i] + hi[j]) / n) >= threshold) count++;
    }
    const total = lo.length * hi.length;
    return { meanDiff: observed, p: count / total, trials: total, exact: true };
  }

  const rng = createRng(seed);
  let count = 0;
  for (let t = 0; t < trials; t++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += rng.next() < 0.5 ? -d[i] : d[i];
    if (Math.abs(s / n) >= threshold) count++;
  }
  return { meanDiff: observed, p: (count + 1) / (trials + 1), trials, exact: false };
}

/** Options of `bootstrapCI`. */
export interface BootstrapArgs {
  /** Bootstrap resamples. Default 10000. */
  samples?: number;
  /** Confidence level in (0, 1). Default 0.95. */
  level?: number;
  /** Seed of the resampling stream (required; see core/rng). */
  seed: number;
}

/** Result of `bootstrapCI`: the observed mean and its percentile interval. */
export interface BootstrapResult {
  mean: number;
  lower: number;
  upper: number;
  level: number;
  samples: number;
}

// Linear-interpolated quantile of sorted xs (numpy's default "linear" method).
function quantileSorted(xs: Float64Array, q: number): number {
  const pos = q * (xs.length - 1);
  const i = Math.floor(pos);
  const frac = pos - i;
  return i + 1 < xs.length ? xs[i] + frac * (xs[i + 1] - xs[i]) : xs[i];
}

/** Percentile bootstrap CI of mean(a), or of the mean paired difference mean(a - b) when b is given. */
export function bootstrapCI(a: readonly number[], args: BootstrapArgs): BootstrapResult;
/** Percentile bootstrap CI of the mean paired difference mean(a - b) (of mean(a) when b is undefined). */
export function bootstrapCI(a: readonly number[], b: readonly number[] | undefined, args: BootstrapArgs): BootstrapResult;
export function bootstrapCI(
  a: readonly number[],
  bOrArgs: readonly number[] | BootstrapArgs | undefined,
  maybeArgs?: BootstrapArgs,
): BootstrapResult {
  const where = "bootstrapCI";
  const b = Array.isArray(bOrArgs) || bOrArgs === undefined ? (bOrArgs as readonly number[] | undefined) : undefined;
  const args = (Array.isArray(bOrArgs) || bOrArgs === undefined ? maybeArgs : bOrArgs) as BootstrapArgs | undefined;
  if (args === undefined || typeof args !== "object") {
    throw new ConfigError(`${where}: expected options {seed, samples?, level?} as the last argument, got ${show(args)}`);
  }
  checkKeys(where, args, ["samples", "level", "seed"]);
  const { samples = 10000, level = 0.95 } = args;
  const seed = checkSeed(where, args.seed);
  checkCount(where, "samples", samples);
  if (typeof level !== "number" || !(level > 0 && level < 1)) {
    throw new ConfigError(`${where}: option level must be in (0, 1), got ${show(level)}`);
  }
  let xs: readonly number[];
  if (b === undefined) {
    if (a.length < 1) throw new ShapeError(`${where}: needs at least 1 value, got length ${a.length}`);
    checkFinite(where, "a", a);
    xs = a;
  } else {
    xs = differences(where, a, b, 1);
  }
  const n = xs.length;
  const rng = createRng(seed);
  const means = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += xs[rng.int(n)];
    means[s] = sum / n;
  }
  means.sort();
  const tail = (1 - level) / 2;
  return { mean: mean(xs), lower: quantileSorted(means, tail), upper: quantileSorted(means, 1 - tail), level, samples };
}

/** Holm-Bonferroni step-down adjusted p-values (monotone, capped at 1), in the order of the input. */
export function holm(pValues: readonly number[]): number[] {
  pValues.forEach((p, i) => {
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new RangeError(`holm: pValues[${i}] must be in [0, 1], got ${show(p)}`);
  });
  const m = pValues.length;
  const order = pValues.map((_, i) => i).sort((i, j) => pValues[i] - pValues[j] || i - j);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((idx, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[idx]));
    adjusted[idx] = running;
  });
  return adjusted;
}
