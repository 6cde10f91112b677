/**
 * Confidence intervals for the proportions of SIMULATED online experiments: the Wilson score
 * interval of one proportion and the normal-approximation (Wald) interval of a difference of two
 * independent proportions.
 */
import { ConfigError, show } from "../core/errors";

/** A two-sided confidence interval at `level`. */
export interface Interval {
  lower: number;
  upper: number;
  level: number;
}

/** Two-sided standard normal quantile z_{1 - (1 - level)/2} (Acklam's rational approximation, ~1e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

function zFor(where: string, level: number): number {
  if (typeof level !== "number" || !(level > 0 && level < 1)) throw new ConfigError(`${where}: level must be in (0, 1), got ${show(level)}`);
  return normalQuantile(1 - (1 - level) / 2);
}

/**
 * Wilson score interval of a proportion with `successes` of `n` trials:
 *   (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
 * With n = 0 there is no information: [0, 1].
 */
export function wilsonInterval(successes: number, n: number, level = 0.95): Interval {
  const z = zFor("wilsonInterval", level);
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(successes) || successes < 0 || successes > n) {
    throw new ConfigError(`wilsonInterval: need integers 0 <= successes <= n, got successes=${show(successes)}, n=${show(n)}`);
  }
  if (n === 0) return { lower: 0, upper: 1, level };
  const p = successes / n, z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { lower: Math.max(0, center - half), upper: Math.min(1, center + half), level };
}

/**
 * Normal-approximation (Wald) interval of pB - pA for independent proportions xA/nA and xB/nB:
 * (pB - pA) ± z sqrt(pA(1-pA)/nA + pB(1-pB)/nB). NaN bounds when an arm is empty.
 */
export function proportionDiffInterval(xA: number, nA: number, xB: number, nB: number, level = 0.95): Interval {
  const z = zFor("proportionDiffInterval", level);
  if (nA === 0 || nB === 0) return { lower: NaN, upper: NaN, level };
  const pA = xA / nA, pB = xB / nB;
  const se = Math.sqrt((pA * (1 - pA)) / nA + (pB * (1 - pB)) / nB);
  return { lower: pB - pA - z * se, upper: pB - pA + z * se, level };
}
